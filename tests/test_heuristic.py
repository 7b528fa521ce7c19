"""The heuristic agent: a fair baseline that reads only what an agent sees.

It must never read a task's gold fields, never send an invalid operation, leak, spam or
end early, and be deterministic (the same seed gives the same trace, in any process): on
the fixed tasks and on a variant of every family. Its quality is held to the fixed tasks
(close to the oracle, well above random); on the families, which it was not written
against, it must still beat the random agent, and its mean is reported in the README.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import attrs
import pytest
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors.agents.heuristic import HeuristicAgent, policy
from actors.episodes import make_job, simulate, simulate_many
from sim.episode import EpisodeResult
from sim.grading import GradeReport, grade
from sim.observation import InboundMessage, Observation, TicketView
from sim.operations import MAX_NOTE_CHARS, MAX_OPERATIONS_PER_TURN, MAX_REPLY_CHARS, parse_turn
from sim.ticket import check_operation
from sim.trace import Trace
from tasks import DEFAULT_CATALOG, PERSONAS, KnowledgeSnippet, SupportTaskSpec, discover_families
from tasks.base import TaskBrief
from tasks.catalog import Catalog

SOURCES = discover_families()
#: A variant of each family that is not seed 0's, next to the fixed tasks.
FAMILY_SEED = 3
TASKS: dict[str, SupportTaskSpec] = {
    task_id: source.variant(FAMILY_SEED) for task_id, source in SOURCES.items()}
TASK_IDS = sorted(TASKS)
FIXED_IDS = [task_id for task_id in TASK_IDS if SOURCES[task_id].kind == "task"]
FAMILY_IDS = [task_id for task_id in TASK_IDS if SOURCES[task_id].kind == "family"]
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


class _BriefOnly:
    """The whole task, as a privileged run hands it, where reading anything a brief does
    not hold fails the test."""

    def __init__(self, task: SupportTaskSpec) -> None:
        self._task = task

    def __getattr__(self, name: str) -> Any:
        if name not in TaskBrief.model_fields:
            raise AssertionError(f"the heuristic read task.{name}, which no brief holds")
        return getattr(self._task, name)


class _ProbedHeuristic(HeuristicAgent):
    """The heuristic, handed the whole task (guarded) instead of the brief at reset."""

    def reset(self, brief: Any, seed: int) -> None:
        super().reset(_BriefOnly(TASKS[brief.task_id]), seed)


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
async def test_reset_reads_only_what_a_brief_holds(task_id: str) -> None:
    """Handed the whole task (a privileged run), it reads the brief's fields alone and
    plays exactly as when it is handed the brief."""
    result = await simulate(TASKS[task_id], _ProbedHeuristic, seed=0)
    assert result.termination_reason in ("finished", "max_steps"), result.error
    plain = await simulate(TASKS[task_id], "heuristic", seed=0)
    privileged = await simulate(TASKS[task_id], "heuristic", seed=0, privileged=True)
    assert _operations(result.trace) == _operations(plain.trace)
    assert _operations(privileged.trace) == _operations(plain.trace)


def test_agent_keeps_no_task() -> None:
    agent = HeuristicAgent()
    task = TASKS[TASK_IDS[0]]
    for handed in (task.private_copy(), task.brief()):
        agent.reset(handed, 0)
        held = [*vars(agent).values(), *attrs.asdict(agent.memory, recurse=False).values()]
        assert not any(isinstance(value, SupportTaskSpec | TaskBrief) for value in held)


def test_reset_reads_a_brief_it_is_handed_or_nothing() -> None:
    """Handed no brief, it starts empty; handed a brief it cannot read, it raises (a
    broken brief is a bug to see, not a reason to play blind)."""
    agent = HeuristicAgent()
    agent.reset(None, 0)
    assert agent.memory.library is None and agent.memory.seen == []
    agent.reset(TASKS[TASK_IDS[0]].brief(), 0)
    assert agent.memory.library and agent.memory.seen

    class Garbled:
        knowledge_base = ("not an article",)
        sla_step_cost = 10
        ticket = TASKS[TASK_IDS[0]].ticket
        title = objective = "t"

    with pytest.raises(AttributeError):
        agent.reset(Garbled(), 0)


async def test_an_error_in_its_policy_ends_the_episode_as_agent_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Nothing hides a bug: a policy that raises ends the episode at that turn."""

    def derive_plan(*args: Any, **kwargs: Any) -> Any:
        raise ZeroDivisionError("the policy broke")

    monkeypatch.setattr(policy, "derive_plan", derive_plan)
    result = await simulate(TASKS[FIXED_IDS[0]], "heuristic", seed=0)
    assert result.termination_reason == "agent_error"
    assert result.steps == 1
    assert result.error is not None and "the policy broke" in result.error
    (event,) = [e for e in result.trace.events if e.kind == "agent_error"]
    assert event.payload["type"] == "ZeroDivisionError"
    assert "in decide" in event.payload["traceback"]


