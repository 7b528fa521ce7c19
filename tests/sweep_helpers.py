"""Helpers shared by the sweep tests: misbehaving agents, the command line, waiting for
a sweep's results file to grow, what a stopped sweep must leave, and its processes' end.

The agents (:data:`AGENTS`) are written into each test's folder by the ``agents`` fixture
and named by module path (``agents:DieOnSeed3``): the command line adds its current folder
to the import path, and so do its sweep workers, so a sweep finds them as a user's sweep
finds a user's agent.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import cli_helpers
import pytest

from sim.results import REAL_TIME_FIELDS, read_results

EASY = "duplicate_charge_easy"

AGENTS = '''
import ctypes
import os
import time
from pathlib import Path

from actors.agents.heuristic import HeuristicAgent


class DieOnSeed3(HeuristicAgent):
    """Ends its process with os._exit in the episode of seed 3."""

    def reset(self, brief, seed):
        self.seed = seed

    def act(self, observation):
        if self.seed == 3:
            os._exit(7)
        return super().act(observation)


class SegfaultOnSeed3(DieOnSeed3):
    """Crashes its process (SIGSEGV, as a bad C extension would) in the episode of seed 3."""

    def act(self, observation):
        if self.seed == 3:
            ctypes.string_at(0)
        return HeuristicAgent.act(self, observation)


class AlwaysDie(HeuristicAgent):
    def act(self, observation):
        os._exit(9)


class Spin:
    """Never returns from a decision; leaves the id of its process in spin_pids/."""

    def act(self, observation):
        Path("spin_pids").mkdir(exist_ok=True)
        Path("spin_pids", str(os.getpid())).touch()
        while True:
            pass


class Slow(HeuristicAgent):
    """Takes 0.2 s a decision, and leaves the id of the process it decides in in pids/."""

    def act(self, observation):
        Path("pids").mkdir(exist_ok=True)
        Path("pids", str(os.getpid())).touch()
        time.sleep(0.2)
        return super().act(observation)


class HeldAfterSeed0(DieOnSeed3):
    """Past seed 0, decides only once the file ``hold`` is gone (until then it waits)."""

    def act(self, observation):
        while self.seed > 0 and Path("hold").exists():
            time.sleep(0.02)
        return HeuristicAgent.act(self, observation)
'''


@pytest.fixture(name="agents")
def agents_fixture(tmp_path: Path) -> Path:
    """A folder holding ``agents.py``, to run the command line in."""
    (tmp_path / "agents.py").write_text(AGENTS)
    return tmp_path


def run_cli(*args: str, cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """:func:`cli_helpers.run_cli` in ``cwd``, bounded for sweeps whose workers keep dying."""
    return cli_helpers.run_cli(*args, cwd=cwd, timeout=timeout)


def wait_for_lines(path: Path, count: int, proc: subprocess.Popen[str]) -> None:
    """Wait until ``path`` holds ``count`` lines; fail if the sweep ``proc`` ends first."""
    deadline = time.monotonic() + 120  # only against hanging forever
    while time.monotonic() < deadline:
        if path.exists() and path.read_bytes().count(b"\n") >= count:
            return
        assert proc.poll() is None, f"the sweep ended first: {proc.communicate()}"
        time.sleep(0.02)
    raise AssertionError(f"{path} never reached {count} lines")


def kill_group(proc: subprocess.Popen[str]) -> None:
    """Kill what is left of a sweep's process group (after a failed test: no orphans)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    if proc.returncode is None:
        proc.communicate(timeout=30)


def gone(pid: int) -> bool:
    """Whether process ``pid`` has ended (a zombie nobody reaped has ended too)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def wait_until_gone(pids: list[int]) -> list[int]:
    """The processes still running after a generous wait."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not all(gone(p) for p in pids):
        time.sleep(0.05)
    return [p for p in pids if not gone(p)]


def check_stopped_sweep(proc: subprocess.Popen[str], stdout: str, stderr: str, out: Path,
                        status: int, rows_allowed: range) -> list[dict[str, Any]]:
    """What a sweep stopped by a signal must leave, whatever its backend: exit
    ``status``, no traceback, a results file with no torn line and a row count in
    ``rows_allowed``, a summary of those rows saying the sweep is incomplete, and a
    printed summary that says how to resume. Its rows."""
    assert proc.returncode == status, stderr[-3000:]
    assert "Traceback" not in stderr
    rows, dropped = read_results(out / "results.jsonl")
    assert dropped == 0  # a clean stop tears no line
    assert len(rows) in rows_allowed, len(rows)
    assert "sweep summary" in stdout and f"{len(rows)} episodes run" in stdout
    assert "interrupted" in stdout and "--resume" in stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["complete"] is False
    assert summary["overall"]["episodes"] == len(rows)
    return rows


def stable(rows: list[dict[str, Any]]) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Rows by episode, without the real-time fields (which differ between runs)."""
    return {(r["task_id"], r["persona"], r["seed"]): {k: v for k, v in r.items()
                                                      if k not in REAL_TIME_FIELDS}
            for r in rows}
