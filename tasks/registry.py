"""Finding and loading task files.

Shipped tasks are the modules of this package other than the model's own; users
add folders of their own task files (``extra_dirs``) or load one file by path. A
file defines ``TASK`` (a fixed task) or ``FAMILY`` (a task per seed, see
:mod:`tasks.family`); either way it loads as a :class:`~tasks.family.TaskFamily`,
and ``get_task(id, seed=...)`` gives the task an episode with that seed runs.
Every failure is a :class:`TaskLoadError` whose message is one line naming the
file, the field and what is allowed.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import traceback
from collections.abc import Iterable
from pathlib import Path

from pydantic import ValidationError

from tasks.base import SupportTaskSpec
from tasks.errors import TaskLoadError, display_path, format_validation_error
from tasks.family import TaskFamily

__all__ = [
    "SHIPPED_TASKS_DIR",
    "TaskLoadError",
    "discover_families",
    "discover_tasks",
    "get_family",
    "get_task",
    "list_task_ids",
    "load_task_file",
    "load_task_source",
]

SHIPPED_TASKS_DIR = Path(__file__).resolve().parent
_NOT_TASKS = frozenset({"__init__", "base", "catalog", "errors", "family", "registry"})
_DEFINES = "defines TASK = SupportTaskSpec(...) or def FAMILY(draw)"


def load_task_source(path: str | Path) -> TaskFamily:
    """Execute a task file and return what it defines, as a :class:`TaskFamily`.

    Raises :class:`TaskLoadError` for a missing file, a syntax or import error, a
    missing or mistyped ``TASK``/``FAMILY`` (or both), or a task or variant that
    breaks a rule. A family's id is the file's stem.
    """
    path = Path(path)
    shown = display_path(path)
    if path.suffix != ".py":
        raise TaskLoadError(f"{shown}: not a Python file; allowed: a .py file that " + _DEFINES)
    if not path.is_file():
        raise TaskLoadError(f"{shown}: no such file; allowed: a .py file that " + _DEFINES)
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    module_name = f"_support_sim_task_{path.stem}_{digest}"
    module_spec = importlib.util.spec_from_file_location(module_name, path)
    if module_spec is None or module_spec.loader is None:
        raise TaskLoadError(f"{shown}: cannot be imported; allowed: a .py file that " + _DEFINES)
    module = importlib.util.module_from_spec(module_spec)
    try:
        module_spec.loader.exec_module(module)
    except ValidationError as error:
        raise TaskLoadError(f"{shown}: {format_validation_error(error)}") from None
    except SyntaxError as error:
        raise TaskLoadError(
            f"{shown}:{error.lineno}: syntax error: {error.msg}; allowed: valid Python"
        ) from None
    except ImportError as error:
        raise TaskLoadError(
            f"{shown}: import failed: {error}; allowed: imports from tasks.base"
        ) from None
    except (Exception, SystemExit) as error:  # user code: any failure (an exit too) is bad input
        frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == str(path)]
        where = f":{frames[-1].lineno}" if frames else ""
        raise TaskLoadError(
            f"{shown}{where}: {type(error).__name__}: {error}; allowed: a file that runs "
            f"and {_DEFINES}"
        ) from None
    finally:
        sys.modules.pop(module_name, None)
    task, build = getattr(module, "TASK", None), getattr(module, "FAMILY", None)
    if task is not None and build is not None:
        raise TaskLoadError(f"{shown}: TASK and FAMILY: both defined; allowed: one of them")
    if build is not None:
        if not callable(build):
            raise TaskLoadError(f"{shown}: FAMILY: a {type(build).__name__}; allowed: a "
                                "function of a draw that returns a SupportTaskSpec")
        return TaskFamily.of_builder(path.stem, build, path)
    if task is None:
        raise TaskLoadError(f"{shown}: TASK: missing; allowed: a file that {_DEFINES}")
    if not isinstance(task, SupportTaskSpec):
        raise TaskLoadError(
            f"{shown}: TASK: a {type(task).__name__}; allowed: a SupportTaskSpec"
        )
    if task.family is not None:
        raise TaskLoadError(f"{shown}: TASK: family {task.family!r} is set; allowed: leave it "
                            "unset (a fixed task is a family of one)")
    return TaskFamily.of_task(task, path)


def load_task_file(path: str | Path, seed: int = 0) -> SupportTaskSpec:
    """The task a file gives for ``seed``: its ``TASK``, or its ``FAMILY``'s variant."""
    return load_task_source(path).variant(seed)


def _task_files(directory: Path) -> list[Path]:
    return sorted(
        p
        for p in directory.glob("*.py")
        if p.stem not in _NOT_TASKS and not p.stem.startswith("_")
    )


def discover_families(extra_dirs: Iterable[str | Path] = ()) -> dict[str, TaskFamily]:
    """Every task file, shipped and in ``extra_dirs``, as a family keyed by id, sorted.

    A fixed task whose ``task_id`` differs from its file's stem, and two files with one
    id, are errors.
    """
    found: dict[str, TaskFamily] = {}
    dirs = [SHIPPED_TASKS_DIR, *(Path(d) for d in extra_dirs)]
    for directory in dirs:
        if not directory.is_dir():
            raise TaskLoadError(
                f"{display_path(directory)}: not a folder; allowed: a folder of task files"
            )
        for path in _task_files(directory):
            family = load_task_source(path)
            if family.family_id != path.stem:
                raise TaskLoadError(
                    f"{display_path(path)}: task_id: {family.family_id!r} differs from the "
                    f"file name; allowed: {path.stem!r}"
                )
            other = found.get(family.family_id)
            if other is not None and other.path is not None and path.resolve() != other.path.resolve():
                raise TaskLoadError(
                    f"{display_path(path)}: task_id: {family.family_id!r} is already defined by "
                    f"{display_path(other.path)}; allowed: a unique id"
                )
            found[family.family_id] = family
    return {family_id: found[family_id] for family_id in sorted(found)}


_SHIPPED_CACHE: dict[str, TaskFamily] | None = None


def _families(extra_dirs: Iterable[str | Path]) -> dict[str, TaskFamily]:
    global _SHIPPED_CACHE
    extra = list(extra_dirs)
    if extra:
        return discover_families(extra)
    if _SHIPPED_CACHE is None:
        _SHIPPED_CACHE = discover_families()
    return _SHIPPED_CACHE


def discover_tasks(extra_dirs: Iterable[str | Path] = (), *,
                   seed: int = 0) -> dict[str, SupportTaskSpec]:
    """The task every file gives for ``seed`` (a family's variant), keyed by id, sorted."""
    return {family_id: family.variant(seed)
            for family_id, family in discover_families(extra_dirs).items()}


def list_task_ids(extra_dirs: Iterable[str | Path] = ()) -> list[str]:
    """The ids of every task and family, sorted."""
    return list(_families(extra_dirs))


def get_family(task_id: str, extra_dirs: Iterable[str | Path] = ()) -> TaskFamily:
    """The task or family with this id; :class:`TaskLoadError` naming the known ids if
    there is none."""
    families = _families(extra_dirs)
    if task_id not in families:
        raise TaskLoadError(f"task {task_id!r} is unknown; allowed: {', '.join(families)}")
    return families[task_id]


def get_task(task_id: str, extra_dirs: Iterable[str | Path] = (), *,
             seed: int = 0) -> SupportTaskSpec:
    """The task an episode of ``task_id`` with ``seed`` runs (a family's variant)."""
    return get_family(task_id, extra_dirs).variant(seed)