# --------------------------------------------------------------------------- quality


@pytest.mark.parametrize("task_id", FIXED_IDS)
async def test_beats_the_random_agent(task_id: str) -> None:
    task = TASKS[task_id]
    seeds = range(4)
    heuristic = [(await simulate(task, "heuristic", seed=s)).score for s in seeds]
    random = [(await simulate(task, "random", seed=s)).score for s in seeds]
    assert statistics.mean(heuristic) > statistics.mean(random) + 0.2, (heuristic, random)


async def test_cooperative_mean_is_a_strong_baseline() -> None:
    scores = [
        (await simulate(TASKS[task_id], "heuristic", seed=seed, persona="cooperative")).score
        for task_id in FIXED_IDS
        for seed in range(2)
    ]
    assert statistics.mean(scores) >= 0.75


def test_on_the_families_it_beats_the_random_agent() -> None:
    """Variants it was not written against: far from the oracle (README), above random."""
    jobs = {agent: [make_job(SOURCES[f].variant(seed), agent, seed=seed, persona=persona)
                    for f in FAMILY_IDS for seed in range(10) for persona in PERSONAS]
            for agent in ("heuristic", "random")}
    means = {agent: statistics.mean(r.score for r in simulate_many(batch))
             for agent, batch in jobs.items()}
    assert means["heuristic"] > means["random"] + 0.15, means


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


# --------------------------------------------------------------------------- grader v2 rules

FAULT_SETS: tuple[tuple[str, ...], ...] = ((), ("eta_slips",), ("slow_eta",), ("team_silent",))


@dataclass(frozen=True)
class Played:
    task_id: str
    persona: str
    faults: tuple[str, ...]
    result: EpisodeResult
    report: GradeReport


@pytest.fixture(scope="module")
def every_world() -> list[Played]:
    """The heuristic once in every world: each task x persona x fault set (seed 1)."""
    worlds = [(t, p, f) for t in TASK_IDS for p in PERSONAS for f in FAULT_SETS]
    jobs = [make_job(TASKS[t], "heuristic", seed=1, persona=p, faults=f) for t, p, f in worlds]
    results = simulate_many(jobs)
    return [Played(t, p, f, r, grade(TASKS[t], r.trace))
            for (t, p, f), r in zip(worlds, results, strict=True)]


def _replies(result: EpisodeResult) -> list[tuple[int, dict[str, Any]]]:
    return [(event.t, event.payload["op"]) for event in result.trace.events
            if event.kind == "operation" and event.payload["op"]["op"] == "reply"]


def test_no_premature_ending_leak_or_spam_in_any_world(every_world: list[Played]) -> None:
    """It waits for the customer's answers before resolving or finishing, writes no
    catalog id in a public reply and replies no more than the conversation calls for.
    (On a family, routing to the wrong team, or closing without a field it never knew it
    needed, is a mistake of judgement, not of manners.)"""
    routing = {"wrong_queue", "over_escalation"}
    for played in every_world:
        where = (played.task_id, played.persona, played.faults)
        assert played.result.termination_reason in ("finished", "max_steps"), where
        if played.task_id in FIXED_IDS:
            assert not played.report.premature_status, (where, played.report.criteria)
        penalties = [p for p in played.report.penalties
                     if played.task_id in FIXED_IDS or p.name not in routing]
        assert penalties == [], (where, penalties)


