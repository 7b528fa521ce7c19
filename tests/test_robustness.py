"""Robustness: hostile agents, bad input, crash-safe results, secrets (SPEC §3, §5, §6).

1. Hostile agents run among well-behaved ones in ONE concurrent ``run_episodes`` call
   (the ``hostile_run`` fixture); each test reads one of its episodes.
2. Bad input through the command line: one table of cases (``BAD_INPUTS``), each a
   subprocess that must exit 2 with one line naming the place and what is allowed.
3. Crash-safe results: sweeps killed with SIGKILL or stopped with SIGINT, then resumed.
4. Secrets: an API key in the environment never reaches a written file or ``--json``.

The misbehaving agents live in ``tests/hostile_agents.py`` (importable by module path,
which the process executor and the command line need).
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import hostile_agents as ha
import pytest
import trio
import trio_parallel

from actors import HeuristicAgent, OracleAgent, make_job
from sim.episode import EpisodeConfig, EpisodeResult
from sim.results import REAL_TIME_FIELDS, read_results
from sim.runner import EpisodeJob, run_episodes
from sim.trace import Trace
from tasks import SupportTaskSpec, discover_tasks, get_task

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
RUN_SIM = ROOT / "run_sim.py"
API = "api_incident_hard"

# ===================================================================== 1. hostile agents

#: The per-decision limit of the hostile jobs (real seconds).
TIMEOUT = 0.3
#: The limit of the CPU-bound agent in the process executor: its first decision also pays
#: for starting the worker process.
PROCESS_TIMEOUT = 1.5
#: How late a timeout may fire: the hostile run's loop also parses megabytes of garbage.
SLACK = 2.0
#: A trace of a two-turn episode is a few kilobytes; garbage must not make it bigger.
MAX_TRACE_BYTES = 100_000
BIG = "x" * 10_000_000  # 10 MB

AGENTS: dict[str, Callable[[], Any]] = {"oracle": OracleAgent, "heuristic": HeuristicAgent}
#: (agent, task, seed, persona, faults) of the well-behaved jobs mixed into the run.
WELL_BEHAVED: list[tuple[str, str, int, str, tuple[str, ...]]] = [
    ("oracle", API, 1, "cooperative", ()),
    ("heuristic", API, 2, "confused", ("eta_slips",)),
    ("oracle", "duplicate_charge_easy", 3, "impatient", ()),
    ("heuristic", "webhook_backlog_hard", 4, "slow", ("slow_eta",)),
    ("heuristic", "gdpr_access_request_medium", 5, "cooperative", ()),
    ("oracle", "cross_tenant_exposure_hard", 6, "silent", ("team_silent",)),
]


def well_behaved_job(spec: tuple[str, str, int, str, tuple[str, ...]]) -> EpisodeJob:
    agent, task, seed, persona, faults = spec
    return make_job(get_task(task), AGENTS[agent], seed=seed, persona=persona, faults=faults,
                    agent_name=agent)


@dataclass(frozen=True)
class Garbage:
    """A turn-1 decision and how it must be counted."""

    make: Callable[[], Any]  # built when the agent is, so 10 MB lives only that long
    invalid: int  # result.invalid_operations
    rejected_rows: int  # OperationResults with ok=False in the next observation


GARBAGE: dict[str, Garbage] = {
    "an int instead of a list": Garbage(lambda: 42, 1, 1),
    "a string instead of a list": Garbage(lambda: "finish", 1, 1),
    "NaN instead of a list": Garbage(lambda: float("nan"), 1, 1),
    "a set instead of a list": Garbage(lambda: {"finish"}, 1, 1),
    "None (an empty turn)": Garbage(lambda: None, 0, 0),
    "wrong types inside operations": Garbage(lambda: [
        {"op": "reply", "message": 123},
        {"op": "set_fields", "priority": ["urgent"]},
        {"op": "flag_risk", "flags": "p1_incident"},
        {"op": "escalate", "queue": None, "summary": "x"},
        {"op": "finish", "now": True},
    ], 5, 5),
    "unknown operations": Garbage(lambda: [
        {"op": "dance"}, {"op": None}, {}, {"OP": "finish"}, {"op": "FINISH"},
        ["op", "finish"], 7,
    ], 7, 7),
    "a 10 MB reply, note, query and summary": Garbage(lambda: [
        {"op": "reply", "message": BIG},
        {"op": "note", "text": BIG},
        {"op": "search_kb", "query": BIG},
        {"op": "escalate", "queue": "platform_engineering", "summary": BIG},
    ], 4, 4),
    "a 10 MB string as the turn": Garbage(lambda: BIG, 1, 1),
    "10 MB catalog values": Garbage(lambda: [
        {"op": "reply", "message": "hi", "request_fields": [BIG]},
        {"op": "set_fields", "queue": BIG},
        {"op": "flag_risk", "flags": [BIG]},
        {"op": "set_status", "status": BIG},
    ], 4, 4),
    "a 10 MB key": Garbage(lambda: [{"op": "note", "text": "hi", BIG: 1}], 1, 1),
    "10,000 operations": Garbage(
        lambda: [{"op": "note", "text": f"note {i}"} for i in range(10_000)], 9_992, 1),
    "NaN, inf, negative and huge numbers": Garbage(lambda: [
        {"op": "set_fields", "priority": float("nan")},
        {"op": "reply", "message": "hi", "request_fields": [float("inf")]},
        {"op": "search_kb", "query": -1},
        {"op": "note", "text": 10**5000},
        {"op": "dance", "x": -float("inf"), "y": 10**400, "z": -(2**63)},
        {"op": "set_status", "status": "resolved", "resolution_code": 1e308},
        {"op": "escalate", "queue": "platform_engineering", "summary": "s",
         "priority": float("nan")},
    ], 7, 7),
    "structures nested 100,000 deep": Garbage(lambda: [
        {"op": "dance", "x": ha.deep(100_000)},
        ha.deep(100_000),
        {"op": "reply", "message": "hi", "request_fields": ha.deep(100_000)},
    ], 3, 3),
    "objects whose repr raises": Garbage(lambda: [
        {"op": "reply", "message": ha.BadRepr()},
        ha.BadRepr(),
        {"op": "dance", "x": ha.BadRepr()},
        {"op": ha.BadRepr()},
    ], 4, 4),
    "an op name that cannot be compared": Garbage(lambda: [{"op": ha.BadEq()}], 1, 1),
    "a mapping that raises on access": Garbage(lambda: [ha.ExplodingMapping()], 1, 1),
}


@dataclass(repr=False)  # its traces can be tens of MB: keep failure reports short
class HostileRun:
    """One ``run_episodes`` call: well-behaved and hostile jobs, results by name."""

    results: dict[str, EpisodeResult]
    agents: dict[str, Any]
    #: The trace (JSONL) and summary of each episode at the moment it ended.
    at_end: dict[str, tuple[str, dict[str, Any]]]
    seconds: float
    pid_file: Path
    alone: dict[str, str] = field(default_factory=dict)


def _hostile_jobs(pid_file: Path, agents: dict[str, Any]) -> dict[str, EpisodeJob]:
    task = get_task(API)
    hostile = EpisodeConfig(agent_timeout=TIMEOUT)

    def keep(name: str, make: Callable[[], Any]) -> Callable[[], Any]:
        def build() -> Any:
            agents[name] = agent = make()
            return agent
        return build

    def job(name: str, make: Callable[[], Any], seed: int = 0, agent_name: str | None = None,
            config: EpisodeConfig = hostile) -> EpisodeJob:
        return make_job(task, keep(name, make), seed=seed, persona="cooperative",
                        agent_name=agent_name or name, config=config)

    jobs = {f"well-behaved {i}": well_behaved_job(spec) for i, spec in enumerate(WELL_BEHAVED)}
    jobs |= {
        "raises": job("raises", ha.RaisingAgent),
        "raises unprintable": job("raises unprintable", ha.UnprintableErrorAgent),
        "async forever": job("async forever", ha.AsyncForeverAgent),
        "sync blocking": job("sync blocking", ha.SyncBlockingAgent),
        # Same task, seed and name as "well-behaved 0", so the same trace is expected.
        "mutator": make_job(task, keep("mutator", ha.MutatingOracle), seed=1,
                            persona="cooperative", agent_name="oracle", privileged=True),
        "late": job("late", ha.LateAgent, seed=7),
        "late twin": job("late twin", ha.StuckTwin, seed=7, agent_name="late"),
        "spinner": job("spinner", partial(ha.Spinner, str(pid_file)),
                       config=EpisodeConfig(agent_timeout=PROCESS_TIMEOUT,
                                            agent_executor="process")),
    }
    for name, garbage in GARBAGE.items():
        jobs[name] = job(name, lambda g=garbage: ha.GarbageAgent(g.make()))
    return jobs


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory: pytest.TempPathFactory) -> HostileRun:
    pid_file = tmp_path_factory.mktemp("spinner") / "pid"
    agents: dict[str, Any] = {}
    jobs = _hostile_jobs(pid_file, agents)
    names = list(jobs)
    at_end: dict[str, tuple[str, dict[str, Any]]] = {}

    def on_result(index: int, result: EpisodeResult) -> None:
        try:
            at_end[names[index]] = (result.trace.to_jsonl(), result.summary())
        except Exception as error:  # reported by the test that reads this episode
            at_end[names[index]] = (f"unserialisable: {error!r}", {})

    # Start the process executor's worker beforehand (it is kept for later decisions), so
    # the spinner's limit measures its decision and not the start of a Python process.
    trio.run(trio_parallel.run_sync, ha.warm_up)
    started = time.perf_counter()
    results = trio.run(partial(run_episodes, list(jobs.values()), concurrency=len(jobs),
                               on_result=on_result))
    seconds = time.perf_counter() - started
    run = HostileRun(results=dict(zip(names, results, strict=True)), agents=agents,
                     at_end=at_end, seconds=seconds, pid_file=pid_file)
    for i, spec in enumerate(WELL_BEHAVED):  # the same jobs, each alone in its own run
        (alone,) = trio.run(run_episodes, [well_behaved_job(spec)])
        run.alone[f"well-behaved {i}"] = alone.trace.to_jsonl()
    return run


def kinds(result: EpisodeResult, kind: str) -> list[Any]:
    return [e for e in result.trace.events if e.kind == kind]


def test_well_behaved_episodes_among_hostile_ones_are_byte_identical_to_running_alone(
    hostile_run: HostileRun,
) -> None:
    assert len(hostile_run.alone) == len(WELL_BEHAVED)
    for name, alone in hostile_run.alone.items():
        result = hostile_run.results[name]
        assert result.termination_reason in ("finished", "max_steps"), (name, result.error)
        assert result.trace.to_jsonl() == alone, name
    oracles = [hostile_run.results[f"well-behaved {i}"] for i, spec in enumerate(WELL_BEHAVED)
               if spec[0] == "oracle" and spec[3] == "cooperative"]
    assert [r.score for r in oracles] == [1.0] * len(oracles)


def test_an_agent_that_raises_is_agent_error_with_its_traceback_in_the_trace(
    hostile_run: HostileRun,
) -> None:
    result = hostile_run.results["raises"]
    assert result.termination_reason == "agent_error"
    assert result.steps == 2
    assert result.error == "ValueError: hostile agent gave up at turn 2"
    (event,) = kinds(result, "agent_error")
    assert event.payload["type"] == "ValueError"
    assert event.payload["message"] == "hostile agent gave up at turn 2"
    traceback = event.payload["traceback"]
    assert traceback.startswith("Traceback (most recent call last)")
    assert "hostile_agents.py" in traceback and "raise ValueError(" in traceback
    assert kinds(result, "end")[0].payload["reason"] == "agent_error"
    assert len(kinds(result, "operation")) == 2  # turn 1's decision was applied


def test_an_exception_that_cannot_be_printed_is_still_agent_error(
    hostile_run: HostileRun,
) -> None:
    result = hostile_run.results["raises unprintable"]
    assert result.termination_reason == "agent_error", result.error
    assert result.steps == 2
    assert result.error is not None and "_UnprintableError" in result.error
    (event,) = kinds(result, "agent_error")
    assert event.payload["type"] == "_UnprintableError"


@pytest.mark.parametrize("make", [ha.UnprintableResetAgent, ha.unprintable_factory],
                         ids=["from reset()", "from the agent factory"])
def test_an_unprintable_exception_before_the_first_turn_fails_only_its_episode(
    make: Callable[[], Any],
) -> None:
    # Kept out of hostile_run: today it takes the whole run_episodes call down with it.
    jobs = [well_behaved_job(WELL_BEHAVED[0]),
            make_job(get_task(API), make, seed=9, agent_name="unprintable"),
            well_behaved_job(WELL_BEHAVED[2])]
    try:
        results = trio.run(run_episodes, jobs)
    except Exception as error:
        pytest.fail(f"run_episodes raised {error!r}: every episode of the call was lost")
    assert [r.termination_reason for r in results] == ["finished", "agent_error", "finished"]
    assert "_UnprintableError" in (results[1].error or "")


def test_an_async_agent_that_never_returns_is_agent_timeout(hostile_run: HostileRun) -> None:
    result = hostile_run.results["async forever"]
    assert result.termination_reason == "agent_timeout"
    assert result.steps == 2
    (event,) = kinds(result, "agent_timeout")
    assert event.payload == {"turn": 2, "limit_seconds": TIMEOUT}
    assert TIMEOUT <= result.agent_latency_max < TIMEOUT + SLACK


def test_a_blocked_sync_agent_is_agent_timeout_and_the_run_does_not_wait_for_its_thread(
    hostile_run: HostileRun,
) -> None:
    result = hostile_run.results["sync blocking"]
    assert result.termination_reason == "agent_timeout"
    assert result.steps == 2
    assert result.trace.header.config == {"agent_executor": "auto"}  # auto: a thread
    assert TIMEOUT <= result.agent_latency_max < TIMEOUT + SLACK
    # The blocked thread sleeps 10 s; the whole run (spinner included) ends well before.
    assert hostile_run.seconds < ha.SyncBlockingAgent.BLOCK_SECONDS - 3, hostile_run.seconds


def _process_gone(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")  # a zombie is dead too


def test_a_cpu_bound_agent_in_the_process_executor_is_killed_within_the_limit(
    hostile_run: HostileRun,
) -> None:
    result = hostile_run.results["spinner"]
    assert (result.termination_reason, result.steps) == ("agent_timeout", 2), (
        result.error, result.agent_latency_max)
    (note,) = kinds(result, "operation")  # turn 1 was decided in a worker process
    assert note.payload["op"]["text"].startswith("decided in process ")
    assert int(note.payload["op"]["text"].split()[-1]) != os.getpid()
    assert PROCESS_TIMEOUT <= result.agent_latency_max < PROCESS_TIMEOUT + SLACK
    pid = int(hostile_run.pid_file.read_text())
    deadline = time.monotonic() + 5
    while not _process_gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _process_gone(pid), f"the spinning worker {pid} is still running"


@pytest.mark.parametrize("case", list(GARBAGE))
def test_a_garbage_turn_is_reported_counted_and_kept_small(
    hostile_run: HostileRun, case: str
) -> None:
    expected = GARBAGE[case]
    result = hostile_run.results[case]
    assert result.termination_reason == "finished", result.error
    assert result.steps == 2
    assert result.invalid_operations == expected.invalid
    text, _ = hostile_run.at_end[case]
    size = len(text.encode())
    assert size < MAX_TRACE_BYTES
    assert Trace.from_jsonl(text).to_jsonl() == text
    agent = hostile_run.agents[case]
    results = agent.observations[1].results  # turn 1's outcome, in turn 2's observation
    rejected = [r for r in results if not r.ok]
    assert len(rejected) == expected.rejected_rows
    for r in rejected:
        assert r.error and "\n" not in r.error and len(r.error) < 1_000, r.error[:300]


def test_an_agent_mutating_its_observation_changes_nothing_but_its_own_copy(
    hostile_run: HostileRun,
) -> None:
    mutator, twin = hostile_run.results["mutator"], hostile_run.results["well-behaved 0"]
    assert mutator.trace.to_jsonl() == twin.trace.to_jsonl()
    assert mutator.score == 1.0
    attempts = hostile_run.agents["mutator"].attempts
    outcomes: dict[str, set[str]] = {}
    for name, outcome in attempts:
        outcomes.setdefault(name, set()).add(outcome)
    refused = {"set turn", "set turns_left", "set ticket status", "set catalog queues",
               "append to catalog queues", "set messages", "delete kb_results",
               "set message text"}
    assert refused <= set(outcomes)
    for name in refused:
        assert outcomes[name] == {"refused"}, name
    # Let through, but only into this turn's copy (the twin's trace above is the proof).
    assert outcomes["add message field"] == {"applied"}
    assert get_task(API).catalog.queues.count("vip") == 0


def test_acting_after_the_episode_ended_changes_nothing(hostile_run: HostileRun) -> None:
    late = hostile_run.agents["late"]
    assert late.done.wait(10), "the late agent never woke up"
    assert "vars" in late.meddled  # it did meddle, after the episode had ended
    result = hostile_run.results["late"]
    assert result.termination_reason == "agent_timeout"
    assert result.steps == 2
    text, summary = hostile_run.at_end["late"]
    assert result.trace.to_jsonl() == text  # unchanged since the episode ended
    assert result.summary() == summary
    assert text == hostile_run.results["late twin"].trace.to_jsonl()
    assert result.breakdown["status"] == 0.0  # its late "resolved" never landed


def test_writing_through_vars_of_the_catalog_or_an_article_stays_in_the_agents_copy() -> None:
    # Frozen models refuse setattr; vars(model) is not refused, so what the agent was
    # handed must be its own copy. A private copy of the task keeps other tests safe.
    pristine = get_task(API)
    task = SupportTaskSpec.model_validate(pristine.model_dump())

    def play(make: Callable[[], Any], on: SupportTaskSpec) -> str:
        job = make_job(on, make, seed=1, persona="cooperative", agent_name="oracle",
                       privileged=True)
        (result,) = trio.run(run_episodes, [job])
        return result.trace.to_jsonl()

    reference = play(ha.SearchingOracle, pristine)  # the writer's twin, minus the writes
    writer = play(ha.CatalogWriter, task)
    after = play(ha.SearchingOracle, task)  # a clean agent on the same task, afterwards
    assert '"kb_results"' in reference and '"invalid_operation"' not in reference
    unchanged = {
        "the task's catalog": task.catalog == pristine.catalog,
        "the task's articles": task.knowledge_base == pristine.knowledge_base,
        "the writer's own trace": writer == reference,
        "a later episode's trace": after == reference,
    }
    assert unchanged == dict.fromkeys(unchanged, True)


# ===================================================================== 2. bad input (CLI)

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


def run_cli(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(RUN_SIM), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout,
                          env={**os.environ, "COLUMNS": "200", **(env or {})})


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


# ========================================================== 3. crash-safe sweep results

SWEEP = ("sweep", "--tasks", "all", "--agent", "heuristic", "--seeds", "1",
         "--personas", "all")
EPISODES = len(discover_tasks()) * 1 * 5
#: Lines in results.jsonl before the sweep is interrupted.
INTERRUPT_AFTER = 10


def stable(rows: list[dict[str, Any]]) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Rows by episode, without the real-time fields (which differ between runs)."""
    return {(r["task_id"], r["persona"], r["seed"]): {k: v for k, v in r.items()
                                                      if k not in REAL_TIME_FIELDS}
            for r in rows}


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[Any, ...], Any]:
    out = tmp_path_factory.mktemp("uninterrupted") / "sweep"
    proc = run_cli(*SWEEP, "--workers", "1", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    rows, dropped = read_results(out / "results.jsonl")
    assert dropped == 0 and len(rows) == EPISODES
    return stable(rows)


def start_sweep(out: Path, workers: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(RUN_SIM), *SWEEP, "--workers", str(workers), "--out", str(out)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "COLUMNS": "200"}, start_new_session=True)


