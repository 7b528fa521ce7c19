"""Bad input through the command line (SPEC §6): exit 2 with one line.

One table of cases (``BAD_INPUTS``), each a subprocess that must exit 2 with one stderr
line naming the place and what is allowed: task files and folders, scenarios, stored
traces, agents and options.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import subprocess
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import trio
from cli_helpers import ROOT, one_line_error, run_cli
from episode_helpers import API

from actors import OracleAgent, make_job
from sim.runner import run_episodes
from tasks import get_task

SEED_SOURCE = (ROOT / "tasks" / f"{API}.py").read_text(encoding="utf-8")


#: Task files that break one rule: folder/file stem -> (text to replace, replacement).
TASK_DEFECTS: dict[str, tuple[str, str]] = {
    "syntax_error": ('difficulty="hard",', 'difficulty="hard"'),
    "missing_field": ('    gold_priority="urgent",\n', ""),
    "wrong_type": ("max_steps=8", 'max_steps="eight"'),
    "unknown_value": ('("sla_breach", "p1_incident")', '("sla_breach", "p0_incident")'),
    "import_error": ("from tasks.base import", "import no_such_module_xyz\nfrom tasks.base import"),
}
TASK_FRAGMENTS: dict[str, tuple[str, ...]] = {
    "syntax_error": ("syntax_error.py:", "syntax error", "allowed: valid Python"),
    "missing_field": ("missing_field.py", "gold_priority", "required"),
    "wrong_type": ("wrong_type.py", "max_steps", "'eight'", "allowed: a whole number"),
    "unknown_value": ("unknown_value.py", "risk_flags", "'p0_incident'", "p1_incident"),
    "import_error": ("import_error.py", "import failed", "no_such_module_xyz"),
}
SCENARIO = 'description = "d"\ntask = "api_incident_hard"\n'
SCENARIOS: dict[str, str] = {
    "wrong_type.toml": SCENARIO + 'agent = "oracle"\nseed = "three"\n',
    "unknown_op.toml": SCENARIO + '[[turns]]\nops = [{op = "dance"}]\n',
}


@dataclass(frozen=True)
class Bad:
    args: tuple[str, ...]
    fragments: tuple[str, ...]


def _task_cases() -> dict[str, Bad]:
    cases: dict[str, Bad] = {}
    for stem, fragments in TASK_FRAGMENTS.items():
        what = stem.replace("_", " ")
        cases[f"check-task FILE: {what}"] = Bad(
            ("check-task", f"{stem}/{stem}.py"), (*fragments, "allowed"))
        cases[f"run --tasks-dir DIR: {what}"] = Bad(
            ("run", "--tasks-dir", stem, "--agent", "oracle"), (*fragments, "allowed"))
    return cases


#: Input -> (arguments, fragments of the one stderr line). Paths are relative to the folder
#: the ``bad_input`` fixture fills and runs in.
BAD_INPUTS: dict[str, Bad] = {
    **_task_cases(),
    "run --tasks-dir DIR: a task reusing a shipped id": Bad(
        ("run", "--tasks-dir", "duplicate_id"),
        ("duplicate_id/api_incident_hard.py", "already defined", "allowed: a unique id")),
    "scenario: a value of the wrong type": Bad(
        ("scenario", "wrong_type.toml"), ("wrong_type.toml", "seed", "'three'", "allowed")),
    "scenario: an unknown op in a scripted turn": Bad(
        ("scenario", "unknown_op.toml"), ("unknown_op.toml", "turn 1", "'dance'", "allowed")),
    "grade: an empty file": Bad(("grade", "empty.jsonl"), ("empty.jsonl", "empty", "allowed")),
    "grade: a folder": Bad(("grade", "a_folder"), ("a_folder", "allowed")),
    "grade: an event field of the wrong type": Bad(
        ("grade", "event_wrong_type.jsonl"), ("event_wrong_type.jsonl:2", "t:", "allowed")),
    "grade: a line after the result": Bad(
        ("grade", "after_result.jsonl"), ("after_result.jsonl", "after the result", "allowed")),
    "grade: a trace of a task that has changed": Bad(
        ("grade", "changed_task.jsonl"), ("changed_task.jsonl", "task_hash", "allowed")),
    "grade: a trace of an unknown task": Bad(
        ("grade", "unknown_task.jsonl"), ("unknown_task.jsonl", "'no_such_task'", "allowed")),
    "grade: a trace cut at a line boundary (no result line)": Bad(
        ("grade", "no_result.jsonl"), ("no_result.jsonl", "allowed")),
    "sweep --agent: unknown": Bad(("sweep", "--agent", "nope"), ("'nope'", "allowed")),
    "run --agent: an attribute that is not callable": Bad(
        ("run", "--agent", "math:pi"), ("'math:pi'", "float", "allowed")),
    "run --agent: a callable that returns no agent": Bad(
        ("run", "--agent", "os:getcwd"), ("'os:getcwd'", "act(observation)", "allowed")),
    "run --agent-executor: unknown": Bad(
        ("run", "--agent-executor", "warp"), ("--agent-executor", "'warp'", "choose from")),
    "sweep --workers 0": Bad(("sweep", "--workers", "0"), ("--workers", "allowed")),
    "sweep --seeds 1.5": Bad(("sweep", "--seeds", "1.5"), ("--seeds", "'1.5'", "allowed")),
    "sweep --agent-timeout inf": Bad(
        ("sweep", "--agent-timeout", "inf"), ("--agent-timeout", "inf", "allowed")),
    "sweep --tasks: an empty list": Bad(
        ("sweep", "--tasks", ",", "--out", "empty_sweep"), ("tasks", "allowed")),
    "sweep --out: an existing file": Bad(
        ("sweep", "--tasks", API, "--seeds", "1", "--out", "a_file"), ("a_file", "allowed")),
    "run --trace: a folder that does not exist": Bad(
        ("run", "--trace", "no_such_folder/t.jsonl"), ("no_such_folder/t.jsonl", "allowed")),
}


def _write_bad_files(base: Path) -> None:
    for stem, (old, new) in TASK_DEFECTS.items():
        source = SEED_SOURCE.replace(f'task_id="{API}"', f'task_id="{stem}"')
        assert old in source, old
        (base / stem).mkdir()
        (base / stem / f"{stem}.py").write_text(source.replace(old, new, 1), encoding="utf-8")
    (base / "duplicate_id").mkdir()
    (base / "duplicate_id" / f"{API}.py").write_text(SEED_SOURCE, encoding="utf-8")
    for name, content in SCENARIOS.items():
        (base / name).write_text(content, encoding="utf-8")
    (base / "a_folder").mkdir()
    (base / "a_file").write_text("not a folder\n")
    (base / "empty.jsonl").write_text("")
    result = trio.run(partial(run_episodes, [make_job(get_task(API), OracleAgent, seed=2,
                                                      agent_name="oracle")]))[0]
    lines = result.trace.to_jsonl().splitlines()
    header, events, last = json.loads(lines[0]), lines[1:-1], lines[-1]

    def trace(name: str, head: dict[str, Any], body: list[str]) -> None:
        (base / name).write_text("\n".join([json.dumps(head), *body]) + "\n")

    event = json.loads(events[0])
    trace("event_wrong_type.jsonl", header, [json.dumps({**event, "t": "soon"}), *events[1:],
                                             last])
    trace("after_result.jsonl", header, [*events, last, events[0]])
    trace("changed_task.jsonl", {**header, "task_hash": "0" * 16}, [*events, last])
    trace("unknown_task.jsonl", {**header, "task_id": "no_such_task"}, [*events, last])
    trace("no_result.jsonl", header, events[: len(events) // 2])


@pytest.fixture(scope="module")
def bad_input(tmp_path_factory: pytest.TempPathFactory
              ) -> dict[str, subprocess.CompletedProcess[str]]:
    """Every case of ``BAD_INPUTS``, run at once (a few at a time) in one folder."""
    base = tmp_path_factory.mktemp("bad_input")
    _write_bad_files(base)
    with concurrent.futures.ThreadPoolExecutor(max_workers=(os.cpu_count() or 2) + 1) as pool:
        futures = {name: pool.submit(run_cli, *case.args, cwd=base)
                   for name, case in BAD_INPUTS.items()}
        return {name: future.result() for name, future in futures.items()}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_exits_2_with_one_line_naming_the_place(
    bad_input: dict[str, subprocess.CompletedProcess[str]], case: str
) -> None:
    proc = bad_input[case]
    assert proc.returncode == 2, (proc.returncode, proc.stdout[-500:], proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for fragment in BAD_INPUTS[case].fragments:
        assert fragment in lines[0], (fragment, lines[0])


def test_a_task_file_or_family_that_calls_sys_exit_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "fixed").mkdir()
    (tmp_path / "fixed" / "quitter.py").write_text("import sys\nsys.exit(0)\n")
    (tmp_path / "family").mkdir()
    (tmp_path / "family" / "quitter.py").write_text(
        "import sys\n\n\ndef FAMILY(draw):\n    sys.exit(0)\n")
    for kind, where in (("fixed", "quitter.py:2: SystemExit: 0;"),
                        ("family", "family 'quitter', seed 0: FAMILY (line 5): SystemExit: 0;")):
        folder = tmp_path / kind
        for args in (("run", "--tasks-dir", str(folder), "--task", "quitter"),
                     ("check-task", str(folder / "quitter.py"))):
            line = one_line_error(run_cli(*args))
            assert where in line and "allowed:" in line, line
