"""Property-testing a task and its grader: strategies, replays and the invariant suite.

SPEC §4 lists invariants every task's grader must keep, whatever the agent does. This
module states each one as a hypothesis property and runs it against any task, so a task
author can prove a new task sound before shipping it.

The one-call way (the entry point for ``run_sim.py check-task FILE``) binds the standard
world and the oracle for you::

    from actors.checks import check_task

    report = check_task("my_tasks/refund_loop_medium.py", max_examples=50)
    print(report.render())          # one line per invariant: PASS, FAIL (+ example), N/A
    assert report.ok

This module itself never imports :mod:`actors` (imports point tasks <- sim <- actors), so
everything that needs the world around the agent takes it as a parameter:

- ``world``: a factory called as ``world(persona, faults)`` that returns a
  :class:`~sim.episode.World` (``actors.world.StandardWorld`` is one), or a ``World``
  instance used as is for every run.
- ``oracle``: a zero-argument factory of the agent that knows the gold answer
  (``actors.oracle.OracleAgent``); without one the oracle invariant is not applicable.

Running the suite directly::

    from actors.oracle import OracleAgent
    from actors.world import StandardWorld
    from sim.testing import run_property_suite
    from tasks import load_task_file

    task = load_task_file("my_tasks/refund_loop_medium.py")
    for result in run_property_suite(task, world=StandardWorld, oracle=OracleAgent,
                                     max_examples=50):
        print(result.name, result.status, result.counterexample or "")

A failure never raises: the :class:`InvariantResult` says which invariant failed and
describes the smallest failing example hypothesis found (the seed, persona, faults and the
turns the scripted agent played), ready to paste into a scenario.

Writing your own properties with the same building blocks::

    from hypothesis import given
    from sim.testing import check_trace, replay, turn_sequences

    @given(turn_sequences(task))
    def test_my_rule(turns):
        result = replay(task, turns, world=StandardWorld)   # the real simulator
        check_trace(task, result.trace)                     # the per-trace invariants
        assert result.breakdown["queue"] is not None

The strategies are built from the task's own catalog and markers so they hit the
interesting cases: gold values often, marker terms assembled into replies and notes (and
near misses such as ``request_ids`` for ``request ids``), replies and notes over the length
limits, unknown operations, values outside the catalog, wrong types, turns with more than
:data:`~sim.operations.MAX_OPERATIONS_PER_TURN` operations and turns that are not lists.
"""

from __future__ import annotations

import itertools
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, TypeVar

import attrs
import trio
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import strategies as st
from hypothesis.strategies import DrawFn, SearchStrategy
from pydantic import BaseModel, ConfigDict

from sim.episode import EpisodeConfig, EpisodeResult, World, run_episode
from sim.grading import GradeReport, grade, grade_events, step_rewards
from sim.operations import (
    MAX_NOTE_CHARS,
    MAX_OPERATIONS_PER_TURN,
    MAX_REPLY_CHARS,
    Escalate,
    SetFields,
    SetStatus,
    parse_operation,
)
from sim.runner import EpisodeJob, run_episodes
from sim.ticket import check_operation
from sim.trace import Trace, TraceEvent
from tasks.base import SupportTaskSpec

__all__ = [
    "DEFAULT_MAX_EXAMPLES",
    "INVARIANTS",
    "INVARIANT_NAMES",
    "SPEC_CRITERIA_WEIGHTS",
    "TOLERANCE",
    "AgentFactory",
    "Example",
    "Invariant",
    "InvariantResult",
    "InvariantViolation",
    "ScriptedTurns",
    "SuiteContext",
    "WorldFactory",
    "WorldLike",
    "check_regrade",
    "check_report_arithmetic",
    "check_step_rewards",
    "check_trace",
    "describe_turns",
    "gold_operations",
    "invalid_operations",
    "operations",
    "replay",
    "replay_async",
    "replay_many",
    "resolve_world",
    "run_invariant",
    "run_property_suite",
    "scripted_job",
    "trace_events",
    "turn_sequences",
    "turns",
    "valid_operations",
]

#: Builds the world around the agent: ``world(persona, faults)``.
WorldFactory = Callable[[str, tuple[str, ...]], World]
#: A world factory, or one world used for every run.
WorldLike = World | WorldFactory
#: A zero-argument callable returning a fresh agent (one per episode).
AgentFactory = Callable[[], Any]

#: Examples per invariant when the caller does not say.
DEFAULT_MAX_EXAMPLES = 25
#: Float slack for "equal" scores: the grader rounds to 12 digits.
TOLERANCE = 1e-9

#: The criteria table of SPEC §4, kept here independently of the grader's own copy so the
#: suite checks the grader against the spec rather than against itself.
SPEC_CRITERIA_WEIGHTS: dict[str, float] = {
    "queue": 0.10,
    "priority": 0.08,
    "issue_type": 0.07,
    "status": 0.08,
    "resolution_code": 0.07,
    "fields_collected": 0.15,
    "follow_up_handling": 0.05,
    "reply_markers": 0.10,
    "kept_informed": 0.05,
    "note_markers": 0.08,
    "risk_flags": 0.05,
    "escalation": 0.07,
    "sla": 0.05,
}
_INVALID_PENALTY, _INVALID_PENALTY_CAP = 0.02, 0.10
_OVER_ESCALATION_PENALTY, _WRONG_QUEUE_PENALTY, _FORBIDDEN_PENALTY = 0.10, 0.03, 0.05
_LEAK_PENALTY, _LEAK_PENALTY_CAP = 0.05, 0.15
_SPAM_PENALTY, _SPAM_PENALTY_CAP = 0.02, 0.10
_STATUS_OPS = frozenset({"escalate", "set_status"})


class InvariantViolation(AssertionError):
    """An invariant does not hold; the message says which and on what."""


# --------------------------------------------------------------------------- the world


def resolve_world(
    world: WorldLike, persona: str | None, faults: Sequence[str], task: SupportTaskSpec
) -> World:
    """The world for one run: ``world(persona, faults)``, or ``world`` itself.

    ``persona`` defaults to the task's own. A ``World`` instance is used as is, so asking
    it for another persona or for faults it does not have is a :class:`ValueError`.
    """
    wanted = persona or task.default_persona
    if isinstance(world, type) or not callable(getattr(world, "populate", None)):
        factory: WorldFactory = world  # type: ignore[assignment]
        return factory(wanted, tuple(faults))
    instance: World = world  # type: ignore[assignment]
    if (persona is not None and persona != instance.persona) or (
        faults and tuple(sorted(faults)) != tuple(sorted(instance.faults))
    ):
        raise ValueError(
            f"world {instance!r} has persona {instance.persona!r} and faults "
            f"{list(instance.faults)!r}; allowed: a world factory to run persona {wanted!r} "
            f"with faults {list(faults)!r}"
        )
    return instance


def _fixed_world(world: WorldLike) -> World | None:
    if isinstance(world, type) or not callable(getattr(world, "populate", None)):
        return None
    instance: World = world  # type: ignore[assignment]
    return instance


# --------------------------------------------------------------------------- replaying


class ScriptedTurns:
    """An agent that plays ``turns[k-1]`` at turn k and waits (an empty turn) afterwards.

    Turns are returned exactly as given (dicts, models, garbage), so what the simulator
    does with a malformed turn is what gets tested.
    """

    inline_safe = True

    def __init__(self, turns: Sequence[Any] = ()) -> None:
        self.turns = list(turns)

    def act(self, observation: Any) -> Any:
        index = int(observation.turn) - 1
        return self.turns[index] if 0 <= index < len(self.turns) else []


class _YieldingScript:
    """:class:`ScriptedTurns` as an async agent that yields to trio before each decision."""

    def __init__(self, turns: Sequence[Any] = ()) -> None:
        self.script = ScriptedTurns(turns)

    async def act(self, observation: Any) -> Any:
        await trio.sleep(0)
        return self.script.act(observation)


