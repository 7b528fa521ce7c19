"""Hostile agents among well-behaved ones (SPEC §3, §6).

Every hostile agent runs among well-behaved ones in ONE concurrent ``run_episodes`` call
(the ``hostile_run`` fixture), and each test reads one of its episodes: the well-behaved
ones are byte-identical to running alone; an agent that raises, hangs, blocks or spins
ends only its own episode; garbage turns are rejected, counted and kept small; writing to
an observation, or acting after the episode ended, changes nothing but the agent's copy.

The misbehaving agents live in ``tests/hostile_agents.py`` (importable by module path,
which the process executor needs).
"""

from __future__ import annotations

import os
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
from episode_helpers import API
from episode_helpers import events as kinds

from actors import HeuristicAgent, OracleAgent, make_job
from sim.episode import EpisodeConfig, EpisodeResult
from sim.runner import EpisodeJob, run_episodes
from sim.trace import Trace
from tasks import SupportTaskSpec, get_task

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


# ============================================================================ isolation


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


# ================================================= raising, hanging, blocking, spinning


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


# ======================================================================== garbage turns


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


# ================================================== writing to what the agent was shown


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
