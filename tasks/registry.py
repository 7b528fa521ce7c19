"""Finding and loading task files.

Shipped tasks are the modules of this package other than the model's own; users
add folders of their own task files (``extra_dirs``) or load one file by path.
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

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from tasks.base import KnowledgeSnippet, SupportTaskSpec, SupportTicket
from tasks.catalog import Catalog

__all__ = [
    "SHIPPED_TASKS_DIR",
    "TaskLoadError",
    "discover_tasks",
    "get_task",
    "list_task_ids",
    "load_task_file",
]

SHIPPED_TASKS_DIR = Path(__file__).resolve().parent
_NOT_TASKS = frozenset({"__init__", "base", "catalog", "registry"})


class TaskLoadError(ValueError):
    """A task file that cannot be loaded; ``str(error)`` is one line for the user."""


# Where a model built on its own (a ticket, an article) sits inside the task.
_MODEL_PREFIX = {"SupportTicket": "ticket.", "KnowledgeSnippet": "knowledge_base[].",
                 "Catalog": "catalog_extension."}


def _allowed_for(first: ErrorDetails, title: str) -> str:
    """What pydantic's built-in error ``first`` allows, in words."""
    kind, ctx = first["type"], first.get("ctx", {})
    bounds = {"greater_than": "> {gt}", "greater_than_equal": ">= {ge}",
              "less_than": "< {lt}", "less_than_equal": "<= {le}",
              "string_too_short": "at least {min_length} characters",
              "string_too_long": "at most {max_length} characters",
              "too_short": "at least {min_length} items",
              "too_long": "at most {max_length} items"}
    if kind in bounds:
        return bounds[kind].format(**ctx)
    if kind == "literal_error":
        return str(ctx.get("expected", ""))
    if kind == "extra_forbidden":
        models: dict[str, type[BaseModel]] = {
            "SupportTaskSpec": SupportTaskSpec, "SupportTicket": SupportTicket,
            "KnowledgeSnippet": KnowledgeSnippet, "Catalog": Catalog,
        }
        model = models.get(title)
        return ", ".join(model.model_fields) if model else "the documented fields"
    if kind == "missing":
        return "a value (this field is required)"
    if kind.startswith(("int_", "float_")):
        return "a whole number"
    if kind.startswith("string_"):
        return "text"
    if kind.startswith(("tuple_", "list_")):
        return "a tuple"
    return f"a value of the {title} field's type"


def _format_validation_error(error: ValidationError) -> str:
    first = error.errors()[0]
    message = first["msg"].removeprefix("Value error, ")
    prefix = _MODEL_PREFIX.get(error.title, "")
    loc = prefix + ".".join(str(part) for part in first["loc"])
    if first["type"] != "value_error":
        bad = first.get("input")
        shown = "" if isinstance(bad, dict) or first["type"] == "missing" else f" (got {bad!r:.80})"
        message = f"{message}{shown}; allowed: {_allowed_for(first, error.title)}"
    if loc.rstrip("."):
        message = f"{loc.rstrip('.')}: {message}"
    more = error.error_count() - 1
    return message + (f" (+{more} more)" if more else "")


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def load_task_file(path: str | Path) -> SupportTaskSpec:
    """Execute a task file and return its validated ``TASK``.

    Raises :class:`TaskLoadError` for a missing file, a syntax or import error, a
    missing or mistyped ``TASK``, or a spec that breaks a rule.
    """
    path = Path(path)
    shown = _display(path)
    if path.suffix != ".py":
        raise TaskLoadError(f"{shown}: not a Python file; allowed: a .py file defining TASK")
    if not path.is_file():
        raise TaskLoadError(f"{shown}: no such file; allowed: a .py file defining TASK")
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    module_name = f"_support_sim_task_{path.stem}_{digest}"
    module_spec = importlib.util.spec_from_file_location(module_name, path)
    if module_spec is None or module_spec.loader is None:
        raise TaskLoadError(f"{shown}: cannot be imported; allowed: a .py file defining TASK")
    module = importlib.util.module_from_spec(module_spec)
    try:
        module_spec.loader.exec_module(module)
    except ValidationError as error:
        raise TaskLoadError(f"{shown}: {_format_validation_error(error)}") from None
    except SyntaxError as error:
        raise TaskLoadError(
            f"{shown}:{error.lineno}: syntax error: {error.msg}; allowed: valid Python"
        ) from None
    except ImportError as error:
        raise TaskLoadError(
            f"{shown}: import failed: {error}; allowed: imports from tasks.base"
        ) from None
    except Exception as error:  # a task file is user code: any failure is bad input
        frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == str(path)]
        where = f":{frames[-1].lineno}" if frames else ""
        raise TaskLoadError(
            f"{shown}{where}: {type(error).__name__}: {error}; allowed: a file that runs "
            "and defines TASK = SupportTaskSpec(...)"
        ) from None
    finally:
        sys.modules.pop(module_name, None)
    task = getattr(module, "TASK", None)
    if task is None:
        raise TaskLoadError(f"{shown}: TASK: missing; allowed: TASK = SupportTaskSpec(...)")
    if not isinstance(task, SupportTaskSpec):
        raise TaskLoadError(
            f"{shown}: TASK: a {type(task).__name__}; allowed: a SupportTaskSpec"
        )
    return task


