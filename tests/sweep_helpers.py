"""Helpers shared by the sweep tests: misbehaving agents, the command line, and waiting for
a sweep's results file to grow.

The agents (:data:`AGENTS`) are written into each test's folder by the ``agents`` fixture
and named by module path (``agents:DieOnSeed3``): the command line adds its current folder
to the import path, and so do its sweep workers, so a sweep finds them as a user's sweep
finds a user's agent.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import cli_helpers
import pytest

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