def wait_for_lines(path: Path, count: int, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if path.exists() and path.read_bytes().count(b"\n") >= count:
            return
        assert proc.poll() is None, f"the sweep ended first: {proc.communicate()}"
        time.sleep(0.01)
    raise AssertionError(f"{path} never reached {count} lines")


@pytest.mark.parametrize("workers", [1, 2], ids=["1 worker", "2 workers"])
def test_a_sweep_killed_with_sigkill_resumes_to_the_uninterrupted_results(
    tmp_path: Path, workers: int, uninterrupted: dict[tuple[Any, ...], Any]
) -> None:
    out = tmp_path / "sweep"
    proc = start_sweep(out, workers)
    wait_for_lines(out / "results.jsonl", INTERRUPT_AFTER, proc)
    os.killpg(proc.pid, signal.SIGKILL)  # the parent and its workers: nothing gets to tidy up
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    complete, _, _torn = (out / "results.jsonl").read_bytes().rpartition(b"\n")
    lines = complete.split(b"\n")
    for line in lines:  # every complete line is a whole result; a torn last one may follow
        assert "task_id" in json.loads(line)
    assert INTERRUPT_AFTER <= len(lines) < EPISODES
    resumed = run_cli(*SWEEP, "--workers", str(workers), "--out", str(out), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert f"{EPISODES - len(lines)} episodes run, {len(lines)} already done" in resumed.stdout
    rows, dropped = read_results(out / "results.jsonl")
    assert dropped == 0
    assert len(rows) == EPISODES  # each episode exactly once
    assert stable(rows) == uninterrupted


@pytest.mark.parametrize("workers", [1, 2], ids=["1 worker", "2 workers"])
def test_ctrl_c_stops_a_sweep_with_a_summary_and_resume_completes_it(
    tmp_path: Path, workers: int, uninterrupted: dict[tuple[Any, ...], Any]
) -> None:
    out = tmp_path / "sweep"
    proc = start_sweep(out, workers)
    wait_for_lines(out / "results.jsonl", INTERRUPT_AFTER, proc)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does: the whole foreground group
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr[-3000:]
    assert "Traceback" not in stderr
    rows, dropped = read_results(out / "results.jsonl")
    assert dropped == 0  # a clean stop tears no line
    assert INTERRUPT_AFTER <= len(rows) < EPISODES
    assert "sweep summary" in stdout and f"{len(rows)} episodes run" in stdout
    assert "interrupted" in stdout and "--resume" in stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["complete"] is False
    assert summary["overall"]["episodes"] == len(rows)
    resumed = run_cli(*SWEEP, "--workers", str(workers), "--out", str(out), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads((out / "summary.json").read_text())["complete"] is True
    rows, dropped = read_results(out / "results.jsonl")
    assert dropped == 0 and len(rows) == EPISODES
    assert stable(rows) == uninterrupted


# ============================================================================ 4. secrets


def test_a_secret_in_the_environment_never_reaches_traces_results_or_json(
    tmp_path: Path,
) -> None:
    secret = f"sk-test-{secrets.token_hex(16)}"
    env = {"OPENAI_API_KEY": secret,
           "PYTHONPATH": os.pathsep.join(p for p in (str(TESTS), os.environ.get("PYTHONPATH"))
                                         if p)}
    agent = "hostile_agents:SecretLeaker"
    out, traces, trace = tmp_path / "sweep", tmp_path / "traces", tmp_path / "run.jsonl"
    sweep = run_cli("sweep", "--tasks", f"{API},duplicate_charge_easy", "--agent", agent,
                    "--seeds", "1", "--personas", "cooperative,impatient", "--workers", "2",
                    "--out", str(out), "--trace-dir", str(traces), env=env)
    assert sweep.returncode == 0, sweep.stderr
    run = run_cli("run", "--agent", agent, "--json", "--trace", str(trace), env=env)
    assert run.returncode == 0, run.stderr
    written = {str(p): p.read_text(encoding="utf-8")
               for p in [*out.iterdir(), *traces.iterdir(), trace]}
    assert len(list(traces.iterdir())) == 4
    written["run --json"] = run.stdout
    for where, text in written.items():
        assert secret not in text, where
        assert secret[8:] not in text, where  # not even its random part
    # The agent did put it everywhere: what was written is the redaction.
    marker = "[redacted:OPENAI_API_KEY]"
    for where, text in written.items():
        if not where.endswith(("summary.json", "plan.json")):  # nothing the agent wrote
            assert marker in text, where
    rows, _ = read_results(out / "results.jsonl")
    assert len(rows) == 4
    for row in rows:
        assert row["termination_reason"] == "agent_error"
        assert row["error"] == f"RuntimeError: the model API refused key {marker}"
    assert json.loads(run.stdout)["error"] == row["error"]