def test_it_chases_a_silent_customer_once_when_even_a_slow_one_would_have_answered(
    every_world: list[Played],
) -> None:
    chased = 0
    for played in every_world:
        if played.persona != "silent":
            continue
        requests = [(t, op["request_fields"]) for t, op in _replies(played.result)
                    if op.get("request_fields")]
        if not requests:
            continue
        (asked_at, asked), *chases = requests
        step = TASKS[played.task_id].step_seconds
        assert len(chases) == 1, (played.task_id, requests)
        chase_at, fields = chases[0]
        # Not before a customer who answers within a turn, slowly, would have.
        assert chase_at == asked_at + 2 * step, (played.task_id, requests)
        assert fields == asked
        if played.task_id in FIXED_IDS:  # on a family it may not know every field it needs
            assert played.report.breakdown()["follow_up_handling"] in (None, 1.0)
        chased += 1
    assert chased >= len(FIXED_IDS) // 2


def test_it_parks_the_ticket_pending_while_the_customer_owes_fields(
    every_world: list[Played],
) -> None:
    for played in every_world:
        statuses = [(event.t, event.payload["op"]["status"]) for event in
                    played.result.trace.events if event.kind == "operation"
                    and event.payload["op"]["op"] == "set_status"]
        resolving = [t for t, status in statuses if status in ("resolved", "closed")]
        if not resolving or not [op for _, op in _replies(played.result)
                                 if op.get("request_fields")]:
            continue
        assert statuses[0][1] == "pending" and statuses[0][0] < resolving[0], statuses
    silent = [p for p in every_world if p.persona == "silent" and p.task_id in FIXED_IDS
              and TASKS[p.task_id].gold_status in ("resolved", "closed")]
    assert silent
    for played in silent:  # the world never delivers: pending is the gold, and it is met
        assert played.report.breakdown()["status"] == 1.0, played.task_id


def test_it_relays_the_latest_team_update_with_its_facts(every_world: list[Played]) -> None:
    relayed = 0
    for played in every_world:
        value = played.report.breakdown()["kept_informed"]
        reason = played.report.criterion("kept_informed").reason
        if played.task_id not in FIXED_IDS and reason.startswith("no update from"):
            continue  # on a family it may escalate to the wrong team: none updates it
        assert value in (None, 1.0), (played.task_id, played.persona, played.faults, reason)
        relayed += value == 1.0
    assert relayed > 0


def test_a_catalog_id_in_a_runbook_line_reaches_the_customer_as_words() -> None:
    task = TASKS["duplicate_charge_easy"]
    runbook, *rest = task.knowledge_base
    extra = (" In your reply, tell the customer that account_management has seen the "
             f"churn_risk note and point them to {runbook.article_id}.")
    changed = task.model_copy(update={"knowledge_base": (
        runbook.model_copy(update={"content": runbook.content + extra}), *rest)})
    result = trio.run(lambda: simulate(changed, "heuristic", seed=0))
    messages = [op["message"] for _, op in _replies(result)]
    assert any("account management has seen the churn risk note" in m.lower()
               for m in messages), messages
    assert not any(runbook.article_id in m for m in messages), messages
    assert not any("_" in word for m in messages for word in m.split()
                   if word.strip(".,").lower() in changed.catalog.queues
                   + changed.catalog.risk_flags + changed.catalog.resolution_codes)
    assert not grade(changed, result.trace).penalties


def test_mean_over_every_world_is_close_to_the_oracle(every_world: list[Played]) -> None:
    fixed = [p.result.score for p in every_world if p.task_id in FIXED_IDS]
    assert statistics.mean(fixed) >= 0.95


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
    """Garbled articles, unknown senders, a bare catalog: every turn is still valid
    (and ``act`` has no safety net: a bug raises here)."""
    agent = HeuristicAgent()
    for turn, (kb, messages, body) in enumerate(turns, start=1):
        observation = _observation(TASKS[task_id], turn, kb, messages, catalog, body)
        ops = agent.act(observation)
        assert len(ops) <= MAX_OPERATIONS_PER_TURN
        parsed = parse_turn(ops)
        assert parsed.turn_error is None
        for operation, error in zip(parsed.operations, parsed.errors, strict=True):
            assert error is None, (error, ops)
            assert check_operation(operation, catalog) is None, operation
