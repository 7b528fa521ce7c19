"""What the command line does with an error: bad input is one line and exit status 2;
anything else is a bug, and surfaces as one (a traceback, exit status 1).

Each of the library's input errors (``actors.commands.INPUT_ERRORS``) is provoked once
through a real command, in a subprocess; then a library function made to fail as a bug
would (a ``ValueError``, a pydantic ``ValidationError``) must not pass for bad input.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

import run_sim
from actors import commands
from sim.trace import Trace

ROOT = Path(__file__).resolve().parents[1]
EASY = "duplicate_charge_easy"


def run_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "run_sim.py"), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "COLUMNS": "200"})


def one_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("run_sim.py: error: ") and "allowed" in lines[0], lines[0]
    return lines[0]


# ------------------------------------------------------------------ bad input: exit 2


def _bad_files(folder: Path) -> None:
    (folder / "bad.toml").write_text('description = "d"\ntask = "nope"\nagent = "oracle"\n')
    (folder / "not_json.jsonl").write_text("not json at all\n")
    (folder / "a_file").write_text("")
    # A results file whose line is JSON but not a row: refused on --resume, before any run.
    (folder / "resumed").mkdir()
    (folder / "resumed" / "results.jsonl").write_text("[1, 2]\n")
    (folder / "taken").mkdir()
    (folder / "taken" / "results.jsonl").write_text("")


@pytest.mark.parametrize(("error", "args", "fragment"), [
    ("InputError", ("tasks", "--seed", "3"), "--seed 3: given without --show"),
    ("InputError", ("sweep", "--tasks", EASY, "--out", "a_file"), "--out a_file: is a file"),
    ("TaskLoadError", ("run", "--tasks-dir", "no_such_dir"), "no_such_dir"),
    ("AgentLoadError", ("run", "--agent", "nope"), "agent 'nope' is unknown"),
    ("ScenarioError", ("scenario", "bad.toml"), "bad.toml: task: "),
    ("SweepError", ("sweep", "--tasks", EASY, "--seeds", "1", "--out", "taken"),
     "results.jsonl exists"),
    ("TraceFormatError", ("grade", "not_json.jsonl"), "not_json.jsonl:1: not JSON"),
    ("ResultsFormatError", ("sweep", "--tasks", EASY, "--seeds", "1", "--out", "resumed",
                            "--resume"), "line 1: not a results row"),
])
def test_each_input_error_is_one_line_and_exit_2(
    tmp_path: Path, error: str, args: tuple[str, ...], fragment: str,
) -> None:
    assert error in {kind.__name__ for kind in commands.INPUT_ERRORS}
    _bad_files(tmp_path)
    line = one_line(run_cli(*args, cwd=tmp_path))
    assert fragment in line, line


# ------------------------------------------------------------- a bug: not bad input


def _boom(*args: object, **kwargs: object) -> object:
    raise ValueError("an internal bug, not the user's input")


class _Strict(BaseModel):
    count: int


def _invalid(*args: object, **kwargs: object) -> object:
    _Strict.model_validate({"count": "many"})  # raises: a bug in the library's own call
    raise AssertionError("unreachable")


@pytest.mark.parametrize(("target", "argv"), [
    ("discover_families", ["tasks"]),
    ("list_task_ids", ["run", "--json"]),
    ("load_scenario", ["scenario", "scenarios/oracle_seed.toml"]),
    ("Trace", ["grade", "any.jsonl"]),
])
@pytest.mark.parametrize("fault", [_boom, _invalid], ids=["ValueError", "ValidationError"])
def test_an_internal_error_is_not_turned_into_bad_input(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    target: str, argv: list[str], fault: object,
) -> None:
    if target == "Trace":
        monkeypatch.setattr(Trace, "read", fault)
    else:
        monkeypatch.setattr(commands, target, fault)
    expected = ValueError if fault is _boom else ValidationError
    with pytest.raises(expected):
        run_sim.main(argv)
    assert "run_sim.py: error" not in capsys.readouterr().err


def test_an_internal_error_surfaces_as_a_traceback_and_exit_1(tmp_path: Path) -> None:
    # As a user meets it: the command line with one library function broken.
    script = ("import sys, run_sim\nfrom actors import commands\n"
              "def boom(*args, **kwargs):\n    raise ValueError('an internal bug')\n"
              "commands.discover_families = boom\n"
              "sys.exit(run_sim.main(['tasks']))\n")
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert "Traceback (most recent call last)" in proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == "ValueError: an internal bug"
    assert "run_sim.py: error" not in proc.stderr
