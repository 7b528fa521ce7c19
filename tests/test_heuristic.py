"""The heuristic agent: a fair baseline that reads only what an agent sees.

It must never read a task's gold fields, beat the random agent on every task, never
send an invalid operation, and be deterministic (the same seed gives the same trace,
in any process).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors.episodes import simulate
from actors.heuristic import HeuristicAgent
from sim.observation import InboundMessage, Observation, TicketView
from sim.operations import MAX_NOTE_CHARS, MAX_OPERATIONS_PER_TURN, MAX_REPLY_CHARS, parse_turn
from sim.ticket import check_operation
from sim.trace import Trace
from tasks import DEFAULT_CATALOG, PERSONAS, KnowledgeSnippet, SupportTaskSpec, discover_tasks
from tasks.catalog import Catalog

TASKS: dict[str, SupportTaskSpec] = discover_tasks()
TASK_IDS = sorted(TASKS)
ROOT = Path(__file__).resolve().parents[1]


def _other(values: tuple[str, ...], current: str) -> str:
    """A catalog value different from ``current``."""
    return next(v for v in values if v != current)


def _gold_swapped(task: SupportTaskSpec) -> SupportTaskSpec:
    """The same ticket and knowledge base, with every gold answer the world ignores changed.

    ``gold_queue`` and the follow-up fields stay: the teams and the customer act on them,
    so changing them changes what the agent observes, not what it may read.
    """
    catalog = task.catalog
    return task.model_copy(update={
        "gold_priority": _other(catalog.priorities, task.gold_priority),
        "gold_issue_type": _other(catalog.issue_types, task.gold_issue_type),
        "gold_status": _other(catalog.statuses, task.gold_status),
        "gold_resolution_code": _other(catalog.resolution_codes, task.gold_resolution_code),
        "risk_flags": tuple(f for f in catalog.risk_flags if f not in task.risk_flags)[:2],
        "required_reply_markers": (("zebra", "quokka"),),
        "required_note_markers": (("narwhal",),),
        "forbidden_reply_markers": (("hello",),),
        "over_escalation_queues": tuple(q for q in catalog.queues if q != task.gold_queue),
        "under_escalation_deadline_step": 1,
    })


def _operations(trace: Trace) -> list[tuple[int, str, Any]]:
    """What the agent did: its operation events (valid or not), with their times."""
    return [
        (event.t, event.kind, event.payload)
        for event in trace.events
        if event.kind in ("operation", "invalid_operation", "invalid_turn")
    ]


class _Poison:
    """A stand-in task whose every attribute read fails the test."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the heuristic read task.{name}")


class _ProbedHeuristic(HeuristicAgent):
    """The heuristic, handed a poisoned task instead of the real one at reset."""

    def reset(self, task: Any, seed: int) -> None:
        super().reset(_Poison(), seed)


# --------------------------------------------------------------------------- no gold


@pytest.mark.parametrize("task_id", TASK_IDS)
async def test_operations_do_not_depend_on_gold_fields(task_id: str) -> None:
    task = TASKS[task_id]
    swapped = _gold_swapped(task)
    assert swapped.ticket == task.ticket and swapped.knowledge_base == task.knowledge_base
    for persona in ("cooperative", "confused"):
        original = await simulate(task, "heuristic", seed=3, persona=persona)
        changed = await simulate(swapped, "heuristic", seed=3, persona=persona)
        assert _operations(original.trace) == _operations(changed.trace)
        assert _operations(original.trace), "the heuristic did nothing"


@pytest.mark.parametrize("task_id", TASK_IDS)
async def test_reset_never_reads_the_task(task_id: str) -> None:
    result = await simulate(TASKS[task_id], _ProbedHeuristic, seed=0)
    assert result.termination_reason in ("finished", "max_steps"), result.error
    plain = await simulate(TASKS[task_id], "heuristic", seed=0)
    assert _operations(result.trace) == _operations(plain.trace)


def test_agent_keeps_no_task() -> None:
    agent = HeuristicAgent()
    agent.reset(TASKS[TASK_IDS[0]], 0)
    assert not any(isinstance(value, SupportTaskSpec) for value in vars(agent).values())


# --------------------------------------------------------------------------- quality


@pytest.mark.parametrize("task_id", TASK_IDS)
async def test_beats_the_random_agent(task_id: str) -> None:
    task = TASKS[task_id]
    seeds = range(4)
    heuristic = [(await simulate(task, "heuristic", seed=s)).score for s in seeds]
    random = [(await simulate(task, "random", seed=s)).score for s in seeds]
    assert statistics.mean(heuristic) > statistics.mean(random) + 0.2, (heuristic, random)


async def test_cooperative_mean_is_a_strong_baseline() -> None:
    scores = [
        (await simulate(TASKS[task_id], "heuristic", seed=seed, persona="cooperative")).score
        for task_id in TASK_IDS
        for seed in range(2)
    ]
    assert statistics.mean(scores) >= 0.75


@pytest.mark.parametrize("task_id", TASK_IDS)
async def test_never_an_invalid_operation(task_id: str) -> None:
    task = TASKS[task_id]
    for persona in PERSONAS:
        for seed in range(2):
            result = await simulate(task, "heuristic", seed=seed, persona=persona)
            assert result.termination_reason in ("finished", "max_steps"), result.error
            assert result.invalid_operations == 0
            kinds = {event.kind for event in result.trace.events}
            assert not kinds & {"invalid_operation", "invalid_turn", "agent_error"}
            for event in result.trace.events:
                if event.kind != "operation":
                    continue
                op = event.payload["op"]
                if op["op"] == "reply":
                    assert len(op["message"]) <= MAX_REPLY_CHARS
                elif op["op"] == "note":
                    assert len(op["text"]) <= MAX_NOTE_CHARS