def _task_files(directory: Path) -> list[Path]:
    return sorted(
        p
        for p in directory.glob("*.py")
        if p.stem not in _NOT_TASKS and not p.stem.startswith("_")
    )


def discover_tasks(extra_dirs: Iterable[str | Path] = ()) -> dict[str, SupportTaskSpec]:
    """Every task, shipped and in ``extra_dirs``, keyed by id in sorted order.

    A file whose stem differs from its ``task_id``, and two files with one id, are errors.
    """
    found: dict[str, tuple[Path, SupportTaskSpec]] = {}
    dirs = [SHIPPED_TASKS_DIR, *(Path(d) for d in extra_dirs)]
    for directory in dirs:
        if not directory.is_dir():
            raise TaskLoadError(
                f"{_display(directory)}: not a folder; allowed: a folder of task files"
            )
        for path in _task_files(directory):
            task = load_task_file(path)
            if task.task_id != path.stem:
                raise TaskLoadError(
                    f"{_display(path)}: task_id: {task.task_id!r} differs from the file name; "
                    f"allowed: {path.stem!r}"
                )
            if task.task_id in found and found[task.task_id][0].resolve() != path.resolve():
                raise TaskLoadError(
                    f"{_display(path)}: task_id: {task.task_id!r} is already defined by "
                    f"{_display(found[task.task_id][0])}; allowed: a unique id"
                )
            found[task.task_id] = (path, task)
    return {task_id: found[task_id][1] for task_id in sorted(found)}


_SHIPPED_CACHE: dict[str, SupportTaskSpec] | None = None


def _shipped() -> dict[str, SupportTaskSpec]:
    global _SHIPPED_CACHE
    if _SHIPPED_CACHE is None:
        _SHIPPED_CACHE = discover_tasks()
    return _SHIPPED_CACHE


def list_task_ids(extra_dirs: Iterable[str | Path] = ()) -> list[str]:
    """The ids of every task, sorted."""
    extra = list(extra_dirs)
    return list(discover_tasks(extra) if extra else _shipped())


def get_task(task_id: str, extra_dirs: Iterable[str | Path] = ()) -> SupportTaskSpec:
    """The task with this id; :class:`TaskLoadError` naming the known ids if there is none."""
    extra = list(extra_dirs)
    tasks = discover_tasks(extra) if extra else _shipped()
    if task_id not in tasks:
        raise TaskLoadError(f"task {task_id!r} is unknown; allowed: {', '.join(tasks)}")
    return tasks[task_id]