def scripted_job(
    task: SupportTaskSpec,
    turn_list: Sequence[Any],
    *,
    world: WorldLike,
    seed: int = 0,
    persona: str | None = None,
    faults: Sequence[str] = (),
    config: EpisodeConfig | None = None,
    agent_name: str = "scripted",
) -> EpisodeJob:
    """An :class:`~sim.runner.EpisodeJob` in which :class:`ScriptedTurns` plays ``turn_list``."""
    turns_copy = list(turn_list)
    return EpisodeJob(
        task=task, make_agent=lambda: ScriptedTurns(turns_copy),
        world=resolve_world(world, persona, faults, task), seed=seed, agent_name=agent_name,
        config=config or EpisodeConfig(),
    )


async def replay_async(
    task: SupportTaskSpec,
    turn_list: Sequence[Any],
    *,
    world: WorldLike,
    seed: int = 0,
    persona: str | None = None,
    faults: Sequence[str] = (),
    config: EpisodeConfig | None = None,
    agent: Any = None,
    agent_name: str = "scripted",
    privileged: bool = False,
) -> EpisodeResult:
    """:func:`replay` inside a running trio loop. ``agent`` replaces the scripted agent
    (``privileged``: it is handed the whole task, as a reference agent)."""
    player = agent if agent is not None else ScriptedTurns(turn_list)
    return await run_episode(
        task, player, world=resolve_world(world, persona, faults, task), seed=seed,
        agent_name=agent_name, config=config, privileged=privileged,
    )


def replay(
    task: SupportTaskSpec,
    turn_list: Sequence[Any],
    *,
    world: WorldLike,
    seed: int = 0,
    persona: str | None = None,
    faults: Sequence[str] = (),
    config: EpisodeConfig | None = None,
    agent: Any = None,
    agent_name: str = "scripted",
    privileged: bool = False,
) -> EpisodeResult:
    """Play ``turn_list`` through the real simulator in a fresh ``trio.run``.

    Turn k of the episode is ``turn_list[k-1]``; once the list runs out the agent waits.
    The result carries the score, the breakdown and the trace (``result.trace``).
    """
    return trio.run(lambda: replay_async(
        task, turn_list, world=world, seed=seed, persona=persona, faults=faults,
        config=config, agent=agent, agent_name=agent_name, privileged=privileged,
    ))


def replay_many(jobs: Sequence[EpisodeJob], *, concurrency: int = 100) -> list[EpisodeResult]:
    """Run many :func:`scripted_job` jobs concurrently in one ``trio.run``; results in order."""
    return trio.run(lambda: run_episodes(jobs, concurrency=concurrency))


# --------------------------------------------------------------------------- strategies

_FILLER = ("hello", "thanks", "we", "are", "looking", "into", "this", "please", "update",
           "soon", "the", "team", "your", "ticket")
_NOT_IN_CATALOG = ("not_in_catalog", "", " ", "Billing", "URGENT", "Resolved", "request ids",
                   "p1 incident", "none", "null")
_UNKNOWN_OPS = ("close", "refund", "Reply", "REPLY", "escalate_to", "", "op", "set-fields")
_NON_OPERATIONS: tuple[Any, ...] = (42, "reply", None, 3.5, True, ["reply", "hi"], b"finish")
_NON_LIST_TURNS: tuple[Any, ...] = ("finish", 7, 2.5, True, b"[]")
#: Separators agents do emit: newline, tab, no-break space, NEL, line and paragraph separators.
_SEPARATORS = ("\n", "\t", "\u00a0", "\u0085", "\u2028", "\u2029")


_T = TypeVar("_T")


def _named(name: str, strategy: SearchStrategy[_T]) -> SearchStrategy[_T]:
    """``strategy`` behind the short repr ``name()``.

    Hypothesis formats the repr of a strategy eagerly in some internal paths (re-encoding
    values while shrinking); for these deeply nested strategies that costs megabytes of text
    per draw and a warning.
    """

    def draw_it(draw: DrawFn) -> _T:
        return draw(strategy)

    draw_it.__name__ = draw_it.__qualname__ = name
    return st.composite(draw_it)()


def _weighted(*branches: tuple[int, SearchStrategy[Any]]) -> SearchStrategy[Any]:
    """``one_of`` where a branch of weight w is w times as likely as one of weight 1."""
    return st.one_of([strategy for weight, strategy in branches for _ in range(weight)])


def _sampled(values: Sequence[str], fallback: Sequence[str] = _FILLER) -> SearchStrategy[str]:
    return st.sampled_from(tuple(values) or tuple(fallback))


def _pick(gold: str, allowed: Sequence[str]) -> SearchStrategy[str]:
    """The gold value half the time, any catalog value otherwise."""
    return st.one_of(st.just(gold), st.sampled_from(tuple(allowed)))


def _group_texts(groups: tuple[tuple[str, ...], ...]) -> list[str]:
    return [" ".join(group) for group in groups]


def _all_terms(task: SupportTaskSpec) -> tuple[str, ...]:
    groups = (task.required_reply_markers + task.required_note_markers
              + task.forbidden_reply_markers)
    return tuple(dict.fromkeys(term for group in groups for term in group)) or ("update",)


def _message_text(task: SupportTaskSpec, channel: Literal["reply", "note"]) -> SearchStrategy[str]:
    """Text assembled from the task's marker terms: whole groups of ``channel`` often,
    terms of the other channel and forbidden ones, filler, and near misses."""
    own = task.required_reply_markers if channel == "reply" else task.required_note_markers
    other = task.required_note_markers if channel == "reply" else task.required_reply_markers
    terms = _all_terms(task)
    chunk = st.one_of(
        _sampled(_group_texts(own)),
        st.just(" ".join(_group_texts(own)) or "hello"),
        st.sampled_from(terms),
        st.sampled_from(_FILLER),
        _sampled(_group_texts(other) + _group_texts(task.forbidden_reply_markers)),
        st.sampled_from(terms).map(str.upper),
        st.sampled_from(terms).map(lambda term: term.replace(" ", "_")),  # a near miss
        st.sampled_from(terms).map(lambda term: term + "s"),  # a near miss
        st.sampled_from(_SEPARATORS),
    )
    return _named(f"{channel}_text", st.lists(chunk, min_size=1, max_size=6).map(" ".join))


