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
  (``actors.agents.oracle.OracleAgent``); without one the oracle invariant is not applicable.

Running the suite directly::

    from actors.agents.oracle import OracleAgent
    from actors.teams import FAULTS
    from actors.world import StandardWorld
    from sim.testing import run_property_suite
    from tasks import PERSONAS, load_task_file

    task = load_task_file("my_tasks/refund_loop_medium.py")
    for result in run_property_suite(task, world=StandardWorld, oracle=OracleAgent,
                                     personas=PERSONAS, faults=FAULTS, max_examples=50):
        print(result.name, result.status, result.counterexample or "")

Every invariant runs in every world: each example draws a persona from ``personas`` and a
subset of ``faults`` (without them, the task's own persona and no faults), and the oracle
is first played once in each of those worlds. A failure never raises: the
:class:`InvariantResult` says which invariant failed and describes the smallest failing
example hypothesis found (the seed, persona, faults and the turns the scripted agent
played), ready to paste into a scenario.

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

**Gaming policies** are strategies too, each a list of turns built from the task alone,
for :func:`replay` against your own task (the suite plays them, so ``check-task`` does):

- :func:`quitter_turns`: anything at turn 1, then ``finish`` or a resolved/closed status;
- :func:`escalation_spray_turns`: an escalation to every queue of the catalog;
- :func:`empty_relay_turns`: the team's update "relayed" as "." or without its facts;
- :func:`leaker_turns`: marker replies carrying internal ids (:func:`internal_terms`);
- :func:`filler_turns`: turns filled to 8 operations of 1,000-character filler;
- :func:`stuffed_turns`: replies made of the text the agent is shown (:func:`brief_texts`,
  plus messages it received), cut to the limit or split over replies;
- :func:`gaming_turns`: any of them.

For example, a stuffer must earn no reply markers on your task::

    @given(stuffed_turns(task))
    def test_stuffing_buys_nothing(turns):
        report = grade(task, replay(task, turns, world=StandardWorld).trace)
        assert report.criterion("reply_markers").value == 0
"""

from __future__ import annotations

import itertools
import json
import math
import random
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, TypeVar

import attrs
import trio
from hypothesis import HealthCheck, Phase, Verbosity, example, given, settings
from hypothesis import strategies as st
from hypothesis.strategies import DrawFn, SearchStrategy
from pydantic import BaseModel, ConfigDict

from sim.episode import EpisodeConfig, EpisodeResult, World, run_episode
from sim.grading import GradeReport, ImpossibleTraceError, grade, step_rewards
from sim.markers import group_met
from sim.messages import TEAM_PREFIX
from sim.observation import Observation
from sim.operations import (
    MAX_NOTE_CHARS,
    MAX_OPERATIONS_PER_TURN,
    MAX_REPLY_CHARS,
    Escalate,
    SetFields,
    SetStatus,
    parse_operation,
)
from sim.outlook import WorldOutlook, outlook_as_written
from sim.runner import EpisodeJob, run_episodes
from sim.scripted import ScriptedAgent
from sim.spec import EVENT_KINDS
from sim.text_checks import update_facts
from sim.ticket import check_operation
from sim.trace import Trace, TraceEvent
from tasks.base import TERMINAL_STATUSES, SupportTaskSpec

__all__ = [
    "DEFAULT_MAX_EXAMPLES",
    "EARLY_END_MARGIN",
    "FACTLESS_RELAYS",
    "FILLER_TEXT",
    "INVARIANTS",
    "INVARIANT_NAMES",
    "MIN_STUFFED_PIECE",
    "SPEC_CRITERIA_WEIGHTS",
    "TOLERANCE",
    "AgentFactory",
    "Example",
    "Invariant",
    "InvariantResult",
    "InvariantViolation",
    "ScriptedAgent",
    "SuiteContext",
    "WorldFactory",
    "WorldLike",
    "brief_texts",
    "check_regrade",
    "check_report_arithmetic",
    "check_step_rewards",
    "check_trace",
    "describe_turns",
    "empty_relay_turns",
    "escalation_spray_turns",
    "filler_turns",
    "gaming_turns",
    "gold_operations",
    "impossible_trace_reason",
    "internal_terms",
    "invalid_operations",
    "leaker_turns",
    "operations",
    "pad_with_filler",
    "quitter_endings",
    "quitter_turns",
    "replay",
    "replay_async",
    "replay_many",
    "resolve_world",
    "run_invariant",
    "run_property_suite",
    "scripted_job",
    "spray_turns",
    "stuffed_replies",
    "stuffed_turns",
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
#: How far below the oracle an episode ended before the customer's answers were due must
#: score (SPEC §4), on a task that requires fields.
EARLY_END_MARGIN = 0.2

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


class _YieldingScript:
    """:class:`ScriptedAgent` as an async agent that yields to trio before each decision."""

    def __init__(self, turns: Sequence[Any] = ()) -> None:
        self.script = ScriptedAgent(turns)

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
    """An :class:`~sim.runner.EpisodeJob` in which :class:`ScriptedAgent` plays ``turn_list``."""
    turns_copy = list(turn_list)
    return EpisodeJob(
        task=task, make_agent=lambda: ScriptedAgent(turns_copy),
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
    player = agent if agent is not None else ScriptedAgent(turn_list)
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


# --------------------------------------------------------------------------- gaming policies
#
# Turn lists that try to earn score without doing the work (SPEC §4, "no policy games the
# score"). Each is a plain list of turns for :func:`replay`, built from the task alone, so
# it runs against any task; the invariants below play them, and so does ``check-task``.

#: One 1,000-character filler message (the longest public reply allowed).
FILLER_TEXT = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "
               * 20)[:MAX_REPLY_CHARS]
#: Acknowledgements that carry none of a team update's facts.
FACTLESS_RELAYS: tuple[str, ...] = (
    ".",
    "Thanks, the team is on it.",
    "An update from the team working on this: they are on it.",
    "Quick update: the team has replied and is working on your ticket.",
    "We heard back from the team. We will keep you posted.",
)
_GREETING = {"op": "reply", "message": "Hello, thank you for reaching out. We are on it."}


def _ends(entry: Any) -> bool:
    """Whether a turn entry ends the episode when applied (``finish``, a terminal status)."""
    return isinstance(entry, Mapping) and (
        entry.get("op") == "finish"
        or (entry.get("op") == "set_status" and entry.get("status") in TERMINAL_STATUSES))


def _before_end(turn: list[Any], extra: Sequence[Any]) -> list[Any]:
    """``turn`` with ``extra`` inserted before its first entry that ends the episode."""
    at = next((i for i, entry in enumerate(turn) if _ends(entry)), len(turn))
    return [*turn[:at], *extra, *turn[at:]]


def _first_turn(task: SupportTaskSpec) -> SearchStrategy[list[dict[str, Any]]]:
    """Part of a perfect first turn without its status, or a few drawn valid operations."""
    ops = [op for op in gold_operations(task) if op["op"] != "set_status"]
    some_gold = st.lists(st.booleans(), min_size=len(ops), max_size=len(ops)).map(
        lambda keep: [op for op, kept in zip(ops, keep, strict=True) if kept])
    return _weighted((3, st.just(ops)), (2, some_gold),
                     (1, st.lists(valid_operations(task), max_size=4)))


def internal_terms(task: SupportTaskSpec) -> tuple[str, ...]:
    """Internal-only text a public reply must never show (SPEC §4, leak): the catalog ids of
    queues, risk flags and resolution codes written as identifiers (with ``_``), and the
    task's own ``internal_terms``."""
    catalog = task.catalog
    ids = [value for value in (*catalog.queues, *catalog.risk_flags, *catalog.resolution_codes)
           if "_" in value]
    return tuple(dict.fromkeys((*ids, *task.internal_terms)))


def brief_texts(task: SupportTaskSpec) -> list[str]:
    """The text every agent is shown before its first turn: the title and objective, the
    ticket's subject and body, and every knowledge-base article's title and content."""
    texts = [task.title, task.objective, task.ticket.subject, task.ticket.body]
    for article in task.knowledge_base:
        texts += [article.title, article.content]
    return texts


def stuffed_replies(texts: Sequence[str], *, pieces: int = 1, order: int = 0,
                    separator: str = " ") -> list[dict[str, Any]]:
    """Public replies made of ``texts`` (each once, in the order ``order`` shuffles them
    into: 0 keeps it), joined: one reply cut to the 1,000-character limit (``pieces`` 1),
    or the whole text split into ``pieces`` or more replies of equal length, each within
    the limit (at most :data:`~sim.operations.MAX_OPERATIONS_PER_TURN`)."""
    parts = list(dict.fromkeys(text.strip() for text in texts if text.strip()))
    if order:
        random.Random(order).shuffle(parts)
    whole = separator.join(parts)
    if not whole:
        return []
    if pieces <= 1:
        return [{"op": "reply", "message": whole[:MAX_REPLY_CHARS]}]
    count = min(max(pieces, -(-len(whole) // MAX_REPLY_CHARS)), MAX_OPERATIONS_PER_TURN)
    size = min(MAX_REPLY_CHARS, -(-len(whole) // count))
    chunks = [whole[i:i + size] for i in range(0, len(whole), size)][:count]
    return [{"op": "reply", "message": chunk} for chunk in chunks if chunk.strip()]


#: The shortest piece a stuffer splits seen text into: shorter, a piece is a few words
#: that happen to be seen somewhere, not a paste.
MIN_STUFFED_PIECE = 200


def _piece_count(texts: Sequence[str], split: bool, more: int = 0) -> int:
    """How many replies a stuffer splits ``texts`` over: 1 (cut to the limit) unless
    ``split``; else enough to hold all of it, ``more`` on top, but no piece under
    :data:`MIN_STUFFED_PIECE` characters and at most a turn's worth."""
    if not split:
        return 1
    length = sum(len(t.strip()) + 1 for t in dict.fromkeys(texts) if t.strip())
    wanted = max(2, -(-length // MAX_REPLY_CHARS) + more)
    return min(wanted, max(2, length // MIN_STUFFED_PIECE), MAX_OPERATIONS_PER_TURN)


def _pieces(texts: Sequence[str]) -> SearchStrategy[int]:
    """How many replies to split ``texts`` over (see :func:`_piece_count`)."""
    return st.builds(lambda split, more: _piece_count(texts, split, more), st.booleans(),
                     st.integers(0, 2))


def stuffed_turns(task: SupportTaskSpec, seen: Sequence[str] = ()) -> SearchStrategy[list[Any]]:
    """A *stuffer*: turns whose public replies are made of all the text the agent is shown
    (:func:`brief_texts`, plus ``seen``: messages it received, if you have them), cut to
    the length limit or split over replies, at a drawn turn of a sequence that sends no
    other public reply."""
    texts = [*brief_texts(task), *seen]

    @st.composite
    def stuffers(draw: DrawFn) -> list[Any]:
        base = draw(_quiet_sequences(task, noisy=False))
        index = draw(st.integers(0, task.max_steps - 1))
        replies = stuffed_replies(texts, pieces=draw(_pieces(texts)),
                                  order=draw(st.integers(0, 2**16)),
                                  separator=draw(st.sampled_from((" ", "\n", " \n\n"))))
        turn_list = _with_room(base, index, room=len(replies))
        return _inserted(turn_list, index, draw(st.integers(0, MAX_OPERATIONS_PER_TURN)),
                         *replies)

    return _named("stuffed_turns", stuffers())


def _quiet_sequences(task: SupportTaskSpec, *, noisy: bool = True) -> SearchStrategy[list[Any]]:
    """Turn sequences without public replies (so what gets added is all that could count),
    and, when ``noisy``, any sequence now and then."""
    kinds = {k: v for k, v in _valid_by_kind(task).items() if k not in ("reply", "finish")}
    quiet_turn = st.lists(st.one_of(list(kinds.values())), max_size=4)
    quiet = st.lists(quiet_turn, max_size=task.max_steps)
    return _weighted((3, quiet), (1, turn_sequences(task))) if noisy else quiet


def quitter_endings(task: SupportTaskSpec) -> list[list[dict[str, Any]]]:
    """The ways a quitter ends its first turn: ``finish``; the gold status with the gold
    resolution code (then ``finish``, if that status does not end the episode); any other
    resolved or closed status with the gold resolution code."""
    gold = [{"op": "set_status", "status": task.gold_status,
             "resolution_code": task.gold_resolution_code}]
    if task.gold_status not in TERMINAL_STATUSES:
        gold.append({"op": "finish"})
    endings: list[list[dict[str, Any]]] = [[{"op": "finish"}], gold]
    endings += [[{"op": "set_status", "status": status,
                  "resolution_code": task.gold_resolution_code}]
                for status in task.catalog.statuses
                if status in TERMINAL_STATUSES and status != task.gold_status]
    return endings


def quitter_turns(task: SupportTaskSpec) -> SearchStrategy[list[Any]]:
    """A *quitter*: anything at turn 1 (often the perfect first turn: gold triage, flags,
    the marker reply asking for every required field, the note, the escalation), then it
    ends the episode in the same turn, before any customer answer can arrive."""

    @st.composite
    def quitters(draw: DrawFn) -> list[Any]:
        ending = draw(st.sampled_from(quitter_endings(task)))
        first = draw(_first_turn(task))[: MAX_OPERATIONS_PER_TURN - len(ending)]
        return [[*first, *ending]]

    return _named("quitter_turns", quitters())


def spray_turns(task: SupportTaskSpec, queues: Sequence[str]) -> list[list[dict[str, Any]]]:
    """Turns escalating to each of ``queues`` in order, as few turns as the limit allows."""
    ops = [{"op": "escalate", "queue": queue, "summary": "Please take a look at this ticket."}
           for queue in queues]
    size = MAX_OPERATIONS_PER_TURN
    return [ops[i:i + size] for i in range(0, len(ops), size)] or [[]]


def escalation_spray_turns(task: SupportTaskSpec) -> SearchStrategy[list[Any]]:
    """An *escalation sprayer*: at a drawn turn of a drawn sequence, escalations to every
    queue of the catalog (the gold one included), in a drawn order."""

    @st.composite
    def sprayers(draw: DrawFn) -> list[Any]:
        base = draw(_weighted((1, _first_turn(task).map(lambda ops: [ops])),
                              (1, turn_sequences(task))))
        index = draw(st.integers(0, task.max_steps - 1))
        queues = draw(st.permutations(task.catalog.queues))
        padded = list(base) + [[] for _ in range(index - len(base))]
        return [*padded[:index], *spray_turns(task, queues), *padded[index:]]

    return _named("escalation_spray_turns", sprayers())


def _stripped_update(task: SupportTaskSpec) -> str:
    """The owning team's update with every fact (number with unit, identifier) cut out."""
    text = task.follow_up_message
    facts = task.update_markers or update_facts(text)
    for fact in sorted(facts, key=len, reverse=True):
        text = re.sub(re.escape(fact), "", text, flags=re.IGNORECASE)
    return " ".join(text.split()) or "."


def empty_relay_turns(task: SupportTaskSpec, *,
                      echo_update: bool = True) -> SearchStrategy[list[Any]]:
    """An *empty relay*: escalates to the owning team at turn 1, then "relays" its update
    with replies that carry none of its facts ("." or "Thanks, the team is on it.", or,
    with ``echo_update``, the update with its numbers and identifiers cut out) at drawn
    later turns, or every turn.

    The echo is the team's words as the task states them: a policy that knows them sends
    them before it could have seen them, and then they are its own words, not a copy."""
    texts = (*FACTLESS_RELAYS, _stripped_update(task)) if echo_update else FACTLESS_RELAYS
    relay = st.sampled_from(texts).map(lambda text: {"op": "reply", "message": text})
    escalate = {"op": "escalate", "queue": task.gold_queue, "summary": task.title}

    @st.composite
    def relays(draw: DrawFn) -> list[Any]:
        first = [op for op in draw(_first_turn(task)) if op.get("op") != "escalate"]
        later = draw(st.one_of(
            st.lists(relay.map(lambda op: [op]), min_size=task.max_steps - 1,
                     max_size=task.max_steps - 1),
            st.lists(st.one_of(st.just([]), relay.map(lambda op: [op])),
                     max_size=task.max_steps - 1),
        ))
        return [[*first[: MAX_OPERATIONS_PER_TURN - 1], escalate], *later]

    return _named("empty_relay_turns", relays())


def _leaked(message: str, terms: Sequence[str], how: int) -> str:
    leak = {0: f" [internal: {', '.join(terms)}]", 1: f" Routed to {terms[0]}.",
            2: f" {terms[-1].upper()}"}[how % 3]
    return message[: MAX_REPLY_CHARS - len(leak)] + leak


def leaker_turns(task: SupportTaskSpec) -> SearchStrategy[list[Any]]:
    """A *leaker*: a first turn whose public replies carry every reply marker group plus
    internal-only text (:func:`internal_terms`: ``platform_engineering``, the task's own
    internal terms), then replies of marker text with internal text at drawn turns."""
    terms = internal_terms(task) or ("internal",)
    markers = " ".join(text + "." for text in _group_texts(task.required_reply_markers))

    @st.composite
    def leakers(draw: DrawFn) -> list[Any]:
        how = draw(st.integers(0, 2))
        chosen = draw(st.lists(st.sampled_from(terms), min_size=1, max_size=3, unique=True))
        first = [
            {**op, "message": _leaked(str(op["message"]), chosen, how)}
            if op.get("op") == "reply" else op
            for op in draw(_first_turn(task))
        ]
        later = draw(st.lists(st.one_of(st.just([]), st.just([{
            "op": "reply", "message": _leaked(f"Update: {markers}", chosen, how)}])),
            max_size=task.max_steps - 1))
        return [first, *later]

    return _named("leaker_turns", leakers())


def pad_with_filler(turn_list: Sequence[Any], *, start: int = 0, notes: bool = True,
                    turns_total: int | None = None) -> list[Any]:
    """``turn_list`` with every turn from ``start`` (0-based) filled up to
    :data:`~sim.operations.MAX_OPERATIONS_PER_TURN` operations with 1,000-character filler
    replies (alternating with filler notes when ``notes``), before any entry that ends the
    episode. ``turns_total`` pads the list with waits first, so later turns fill too."""
    padded = [list(t) if isinstance(t, list | tuple) else t for t in turn_list]
    padded += [[] for _ in range((turns_total or 0) - len(padded))]
    for k in range(start, len(padded)):
        turn = padded[k]
        if not isinstance(turn, list) or len(turn) >= MAX_OPERATIONS_PER_TURN:
            continue
        filler = [{"op": "note", "text": FILLER_TEXT} if notes and i % 2 else
                  {"op": "reply", "message": FILLER_TEXT}
                  for i in range(MAX_OPERATIONS_PER_TURN - len(turn))]
        padded[k] = _before_end(turn, filler)
    return padded


def _filler_bases(task: SupportTaskSpec) -> SearchStrategy[list[Any]]:
    """Sequences whose first turn holds a public reply (so a filler reply cannot be the
    one that meets the SLA's "a public reply by the deadline")."""
    first = st.one_of(_first_turn(task), st.lists(valid_operations(task), max_size=6)).map(
        lambda ops: [dict(_GREETING), *ops[: MAX_OPERATIONS_PER_TURN - 1]])
    rest = st.lists(st.lists(valid_operations(task), max_size=4), max_size=task.max_steps - 1)
    return st.builds(lambda head, tail: [head, *tail], first, rest)


def filler_turns(task: SupportTaskSpec) -> SearchStrategy[list[Any]]:
    """A *filler*: every turn from a drawn one on filled up to 8 operations with
    1,000-character filler replies (and notes), on top of a drawn sequence."""
    return _named("filler_turns", st.builds(
        lambda base, start, notes: pad_with_filler(base, start=start, notes=notes,
                                                   turns_total=task.max_steps),
        _filler_bases(task), st.integers(0, task.max_steps - 1), st.booleans()))


def gaming_turns(task: SupportTaskSpec, *, echo_update: bool = True) -> SearchStrategy[list[Any]]:
    """Any of the gaming policies above: quitters, escalation sprayers, empty relays,
    leakers, fillers and stuffers (``echo_update``: see :func:`empty_relay_turns`)."""
    return _named("gaming_turns", st.one_of(
        quitter_turns(task), escalation_spray_turns(task),
        empty_relay_turns(task, echo_update=echo_update), leaker_turns(task),
        filler_turns(task), stuffed_turns(task),
    ))


def _mixed_sequences(task: SupportTaskSpec) -> SearchStrategy[list[Any]]:
    """Random turn sequences, and a gaming policy one time in four. No echo of the team's
    update: sent before the update arrives it is the agent's own words, after it a copy,
    so moving the escalation (or anything that delays the update) rightly changes what the
    same words earn."""
    return _weighted((3, turn_sequences(task)), (1, gaming_turns(task, echo_update=False)))




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
    others = st.sampled_from([k for k in EVENT_KINDS if k not in payloads])
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
    #: Oracle scores by world and seed, so an invariant that compares with the oracle
    #: plays it once per world.
    oracle_scores: dict[tuple[int, str, tuple[str, ...]], float] = attrs.field(
        factory=dict, init=False, repr=False)

    def worlds(self) -> list[tuple[str, tuple[str, ...]]]:
        """Every (persona, fault set) random runs draw from: each persona, each subset of
        the faults (the given world's own, for a world instance)."""
        fixed = _fixed_world(self.world)
        if fixed is not None:
            return [(fixed.persona, tuple(fixed.faults))]
        own = self.task.default_persona
        personas = (own, *(p for p in self.personas if p != own))
        fault_sets = [tuple(sorted(chosen)) for size in range(len(self.faults) + 1)
                      for chosen in itertools.combinations(self.faults, size)]
        return [(persona, faults) for persona in personas for faults in fault_sets]

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
        """Turn sequences (random ones, and a gaming policy now and then) under drawn
        conditions, with ``extra`` drawn alongside."""
        return st.builds(
            lambda t, s, c, x: Example(turns=t, seed=s, persona=c[0], faults=c[1], extra=x),
            sequences if sequences is not None else _mixed_sequences(self.task),
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

    def run_oracle(self, example: Example) -> EpisodeResult:
        """The oracle (privileged) in the example's world, with the example's seed."""
        if self.oracle is None:
            raise ValueError("no oracle agent was given; allowed: an oracle factory")
        return self.run(example, [], agent=self.oracle(), agent_name="oracle",
                        privileged=True)

    def oracle_score(self, example: Example) -> float:
        """The oracle's score in the example's world (1.0, the spec's, without an oracle)."""
        if self.oracle is None:
            return 1.0
        key = (example.seed, example.persona, tuple(example.faults))
        if key not in self.oracle_scores:
            self.oracle_scores[key] = self.run_oracle(example).score
        return self.oracle_scores[key]

    def outlook(self, trace: Trace) -> WorldOutlook:
        """The world the trace was played in, as its header says (the grader's view)."""
        world = trace.header.world
        return world if isinstance(world, WorldOutlook) else outlook_as_written(self.task)


@attrs.frozen(eq=False)
class Invariant:
    """A named property of SPEC §4: how to draw examples, how to check one, when it applies."""

    name: str
    description: str
    strategy: Callable[[SuiteContext], SearchStrategy[Example]]
    check: Callable[[SuiteContext, Example], None]
    #: Why the invariant does not apply to this task and setup, or ``None`` when it does.
    not_applicable: Callable[[SuiteContext], str | None] = lambda ctx: None
    #: Examples always tried first (hypothesis's explicit phase), whatever the budget.
    explicit: Callable[[SuiteContext], Sequence[Example]] = lambda ctx: ()


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


def _until_end(events: Sequence[TraceEvent]) -> list[TraceEvent]:
    """The events the grader folds: those before the first ``end``."""
    out: list[TraceEvent] = []
    for event in events:
        if event.kind == "end":
            break
        out.append(event)
    return out


def _renumbered(events: Sequence[TraceEvent]) -> list[TraceEvent]:
    """``events`` with sequence numbers 0, 1, 2... in order and times never going back."""
    out: list[TraceEvent] = []
    last = 0
    for index, event in enumerate(events):
        last = max(last, event.t if isinstance(event.t, int) else 0, 0)
        out.append(event._replace(seq=index, t=last))
    return out


def _repaired(events: Sequence[TraceEvent]) -> list[TraceEvent]:
    """``events`` made a possible trace: renumbered, and turn events numbered 1, 2, 3..."""
    out: list[TraceEvent] = []
    turn = 0
    for event in _renumbered(events):
        if event.kind == "turn":
            turn += 1
            payload = event.payload if isinstance(event.payload, Mapping) else {}
            event = event._replace(payload={**payload, "turn": turn})
        out.append(event)
    return out


def impossible_trace_reason(events: Sequence[TraceEvent]) -> str | None:
    """Why ``events`` are not a trace any episode could write, or ``None`` if they are.

    A possible trace numbers its events 0, 1, 2... in order, its times are integers that
    start at 0 or later and never go back, and its turns are numbered 1, 2, 3... until
    the episode's end (SPEC §4: such a trace is rejected, not graded).
    """
    turn, ended, last = 0, False, 0
    for index, event in enumerate(events):
        if type(event.seq) is not int or event.seq != index:
            return f"event {index} has sequence number {event.seq!r}"
        if type(event.t) is not int or event.t < last:
            return f"event seq {index} at t={event.t!r} comes after t={last}"
        last = event.t
        if ended:
            continue
        if event.kind == "turn":
            number = event.payload.get("turn") if isinstance(event.payload, Mapping) else None
            if type(number) is not int or number != turn + 1:
                return f"event seq {index} is turn {number!r} after turn {turn}"
            turn = number
        elif event.kind == "end":
            ended = True
    return None


def _latest_update_facts(task: SupportTaskSpec, trace: Trace) -> tuple[int, tuple[str, ...]] | None:
    """(seq, facts) of the owning team's latest update before the end, or ``None``: the
    facts a relay must carry (SPEC §4, kept informed)."""
    owner = TEAM_PREFIX + task.gold_queue
    updates = [e for e in _until_end(trace.events) if e.kind == "team_update" and e.actor == owner]
    if not updates:
        return None
    text = updates[-1].payload.get("text")
    text = text if isinstance(text, str) else ""
    facts = (task.update_markers if task.update_markers and text == task.follow_up_message
             else update_facts(text))
    return updates[-1].seq, tuple(facts)


def _replies_after(trace: Trace, seq: int) -> list[str]:
    return [str(e.payload["op"].get("message", "")) for e in _until_end(trace.events)
            if e.kind == "operation" and e.seq > seq and isinstance(e.payload.get("op"), Mapping)
            and e.payload["op"].get("op") == "reply"]


def _expected_spam(trace: Trace) -> float:
    """The spam penalty SPEC §4 sets for the trace: 0.02 per public reply beyond
    (customer messages + team updates + 2), at most 0.10."""
    replies = messages = 0
    for event in _until_end(trace.events):
        op = event.payload.get("op") if event.kind == "operation" else None
        if isinstance(op, Mapping) and op.get("op") == "reply":
            replies += len(str(op.get("message", ""))) <= MAX_REPLY_CHARS
        elif event.kind in ("customer_answer", "customer_nudge", "customer_complaint",
                            "team_update"):
            messages += 1
    beyond = replies - messages - 2
    return min(_SPAM_PENALTY * beyond, _SPAM_PENALTY_CAP) if beyond > 0 else 0.0


def _penalty_total(report: GradeReport, name: str) -> float:
    return math.fsum(p.amount for p in report.penalties if p.name == name)


def _penalty_count(report: GradeReport, name: str) -> int:
    return sum(p.name == name for p in report.penalties)


class _Recorder(ScriptedAgent):
    """:class:`ScriptedAgent` that keeps every text its observations showed it."""

    def __init__(self, turns: Sequence[Any] = ()) -> None:
        super().__init__(turns)
        self.seen: list[tuple[int, str]] = []

    def act(self, observation: Observation) -> Any:
        turn = int(observation.turn)
        ticket = observation.ticket
        texts = [observation.title, observation.objective, ticket.subject, ticket.body]
        texts += [part for article in observation.kb_results
                  for part in (article.title, article.content)]
        texts += [message.text for message in observation.messages]
        texts += [result.error for result in observation.results if result.error]
        self.seen += [(turn, text) for text in texts]
        return super().act(observation)

    def texts_until(self, turn: int) -> list[str]:
        """What the agent had been shown by the start of turn ``turn`` (1-based)."""
        return [text for at, text in self.seen if at <= turn]


# -- the invariants -------------------------------------------------------------------


def _first_world(ctx: SuiteContext) -> tuple[str, tuple[str, ...]]:
    """The task's own persona without faults, or the given world's own conditions."""
    return ctx.worlds()[0]


def _fault_free_worlds(ctx: SuiteContext) -> list[tuple[str, tuple[str, ...]]]:
    """One world per persona, without faults (the given world's own, for an instance)."""
    worlds = ctx.worlds()
    return [w for w in worlds if not w[1]] or worlds[:1]


def _oracle_strategy(ctx: SuiteContext) -> SearchStrategy[Example]:
    return st.builds(lambda seed, c: Example(seed=seed, persona=c[0], faults=c[1]),
                     st.integers(0, 2**32 - 1), ctx.conditions())


def _oracle_explicit(ctx: SuiteContext) -> list[Example]:
    """Every world once: each persona with each subset of the faults."""
    return [Example(seed=0, persona=persona, faults=faults) for persona, faults in ctx.worlds()]


def _oracle_not_applicable(ctx: SuiteContext) -> str | None:
    if ctx.oracle is None:
        return "no oracle agent was given"
    return None


def _check_oracle(ctx: SuiteContext, example: Example) -> None:
    result = ctx.run_oracle(example)
    if result.error is not None or not math.isclose(result.score, 1.0, abs_tol=TOLERANCE):
        short = grade(ctx.task, result.trace).shortfall()
        _fail(f"the oracle scored {result.score}, not 1.0, under persona {example.persona!r} "
              f"with faults {list(example.faults)} (ended {result.termination_reason}"
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
    if grade(task, first) != grade(task, first):
        _fail("grading the same trace twice gave two reports")


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
    # 1. Events appended after the end (numbered on from it, as a recorder would) change
    #    neither the grade nor the rewards; numbered any other way they make a trace no
    #    episode could write, which is rejected rather than graded differently.
    report, trace = ctx.score(example)
    if any(e.kind == "end" for e in trace.events):
        events = list(trace.events)
        appended = list(extra["appended_events"])
        numbered = _repaired([*events, *appended])
        longer = Trace(header=trace.header, events=tuple(numbered))
        after = grade(task, longer)
        if after != report:
            _fail(f"events appended after the end changed the grade from {report.score} to "
                  f"{after.score}: {_breakdown_diff(report, after)}")
        if step_rewards(task, longer) != step_rewards(task, trace):
            _fail("events appended after the end changed the step rewards")
        raw = Trace(header=trace.header, events=tuple([*events, *appended]))
        try:
            as_given = grade(task, raw)
        except ImpossibleTraceError:
            pass
        else:
            if as_given != report:
                _fail(f"events appended after the end (as drawn) changed the grade from "
                      f"{report.score} to {as_given.score}: {_breakdown_diff(report, as_given)}")
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


def _extra_queues(task: SupportTaskSpec) -> tuple[str, ...]:
    """Queues an escalation to is never needed: every queue but the gold one, and the gold
    one too when the task needs no escalation."""
    return tuple(q for q in task.catalog.queues
                 if q != task.gold_queue or not task.needs_escalation)


def _extra_escalation_strategy(ctx: SuiteContext) -> SearchStrategy[Example]:
    task = ctx.task
    queues = _extra_queues(task) or task.catalog.queues
    branches = [st.sampled_from(queues)]
    if task.over_escalation_queues:
        branches.insert(0, st.sampled_from(task.over_escalation_queues))
    return _insertion(ctx, queue=st.one_of(branches), summary=_message_text(task, "note"))


def _check_extra_escalation(ctx: SuiteContext, example: Example) -> None:
    task, extra = ctx.task, example.extra
    index, queue = extra["turn"], extra["queue"]
    base = _with_room(example.turns, index)
    op = {"op": "escalate", "queue": queue, "summary": extra["summary"]}
    before, _ = ctx.score(example, base)
    after, trace = ctx.score(example, _inserted(base, index, extra["position"], op))
    if after.score > before.score + TOLERANCE:
        _fail(f"escalating to {queue} at turn {index + 1} raised the score from "
              f"{before.score} to {after.score}: {_breakdown_diff(before, after)}")
    if not _played(trace, index + 1, {"op": "escalate", "queue": queue}):
        return
    if queue in task.over_escalation_queues:
        name, amount = "over_escalation", _OVER_ESCALATION_PENALTY
    elif queue != task.gold_queue:
        name, amount = "wrong_queue", _WRONG_QUEUE_PENALTY
    else:
        return
    charged = _penalty_total(after, name) - _penalty_total(before, name)
    if charged < amount - TOLERANCE:
        _fail(f"escalating to {queue} at turn {index + 1} cost {charged:.12g} in {name} "
              f"penalties, not {amount}")


def _extra_escalation_not_applicable(ctx: SuiteContext) -> str | None:
    if not _extra_queues(ctx.task):
        return "every queue of the catalog is the gold one"
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


def _reorder_explicit(ctx: SuiteContext) -> list[Example]:
    """Two flag_risk operations, one with a required flag: they commute."""
    task = ctx.task
    flags = task.catalog.risk_flags
    first = task.risk_flags[0] if task.risk_flags else flags[0]
    other = next((f for f in flags if f not in task.risk_flags), flags[-1])
    turn = [{"op": "flag_risk", "flags": [first]}, {"op": "flag_risk", "flags": [other]},
            {"op": "note", "text": "Flags raised."}]
    persona, faults = _first_world(ctx)
    return [Example(turns=[turn], persona=persona, faults=faults,
                    extra={"reordered": [turn[::-1]]})]


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
                # Reasons name the event that said it; an inserted event shifts the numbers.
                "forbidden": sorted(re.sub(r"\bevent \d+", "event #", p.reason)
                                    for p in report.penalties if p.name == "forbidden_reply")}

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
        injected = TraceEvent(t=time_at, seq=at, actor="agent", kind="operation",
                              payload={"turn": index + 1, "index": 0, "op": op})
        spliced = _renumbered([*events[:at], injected, *events[at:]])
        direct = grade(task, Trace(header=trace.header, events=tuple(spliced)))
        for name in unchanged:
            if view(before)[name] != view(direct)[name]:
                _fail(f"{kind}: an over-long {op['op']} written into the trace changed {name} "
                      f"from {view(before)[name]} to {view(direct)[name]}")


def _channel_explicit(ctx: SuiteContext) -> list[Example]:
    persona, faults = _first_world(ctx)
    return [Example(turns=[], persona=persona, faults=faults,
                    extra={"turn": 0, "position": 0, "kind": kind, "padding": 1})
            for kind in _CHANNEL_KINDS]


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


def _never_raises_explicit(ctx: SuiteContext) -> list[Example]:
    """Garbage where a careless grader trips: payloads of the wrong shape for their kind."""
    queue = ctx.task.catalog.queues[0]
    field = (ctx.task.required_requested_fields or ctx.task.catalog.fields)[0]
    garbage = [
        TraceEvent(0, 0, "customer", "customer_answer", {"fields": "not a mapping"}),
        TraceEvent(0, 0, "customer", "customer_answer", {"fields": {field: "no status"}}),
        TraceEvent(0, 0, "customer", "customer_answer", {"fields": {field: {"status": 3}}}),
        TraceEvent(0, 0, "customer", "customer_answer", {}),
        TraceEvent(0, 0, "customer", "customer_nudge", {"text": ["not", "text"]}),
        TraceEvent(0, 0, f"team:{ctx.task.gold_queue}", "team_update", {"text": None}),
        TraceEvent(0, 0, f"team:{queue}", "team_bounce", {"queue": [queue]}),
        TraceEvent(0, 0, "agent", "operation", {"turn": 1, "index": 0, "op": None}),
        TraceEvent(0, 0, "agent", "operation", {"turn": 1, "index": 0,
                                                "op": {"op": "reply", "message": 7}}),
        TraceEvent(0, 0, "agent", "invalid_turn", {"rejected": "many", "error": 5}),
        TraceEvent(0, 0, "agent", "invalid_operation", {"error": None}),
        TraceEvent(0, 0, "agent", "turn", {"turn": "one"}),
        TraceEvent(0, 0, "agent", "turn", {}),
    ]
    persona, faults = _first_world(ctx)
    first = [op for op in gold_operations(ctx.task) if op["op"] != "set_status"]
    return [Example(turns=turns_, persona=persona, faults=faults,
                    extra={"garbage": garbage, "splice_at": [3] * len(garbage)})
            for turns_ in ([], [first])]


def _check_never_raises(ctx: SuiteContext, example: Example) -> None:
    task = ctx.task
    try:
        result = ctx.run(example)
    except Exception as error:
        raise InvariantViolation(
            f"the episode raised {type(error).__name__}: {error}") from error
    trace = result.trace
    reason = impossible_trace_reason(trace.events)
    if reason is not None:
        _fail(f"the episode wrote a trace no episode could write: {reason}")
    garbage: list[TraceEvent] = list(example.extra["garbage"])
    spliced = list(trace.events)
    for event, at in zip(garbage, example.extra["splice_at"], strict=False):
        spliced.insert(at % (len(spliced) + 1), event)
    for label, events in (("the episode's trace", list(trace.events)),
                          ("garbage events", garbage),
                          ("the trace with garbage spliced in", spliced),
                          ("the trace with garbage spliced in, renumbered", _repaired(spliced))):
        why = impossible_trace_reason(events)
        candidate = Trace(header=trace.header, events=tuple(events))
        graders: tuple[tuple[str, Callable[[SupportTaskSpec, Trace], Any]], ...] = (
            ("grading", grade), ("step rewards of", step_rewards))
        for what, call in graders:
            try:
                outcome = call(task, candidate)
            except ImpossibleTraceError as error:
                if why is None:
                    _fail(f"{what} {label} rejected a possible trace: {error}")
                continue
            except Exception as error:
                raise InvariantViolation(
                    f"{what} {label} raised {type(error).__name__}: {error}") from error
            if why is not None:
                _fail(f"{what} {label} went ahead on a trace no episode could write ({why}) "
                      "instead of raising ImpossibleTraceError")
            if isinstance(outcome, GradeReport):
                check_report_arithmetic(outcome)


def _applicability_strategy(ctx: SuiteContext) -> SearchStrategy[Example]:
    return ctx.examples(st.fixed_dictionaries({"other": _mixed_sequences(ctx.task)}))


def _applicability_explicit(ctx: SuiteContext) -> list[Example]:
    gold = [[op for op in gold_operations(ctx.task) if op["op"] != "set_status"]]
    return [Example(turns=[], persona=persona, faults=faults, extra={"other": gold})
            for persona, faults in _fault_free_worlds(ctx)]


def _check_applicability(ctx: SuiteContext, example: Example) -> None:
    runs: list[tuple[str, GradeReport]] = [
        ("the drawn turns", ctx.score(example)[0]),
        ("the other drawn turns", ctx.score(example, example.extra["other"])[0]),
        ("waiting every turn", ctx.score(example, [])[0]),
    ]
    if ctx.oracle is not None:
        runs.append(("the oracle", grade(ctx.task, ctx.run_oracle(example).trace)))
    first_label, first = runs[0]
    for label, report in runs[1:]:
        if report.dropped != first.dropped:
            why = {c.name: c.reason for c in (*first.criteria, *report.criteria)
                   if c.name in set(first.dropped) ^ set(report.dropped)}
            _fail(f"in the same world, {first_label} leave out {list(first.dropped)} but "
                  f"{label} leave out {list(report.dropped)}: {why}")


def _quitter_explicit(ctx: SuiteContext) -> list[Example]:
    first = [op for op in gold_operations(ctx.task) if op["op"] != "set_status"]
    endings = quitter_endings(ctx.task)
    return [Example(turns=[[*first[: MAX_OPERATIONS_PER_TURN - len(ending)], *ending]],
                    persona=persona, faults=faults)
            for persona, faults in _fault_free_worlds(ctx) for ending in endings[:2]]


def _quitter_not_applicable(ctx: SuiteContext) -> str | None:
    if not ctx.task.required_requested_fields:
        return "the task requires no fields, so no answer is worth waiting for"
    return None


def _check_quitter(ctx: SuiteContext, example: Example) -> None:
    result = ctx.run(example)
    if result.steps != 1 or result.termination_reason != "finished":
        return  # its ending was not applied: not a quitter
    outlook = ctx.outlook(result.trace)
    if not outlook.chase_possible:
        return  # no turn comes after an answer is due: ending at once is not early
    report = grade(ctx.task, result.trace)
    oracle = ctx.oracle_score(example)
    if oracle - report.score < EARLY_END_MARGIN - TOLERANCE:
        _fail(f"ending the episode at turn 1, before the customer's answers were due, "
              f"scored {report.score}, within {EARLY_END_MARGIN} of the oracle's {oracle}: "
              + "; ".join(f"{c.name}={c.value}" for c in report.criteria if c.applies))


def _relay_explicit(ctx: SuiteContext) -> list[Example]:
    task = ctx.task
    first = [op for op in gold_operations(task) if op["op"] not in ("set_status", "escalate")]
    escalate = {"op": "escalate", "queue": task.gold_queue, "summary": task.title}
    return [Example(turns=[[*first[: MAX_OPERATIONS_PER_TURN - 1], escalate],
                           *[[{"op": "reply", "message": text}]] * (task.max_steps - 1)],
                    persona=persona, faults=faults)
            for persona, faults in _fault_free_worlds(ctx)[:1]
            for text in (FACTLESS_RELAYS[0], FACTLESS_RELAYS[1])]


def _relay_not_applicable(ctx: SuiteContext) -> str | None:
    if not ctx.task.needs_escalation:
        return "the task needs no escalation, so no team update is relayed"
    return None


def _check_relay(ctx: SuiteContext, example: Example) -> None:
    report, trace = ctx.score(example)
    informed = report.criterion("kept_informed")
    if informed.value is None or informed.value < 1.0:
        return
    latest = _latest_update_facts(ctx.task, trace)
    if latest is None:
        _fail(f"kept_informed is {informed.value} though no update from "
              f"{ctx.task.gold_queue} arrived: {informed.reason}")
        return
    seq, facts = latest
    if not facts:
        return  # an update without facts: any reply after it passes it on
    replies = _replies_after(trace, seq)
    if any(group_met(message, facts) for message in replies):
        return  # a real relay
    _fail(f"kept_informed is {informed.value} though no public reply after the latest "
          f"update (event {seq}) carried its facts {list(facts)}; replies after it: "
          f"{describe_turns(replies)}")


def _stuffing_strategy(ctx: SuiteContext) -> SearchStrategy[Example]:
    return ctx.examples(st.fixed_dictionaries({
        "turn": st.integers(0, ctx.task.max_steps - 1),
        "position": st.integers(0, MAX_OPERATIONS_PER_TURN),
        "split": st.booleans(),
        "more_pieces": st.integers(0, 2),
        "order": st.integers(0, 2**16),
        "separator": st.sampled_from((" ", "\n", " \n\n")),
    }), sequences=_quiet_sequences(ctx.task))


def _stuffing_explicit(ctx: SuiteContext) -> list[Example]:
    persona, faults = _first_world(ctx)
    return [Example(turns=[], persona=persona, faults=faults,
                    extra={"turn": turn, "position": 0, "split": split, "more_pieces": 0,
                           "order": 0, "separator": " "})
            for turn in sorted({0, min(2, ctx.task.max_steps - 1)}) for split in (False, True)]


def _stuffing_not_applicable(ctx: SuiteContext) -> str | None:
    if not ctx.task.required_reply_markers:
        return "the task has no reply markers"
    return None


def _check_stuffing(ctx: SuiteContext, example: Example) -> None:
    task, extra = ctx.task, example.extra
    index = extra["turn"]
    recorder = _Recorder(list(example.turns[:index]))
    ctx.run(example, agent=recorder)
    seen = [*brief_texts(task), *recorder.texts_until(index + 1)]
    pieces = _piece_count(seen, extra["split"], extra["more_pieces"])
    replies = stuffed_replies(seen, pieces=pieces, order=extra["order"],
                              separator=extra["separator"])
    base = _with_room(example.turns, index, room=len(replies))
    before, _ = ctx.score(example, base)
    after, _ = ctx.score(example, _inserted(base, index, extra["position"], *replies))
    b, a = before.criterion("reply_markers"), after.criterion("reply_markers")
    if a.value != b.value:
        _fail(f"{len(replies)} public repl{'y' if len(replies) == 1 else 'ies'} made of the "
              f"{len(seen)} texts the agent had seen by turn {index + 1} changed reply_markers "
              f"from {b.value} to {a.value} ({a.reason}); the replies: "
              f"{describe_turns([r['message'] for r in replies])}")


def _spray_strategy(ctx: SuiteContext) -> SearchStrategy[Example]:
    task = ctx.task
    bases = _weighted((1, _first_turn(task).map(lambda ops: [ops])), (2, _mixed_sequences(task)))
    return ctx.examples(st.fixed_dictionaries({
        "turn": st.integers(0, task.max_steps - 1),
        "queues": st.permutations(task.catalog.queues),
    }), sequences=bases)


def _spray_explicit(ctx: SuiteContext) -> list[Example]:
    task = ctx.task
    persona, faults = _first_world(ctx)
    first = [op for op in gold_operations(task) if op["op"] not in ("set_status", "escalate")]
    queues = list(task.catalog.queues)
    gold_first = [task.gold_queue, *(q for q in queues if q != task.gold_queue)]
    return [Example(turns=[first], persona=persona, faults=faults,
                    extra={"turn": turn, "queues": order})
            for order in (gold_first, gold_first[::-1]) for turn in (0, 1)
            if turn < task.max_steps]


def _spray_not_applicable(ctx: SuiteContext) -> str | None:
    if not [q for q in ctx.task.catalog.queues if q != ctx.task.gold_queue]:
        return "the catalog has no queue but the gold one"
    return None


def _check_spray(ctx: SuiteContext, example: Example) -> None:
    task, extra = ctx.task, example.extra
    index, queues = extra["turn"], list(extra["queues"])
    sprays = spray_turns(task, queues)
    padded = list(example.turns) + [[] for _ in range(index - len(example.turns))]
    honest_turn = ([{"op": "escalate", "queue": task.gold_queue,
                     "summary": "Please take a look at this ticket."}]
                   if task.needs_escalation else [])
    honest_turns = [honest_turn, *([] for _ in sprays[1:])]
    honest, _ = ctx.score(example, [*padded[:index], *honest_turns, *padded[index:]])
    spray, trace = ctx.score(example, [*padded[:index], *sprays, *padded[index:]])
    spray_turn_numbers = range(index + 1, index + 1 + len(sprays))
    played = [
        e.payload["op"]["queue"] for e in _until_end(trace.events)
        if e.kind == "operation" and e.payload.get("turn") in spray_turn_numbers
        and isinstance(e.payload.get("op"), Mapping) and e.payload["op"].get("op") == "escalate"
    ]
    wrong = [q for q in played if q != task.gold_queue]
    if not wrong:
        return  # the episode ended before the spray
    for name, amount in (("wrong_queue", _WRONG_QUEUE_PENALTY),
                         ("over_escalation", _OVER_ESCALATION_PENALTY)):
        want = sum((q in task.over_escalation_queues) == (name == "over_escalation")
                   for q in wrong)
        got = _penalty_count(spray, name) - _penalty_count(honest, name)
        cost = _penalty_total(spray, name) - _penalty_total(honest, name)
        if got != want or not math.isclose(cost, want * amount, abs_tol=TOLERANCE):
            _fail(f"escalating to every queue at turn {index + 1} ({', '.join(played)}) cost "
                  f"{got} {name} penalties ({cost:.12g}); the spec says {want} "
                  f"({want * amount:.12g})")
    if honest.score > TOLERANCE and spray.score >= honest.score - TOLERANCE:
        _fail(f"escalating to every queue at turn {index + 1} ({', '.join(played)}) scored "
              f"{spray.score}, not below {honest.score} for "
              f"{'the gold escalation alone' if honest_turn else 'no escalation'}: "
              f"{_breakdown_diff(honest, spray)}")


def _filler_strategy(ctx: SuiteContext) -> SearchStrategy[Example]:
    return ctx.examples(st.fixed_dictionaries({
        "start": st.integers(0, ctx.task.max_steps - 1),
        "notes": st.booleans(),
    }), sequences=_filler_bases(ctx.task))


def _filler_explicit(ctx: SuiteContext) -> list[Example]:
    first = [op for op in gold_operations(ctx.task) if op["op"] != "set_status"]
    return [Example(turns=[[dict(_GREETING), *first[: MAX_OPERATIONS_PER_TURN - 1]]],
                    persona=persona,
                    faults=faults, extra={"start": 0, "notes": notes})
            for persona, faults in _fault_free_worlds(ctx)[:2] for notes in (False, True)]


def _check_filler(ctx: SuiteContext, example: Example) -> None:
    task, extra = ctx.task, example.extra
    base = list(example.turns)
    padded = pad_with_filler(base, start=extra["start"], notes=extra["notes"],
                             turns_total=task.max_steps)
    before, _ = ctx.score(example, base)
    after, trace = ctx.score(example, padded)
    for b, a in zip(before.criteria, after.criteria, strict=True):
        if b.value is None or a.value is None or a.value <= b.value + TOLERANCE:
            continue
        if a.name == "kept_informed":
            latest = _latest_update_facts(task, trace)
            if latest is not None and not latest[1]:
                continue  # an update without facts: any reply passes it on
        _fail(f"filler from turn {extra['start'] + 1} raised {a.name} from {b.value} to "
              f"{a.value}: {a.reason}")
    want = _expected_spam(trace)
    got = _penalty_total(after, "spam")
    if not math.isclose(got, want, abs_tol=TOLERANCE):
        _fail(f"filler from turn {extra['start'] + 1}: the spam penalty is {got:.12g}; for "
              f"the public replies beyond the customer's messages, the team updates and "
              f"{2} the spec says {want:.12g}")


def _leak_strategy(ctx: SuiteContext) -> SearchStrategy[Example]:
    terms = internal_terms(ctx.task) or ("internal",)
    return _insertion(ctx, term=st.sampled_from(terms), how=st.integers(0, 2))


def _leak_explicit(ctx: SuiteContext) -> list[Example]:
    persona, faults = _first_world(ctx)
    terms = internal_terms(ctx.task) or ("internal",)
    return [Example(turns=[], persona=persona, faults=faults,
                    extra={"turn": 0, "position": 0, "term": terms[0], "how": 0})]


def _leak_not_applicable(ctx: SuiteContext) -> str | None:
    if not internal_terms(ctx.task):
        return "the task has no internal-only terms (no catalog id with '_', no internal_terms)"
    return None


def _check_leak(ctx: SuiteContext, example: Example) -> None:
    task, extra = ctx.task, example.extra
    index = extra["turn"]
    markers = " ".join(text + "." for text in _group_texts(task.required_reply_markers))
    message = _leaked(f"Hello, an update on your ticket. {markers}".strip(), [extra["term"]],
                      extra["how"])
    op = {"op": "reply", "message": message}
    base = _with_room(example.turns, index)
    before, _ = ctx.score(example, base)
    after, trace = ctx.score(example, _inserted(base, index, extra["position"], op))
    for name in ("reply_markers", "kept_informed"):
        if after.criterion(name).value != before.criterion(name).value:
            _fail(f"a public reply leaking {extra['term']!r} at turn {index + 1} changed {name} "
                  f"from {before.criterion(name).value} to {after.criterion(name).value}")
    if not _played(trace, index + 1, op):
        return
    had = _penalty_total(before, "leak")
    want = min(_LEAK_PENALTY_CAP, had + _LEAK_PENALTY)
    got = _penalty_total(after, "leak")
    if not math.isclose(got, want, abs_tol=TOLERANCE):
        _fail(f"a public reply leaking {extra['term']!r} at turn {index + 1} brought the leak "
              f"penalties from {had:.12g} to {got:.12g}, not {want:.12g}")


INVARIANTS: tuple[Invariant, ...] = (
    Invariant("oracle_scores_one",
              "the oracle scores 1.0 in every world: each persona, each set of faults, any "
              "seed",
              _oracle_strategy, _check_oracle, _oracle_not_applicable, _oracle_explicit),
    Invariant("applicable_criteria_depend_only_on_the_world",
              "any two operation sequences (the oracle's, waiting, random ones, gaming "
              "policies) in the same world leave out the same criteria",
              _applicability_strategy, _check_applicability, explicit=_applicability_explicit),
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
    Invariant("extra_escalation_never_raises_score",
              "an escalation that is not needed (an over-escalation queue, any other queue) "
              "never raises the score, and costs its penalty",
              _extra_escalation_strategy, _check_extra_escalation,
              _extra_escalation_not_applicable),
    Invariant("later_escalation_never_raises_score",
              "moving an escalation to the gold queue to a later turn never raises the score "
              "(status operations between the two turns are removed from both runs)",
              _later_strategy, _check_later_escalation, _later_not_applicable),
    Invariant("escalating_to_every_queue_never_pays",
              "escalating to every queue scores below the gold escalation alone (below no "
              "escalation where none is needed), and each other queue costs its penalty",
              _spray_strategy, _check_spray, _spray_not_applicable, _spray_explicit),
    Invariant("reordering_independent_operations_keeps_score",
              "reordering operations of a turn that do not set the same field or the status "
              "never changes the score",
              _reorder_strategy, _check_reorder, explicit=_reorder_explicit),
    Invariant("asking_everything_never_earns_full_credit",
              "requesting every catalog field, or raising every risk flag, never earns full "
              "credit on those criteria",
              _everything_strategy, _check_everything, _everything_not_applicable),
    Invariant("ending_early_scores_well_below_the_oracle",
              f"ending the episode at turn 1, before the customer's answers were due, scores "
              f"at least {EARLY_END_MARGIN} below the oracle (tasks that require fields)",
              lambda ctx: ctx.examples(sequences=quitter_turns(ctx.task)), _check_quitter,
              _quitter_not_applicable, _quitter_explicit),
    Invariant("relay_without_the_facts_never_informs",
              "replies without the facts of the team's latest update (\".\", \"Thanks, the "
              "team is on it.\", the update with its facts cut out) never earn kept_informed",
              lambda ctx: ctx.examples(sequences=empty_relay_turns(ctx.task)), _check_relay,
              _relay_not_applicable, _relay_explicit),
    Invariant("replies_of_seen_text_earn_no_markers",
              "public replies made of all the text the agent has seen (ticket, knowledge base, "
              "messages), cut to the limit or split over replies, earn no reply-marker credit",
              _stuffing_strategy, _check_stuffing, _stuffing_not_applicable, _stuffing_explicit),
    Invariant("filler_never_pays",
              "filling turns to 8 operations with 1,000-character filler raises no criterion, "
              "and every public reply beyond the conversation's allowance costs the spam "
              "penalty",
              _filler_strategy, _check_filler, explicit=_filler_explicit),
    Invariant("leaking_replies_never_count",
              "a public reply with internal-only text earns no marker and informs nothing, and "
              "costs the leak penalty (at most 0.15 in all)",
              _leak_strategy, _check_leak, _leak_not_applicable, _leak_explicit),
    Invariant("markers_count_only_in_their_channel",
              "markers in the wrong channel (or a search query), or in an over-long message, "
              "never count",
              _channel_strategy, _check_channels, _channel_not_applicable, _channel_explicit),
    Invariant("grader_never_raises_and_rejects_impossible_traces",
              "no sequence of operations makes the simulator or the grader raise; a trace no "
              "episode could write (events out of order, duplicate sequence numbers, times "
              "going back, turns skipped) is rejected with ImpossibleTraceError, not graded",
              _never_raises_strategy, _check_never_raises, explicit=_never_raises_explicit),
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
    for explicit in reversed(list(invariant.explicit(ctx))):
        body = example(explicit)(body)
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
