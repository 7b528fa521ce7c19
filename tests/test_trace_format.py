"""The trace format (SPEC §5): a header line, one line per event, a result line.

A trace round-trips through JSONL byte for byte, holds no real-time figure, records a
deferred payload as the grader saw it, and makes a lazy header and result once. A line
nested deeper than ``MAX_DEPTH`` is bad input (a :class:`TraceFormatError`, one line from
``grade`` and ``show``), never a ``RecursionError``; nesting within the limit reads.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
import trio
from cli_helpers import one_line_error, run_cli
from episode_helpers import SEED_TASK, SleepyAsyncOracle, play
from failing_agents import RaisingSync

from actors import ScriptedAgent, StandardWorld, make_job, simulate
from sim.episode import EpisodeState, run_episode
from sim.grading import grade_events
from sim.kernel.environment import ActorContext, Environment
from sim.outlook import WorldOutlook, outlook_as_written
from sim.runner import run_episodes
from sim.trace import (
    MAX_DEPTH,
    SCHEMA_VERSION,
    DeferredPayload,
    Trace,
    TraceFormatError,
    dumps_line,
)
from tasks import SupportTaskSpec


async def test_trace_format_and_round_trip() -> None:
    result = await simulate(SEED_TASK, SleepyAsyncOracle, seed=5, persona="impatient",
                            faults=("eta_slips",), agent_name="oracle", privileged=True)
    text = result.trace.to_jsonl()
    assert text.endswith("\n")
    lines = [json.loads(line) for line in text.splitlines()]
    header, body, last = lines[0], lines[1:-1], lines[-1]
    assert header["type"] == "header"
    for key in ("schema_version", "task_id", "task_hash", "seed", "agent", "persona", "faults",
                "code_version", "privileged", "world"):
        assert key in header, key
    assert header["schema_version"] == SCHEMA_VERSION
    assert header["task_id"] == SEED_TASK.task_id
    assert header["task_hash"] == SEED_TASK.content_hash
    assert header["seed"] == 5
    assert header["agent"] == "oracle"
    assert header["persona"] == "impatient"
    assert header["faults"] == ["eta_slips"]
    assert header["privileged"] is True
    assert header["world"] == StandardWorld("impatient", ("eta_slips",)).outlook(
        SEED_TASK).model_dump(mode="json")
    assert body
    for event in body:
        assert event["type"] == "event"
        assert set(event) == {"type", "t", "seq", "actor", "kind", "payload"}
        assert isinstance(event["t"], int) and isinstance(event["payload"], dict)
    ts = [e["t"] for e in body]
    seqs = [e["seq"] for e in body]
    assert ts == sorted(ts)
    assert all(a < b for a, b in itertools.pairwise(seqs))
    assert last["type"] == "result"
    assert last["termination_reason"] == result.termination_reason
    assert last["score"] == result.score
    assert last["steps"] == result.steps
    parsed = Trace.from_jsonl(text)
    assert parsed.to_jsonl() == text
    assert parsed == result.trace
    keys = _all_keys(lines)
    assert not {k for k in keys if "latency" in k or "wall" in k or "elapsed" in k}, keys
    for word in ("wall_seconds", "agent_latency"):
        assert word not in text
    assert repr(result.agent_latency_max) not in text
    assert repr(result.wall_seconds) not in text


def _all_keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _all_keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _all_keys(v)}
    return set()


async def test_trace_of_an_error_round_trips() -> None:
    result = await play(RaisingSync())
    text = result.trace.to_jsonl()
    assert Trace.from_jsonl(text).to_jsonl() == text
    assert "agent_latency" not in text and "wall_seconds" not in text


class DeferringWorld:
    """One actor that records a customer answer as a DeferredPayload, 10 minutes in."""

    persona: str = "cooperative"
    faults: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.made = 0

    def make(self, field: str, value: str) -> dict[str, Any]:
        self.made += 1
        return {"request_turn": 1, "fields": {field: {"value": value, "status": "correct"}}}

    def outlook(self, task: SupportTaskSpec) -> WorldOutlook:
        return outlook_as_written(task)

    def populate(self, env: Environment, state: EpisodeState) -> None:
        async def answerer(ctx: ActorContext) -> None:
            await ctx.sleep(10 * 60)
            ctx.record("customer_answer", DeferredPayload(self.make, "regions", "eu-west-1"))

        env.spawn("answerer", answerer)


async def test_a_deferred_payload_is_graded_at_once_and_made_again_for_the_trace() -> None:
    world = DeferringWorld()
    result = await run_episode(SEED_TASK, ScriptedAgent(), world=world, seed=0)
    answers = [e for e in result.trace.events if e.kind == "customer_answer"]
    assert [(e.actor, e.t, e.payload) for e in answers] == [
        ("answerer", 600, world.make("regions", "eu-west-1"))]
    assert world.made == 3  # the grader's, the trace's, and the one just above
    # The live grade (made as the episode ran) is the stored trace's grade.
    assert result.trace.result is not None
    stored = grade_events(SEED_TASK, result.trace.events)
    assert result.trace.result.report == stored.model_dump(mode="json")
    assert "eu-west-1" in result.trace.to_jsonl()


def test_a_trace_makes_a_lazy_header_and_result_once_and_equals_the_eager_one() -> None:
    eager = trio.run(lambda: run_episodes([make_job(SEED_TASK, "oracle", seed=3)]))[0].trace
    made: list[str] = []

    def header() -> Any:
        made.append("header")
        return eager.header

    def result() -> Any:
        made.append("result")
        return eager.result

    lazy = Trace(header=header, events=eager.events, result=result)
    assert made == []
    assert lazy == eager and lazy.to_jsonl() == eager.to_jsonl()
    assert lazy.header is eager.header and lazy.result is eager.result
    assert made == ["header", "result"]
    assert repr(lazy) == repr(eager)


def _trace_lines() -> list[str]:
    """A trace's header line, for traces made up here."""
    return [dumps_line({"type": "header", "schema_version": 2, "task_id": "api_incident_hard",
                        "task_hash": SEED_TASK.content_hash, "seed": 0, "agent": "oracle",
                        "persona": "cooperative", "code_version": "0"})]


