"""Results files: one JSON line per episode, appended and flushed as each one ends.

A process killed mid-write can leave a torn last line; :func:`read_results` drops it
and :class:`ResultsWriter` cuts it off before appending, so a resumed sweep never
builds on half a line.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from sim.trace import dumps_line

__all__ = ["REAL_TIME_FIELDS", "ResultsWriter", "episode_key", "read_results"]

#: Result fields measured on the wall clock: they differ between identical runs.
REAL_TIME_FIELDS = frozenset({"wall_seconds", "agent_latency_mean", "agent_latency_max"})

EpisodeKey = tuple[str, str, int, str, tuple[str, ...]]


def episode_key(row: dict[str, Any]) -> EpisodeKey:
    """What identifies an episode of a sweep: task, agent, seed, persona, faults."""
    return (str(row["task_id"]), str(row["agent"]), int(row["seed"]), str(row["persona"]),
            tuple(row.get("faults", ())))


def _complete_length(data: bytes) -> int:
    """The length of ``data`` up to and including its last newline."""
    return data.rfind(b"\n") + 1


def read_results(path: str | Path) -> tuple[list[dict[str, Any]], int]:
    """The complete rows of a results file, and how many torn or unreadable lines were dropped."""
    path = Path(path)
    if not path.exists():
        return [], 0
    data = path.read_bytes()
    end = _complete_length(data)
    dropped = 1 if data[end:].strip() else 0
    rows: list[dict[str, Any]] = []
    for line in data[:end].splitlines():
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            dropped += 1
            continue
        if isinstance(row, dict) and "task_id" in row:
            rows.append(row)
        else:
            dropped += 1
    return rows, dropped


class ResultsWriter:
    """Appends rows to a results file, one ``write`` and ``flush`` (and fsync) per row."""

    def __init__(self, path: str | Path, *, fsync: bool = True) -> None:
        self.path = Path(path)
        self.fsync = fsync
        self._file: IO[bytes] | None = None

    def __enter__(self) -> ResultsWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():  # cut off a torn last line left by a killed run
            data = self.path.read_bytes()
            end = _complete_length(data)
            if end != len(data):
                with self.path.open("r+b") as handle:
                    handle.truncate(end)
        self._file = self.path.open("ab")
        return self

    def write(self, row: dict[str, Any]) -> None:
        if self._file is None:
            raise RuntimeError("ResultsWriter used outside its with-block")
        self._file.write((dumps_line(row) + "\n").encode())
        self._file.flush()
        if self.fsync:
            os.fsync(self._file.fileno())

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