def _padded(text: str, length: int) -> str:
    """``text`` repeated, then cut or padded to exactly ``length`` characters."""
    repeated = (text + " ") * (length // (len(text) + 1) + 1)
    return repeated[:length]


def _request_fields(task: SupportTaskSpec) -> SearchStrategy[list[str]]:
    required = list(task.required_requested_fields)
    catalog = task.catalog.fields
    branches: list[SearchStrategy[list[str]]] = [
        st.just(required),
        st.lists(st.sampled_from(catalog), max_size=4, unique=True),
        st.just([]),
        st.just(list(catalog)),
    ]
    if required:
        branches.insert(1, st.lists(st.sampled_from(required), min_size=1, unique=True))
    return st.one_of(branches)


def _flags(task: SupportTaskSpec) -> SearchStrategy[list[str]]:
    catalog = task.catalog.risk_flags
    branches: list[SearchStrategy[list[str]]] = [
        st.lists(st.sampled_from(catalog), min_size=1, max_size=3, unique=True),
        st.just(list(catalog)),
    ]
    if task.risk_flags:
        branches.insert(0, st.just(list(task.risk_flags)))
    return st.one_of(branches)


def _escalation_queue(task: SupportTaskSpec) -> SearchStrategy[str]:
    branches = [st.just(task.gold_queue), st.sampled_from(task.catalog.queues)]
    if task.over_escalation_queues:
        branches.insert(1, st.sampled_from(task.over_escalation_queues))
    return st.one_of(branches)


def _set_fields(task: SupportTaskSpec) -> SearchStrategy[dict[str, Any]]:
    catalog = task.catalog

    def at_least_one(op: dict[str, Any]) -> dict[str, Any]:
        return op if len(op) > 1 else {**op, "queue": task.gold_queue}

    return st.fixed_dictionaries(
        {"op": st.just("set_fields")},
        optional={
            "queue": _pick(task.gold_queue, catalog.queues),
            "priority": _pick(task.gold_priority, catalog.priorities),
            "issue_type": _pick(task.gold_issue_type, catalog.issue_types),
        },
    ).map(at_least_one)


def _valid_by_kind(task: SupportTaskSpec) -> dict[str, SearchStrategy[dict[str, Any]]]:
    catalog = task.catalog
    kb_words = [w for snippet in task.knowledge_base for w in snippet.title.split()]
    return {
        "set_fields": _set_fields(task),
        "reply": st.one_of(
            st.fixed_dictionaries(
                {"op": st.just("reply"), "message": _message_text(task, "reply")},
                optional={"request_fields": _request_fields(task)},
            ),
            # Boundary: a reply of exactly the limit is valid.
            _message_text(task, "reply").map(
                lambda text: {"op": "reply", "message": _padded(text, MAX_REPLY_CHARS)}),
        ),
        "note": st.fixed_dictionaries({"op": st.just("note"),
                                       "text": _message_text(task, "note")}),
        "search_kb": st.fixed_dictionaries({
            "op": st.just("search_kb"),
            "query": st.lists(_sampled(kb_words + list(_all_terms(task))), min_size=1,
                              max_size=3).map(" ".join),
        }),
        "flag_risk": st.fixed_dictionaries({"op": st.just("flag_risk"), "flags": _flags(task)}),
        "escalate": st.fixed_dictionaries(
            {"op": st.just("escalate"), "queue": _escalation_queue(task)},
            optional={"summary": _message_text(task, "note")},
        ),
        "set_status": st.fixed_dictionaries(
            {"op": st.just("set_status"), "status": _pick(task.gold_status, catalog.statuses)},
            optional={"resolution_code": st.one_of(
                _pick(task.gold_resolution_code, catalog.resolution_codes), st.none())},
        ),
        "finish": st.just({"op": "finish"}),
    }


def valid_operations(task: SupportTaskSpec) -> SearchStrategy[dict[str, Any]]:
    """Operations the simulator accepts, as dicts: every kind, with catalog values
    (gold ones often) and text built from the task's markers."""
    return _named("valid_operations", st.one_of(list(_valid_by_kind(task).values())))


def _json_values() -> SearchStrategy[Any]:
    scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(),
                        st.text(max_size=12))
    return st.recursive(
        scalars,
        lambda inner: st.one_of(st.lists(inner, max_size=3),
                                st.dictionaries(st.text(max_size=8), inner, max_size=3)),
        max_leaves=8,
    )


def invalid_operations(task: SupportTaskSpec) -> SearchStrategy[Any]:
    """Entries the simulator must reject (each counts as one invalid operation): messages
    over the length limits (full of markers), values outside the catalog, wrong types,
    missing or extra keys, unknown ops, and things that are not operations at all."""
    catalog = task.catalog
    bad = st.sampled_from(_NOT_IN_CATALOG)
    reply_text, note_text = _message_text(task, "reply"), _message_text(task, "note")
    extra = st.integers(1, 200)
    return _named("invalid_operations", st.one_of(
        st.builds(lambda text, n, fields: {"op": "reply", "request_fields": fields,
                                           "message": _padded(text, MAX_REPLY_CHARS + n)},
                  reply_text, extra, _request_fields(task)),
        st.builds(lambda text, n: {"op": "note", "text": _padded(text, MAX_NOTE_CHARS + n)},
                  note_text, extra),
        st.builds(lambda text, n: {"op": "search_kb", "query": _padded(text, MAX_REPLY_CHARS + n)},
                  reply_text, extra),
        st.builds(lambda text, n: {"op": "escalate", "queue": task.gold_queue,
                                   "summary": _padded(text, MAX_NOTE_CHARS + n)}, note_text, extra),
        st.builds(lambda key, value: {"op": "set_fields", key: value},
                  st.sampled_from(("queue", "priority", "issue_type")), bad),
        bad.map(lambda queue: {"op": "escalate", "queue": queue, "summary": "x"}),
        bad.map(lambda status: {"op": "set_status", "status": status}),
        bad.map(lambda code: {"op": "set_status", "status": task.gold_status,
                              "resolution_code": code}),
        bad.map(lambda flag: {"op": "flag_risk", "flags": [flag]}),
        st.builds(lambda field, fields: {"op": "reply", "message": "Please send these.",
                                         "request_fields": [*fields, field]},
                  bad, st.lists(st.sampled_from(catalog.fields), max_size=2, unique=True)),
        st.sampled_from((
            {"op": "set_fields"},
            {"op": "reply", "message": ""},
            {"op": "note", "text": ""},
            {"op": "search_kb", "query": ""},
            {"op": "flag_risk", "flags": []},
            {"op": "escalate"},
            {"op": "set_status"},
            {"op": "reply", "message": "hi", "request_fields": "request_ids"},
            {"op": "flag_risk", "flags": "p1_incident"},
            {"op": "finish", "now": True},
            {"message": "no op key"},
        )),
        st.builds(lambda key, value: {"op": "reply", key: value},
                  st.sampled_from(("message", "request_fields")), _json_values()),
        st.builds(lambda key, value: {"op": "set_fields", key: value},
                  st.sampled_from(("queue", "priority", "issue_type")),
                  st.one_of(st.integers(), st.booleans(), st.lists(st.just(task.gold_queue)))),
        st.builds(lambda op, rest: {**rest, "op": op},
                  st.one_of(st.sampled_from(_UNKNOWN_OPS), st.integers(), st.none()),
                  st.dictionaries(st.text(max_size=8), _json_values(), max_size=2)),
        st.sampled_from(_NON_OPERATIONS),
    ))


def operations(task: SupportTaskSpec) -> SearchStrategy[Any]:
    """One entry of a turn: a valid operation most of the time, an invalid one otherwise."""
    return _named("operations",
                  _weighted((8, valid_operations(task)), (1, invalid_operations(task))))


def gold_operations(task: SupportTaskSpec) -> list[dict[str, Any]]:
    """What a perfect first turn looks like (gold fields, markers, flags, escalation)."""
    ops: list[dict[str, Any]] = [{"op": "set_fields", "queue": task.gold_queue,
                                  "priority": task.gold_priority,
                                  "issue_type": task.gold_issue_type}]
    if task.risk_flags:
        ops.append({"op": "flag_risk", "flags": list(task.risk_flags)})
    markers = " ".join(text + "." for text in _group_texts(task.required_reply_markers))
    ops.append({"op": "reply", "message": f"Hello, thank you. {markers}".strip(),
                "request_fields": list(task.required_requested_fields)})
    if task.required_note_markers:
        ops.append({"op": "note",
                    "text": " ".join(t + "." for t in _group_texts(task.required_note_markers))})
    if task.needs_escalation:
        ops.append({"op": "escalate", "queue": task.gold_queue, "summary": task.title})
    ops.append({"op": "set_status", "status": task.gold_status,
                "resolution_code": task.gold_resolution_code})
    return ops


def _gold_turn(task: SupportTaskSpec) -> SearchStrategy[list[dict[str, Any]]]:
    ops = gold_operations(task)
    return st.lists(st.booleans(), min_size=len(ops), max_size=len(ops)).map(
        lambda keep: [op for op, kept in zip(ops, keep, strict=True) if kept])


def turns(task: SupportTaskSpec) -> SearchStrategy[Any]:
    """One turn: usually a list of 0..8 operations; sometimes part of a perfect first turn;
    occasionally more than 8 operations or something that is not a list at all."""
    entries = operations(task)
    return _named("turns", _weighted(
        (12, st.lists(entries, max_size=MAX_OPERATIONS_PER_TURN)),
        (3, _gold_turn(task)),
        (1, st.lists(entries, min_size=MAX_OPERATIONS_PER_TURN + 1,
                     max_size=MAX_OPERATIONS_PER_TURN + 3)),
        (1, st.one_of(st.sampled_from(_NON_LIST_TURNS), entries, st.none())),
    ))


def turn_sequences(task: SupportTaskSpec) -> SearchStrategy[list[Any]]:
    """What a scripted agent plays: up to ``max_steps`` turns (it waits afterwards)."""
    return _named("turn_sequences", st.lists(turns(task), max_size=task.max_steps))


