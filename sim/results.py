"""Results files: one JSON line per episode, appended and flushed as each one ends.

A process killed mid-write can leave a torn last line; :func:`iter_results` drops it
and :class:`ResultsWriter` cuts it off before appending, so a resumed sweep never
builds on half a line. Every line is flushed to the operating system as it is written,
which survives a killed process; ``fsync`` (which survives a crash of the machine) can
cost as much as a short episode, so it runs in groups, every ``sync_every`` seconds and at the
end, unless the writer is ``durable`` (one per line).

Reading streams: a results file of a million rows is read one line at a time. A line
that is JSON but not a results row is refused (:class:`ResultsFormatError`, one line
naming the file and line) rather than dropped: it is someone else's data, not a torn
write.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import attrs

from sim.trace import dumps_line

__all__ = [
    "REAL_TIME_FIELDS",
    "ReadCounts",
    "ResultsFormatError",
    "ResultsWriter",
    "episode_key",
    "iter_results",
    "read_results",
    "row_problem",
]

#: Result fields measured on the wall clock: they differ between identical runs.
REAL_TIME_FIELDS = frozenset({"wall_seconds", "agent_latency_mean", "agent_latency_max"})

EpisodeKey = tuple[str, str, int, str, tuple[str, ...]]
#: The clock that spaces grouped fsyncs, and fsync itself (a test replaces both).
_now: Callable[[], float] = time.monotonic
_fsync: Callable[[int], None] = os.fsync

#: What a results row must hold, for the summary and ``--resume`` (the end of the error).
_ALLOWED = ("a row as a sweep writes it: an object with task_id, agent, persona and "
            "termination_reason (strings), seed (a whole number >= 0), faults (a list of "
            "strings), score (a finite number), breakdown (criterion -> number or null), "
            "sla_breached (true or false)")


class ResultsFormatError(ValueError):
    """A results file line that is JSON but not a results row (one line, for exit 2)."""


def episode_key(row: dict[str, Any]) -> EpisodeKey:
    """What identifies an episode of a sweep: task, agent, seed, persona, faults."""
    return (str(row["task_id"]), str(row["agent"]), int(row["seed"]), str(row["persona"]),
            tuple(row.get("faults", ())))


def _is_number(value: Any) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value))


def row_problem(row: Any) -> str | None:
    """What keeps ``row`` from being a results row, or ``None`` when it is one."""
    if not isinstance(row, dict):
        return f"{json.dumps(row)[:20]} is not an object"
    for name in ("task_id", "agent"):
        if not isinstance(row.get(name), str):
            return f"{name} is {_shown(row, name)}"
    seed = row.get("seed")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        return f"seed is {_shown(row, 'seed')}"
    if not isinstance(row.get("persona"), str):
        return f"persona is {_shown(row, 'persona')}"
    faults = row.get("faults")
    if not isinstance(faults, list) or not all(isinstance(f, str) for f in faults):
        return f"faults is {_shown(row, 'faults')}"
    if not _is_number(row.get("score")):
        return f"score is {_shown(row, 'score')}"
    breakdown = row.get("breakdown")
    if not isinstance(breakdown, dict) or not all(
            v is None or _is_number(v) for v in breakdown.values()):
        return f"breakdown is {_shown(row, 'breakdown')}"
    if not isinstance(row.get("sla_breached"), bool):
        return f"sla_breached is {_shown(row, 'sla_breached')}"
    if not isinstance(row.get("termination_reason"), str):
        return f"termination_reason is {_shown(row, 'termination_reason')}"
    return None


def _shown(row: dict[str, Any], name: str) -> str:
    if name not in row:
        return "missing"
    text = json.dumps(row[name], ensure_ascii=True)
    return text if len(text) <= 40 else text[:37] + "..."


@attrs.define
class ReadCounts:
    """What reading a results file left out: a torn last line, lines that are not JSON
    (a torn write under an old writer), and repeats of an episode already read."""

    torn: int = 0
    unreadable: int = 0
    duplicates: int = 0

    @property
    def dropped(self) -> int:
        """Lines that did not hold a whole row."""
        return self.torn + self.unreadable


def iter_results(path: str | Path, counts: ReadCounts | None = None) -> Iterator[dict[str, Any]]:
    """The rows of a results file, one at a time, in file order (no de-duplication).

    A torn last line and lines that are not JSON are skipped and counted in ``counts``;
    a line that is JSON but not a row raises :class:`ResultsFormatError`. A missing file
    has no rows.
    """
    path = Path(path)
    counts = counts if counts is not None else ReadCounts()
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.endswith(b"\n"):  # only the last line can lack its newline
                counts.torn += bool(line.strip())
                return
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError):
                counts.unreadable += 1
                continue
            problem = row_problem(row)
            if problem is not None:
                raise ResultsFormatError(f"{path} line {number}: not a results row ({problem}); "
                                         f"allowed: {_ALLOWED}")
            yield row


def read_results(path: str | Path) -> tuple[list[dict[str, Any]], int]:
    """The rows of a results file, each episode once (its first row), and how many lines
    were left out: torn or unreadable lines and repeats of an episode.

    This holds every row in memory; a summary folds :func:`iter_results` instead.
    """
    counts = ReadCounts()
    seen: set[EpisodeKey] = set()
    rows: list[dict[str, Any]] = []
    for row in iter_results(path, counts):
        key = episode_key(row)
        if key in seen:
            counts.duplicates += 1
            continue
        seen.add(key)
        rows.append(row)
    return rows, counts.dropped + counts.duplicates


def _complete_length(handle: IO[bytes]) -> int:
    """The length of the open file up to and including its last newline, read backwards
    in blocks (a results file may be far bigger than memory should hold)."""
    end = handle.seek(0, os.SEEK_END)
    position = end
    while position > 0:
        start = max(0, position - 65536)
        handle.seek(start)
        block = handle.read(position - start)
        newline = block.rfind(b"\n")
        if newline >= 0:
            return start + newline + 1
        position = start
    return 0


class ResultsWriter:
    """Appends rows to a results file: one ``write`` and ``flush`` per row, and ``fsync``
    per row when ``durable``, else at most every ``sync_every`` seconds and on close.

    ``sync_if_due`` lets a caller that waits between rows sync a group that is due.
    """

    def __init__(self, path: str | Path, *, durable: bool = False,
                 sync_every: float = 0.5) -> None:
        self.path = Path(path)
        self.durable = durable
        self.sync_every = sync_every
        self._file: IO[bytes] | None = None
        self._unsynced = False
        self._synced_at = 0.0

    def __enter__(self) -> ResultsWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():  # cut off a torn last line left by a killed run
            with self.path.open("r+b") as handle:
                end = _complete_length(handle)
                if end != handle.seek(0, os.SEEK_END):
                    handle.truncate(end)
        self._file = self.path.open("ab")
        self._synced_at = _now()
        return self

    def write(self, row: dict[str, Any]) -> None:
        if self._file is None:
            raise RuntimeError("ResultsWriter used outside its with-block")
        self._file.write((dumps_line(row) + "\n").encode())
        self._file.flush()
        self._unsynced = True
        if self.durable:
            self._sync()
        else:
            self.sync_if_due()

    def sync_if_due(self) -> None:
        """fsync what was written, if ``sync_every`` seconds passed since the last one."""
        if self._unsynced and _now() - self._synced_at >= self.sync_every:
            self._sync()

    def _sync(self) -> None:
        if self._file is not None and self._unsynced:
            _fsync(self._file.fileno())
            self._unsynced = False
        self._synced_at = _now()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._file is not None:
            try:
                self._file.flush()
                self._sync()
            finally:
                self._file.close()
                self._file = None