@pytest.mark.parametrize("depth", [100_000, MAX_DEPTH + 1, 200])
def test_a_trace_nested_too_deep_is_bad_input_not_a_recursion_error(depth: int) -> None:
    # Before: json.loads raised RecursionError out of Trace.from_jsonl (a traceback).
    deep = "[" * depth + "]" * depth
    event = ('{"type":"event","t":0,"seq":0,"actor":"agent","kind":"turn","payload":{"x":'
             + deep + "}}")
    with pytest.raises(TraceFormatError, match=r"t\.jsonl:2: JSON nested"):
        Trace.from_jsonl("\n".join([*_trace_lines(), event]), source="t.jsonl")


def test_grade_of_a_deep_trace_is_one_line(tmp_path: Path) -> None:
    deep = "[" * 50_000 + "]" * 50_000
    event = ('{"type":"event","t":0,"seq":0,"actor":"agent","kind":"turn","payload":{"x":'
             + deep + "}}")
    path = tmp_path / "deep.jsonl"
    path.write_text("\n".join([*_trace_lines(), event]) + "\n", encoding="utf-8")
    for command in ("grade", "show"):
        assert "nested too deep" in one_line_error(run_cli(command, str(path)))


def test_nesting_within_the_limit_still_reads() -> None:
    nested: object = "leaf"
    for _ in range(MAX_DEPTH - 3):  # the line, the payload and x add three levels
        nested = [nested]
    event = dumps_line({"type": "event", "t": 0, "seq": 0, "actor": "agent", "kind": "turn",
                        "payload": {"x": nested}})
    trace = Trace.from_jsonl("\n".join([*_trace_lines(), event]))
    assert len(trace.events) == 1

