"""Running the command line from tests: ``run_sim.py`` in a subprocess.

:func:`run_cli` runs a command to its end, :func:`start_cli` starts one in a process group
of its own (to interrupt or kill it and everything it started). Both put ``tests/`` on the
subprocess's ``PYTHONPATH``, so agents named by module path (``hostile_agents:Name``,
``failing_agents:Name``) load there as they do under pytest; ``COLUMNS`` is fixed so that
wrapped output does not depend on the terminal.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
RUN_SIM = ROOT / "run_sim.py"


def cli_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a command line under test runs in: this one, plus ``env``."""
    path = os.pathsep.join(p for p in (str(TESTS), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "COLUMNS": "200", "PYTHONPATH": path, **(env or {})}


def run_cli(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``run_sim.py *args``, finished (``timeout`` bounds a hang, not a timing)."""
    return subprocess.run([sys.executable, str(RUN_SIM), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env=cli_env(env))


def start_cli(*args: str, cwd: Path = ROOT) -> subprocess.Popen[str]:
    """``run_sim.py *args``, started in a new session: ``os.killpg(proc.pid, ...)`` reaches
    it and every process it starts."""
    return subprocess.Popen([sys.executable, str(RUN_SIM), *args], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=cli_env(), start_new_session=True)


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    """The one stderr line of a command that refused its input (exit 2, no traceback)."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


def agent_module(folder: Path, source: str, name: str = "my_agent") -> str:
    """Write an agent module into ``folder`` (a run's current folder) and name it."""
    (folder / f"{name}.py").write_text(source, encoding="utf-8")
    return f"{name}:Agent"
