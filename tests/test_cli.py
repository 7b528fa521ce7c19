"""The command line, run as a user runs it: a subprocess, its output and exit status; and
what its entry point sets up for the process (the garbage collector), in-process."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import trio

import run_sim
from actors import commands, make_job
from sim.metrics import summarize
from sim.results import REAL_TIME_FIELDS, read_results
from sim.runner import run_episodes
from sim.trace import SCHEMA_VERSION
from tasks import get_task

ROOT = Path(__file__).resolve().parents[1]
SEED_TASK_FILE = ROOT / "tasks" / "api_incident_hard.py"


def run_cli(*args: str, cwd: Path = ROOT, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([sys.executable, str(ROOT / "run_sim.py"), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, env=env)


def assert_bad_input(proc: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_no_arguments_runs_the_seed_task_with_the_heuristic_agent() -> None:
    proc = run_cli()
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "api_incident_hard" in out and "agent heuristic" in out
    assert "SLA in 90 min" in out  # the countdown at turn 1
    assert "grade report" in out and "escalation" in out and "score" in out
    assert "termination: " in out


def test_run_json_prints_the_fields_of_the_spec() -> None:
    proc = run_cli("run", "--task", "api_incident_hard", "--agent", "oracle", "--seed", "4",
                   "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    for key in ("task_id", "seed", "agent", "persona", "score", "breakdown",
                "termination_reason", "steps", "sim_minutes", "sla_breached"):
        assert key in data
    assert data["score"] == 1.0 and data["seed"] == 4 and data["agent"] == "oracle"
    assert data["termination_reason"] == "finished" and data["sla_breached"] is False


def test_run_writes_a_trace_that_grade_re_grades_identically(tmp_path: Path) -> None:
    trace = tmp_path / "t.jsonl"
    proc = run_cli("run", "--agent", "heuristic", "--persona", "confused", "--fault",
                   "eta_slips", "--trace", str(trace), "--json")
    assert proc.returncode == 0, proc.stderr
    live = json.loads(proc.stdout)
    regraded = run_cli("grade", str(trace), "--json")
    assert regraded.returncode == 0, regraded.stderr
    report = json.loads(regraded.stdout)
    assert report["score"] == live["score"]
    assert {c["name"]: c["value"] for c in report["criteria"]} == live["breakdown"]
    table = run_cli("grade", str(trace))
    assert table.returncode == 0 and "grade report" in table.stdout


def test_tasks_lists_every_shipped_task() -> None:
    proc = run_cli("tasks")
    assert proc.returncode == 0
    ids = [line.split()[0] for line in proc.stdout.splitlines()]
    assert "api_incident_hard" in ids and len(ids) >= 10


def test_run_with_a_users_tasks_dir(tmp_path: Path) -> None:
    source = SEED_TASK_FILE.read_text().replace('"api_incident_hard"', '"my_incident"')
    (tmp_path / "my_incident.py").write_text(source)
    proc = run_cli("run", "--task", "my_incident", "--tasks-dir", str(tmp_path), "--agent",
                   "oracle", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["task_id"] == "my_incident"
    listed = run_cli("tasks", "--tasks-dir", str(tmp_path))
    assert "my_incident" in listed.stdout


def test_check_task_passes_on_the_seed_and_fails_to_load_bad_files(tmp_path: Path) -> None:
    proc = run_cli("check-task", str(SEED_TASK_FILE), "--max-examples", "3")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 failed" in proc.stdout
    bad = tmp_path / "bad.py"
    bad.write_text(SEED_TASK_FILE.read_text().replace('gold_queue="platform_engineering"',
                                                      'gold_queue="platform"'))
    assert_bad_input(run_cli("check-task", str(bad)), "bad.py", "gold_queue", "allowed")


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("run", "--task", "nope"), ("'nope'", "allowed")),
        (("run", "--agent", "nope"), ("'nope'", "allowed")),
        (("run", "--agent", "no.such.module:Agent"), ("no.such.module", "allowed")),
        (("run", "--persona", "grumpy"), ("grumpy", "choose from")),
        (("run", "--fault", "meteor"), ("meteor", "choose from")),
        (("run", "--seed", "-3"), ("-3", "allowed")),
        (("run", "--seed", "many"), ("many", "allowed")),
        (("run", "--agent-timeout", "0"), ("0", "allowed")),
        (("run", "--agent-timeout", "nan"), ("nan", "allowed")),
        (("run", "--tasks-dir", "/no/such/dir"), ("/no/such/dir", "allowed")),
        (("sweep", "--seeds", "0"), ("0", "allowed")),
        (("sweep", "--personas", "cooperative,grumpy"), ("grumpy", "allowed")),
        (("sweep", "--tasks", "api_incident_hard,nope"), ("nope", "allowed")),
        (("sweep", "--concurrency", "x"), ("'x'", "allowed")),
        (("grade", "/no/such/trace.jsonl"), ("no such file", "allowed")),
        (("check-task", "/no/such/task.py"), ("no such file", "allowed")),
        (("frobnicate",), ("frobnicate",)),
    ],
    ids=lambda value: "-".join(value) if isinstance(value, tuple) else None,
)
def test_bad_input_exits_2_with_one_line(args: tuple[str, ...], fragments: tuple[str, ...]) -> None:
    assert_bad_input(run_cli(*args), *fragments)


@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        ("not json at all\n", ("not JSON", "allowed")),
        ('{"type": "event"}\n', ("not a header", "allowed")),
        ('{"type": "header", "schema_version": 99}\n', ("schema_version 99",
                                                     f"allowed: {SCHEMA_VERSION}")),
    ],
    ids=["not-json", "no-header", "wrong-schema-version"],
)
def test_grade_rejects_bad_trace_files(tmp_path: Path, content: str,
                                       fragments: tuple[str, ...]) -> None:
    path = tmp_path / "trace.jsonl"
    path.write_text(content)
    assert_bad_input(run_cli("grade", str(path)), "trace.jsonl", *fragments)


def test_grade_rejects_a_truncated_trace(tmp_path: Path) -> None:
    trace = tmp_path / "t.jsonl"
    assert run_cli("run", "--trace", str(trace), "--json").returncode == 0
    text = trace.read_text()
    (tmp_path / "cut.jsonl").write_text(text[: len(text) // 2])
    assert_bad_input(run_cli("grade", str(tmp_path / "cut.jsonl")), "cut.jsonl", "allowed")


def _stable(rows: list[dict[str, object]]) -> dict[tuple[object, ...], dict[str, object]]:
    return {(r["task_id"], r["persona"], r["seed"]): {k: v for k, v in r.items()
                                                      if k not in REAL_TIME_FIELDS}
            for r in rows}


def test_full_heuristic_sweep_and_its_summary_match_a_recount(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    proc = run_cli("sweep", "--tasks", "all", "--agent", "heuristic", "--seeds", "20",
                   "--personas", "all", "--workers", "2", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    rows, dropped = read_results(out / "results.jsonl")
    tasks = run_cli("tasks").stdout.splitlines()
    assert dropped == 0 and len(rows) == len(tasks) * 20 * 5
    assert len(_stable(rows)) == len(rows)  # every episode exactly once
    summary = json.loads((out / "summary.json").read_text())
    recount = summarize(rows)
    assert summary["overall"] == recount["overall"]
    assert summary["per_task"] == recount["per_task"]
    assert summary["complete"] is True
    assert "sweep summary" in proc.stdout and "overall" in proc.stdout


def test_resume_after_an_interrupted_sweep_gives_the_same_results(tmp_path: Path) -> None:
    args = ("sweep", "--tasks", "api_incident_hard,duplicate_charge_easy", "--agent", "random",
            "--seeds", "6", "--personas", "cooperative,impatient")
    whole = tmp_path / "whole"
    assert run_cli(*args, "--out", str(whole)).returncode == 0
    expected, _ = read_results(whole / "results.jsonl")
    # An interrupted sweep: the first third of the lines, and a torn line after them.
    part = tmp_path / "part"
    part.mkdir()
    lines = (whole / "results.jsonl").read_text().splitlines(keepends=True)
    (part / "results.jsonl").write_text("".join(lines[:8]) + lines[8][:40])
    resumed = run_cli(*args, "--out", str(part), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "16 episodes run, 8 already done, 1 torn line(s) dropped" in resumed.stdout
    got, dropped = read_results(part / "results.jsonl")
    assert dropped == 0
    assert _stable(got) == _stable(expected)
    again = run_cli(*args, "--out", str(part))
    assert_bad_input(again, "results.jsonl exists", "allowed: --resume")


def test_scenario_runs_every_shipped_scenario() -> None:
    files = sorted(str(p) for p in (ROOT / "scenarios").glob("*.toml"))
    assert len(files) >= 8
    proc = run_cli("scenario", *files)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{len(files)} passed, 0 failed" in proc.stdout


def test_a_failing_expectation_exits_1_and_says_which(tmp_path: Path) -> None:
    source = (ROOT / "scenarios" / "oracle_seed.toml").read_text()
    assert "[expect]" in source
    failing = tmp_path / "too_strict.toml"
    failing.write_text(source.replace("[expect]", "[expect]\nsteps_max = 1", 1))
    proc = run_cli("scenario", str(failing))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "steps" in proc.stdout and "FAIL" in proc.stdout.upper()
    assert "0 passed, 1 failed" in proc.stdout


def test_a_bad_scenario_file_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('description = "typo"\ntask = "api_incident_hard"\nagent = "oracle"\n'
                   'sede = 3\n')
    assert_bad_input(run_cli("scenario", str(bad)), "bad.toml", "sede", "allowed")
    broken = tmp_path / "broken.toml"
    broken.write_text("task = \n")
    assert_bad_input(run_cli("scenario", str(broken)), "broken.toml", "allowed")


# --------------------------------------------------------------------------- --privileged

#: A third-party agent (a module in the user's folder) that records what reset got; handed
#: the whole task, it writes to its copy (``Probe``) or not (``Quiet``) and then plays the
#: gold queue it read.
PROBE_AGENT = '''
import json
from pathlib import Path

LOG = Path(__file__).with_name("reset_log.jsonl")


class Probe:
    tamper = True

    def __init__(self):
        self.queue = None

    def reset(self, brief, seed):
        seen = {"type": type(brief).__name__, "has_gold": hasattr(brief, "gold_queue"),
                "fields": sorted(type(brief).model_fields)}
        if hasattr(brief, "gold_queue"):
            self.queue = seen["gold_queue"] = brief.gold_queue
            if self.tamper:  # through the frozen model's __dict__: only this copy changes
                vars(brief)["gold_queue"] = "billing"
                vars(brief)["required_requested_fields"] = ()
                vars(brief.ticket)["sla_minutes_remaining"] = 1
        with LOG.open("a") as log:
            log.write(json.dumps(seen) + "\\n")

    def act(self, observation):
        ops = [{"op": "set_fields", "queue": self.queue}] if self.queue else []
        return ops + [{"op": "finish"}]


class Quiet(Probe):
    tamper = False
'''


def test_privileged_hands_a_third_party_agent_a_copy_of_the_task(tmp_path: Path) -> None:
    (tmp_path / "probe_agent.py").write_text(PROBE_AGENT)
    base = ("run", "--task", "api_incident_hard", "--seed", "2", "--json")
    runs = {
        "plain": run_cli(*base, "--agent", "probe_agent:Probe", cwd=tmp_path),
        "privileged": run_cli(*base, "--agent", "probe_agent:Probe", "--privileged",
                              "--trace", "privileged.jsonl", cwd=tmp_path),
        "quiet": run_cli(*base, "--agent", "probe_agent:Quiet", "--privileged", cwd=tmp_path),
    }
    for name, proc in runs.items():
        assert proc.returncode == 0, (name, proc.stderr)
    rows = {name: json.loads(proc.stdout) for name, proc in runs.items()}
    plain, privileged, quiet = (json.loads(line) for line in
                                (tmp_path / "reset_log.jsonl").read_text().splitlines())
    # Without the flag: the brief, and no gold in it.
    assert plain["type"] == "TaskBrief" and plain["has_gold"] is False
    assert not [f for f in plain["fields"] if f.startswith("gold_") or "marker" in f]
    assert rows["plain"]["privileged"] is False
    assert rows["plain"]["breakdown"]["queue"] == 0.0  # it had no gold queue to play
    # With it: a copy of the whole spec, and the result row and trace header say so.
    assert privileged["type"] == quiet["type"] == "SupportTaskSpec"
    assert privileged["gold_queue"] == "platform_engineering"
    assert rows["privileged"]["privileged"] is True
    header = json.loads((tmp_path / "privileged.jsonl").read_text().splitlines()[0])
    assert header["privileged"] is True
    # Writing to that copy changed nothing the grader reads: the task's hash still holds
    # (no sim_error) and the grade is the grade of the agent that wrote nothing.
    assert rows["privileged"]["termination_reason"] == "finished"
    assert rows["privileged"]["breakdown"]["queue"] == 1.0
    for key in ("score", "breakdown", "steps", "sla_breached"):
        assert rows["privileged"][key] == rows["quiet"][key], key
    shown = run_cli("run", "--task", "api_incident_hard", "--agent", "probe_agent:Quiet",
                    "--privileged", cwd=tmp_path)
    assert shown.returncode == 0 and "privileged" in shown.stdout.splitlines()[0]
    regraded = run_cli("grade", "privileged.jsonl", "--json", cwd=tmp_path)
    assert regraded.returncode == 0, regraded.stderr
    assert json.loads(regraded.stdout)["score"] == rows["privileged"]["score"]


def test_a_sweep_records_its_privilege_and_resume_keeps_to_it(tmp_path: Path) -> None:
    (tmp_path / "probe_agent.py").write_text(PROBE_AGENT)
    args = ("sweep", "--tasks", "duplicate_charge_easy", "--agent", "probe_agent:Quiet",
            "--seeds", "2")
    out = tmp_path / "out"
    first = run_cli(*args, "--privileged", "--out", str(out), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    rows, _ = read_results(out / "results.jsonl")
    assert [row["privileged"] for row in rows] == [True, True]
    assert all(row["breakdown"]["queue"] == 1.0 for row in rows)  # it read the gold
    assert json.loads((out / "summary.json").read_text())["plan"]["privileged"] is True
    assert json.loads((out / "plan.json").read_text())["privileged"] is True
    # The same plan resumes (nothing left to run); another privilege, or more seeds, is
    # another plan: refused, and the results file is left as it was.
    same = run_cli(*args, "--privileged", "--out", str(out), "--resume", cwd=tmp_path)
    assert same.returncode == 0, same.stderr
    assert "0 episodes run, 2 already done" in same.stdout
    before = (out / "results.jsonl").read_bytes()
    assert_bad_input(run_cli(*args, "--out", str(out), "--resume", cwd=tmp_path),
                     "different plan", "privileged was True, now False", "allowed")
    more = [a if a != "2" else "3" for a in args]
    assert_bad_input(run_cli(*more, "--privileged", "--out", str(out), "--resume",
                             cwd=tmp_path), "different plan", "seeds", "allowed")
    # A folder written before plan.json existed is judged by its rows.
    (out / "plan.json").unlink()
    assert_bad_input(run_cli(*args, "--out", str(out), "--resume", cwd=tmp_path),
                     "privileged=true", "allowed")
    assert (out / "results.jsonl").read_bytes() == before


# ------------------------------------------------- the process: the garbage collector

TUNED = (50_000, 20, 20)


@pytest.mark.parametrize(("argv", "target", "tuned"), [
    (["run"], "run_command", True),
    (["scenario", "any.toml"], "scenario_command", True),
    (["check-task", "any.py"], "check_task_command", True),
    (["tasks"], "tasks_command", False),
    (["sweep", "--tasks", "duplicate_charge_easy"], "sweep_command", False),
])
def test_the_entry_point_tunes_the_collector_around_commands_that_run_episodes(
    monkeypatch: pytest.MonkeyPatch, argv: list[str], target: str, tuned: bool,
) -> None:
    before = gc.get_threshold()
    assert before != TUNED
    seen: list[tuple[int, ...]] = []

    def command(*args: object, **kwargs: object) -> int:
        seen.append(gc.get_threshold())
        return 0

    monkeypatch.setattr(commands, target, command)
    assert run_sim.main(argv) == 0
    assert seen == [TUNED if tuned else before]
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def test_the_library_leaves_the_collector_alone() -> None:
    before = gc.get_threshold()
    jobs = [make_job(get_task("duplicate_charge_easy"), "oracle", seed=s) for s in range(3)]
    seen: list[tuple[int, ...]] = []
    trio.run(lambda: run_episodes(jobs, on_result=lambda i, r: seen.append(gc.get_threshold())))
    assert seen == [before] * 3 and gc.get_threshold() == before


GC_PROBE = """
import gc, os
from pathlib import Path
from actors.agents.heuristic import HeuristicAgent


class Agent(HeuristicAgent):
    def act(self, observation):
        Path("thresholds.txt").open("a").write(f"{os.getpid()} {gc.get_threshold()}\\n")
        return super().act(observation)
"""


def test_a_sweep_worker_process_tunes_its_own_collector(tmp_path: Path) -> None:
    (tmp_path / "gc_probe.py").write_text(GC_PROBE)
    proc = run_cli("sweep", "--tasks", "duplicate_charge_easy", "--agent", "gc_probe:Agent",
                   "--seeds", "2", "--out", "out", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = (tmp_path / "thresholds.txt").read_text().splitlines()
    assert lines and all(line.split(" ", 1)[1] == str(TUNED) for line in lines), lines
    assert {line.split()[0] for line in lines} != {str(os.getpid())}