_EVENT_KINDS = ("turn", "operation", "invalid_operation", "invalid_turn", "customer_answer",
                "team_ack", "team_update", "team_silent", "team_bounce", "kb_results", "end",
                "sla_met", "sla_breach", "customer_nudge", "customer_complaint", "agent_error",
                "agent_timeout")


def trace_events(task: SupportTaskSpec) -> SearchStrategy[TraceEvent]:
    """Events as a trace file could hold them, well-formed or garbage: real kinds with
    plausible or nonsensical payloads, unknown kinds, odd actors, any times."""
    queues = task.catalog.queues
    actor = st.one_of(
        st.sampled_from(("agent", "customer", "sla_monitor", "team:nobody",
                         *(f"team:{q}" for q in queues))),
        st.text(max_size=10),
    )
    answer = st.one_of(
        st.fixed_dictionaries({"value": st.text(max_size=10), "status": st.one_of(
            st.sampled_from(("correct", "wrong", "missing", "not_relevant")), _json_values())}),
        _json_values(),
    )
    field_name = st.one_of(st.sampled_from(task.catalog.fields), st.text(max_size=8))
    payloads: dict[str, SearchStrategy[dict[str, Any]]] = {
        "turn": st.fixed_dictionaries({"turn": st.one_of(st.integers(-2, 12), _json_values())}),
        "operation": st.fixed_dictionaries({
            "turn": st.integers(0, 12), "index": st.integers(0, 9),
            "op": st.one_of(operations(task), _json_values())}),
        "invalid_turn": st.fixed_dictionaries({"rejected": st.one_of(st.integers(-1, 5),
                                                                      _json_values())}),
        "customer_answer": st.fixed_dictionaries({
            "request_turn": st.integers(0, 12),
            "fields": st.one_of(st.dictionaries(field_name, answer, max_size=4),
                                _json_values())}),
        "team_bounce": st.fixed_dictionaries({"queue": st.one_of(st.sampled_from(queues),
                                                                  _json_values())}),
    }

    garbage = st.dictionaries(st.text(max_size=8), _json_values(), max_size=3)
    deadline = task.sla_deadline_seconds
    times = st.one_of(st.integers(-10, 2 * deadline + 10),
                      st.sampled_from((deadline, deadline + 1)))

    def events_of(kind: SearchStrategy[str], payload: SearchStrategy[Any]) -> SearchStrategy[Any]:
        return st.builds(TraceEvent, t=times, seq=st.integers(-1, 10_000), actor=actor,
                         kind=kind, payload=payload)

    known = [events_of(st.just(kind), st.one_of(payloads[kind], garbage)) for kind in payloads]
    others = st.sampled_from([k for k in _EVENT_KINDS if k not in payloads])
    return _named("trace_events", st.one_of(*known, events_of(others, garbage),
                                            events_of(st.text(max_size=10), garbage)))


# --------------------------------------------------------------------------- describing


