"""Running the command line from tests: ``run_sim.py`` in a subprocess.

:func:`run_cli` puts ``tests/`` on the subprocess's ``PYTHONPATH``, so agents named by
module path (``hostile_agents:Name``, ``failing_agents:Name``) load there as they do under
pytest; ``COLUMNS`` is fixed so that wrapped output does not depend on the terminal.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
RUN_SIM = ROOT / "run_sim.py"


def run_cli(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``run_sim.py *args``, finished (``timeout`` bounds a hang, not a timing)."""
    path = os.pathsep.join(p for p in (str(TESTS), os.environ.get("PYTHONPATH")) if p)
    return subprocess.run([sys.executable, str(RUN_SIM), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout,
                          env={**os.environ, "COLUMNS": "200", "PYTHONPATH": path,
                               **(env or {})})


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    """The one stderr line of a command that refused its input (exit 2, no traceback)."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]