async def test_faults_do_not_break_it() -> None:
    for task_id in TASK_IDS:
        for fault in ("slow_eta", "eta_slips", "team_silent"):
            result = await simulate(TASKS[task_id], "heuristic", seed=1, faults=[fault])
            assert result.termination_reason in ("finished", "max_steps"), result.error
            assert result.invalid_operations == 0


# --------------------------------------------------------------------------- determinism


@pytest.mark.parametrize("task_id", TASK_IDS)
async def test_same_seed_same_trace(task_id: str) -> None:
    task = TASKS[task_id]
    first = await simulate(task, "heuristic", seed=7, persona="confused")
    second = await simulate(task, "heuristic", seed=7, persona="confused")
    assert first.trace.to_jsonl() == second.trace.to_jsonl()


_CHILD = """
import sys, trio
from actors.episodes import simulate
from tasks import discover_tasks
async def main():
    for task_id in sys.argv[1:]:
        result = await simulate(discover_tasks()[task_id], "heuristic", seed=2, persona="slow")
        sys.stdout.write(result.trace.to_jsonl())
trio.run(main)
"""


def test_same_trace_across_processes_and_hash_seeds() -> None:
    """No reliance on set or dict order of strings: hash randomisation changes nothing."""
    outputs = []
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        completed = subprocess.run(
            [sys.executable, "-c", _CHILD, *TASK_IDS], cwd=ROOT, env=env,
            capture_output=True, text=True, check=True, timeout=300,
        )
        outputs.append(completed.stdout)
    assert outputs[0] == outputs[1]
    assert len(outputs[0].splitlines()) > len(TASK_IDS) * 3
    json.loads(outputs[0].splitlines()[0])  # a real trace header


# --------------------------------------------------------------------------- robustness

_WORDS = st.sampled_from(
    "escalate to security queue billing priority high urgent do not never raise p1_incident "
    "only when request the request_ids 'refund' in your reply, say In an internal note, write "
    "'x' status resolved resolution code duplicate . , ; : ( ) under 60 minutes 3 or more "
    "enterprise customers tagged Strategic [Helpdesk: 5 tickets auto-linked] "
    "platform_engineering data_privacy org_id é \n '".split(" ")
)
_TEXT = st.lists(_WORDS, max_size=50).map(" ".join)
_SNIPPET = st.builds(
    lambda i, title, content: KnowledgeSnippet(
        article_id=f"kb-{i}", title=title.strip() or "t", content=content.strip() or "c"
    ),
    st.integers(0, 4), _TEXT, _TEXT,
)
_MESSAGE = st.builds(
    lambda sender, kind, text, fields: InboundMessage(
        time_seconds=0, sender=sender, kind=kind, text=text, fields=fields
    ),
    st.sampled_from(["customer", "team:security", "team:unknown", "system", ""]),
    st.sampled_from(["customer_answer", "team_update", "team_bounce", "team_ack",
                     "customer_nudge", "customer_complaint", "sla_breach", "other"]),
    _TEXT,
    st.dictionaries(st.sampled_from([*DEFAULT_CATALOG.fields, "bogus"]), _TEXT, max_size=4),
)
_CATALOGS = st.sampled_from([
    DEFAULT_CATALOG, Catalog(), Catalog(queues=("general_support",), statuses=("open",)),
])


def _observation(task: SupportTaskSpec, turn: int, kb: list[KnowledgeSnippet],
                 messages: list[InboundMessage], catalog: Catalog, body: str) -> Observation:
    t = task.ticket
    return Observation(
        task_id=task.task_id, title=task.title, objective=task.objective,
        ticket=TicketView(
            customer_name=t.customer_name if turn % 2 else " ", customer_tier=t.customer_tier,
            company=t.company, subject=t.subject, body=body or t.body, region=t.region,
            affected_users=t.affected_users, queue="general_support", priority="normal",
            issue_type=None, status="open", resolution_code=None, risk_flags=(),
            escalated_to=None,
        ),
        catalog=catalog, messages=tuple(messages), results=(), kb_results=tuple(kb),
        time_seconds=turn * 600, sim_minutes=turn * 10, minutes_to_sla=90 - turn * 30,
        sla_breached=turn > 3, turn=turn, turns_left=8 - turn, max_steps=8,
    )


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.sampled_from(TASK_IDS),
    st.lists(st.tuples(st.lists(_SNIPPET, max_size=4), st.lists(_MESSAGE, max_size=4), _TEXT),
             min_size=1, max_size=7),
    _CATALOGS,
)
def test_odd_observations_give_valid_turns(
    task_id: str, turns: list[tuple[list[KnowledgeSnippet], list[InboundMessage], str]],
    catalog: Catalog,
) -> None:
    """Garbled articles, unknown senders, a bare catalog: every turn is still valid.

    ``_act`` is the agent without its safety net (``act`` waits a turn rather than
    raise), so a bug shows up here instead of hiding as an empty turn.
    """
    agent = HeuristicAgent()
    for turn, (kb, messages, body) in enumerate(turns, start=1):
        observation = _observation(TASKS[task_id], turn, kb, messages, catalog, body)
        ops = agent._act(observation)
        assert len(ops) <= MAX_OPERATIONS_PER_TURN
        parsed = parse_turn(ops)
        assert parsed.turn_error is None
        for operation, error in zip(parsed.operations, parsed.errors, strict=True):
            assert error is None, (error, ops)
            assert check_operation(operation, catalog) is None, operation
