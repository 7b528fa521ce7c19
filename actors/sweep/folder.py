"""A sweep's output folder: its lock, the check of what it holds, and atomic writes.

The folder holds ``results.jsonl`` (a row per episode, appended), ``plan.json`` (the
plan it runs, written before the first episode) and ``summary.json``. A sweep holds
the folder's lock while it runs (:func:`locked`: ``flock`` on the folder itself, which
the system releases when the process dies, however it dies), so two sweeps never
write one results file. A results file there is finished only with ``resume`` and
only by the same plan (:func:`check_out_dir`): a different plan, or a task changed
since, is refused rather than mixing two plans' rows.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from actors.sweep.plan import EpisodeBits, SweepError, SweepPlan, episode_rows
from sim.results import ReadCounts, iter_results

__all__ = [
    "PLAN_FILE",
    "RESULTS_FILE",
    "SUMMARY_FILE",
    "check_out_dir",
    "locked",
    "scan",
    "write_atomically",
]

RESULTS_FILE = "results.jsonl"
SUMMARY_FILE = "summary.json"
PLAN_FILE = "plan.json"
_ALLOWED = "allowed: --resume with the same plan, or a new --out"


@contextmanager
def locked(out: Path) -> Iterator[None]:
    """Hold the lock on the folder ``out``: the folder itself, so there is no lock file to
    leave behind, and ``flock``, which the system releases when the process ends, however
    it ends, so a lock is never stale. (Without ``fcntl``, not POSIX: no lock.)"""
    try:
        import fcntl
    except ImportError:
        yield
        return
    fd = os.open(out, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SweepError(f"{out}: another sweep is running on this folder; allowed: wait "
                             "for it to end, or a new --out") from None
        yield
    finally:
        os.close(fd)


def check_out_dir(plan: SweepPlan, out_dir: str | Path, *, resume: bool) -> tuple[int, int]:
    """Whether ``plan`` may write to ``out_dir`` (:class:`SweepError`, one line, if not):
    no other sweep may be running there, and a results file there needs ``resume`` and
    the same plan. Returns how many of the plan's episodes have a row there, and how
    many torn or unreadable lines were dropped."""
    out = Path(out_dir)
    if out.is_dir():
        with locked(out):
            pass
    done, counts = scan(plan, out, resume=resume)
    return done, counts.dropped


def scan(plan: SweepPlan, out: Path, *, resume: bool,
         done: EpisodeBits | None = None) -> tuple[int, ReadCounts]:
    """Check the folder for ``plan`` (see :func:`check_out_dir`), marking in ``done`` the
    episodes that have a row; reads the results a line at a time."""
    results_path = out / RESULTS_FILE
    counts = ReadCounts()
    if not results_path.exists():
        return 0, counts
    if not resume:
        raise SweepError(f"{results_path} exists; allowed: --resume to finish it, or a new --out")
    judge_rows = not _check_recorded_plan(plan, out)
    privileged = plan.row_privileged() if judge_rows else False

    def judge(row: dict[str, Any], place: int | None) -> None:
        """A folder from before plan.json is judged by its rows."""
        if place is None:
            raise SweepError(f"{results_path}: holds {row['task_id']!r} seed {row['seed']} "
                             f"persona {row['persona']!r}, which this plan does not run; "
                             f"{_ALLOWED}")
        if "privileged" in row and bool(row["privileged"]) != privileged:
            raise SweepError(f"{results_path}: its rows are privileged="
                             f"{str(bool(row['privileged'])).lower()}, this plan's "
                             f"{str(privileged).lower()}; {_ALLOWED}")

    done = done if done is not None else EpisodeBits(plan.size())
    rows = episode_rows(plan, iter_results(results_path, counts), done, counts,
                        check=judge if judge_rows else None)
    return sum(1 for _ in rows), counts


def _check_recorded_plan(plan: SweepPlan, out: Path) -> bool:
    """Refuse to add ``plan``'s rows to a folder whose ``plan.json`` records another plan
    (:class:`SweepError`, one line). False when there is no ``plan.json``."""
    plan_path = out / PLAN_FILE
    if not plan_path.exists():
        return False
    try:
        recorded = json.loads(plan_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SweepError(f"{plan_path}: unreadable ({type(error).__name__}); {_ALLOWED}") \
            from None
    if not isinstance(recorded, dict):
        raise SweepError(f"{plan_path}: not a plan; {_ALLOWED}")
    current = plan.identity()
    differs = [key for key in current if recorded.get(key) != current[key]]
    if differs:
        key = differs[0]
        if key == "task_hashes":
            hashes = recorded.get(key)
            hashes = hashes if isinstance(hashes, dict) else {}
            changed = sorted(t for t, h in current[key].items() if hashes.get(t) != h)
            what = (f"task(s) {', '.join(changed)} changed since" if changed
                    else "its tasks differ")
        elif key == "llm" and isinstance(recorded.get(key), dict) and current[key]:
            was = recorded[key]  # the setting that differs, not two whole tables
            sub = next(k for k in current[key] if was.get(k) != current[key][k])
            what = f"llm {sub} was {was.get(sub)!r}, now {current[key][sub]!r}"
        else:
            what = f"{key} was {recorded.get(key)!r}, now {current[key]!r}"
        raise SweepError(f"{out}: the sweep there ran a different plan ({what}); {_ALLOWED}")
    return True


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all: a reader never sees half a file."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