def _short(value: Any) -> Any:
    if isinstance(value, str) and len(value) > 80:
        return f"<{len(value)} chars: {value[:50]!r}…>"
    if isinstance(value, Mapping):
        return {str(k): _short(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_short(v) for v in value]
    if isinstance(value, bytes):
        return repr(value)
    return value


def describe_turns(turn_list: Any) -> str:
    """A one-line JSON rendering of turns, long texts shortened to their length and start
    (ASCII-escaped, so separators such as U+2028 stay visible)."""
    return json.dumps(_short(turn_list), default=repr)


@attrs.frozen(eq=False)
class Example:
    """One drawn input of an invariant: the turns played, the seed and the world's setup."""

    turns: Any = ()
    seed: int = 0
    persona: str = "cooperative"
    faults: tuple[str, ...] = ()
    extra: Mapping[str, Any] = attrs.field(factory=dict)

    def describe(self) -> str:
        parts = [f"seed={self.seed}", f"persona={self.persona}", f"faults={list(self.faults)}",
                 f"turns={describe_turns(self.turns)}"]
        parts += [f"{key}={describe_turns(value)}" for key, value in self.extra.items()]
        return "; ".join(parts)


# --------------------------------------------------------------------------- per-trace checks


def _fail(message: str) -> None:
    raise InvariantViolation(message)


def check_report_arithmetic(report: GradeReport) -> None:
    """Score in [0, 1] and equal to the weighted criteria minus penalties, recomputed from
    the report's own criteria and penalties against the SPEC §4 table."""
    if not 0.0 <= report.score <= 1.0:
        _fail(f"score {report.score} is outside [0, 1]")
    names = [c.name for c in report.criteria]
    if sorted(names) != sorted(SPEC_CRITERIA_WEIGHTS):
        _fail(f"criteria {names} differ from the spec's {list(SPEC_CRITERIA_WEIGHTS)}")
    applying = [c for c in report.criteria if c.applies]
    for c in report.criteria:
        if not math.isclose(c.weight, SPEC_CRITERIA_WEIGHTS[c.name], abs_tol=TOLERANCE):
            _fail(f"criterion {c.name} weighs {c.weight}; the spec says "
                  f"{SPEC_CRITERIA_WEIGHTS[c.name]}")
        if c.applies and (c.value is None or not 0.0 <= c.value <= 1.0):
            _fail(f"criterion {c.name} applies with value {c.value!r}, not in [0, 1]")
        if not c.applies and (c.value is not None or c.effective_weight != 0.0):
            _fail(f"dropped criterion {c.name} has value {c.value!r} and effective weight "
                  f"{c.effective_weight}")
    dropped = tuple(c.name for c in report.criteria if not c.applies)
    if tuple(report.dropped) != dropped:
        _fail(f"report.dropped is {list(report.dropped)} but the criteria that do not apply "
              f"are {list(dropped)}")
    if not applying:
        _fail("no criterion applies")
    total = math.fsum(c.weight for c in applying)
    weighted = math.fsum(c.weight * (c.value or 0.0) for c in applying) / total
    for c in applying:
        if not math.isclose(c.effective_weight, c.weight / total, abs_tol=TOLERANCE):
            _fail(f"criterion {c.name} has effective weight {c.effective_weight}; renormalised "
                  f"it is {c.weight / total}")
    if not math.isclose(report.weighted_score, weighted, abs_tol=TOLERANCE):
        _fail(f"weighted_score {report.weighted_score} but the weighted criteria give {weighted}")
    expected_amounts = {"over_escalation": _OVER_ESCALATION_PENALTY,
                        "wrong_queue": _WRONG_QUEUE_PENALTY,
                        "forbidden_reply": _FORBIDDEN_PENALTY, "leak": _LEAK_PENALTY}
    for penalty in report.penalties:
        if penalty.name == "invalid_operations":
            want = min(_INVALID_PENALTY * report.invalid_operations, _INVALID_PENALTY_CAP)
        elif penalty.name == "spam":
            # "N public replies where ... beyond them" – at most the cap, a multiple of 0.02
            want = penalty.amount if (
                penalty.amount <= _SPAM_PENALTY_CAP + TOLERANCE
                and math.isclose(round(penalty.amount / _SPAM_PENALTY) * _SPAM_PENALTY,
                                 penalty.amount, abs_tol=TOLERANCE)) else math.nan
        elif penalty.name == "void":
            want = penalty.amount
        else:
            want = expected_amounts.get(penalty.name, math.nan)
        if not math.isclose(penalty.amount, want, abs_tol=TOLERANCE):
            _fail(f"penalty {penalty.name} is {penalty.amount}; the spec says {want}")
    leaks = math.fsum(p.amount for p in report.penalties if p.name == "leak")
    if leaks > _LEAK_PENALTY_CAP + TOLERANCE:
        _fail(f"leak penalties add up to {leaks}; the spec caps them at {_LEAK_PENALTY_CAP}")
    invalid = [p for p in report.penalties if p.name == "invalid_operations"]
    if bool(invalid) != (report.invalid_operations > 0) or len(invalid) > 1:
        _fail(f"{report.invalid_operations} invalid operation(s) but penalties {invalid}")
    expected = min(1.0, max(0.0, weighted - math.fsum(p.amount for p in report.penalties)))
    if not math.isclose(report.score, expected, abs_tol=TOLERANCE):
        _fail(f"score {report.score} but the weighted criteria {weighted:.12g} minus penalties "
              f"{[(p.name, p.amount) for p in report.penalties]} give {expected:.12g}")
    sla = report.criterion("sla")
    if sla.value is not None and (sla.value == 1.0) == report.sla_breached:
        _fail(f"sla criterion {sla.value} but sla_breached={report.sla_breached}")


def check_step_rewards(task: SupportTaskSpec, trace: Trace) -> None:
    """One reward per turn played, and the rewards sum to the score."""
    report = grade(task, trace)
    rewards = step_rewards(task, trace)
    total = math.fsum(rewards)
    if not math.isclose(total, report.score, abs_tol=TOLERANCE):
        _fail(f"step rewards {rewards} sum to {total!r}, the score is {report.score!r}")
    played = 0
    for event in trace.events:
        if event.kind == "end":
            break
        played += event.kind == "turn"
    if len(rewards) != played:
        _fail(f"{len(rewards)} step rewards for {played} turns played")


def check_regrade(task: SupportTaskSpec, trace: Trace) -> None:
    """The trace written as JSON Lines and read back grades to the live report."""
    live = grade(task, trace)
    again = grade(task, Trace.from_jsonl(trace.to_jsonl()))
    if again != live:
        _fail(f"re-grading the stored trace gives {again.score} ({again.breakdown()}), "
              f"the live trace {live.score} ({live.breakdown()})")
    stored = trace.result.report if trace.result is not None else None
    if stored is not None and stored != live.model_dump(mode="json"):
        _fail(f"the report stored in the trace differs from grading it: score "
              f"{stored.get('score')} vs {live.score}")


def check_trace(task: SupportTaskSpec, trace: Trace, *, regrade: bool = True) -> GradeReport:
    """Every per-trace invariant at once; returns the report. Raises
    :class:`InvariantViolation` (never anything else: a grader exception is a violation)."""
    try:
        report = grade(task, trace)
        check_report_arithmetic(report)
        check_step_rewards(task, trace)
        if regrade:
            check_regrade(task, trace)
    except InvariantViolation:
        raise
    except Exception as error:
        raise InvariantViolation(f"the grader raised {type(error).__name__}: {error}") from error
    return report


# --------------------------------------------------------------------------- the suite


@attrs.frozen(eq=False)
class SuiteContext:
    """What an invariant needs: the task, the world around the agent, the oracle."""

    task: SupportTaskSpec
    world: WorldLike
    oracle: AgentFactory | None = None
    #: Personas to draw for random runs; empty means the task's own.
    personas: tuple[str, ...] = ()
    #: Fault names to draw subsets of for random runs.
    faults: tuple[str, ...] = ()
    config: EpisodeConfig = attrs.field(factory=EpisodeConfig)

    def conditions(self) -> SearchStrategy[tuple[str, tuple[str, ...]]]:
        fixed = _fixed_world(self.world)
        if fixed is not None:
            return st.just((fixed.persona, tuple(fixed.faults)))
        own = self.task.default_persona
        personas = (own, *(p for p in self.personas if p != own))
        faults = (st.lists(st.sampled_from(self.faults), unique=True).map(
            lambda chosen: tuple(sorted(chosen))) if self.faults else st.just(()))
        return st.tuples(st.sampled_from(personas), faults)

    def examples(self, extra: SearchStrategy[Mapping[str, Any]] | None = None,
                 sequences: SearchStrategy[Any] | None = None) -> SearchStrategy[Example]:
        """Random turn sequences under drawn conditions, with ``extra`` drawn alongside."""
        return st.builds(
            lambda t, s, c, x: Example(turns=t, seed=s, persona=c[0], faults=c[1], extra=x),
            sequences if sequences is not None else turn_sequences(self.task),
            st.integers(0, 2**32 - 1), self.conditions(),
            extra if extra is not None else st.just({}),
        )

    def run(self, example: Example, turn_list: Any = None, *, agent: Any = None,
            agent_name: str = "scripted", privileged: bool = False) -> EpisodeResult:
        played = example.turns if turn_list is None else turn_list
        return replay(self.task, played, world=self.world, seed=example.seed,
                      persona=example.persona, faults=example.faults, config=self.config,
                      agent=agent, agent_name=agent_name, privileged=privileged)

    def score(self, example: Example, turn_list: Any = None) -> tuple[GradeReport, Trace]:
        result = self.run(example, turn_list)
        return grade(self.task, result.trace), result.trace


@attrs.frozen(eq=False)
class Invariant:
    """A named property of SPEC §4: how to draw examples, how to check one, when it applies."""

    name: str
    description: str
    strategy: Callable[[SuiteContext], SearchStrategy[Example]]
    check: Callable[[SuiteContext, Example], None]
    #: Why the invariant does not apply to this task and setup, or ``None`` when it does.
    not_applicable: Callable[[SuiteContext], str | None] = lambda ctx: None


class InvariantResult(BaseModel):
    """The outcome of one invariant on one task."""

    model_config = ConfigDict(frozen=True)

    name: str
    description: str
    status: Literal["passed", "failed", "not_applicable"]
    #: Examples tried (including hypothesis's shrinking of a failure).
    examples: int = 0
    #: The smallest failing example found and what went wrong, when it failed.
    counterexample: str | None = None
    #: Why it does not apply, when it does not.
    reason: str | None = None
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return self.status == "failed"


# -- helpers for building modified sequences -----------------------------------------


def _as_list(turn: Any) -> list[Any]:
    """A turn as the list of entries the simulator would parse (garbage turns: none)."""
    if isinstance(turn, list | tuple):
        return list(turn)
    if isinstance(turn, Mapping | BaseModel):
        return [turn]
    return []


def _with_room(turn_list: Any, index: int, room: int = 1) -> list[Any]:
    """A copy of the sequence, padded with waits to reach turn ``index`` (0-based), whose
    turn ``index`` is a list with room for ``room`` more entries, so inserting there never
    pushes an operation past the per-turn limit."""
    result = list(turn_list)
    result += [[] for _ in range(index + 1 - len(result))]
    result[index] = _as_list(result[index])[: MAX_OPERATIONS_PER_TURN - room]
    return result


def _inserted(turn_list: list[Any], index: int, position: int, *ops: Any) -> list[Any]:
    result = list(turn_list)
    turn = list(result[index])
    at = min(position, len(turn))
    result[index] = turn[:at] + list(ops) + turn[at:]
    return result


def _played(trace: Trace, turn_number: int, op: Mapping[str, Any]) -> bool:
    """Whether ``op`` was applied as a valid operation at turn ``turn_number``."""
    return any(e.kind == "operation" and e.payload.get("turn") == turn_number
               and all(e.payload.get("op", {}).get(k) == v for k, v in op.items())
               for e in trace.events)


def _writes(entry: Any, task: SupportTaskSpec) -> frozenset[str]:
    """The ticket fields a turn entry sets ("status" for escalate and set_status)."""
    operation, error, _ = parse_operation(entry)
    if operation is None or error is not None or check_operation(operation, task.catalog):
        return frozenset()
    if isinstance(operation, SetFields):
        return frozenset(k for k in ("queue", "priority", "issue_type")
                         if getattr(operation, k) is not None)
    if isinstance(operation, Escalate):
        return frozenset({"status"})
    if isinstance(operation, SetStatus):
        return frozenset({"status", "resolution_code"} if operation.resolution_code else
                         {"status"})
    return frozenset()


def _breakdown_diff(a: GradeReport, b: GradeReport) -> str:
    changed = [f"{c.name} {c.value}->{d.value}" for c, d in zip(a.criteria, b.criteria,
                                                                strict=True)
               if c.value != d.value]
    pa = [(p.name, p.amount) for p in a.penalties]
    pb = [(p.name, p.amount) for p in b.penalties]
    if pa != pb:
        changed.append(f"penalties {pa}->{pb}")
    return ", ".join(changed) or "no criterion changed"


# -- the invariants -------------------------------------------------------------------


def _oracle_strategy(ctx: SuiteContext) -> SearchStrategy[Example]:
    return st.builds(lambda seed: Example(seed=seed, persona=ctx.task.default_persona),
                     st.integers(0, 2**32 - 1))


def _oracle_not_applicable(ctx: SuiteContext) -> str | None:
    if ctx.oracle is None:
        return "no oracle agent was given"
    fixed = _fixed_world(ctx.world)
    if fixed is not None and (fixed.persona != ctx.task.default_persona or fixed.faults):
        return (f"the given world has persona {fixed.persona!r} and faults "
                f"{list(fixed.faults)}; the oracle is judged under the task's own persona "
                f"{ctx.task.default_persona!r} with no faults")
    return None


def _check_oracle(ctx: SuiteContext, example: Example) -> None:
    assert ctx.oracle is not None
    result = ctx.run(example, [], agent=ctx.oracle(), agent_name="oracle", privileged=True)
    if result.error is not None or not math.isclose(result.score, 1.0, abs_tol=TOLERANCE):
        report = grade(ctx.task, result.trace)
        short = [f"{c.name}={c.value} ({c.reason})" for c in report.criteria
                 if c.applies and c.value != 1.0]
        short += [f"penalty {p.name} {p.amount} ({p.reason})" for p in report.penalties]
        _fail(f"the oracle scored {result.score}, not 1.0 (ended {result.termination_reason}"
              f"{', ' + result.error if result.error else ''}): {'; '.join(short)}")


def _check_arithmetic(ctx: SuiteContext, example: Example) -> None:
    result = ctx.run(example)
    report = grade(ctx.task, result.trace)
    check_report_arithmetic(report)
    if result.score != report.score:
        _fail(f"the episode's score {result.score} differs from grading its trace "
              f"{report.score}")


def _check_rewards(ctx: SuiteContext, example: Example) -> None:
    check_step_rewards(ctx.task, ctx.run(example).trace)


def _determinism_strategy(ctx: SuiteContext) -> SearchStrategy[Example]:
    return ctx.examples(st.fixed_dictionaries({"alongside": turn_sequences(ctx.task)}))


def _check_determinism(ctx: SuiteContext, example: Example) -> None:
    task = ctx.task
    first = ctx.run(example).trace
    world = resolve_world(ctx.world, example.persona, example.faults, task)
    played, other = list(example.turns), list(example.extra["alongside"])
    # Again, as an async agent that yields to trio, next to another episode.
    jobs = [
        EpisodeJob(task=task, make_agent=lambda: _YieldingScript(other), world=world,
                   seed=example.seed + 1, agent_name="scripted", config=ctx.config),
        EpisodeJob(task=task, make_agent=lambda: _YieldingScript(played), world=world,
                   seed=example.seed, agent_name="scripted", config=ctx.config),
    ]
    second = replay_many(jobs, concurrency=2)[1].trace
    a, b = first.to_jsonl(), second.to_jsonl()
    if a != b:
        pairs = zip(a.splitlines(), b.splitlines(), strict=False)
        lines = [(n, x, y) for n, (x, y) in enumerate(pairs, 1) if x != y]
        where = (f"line {lines[0][0]}: {lines[0][1][:160]} vs {lines[0][2][:160]}" if lines
                 else f"{len(a.splitlines())} vs {len(b.splitlines())} lines")
        _fail(f"two runs of the same inputs gave different traces at {where}")
    if grade(task, first) != grade(task, second):
        _fail("two identical traces graded differently")


def _check_stored_trace(ctx: SuiteContext, example: Example) -> None:
    check_regrade(ctx.task, ctx.run(example).trace)


def _after_end_strategy(ctx: SuiteContext) -> SearchStrategy[Example]:
    task = ctx.task
    return ctx.examples(st.fixed_dictionaries({
        "finish_turn": st.integers(0, task.max_steps - 1),
        "finish_at": st.integers(0, MAX_OPERATIONS_PER_TURN - 1),
        "extra_turns": st.lists(turns(task), min_size=1, max_size=task.max_steps),
        "appended_events": st.lists(trace_events(task), min_size=1, max_size=6),
    }))


def _check_after_end(ctx: SuiteContext, example: Example) -> None:
    task, extra = ctx.task, example.extra
    # 1. Events appended to a trace after its end change neither the grade nor the rewards.
    report, trace = ctx.score(example)
    if any(e.kind == "end" for e in trace.events):
        longer = Trace(header=trace.header, events=trace.events + tuple(extra["appended_events"]))
        after = grade(task, longer)
        if after != report:
            _fail(f"events appended after the end changed the grade from {report.score} to "
                  f"{after.score}: {_breakdown_diff(report, after)}")
        if step_rewards(task, longer) != step_rewards(task, trace):
            _fail("events appended after the end changed the step rewards")
    # 2. Turns scripted after a finish are never played.
    index = extra["finish_turn"]
    finished = _with_room(example.turns[: index + 1], index)
    finished = _inserted(finished, index, extra["finish_at"], {"op": "finish"})
    short_report, short_trace = ctx.score(example, finished)
    long_report, long_trace = ctx.score(example, finished + list(extra["extra_turns"]))
    if long_trace.to_jsonl() != short_trace.to_jsonl() or long_report != short_report:
        _fail(f"turns after the finish at turn {index + 1} changed the score from "
              f"{short_report.score} to {long_report.score}: "
              f"{_breakdown_diff(short_report, long_report)}")


def _insertion(ctx: SuiteContext, **more: SearchStrategy[Any]) -> SearchStrategy[Example]:
    return ctx.examples(st.fixed_dictionaries({
        "turn": st.integers(0, ctx.task.max_steps - 1),
        "position": st.integers(0, MAX_OPERATIONS_PER_TURN - 1),
        **more,
    }))


def _over_escalation_strategy(ctx: SuiteContext) -> SearchStrategy[Example]:
    task = ctx.task
    queues = task.over_escalation_queues or task.catalog.queues
    return _insertion(ctx, queue=st.sampled_from(queues),
                      summary=_message_text(task, "note"))


def _check_over_escalation(ctx: SuiteContext, example: Example) -> None:
    extra = example.extra
    index = extra["turn"]
    base = _with_room(example.turns, index)
    op = {"op": "escalate", "queue": extra["queue"], "summary": extra["summary"]}
    before, _ = ctx.score(example, base)
    after, trace = ctx.score(example, _inserted(base, index, extra["position"], op))
    if after.score > before.score + TOLERANCE:
        _fail(f"escalating to {extra['queue']} at turn {index + 1} raised the score from "
              f"{before.score} to {after.score}: {_breakdown_diff(before, after)}")
    charged = math.fsum(p.amount for p in after.penalties if p.name == "over_escalation")
    if _played(trace, index + 1, {"op": "escalate", "queue": extra["queue"]}) and (
        charged < _OVER_ESCALATION_PENALTY - TOLERANCE
    ):
        _fail(f"escalating to {extra['queue']} at turn {index + 1} cost {charged} in "
              f"over-escalation penalties, not {_OVER_ESCALATION_PENALTY}")


def _over_escalation_not_applicable(ctx: SuiteContext) -> str | None:
    if not ctx.task.over_escalation_queues:
        return "the task has no over_escalation_queues"
    return None


def _later_strategy(ctx: SuiteContext) -> SearchStrategy[Example]:
    last = ctx.task.max_steps - 1

    @st.composite
    def turns_apart(draw: DrawFn) -> Mapping[str, Any]:
        first = draw(st.integers(0, max(0, last - 1)))
        return {"early_turn": first, "late_turn": draw(st.integers(first + 1, max(1, last))),
                "early_position": draw(st.integers(0, MAX_OPERATIONS_PER_TURN - 1)),
                "late_position": draw(st.integers(0, MAX_OPERATIONS_PER_TURN - 1)),
                "summary": draw(_message_text(ctx.task, "note"))}

    return ctx.examples(turns_apart())


def _check_later_escalation(ctx: SuiteContext, example: Example) -> None:
    task, extra = ctx.task, example.extra
    i, j = extra["early_turn"], extra["late_turn"]
    base = _with_room(_with_room(example.turns, i), j)
    # Between the two turns nothing else may set the status, so the only difference between
    # the two sequences is when the escalation happens.
    for k in range(i, j + 1):
        base[k] = [e for e in _as_list(base[k])
                   if not (isinstance(e, Mapping) and e.get("op") in _STATUS_OPS)]
    op = {"op": "escalate", "queue": task.gold_queue, "summary": extra["summary"]}
    early, _ = ctx.score(example, _inserted(base, i, extra["early_position"], op))
    late, _ = ctx.score(example, _inserted(base, j, extra["late_position"], op))
    if late.score > early.score + TOLERANCE:
        _fail(f"escalating to {task.gold_queue} at turn {j + 1} instead of turn {i + 1} raised "
              f"the score from {early.score} to {late.score}: {_breakdown_diff(early, late)}")


def _later_not_applicable(ctx: SuiteContext) -> str | None:
    task = ctx.task
    if not task.needs_escalation:
        # Any escalation is wrong here: one that comes later, or never because the episode
        # ended first, rightly scores at least as well (and for a pending or open gold status
        # it leaves the ticket in that status longer).
        return (f"the task needs no escalation (gold status {task.gold_status!r}): any "
                "escalation is wrong, so a later one rightly scores at least as well")
    if task.max_steps < 2:
        return "the task has a single turn, so no escalation can come later"
    return None


def _reorder_strategy(ctx: SuiteContext) -> SearchStrategy[Example]:
    task = ctx.task
    # Dense turns of 3..8 valid operations of two kinds make same-kind neighbours (two
    # replies, two flag_risk...) the rule: that is where an order-dependent grader shows.
    by_kind = _valid_by_kind(task)
    kinds = sorted(by_kind)
    dense_turn = st.one_of([
        st.lists(st.one_of(by_kind[a], by_kind[b]), min_size=3, max_size=MAX_OPERATIONS_PER_TURN)
        for a, b in itertools.combinations(kinds, 2)
    ])
    dense = _named("dense_turn_sequences",
                   st.lists(dense_turn, min_size=1, max_size=task.max_steps))
    sequences = st.one_of(turn_sequences(task), dense)

    @st.composite
    def examples(draw: DrawFn) -> Example:
        sequence = draw(sequences)
        # Reversed: the last ready entry first, which swaps every independent pair.
        reverse = draw(st.booleans())
        result: list[Any] = []
        for turn in sequence:
            if not isinstance(turn, list) or len(turn) < 2:
                result.append(turn)
                continue
            head = turn[:MAX_OPERATIONS_PER_TURN]
            writes = [_writes(entry, task) for entry in head]
            remaining = list(range(len(head)))
            order: list[int] = []
            while remaining:
                ready = [k for k in remaining
                         if not any(m < k and writes[m] & writes[k] for m in remaining)]
                pick = ready[-1] if reverse else draw(st.sampled_from(ready))
                order.append(pick)
                remaining.remove(pick)
            result.append([head[k] for k in order] + turn[MAX_OPERATIONS_PER_TURN:])
        persona, faults = draw(ctx.conditions())
        return Example(turns=sequence, seed=draw(st.integers(0, 2**32 - 1)), persona=persona,
                       faults=faults, extra={"reordered": result})

    return examples()


def _check_reorder(ctx: SuiteContext, example: Example) -> None:
    before, _ = ctx.score(example)
    after, _ = ctx.score(example, example.extra["reordered"])
    if not math.isclose(before.score, after.score, abs_tol=TOLERANCE):
        _fail(f"reordering independent operations changed the score from {before.score} to "
              f"{after.score}: {_breakdown_diff(before, after)}")


def _everything_strategy(ctx: SuiteContext) -> SearchStrategy[Example]:
    return _insertion(ctx, message=_message_text(ctx.task, "reply"))


def _check_everything(ctx: SuiteContext, example: Example) -> None:
    task, extra = ctx.task, example.extra
    catalog = task.catalog
    base = _with_room(example.turns, 0, room=2)
    ops = [{"op": "reply", "message": extra["message"], "request_fields": list(catalog.fields)},
           {"op": "flag_risk", "flags": list(catalog.risk_flags)}]
    report, _ = ctx.score(example, _inserted(base, 0, extra["position"], *ops))
    checks = (("fields_collected", task.required_requested_fields, catalog.fields,
               "asking for every field in the catalog"),
              ("risk_flags", task.risk_flags, catalog.risk_flags,
               "raising every risk flag in the catalog"))
    for name, required, everything, what in checks:
        value = report.criterion(name).value
        if set(required) != set(everything) and value is not None and value >= 1.0:
            _fail(f"{what} earned full credit on {name}: {report.criterion(name).reason}")


def _everything_not_applicable(ctx: SuiteContext) -> str | None:
    task, catalog = ctx.task, ctx.task.catalog
    if (set(task.required_requested_fields) == set(catalog.fields)
            and set(task.risk_flags) == set(catalog.risk_flags)):
        return "the task requires every field and every risk flag of its catalog"
    return None


_CHANNEL_KINDS = ("reply_terms_in_note", "note_terms_in_reply", "long_reply", "long_note",
                  "terms_in_search")


def _channel_strategy(ctx: SuiteContext) -> SearchStrategy[Example]:
    return _insertion(ctx, kind=st.sampled_from(_CHANNEL_KINDS), padding=st.integers(1, 200))


def _check_channels(ctx: SuiteContext, example: Example) -> None:
    task, extra = ctx.task, example.extra
    kind, index = extra["kind"], extra["turn"]
    reply_text = " ".join(_group_texts(task.required_reply_markers)) or "hello"
    note_text = " ".join(_group_texts(task.required_note_markers)) or "hello"
    forbidden = " ".join(_group_texts(task.forbidden_reply_markers))
    everything = " ".join(filter(None, (reply_text, note_text, forbidden)))
    op: dict[str, Any]
    unchanged: tuple[str, ...]
    if kind == "reply_terms_in_note":
        op = {"op": "note", "text": f"{reply_text} {forbidden}".strip()[:MAX_NOTE_CHARS]}
        unchanged = ("reply_markers", "forbidden")
    elif kind == "note_terms_in_reply":
        op = {"op": "reply", "message": note_text[:MAX_REPLY_CHARS]}
        unchanged = ("note_markers",)
    elif kind == "long_reply":
        op = {"op": "reply", "message": _padded(everything, MAX_REPLY_CHARS + extra["padding"])}
        unchanged = ("reply_markers", "note_markers", "forbidden")
    elif kind == "long_note":
        op = {"op": "note", "text": _padded(everything, MAX_NOTE_CHARS + extra["padding"])}
        unchanged = ("reply_markers", "note_markers", "forbidden")
    else:
        op = {"op": "search_kb", "query": everything[:MAX_REPLY_CHARS]}
        unchanged = ("reply_markers", "note_markers", "forbidden")

    def view(report: GradeReport) -> dict[str, Any]:
        return {"reply_markers": report.criterion("reply_markers").value,
                "note_markers": report.criterion("note_markers").value,
                "forbidden": sorted(p.reason for p in report.penalties
                                    if p.name == "forbidden_reply")}

    base = _with_room(example.turns, index)
    before, trace = ctx.score(example, base)
    after, _ = ctx.score(example, _inserted(base, index, extra["position"], op))
    for name in unchanged:
        if view(before)[name] != view(after)[name]:
            _fail(f"{kind}: a {op['op']} at turn {index + 1} changed {name} from "
                  f"{view(before)[name]} to {view(after)[name]}")
    if kind.startswith("long_"):
        # Straight into a trace, bypassing the simulator's own length check.
        events = list(trace.events)
        at = next((n for n, e in enumerate(events) if e.kind == "end"), len(events))
        time_at = events[at - 1].t if at else 0
        injected = TraceEvent(t=time_at, seq=len(events), actor="agent", kind="operation",
                              payload={"turn": index + 1, "index": 0, "op": op})
        direct = grade_events(task, [*events[:at], injected, *events[at:]])
        for name in unchanged:
            if view(before)[name] != view(direct)[name]:
                _fail(f"{kind}: an over-long {op['op']} written into the trace changed {name} "
                      f"from {view(before)[name]} to {view(direct)[name]}")


def _channel_not_applicable(ctx: SuiteContext) -> str | None:
    task = ctx.task
    if not (task.required_reply_markers or task.required_note_markers
            or task.forbidden_reply_markers):
        return "the task has no reply, note or forbidden markers"
    return None


def _never_raises_strategy(ctx: SuiteContext) -> SearchStrategy[Example]:
    events = st.lists(trace_events(ctx.task), max_size=12)
    return ctx.examples(st.fixed_dictionaries({
        "garbage": events,
        "splice_at": st.lists(st.integers(0, 10_000), max_size=12),
    }))


def _check_never_raises(ctx: SuiteContext, example: Example) -> None:
    task = ctx.task
    try:
        result = ctx.run(example)
    except Exception as error:
        raise InvariantViolation(
            f"the episode raised {type(error).__name__}: {error}") from error
    trace = result.trace
    garbage: list[TraceEvent] = list(example.extra["garbage"])
    spliced = list(trace.events)
    for event, at in zip(garbage, example.extra["splice_at"], strict=False):
        spliced.insert(at % (len(spliced) + 1), event)
    for label, events in (("the episode's trace", list(trace.events)),
                          ("garbage events", garbage),
                          ("the trace with garbage spliced in", spliced)):
        try:
            report = grade_events(task, events)
            step_rewards(task, Trace(header=trace.header, events=tuple(events)))
        except Exception as error:
            raise InvariantViolation(
                f"grading {label} raised {type(error).__name__}: {error}") from error
        check_report_arithmetic(report)


INVARIANTS: tuple[Invariant, ...] = (
    Invariant("oracle_scores_one",
              "the oracle scores 1.0 under the task's own persona with no faults, every seed",
              _oracle_strategy, _check_oracle, _oracle_not_applicable),
    Invariant("score_is_weighted_criteria_minus_penalties",
              "the score is in [0, 1] and equals the weighted criteria minus penalties",
              lambda ctx: ctx.examples(), _check_arithmetic),
    Invariant("step_rewards_sum_to_score",
              "one step reward per turn, and the rewards sum to the score",
              lambda ctx: ctx.examples(), _check_rewards),
    Invariant("deterministic",
              "the same inputs give the same trace bytes and score, also next to another "
              "episode and with an agent that yields to the scheduler",
              _determinism_strategy, _check_determinism),
    Invariant("stored_trace_regrades_the_same",
              "a trace written as JSON Lines and read back grades exactly as the live run did",
              lambda ctx: ctx.examples(), _check_stored_trace),
    Invariant("nothing_after_the_end",
              "events after the end, and turns scripted after a finish, change nothing",
              _after_end_strategy, _check_after_end),
    Invariant("over_escalation_never_raises_score",
              "escalating to an over-escalation queue never raises the score, and costs the "
              "penalty",
              _over_escalation_strategy, _check_over_escalation, _over_escalation_not_applicable),
    Invariant("later_escalation_never_raises_score",
              "moving an escalation to the gold queue to a later turn never raises the score "
              "(status operations between the two turns are removed from both runs)",
              _later_strategy, _check_later_escalation, _later_not_applicable),
    Invariant("reordering_independent_operations_keeps_score",
              "reordering operations of a turn that do not set the same field or the status "
              "never changes the score",
              _reorder_strategy, _check_reorder),
    Invariant("asking_everything_never_earns_full_credit",
              "requesting every catalog field, or raising every risk flag, never earns full "
              "credit on those criteria",
              _everything_strategy, _check_everything, _everything_not_applicable),
    Invariant("markers_count_only_in_their_channel",
              "markers in the wrong channel (or a search query), or in an over-long message, "
              "never count",
              _channel_strategy, _check_channels, _channel_not_applicable),
    Invariant("grader_never_raises",
              "the grader never raises: on any sequence of operations, on garbage events, on "
              "garbage spliced into a real trace",
              _never_raises_strategy, _check_never_raises),
)
INVARIANT_NAMES: tuple[str, ...] = tuple(inv.name for inv in INVARIANTS)
_BY_NAME = {inv.name: inv for inv in INVARIANTS}


def _describe_failure(error: BaseException) -> str:
    if isinstance(error, BaseExceptionGroup):
        inner = "; ".join(_describe_failure(e) for e in error.exceptions[:3])
        return f"{type(error).__name__} ({error.message}): {inner}"
    if isinstance(error, InvariantViolation):
        return str(error)
    return f"{type(error).__name__}: {error}"


def run_invariant(
    task: SupportTaskSpec,
    invariant: str | Invariant,
    *,
    world: WorldLike,
    oracle: AgentFactory | None = None,
    max_examples: int = DEFAULT_MAX_EXAMPLES,
    personas: Sequence[str] = (),
    faults: Sequence[str] = (),
    derandomize: bool | None = None,
    config: EpisodeConfig | None = None,
) -> InvariantResult:
    """Check one invariant on ``task`` with hypothesis; never raises for a violation.

    ``personas`` and ``faults`` are what random runs draw from (by default: the task's own
    persona, no faults). ``derandomize`` ``None`` follows the loaded hypothesis profile.
    """
    if isinstance(invariant, str):
        if invariant not in _BY_NAME:
            raise ValueError(f"invariant {invariant!r} is unknown; allowed: "
                             f"{', '.join(INVARIANT_NAMES)}")
        invariant = _BY_NAME[invariant]
    ctx = SuiteContext(task=task, world=world, oracle=oracle, personas=tuple(personas),
                       faults=tuple(faults), config=config or EpisodeConfig())
    started = time.perf_counter()
    reason = invariant.not_applicable(ctx)
    if reason is not None:
        return InvariantResult(name=invariant.name, description=invariant.description,
                               status="not_applicable", reason=reason)
    calls = 0
    check = invariant.check

    def body(example: Example) -> None:
        nonlocal calls
        calls += 1
        try:
            check(ctx, example)
        except Exception as error:
            raise InvariantViolation(
                f"{_describe_failure(error)}\n  example: {example.describe()}") from error

    options: dict[str, Any] = {
        "max_examples": max_examples, "deadline": None, "database": None,
        "verbosity": Verbosity.quiet, "report_multiple_bugs": False,
        # No "explain" phase: it re-runs the failing example many times for hypothesis's own
        # report, which is not shown here; the counterexample is in the violation message.
        "phases": [Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
        "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large,
                                  HealthCheck.filter_too_much, HealthCheck.large_base_example],
    }
    if derandomize is not None:
        options["derandomize"] = derandomize
    test = settings(**options)(given(invariant.strategy(ctx))(body))
    try:
        test()
    except Exception as error:
        return InvariantResult(
            name=invariant.name, description=invariant.description, status="failed",
            examples=calls, counterexample=_describe_failure(error),
            seconds=time.perf_counter() - started,
        )
    return InvariantResult(name=invariant.name, description=invariant.description,
                           status="passed", examples=calls,
                           seconds=time.perf_counter() - started)


def run_property_suite(
    task: SupportTaskSpec,
    *,
    world: WorldLike,
    oracle: AgentFactory | None = None,
    max_examples: int = DEFAULT_MAX_EXAMPLES,
    invariants: Sequence[str] | None = None,
    personas: Sequence[str] = (),
    faults: Sequence[str] = (),
    derandomize: bool | None = None,
    config: EpisodeConfig | None = None,
) -> list[InvariantResult]:
    """Every invariant of SPEC §4 (or the named ones) on ``task``, in order.

    Failures are reported, never raised: each :class:`InvariantResult` has a status
    (``passed``, ``failed``, ``not_applicable``) and, for a failure, the smallest
    counterexample hypothesis found.
    """
    names = INVARIANT_NAMES if invariants is None else tuple(invariants)
    return [run_invariant(task, name, world=world, oracle=oracle, max_examples=max_examples,
                          personas=personas, faults=faults, derandomize=derandomize,
                          config=config)
            for name in names]
