"""The invariants that say escalating never games the score: an escalation that is not
needed, a later one, or one to every queue never pays, and each wrong queue costs the
penalty SPEC §4 sets.

Each invariant is up to four functions of a :class:`~sim.testing.context.SuiteContext`
(``*_strategy``, ``*_explicit``, ``*_not_applicable``, ``check_*``), as in
:mod:`sim.testing.invariants`; :mod:`sim.testing.suite` names and orders them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies import DrawFn, SearchStrategy

from sim.operations import MAX_OPERATIONS_PER_TURN
from sim.testing.adversaries import SPRAY_SUMMARY, first_turn, mixed_sequences, spray_turns
from sim.testing.checks import (
    SPEC_OVER_ESCALATION_PENALTY,
    SPEC_WRONG_QUEUE_PENALTY,
    TOLERANCE,
    applied_ops,
    breakdown_diff,
    fail,
    penalty_count,
    penalty_total,
    played,
)
from sim.testing.context import Example, SuiteContext
from sim.testing.strategies import gold_first_turn, message_text, weighted
from sim.testing.turn_edits import as_list, inserted, spliced, with_room
from tasks.base import SupportTaskSpec

#: Operations that set the ticket's status.
_STATUS_OPS = frozenset({"escalate", "set_status"})
#: Each wrong escalation's penalty, by its name.
_QUEUE_PENALTIES = (("wrong_queue", SPEC_WRONG_QUEUE_PENALTY),
                    ("over_escalation", SPEC_OVER_ESCALATION_PENALTY))


# --------------------------------------------------------------------------- an extra one


def _extra_queues(task: SupportTaskSpec) -> tuple[str, ...]:
    """Queues an escalation to is never needed: every queue but the gold one, and the gold
    one too when the task needs no escalation."""
    return tuple(q for q in task.catalog.queues
                 if q != task.gold_queue or not task.needs_escalation)


def extra_escalation_strategy(ctx: SuiteContext) -> SearchStrategy[Example]:
    task = ctx.task
    queues = _extra_queues(task) or task.catalog.queues
    branches = [st.sampled_from(queues)]
    if task.over_escalation_queues:
        branches.insert(0, st.sampled_from(task.over_escalation_queues))
    return ctx.insertions(queue=st.one_of(branches), summary=message_text(task, "note"))


def extra_escalation_not_applicable(ctx: SuiteContext) -> str | None:
    if not _extra_queues(ctx.task):
        return "every queue of the catalog is the gold one"
    return None


def check_extra_escalation(ctx: SuiteContext, example: Example) -> None:
    task, extra = ctx.task, example.extra
    index, queue = extra["turn"], extra["queue"]
    op = {"op": "escalate", "queue": queue, "summary": extra["summary"]}
    (before, _), (after, trace) = ctx.score_insertion(example, index, extra["position"], [op])
    if after.score > before.score + TOLERANCE:
        fail(f"escalating to {queue} at turn {index + 1} raised the score from "
             f"{before.score} to {after.score}: {breakdown_diff(before, after)}")
    if not played(trace, index + 1, {"op": "escalate", "queue": queue}):
        return
    if queue in task.over_escalation_queues:
        name, amount = "over_escalation", SPEC_OVER_ESCALATION_PENALTY
    elif queue != task.gold_queue:
        name, amount = "wrong_queue", SPEC_WRONG_QUEUE_PENALTY
    else:
        return
    charged = penalty_total(after, name) - penalty_total(before, name)
    if charged < amount - TOLERANCE:
        fail(f"escalating to {queue} at turn {index + 1} cost {charged:.12g} in {name} "
             f"penalties, not {amount}")


# --------------------------------------------------------------------------- a later one


def later_strategy(ctx: SuiteContext) -> SearchStrategy[Example]:
    last = ctx.task.max_steps - 1

    @st.composite
    def turns_apart(draw: DrawFn) -> Mapping[str, Any]:
        first = draw(st.integers(0, max(0, last - 1)))
        return {"early_turn": first, "late_turn": draw(st.integers(first + 1, max(1, last))),
                "early_position": draw(st.integers(0, MAX_OPERATIONS_PER_TURN - 1)),
                "late_position": draw(st.integers(0, MAX_OPERATIONS_PER_TURN - 1)),
                "summary": draw(message_text(ctx.task, "note"))}

    return ctx.examples(turns_apart())


def later_not_applicable(ctx: SuiteContext) -> str | None:
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


def check_later_escalation(ctx: SuiteContext, example: Example) -> None:
    task, extra = ctx.task, example.extra
    i, j = extra["early_turn"], extra["late_turn"]
    base = with_room(with_room(example.turns, i), j)
    # Between the two turns nothing else may set the status, so the only difference between
    # the two sequences is when the escalation happens.
    for k in range(i, j + 1):
        base[k] = [e for e in as_list(base[k])
                   if not (isinstance(e, Mapping) and e.get("op") in _STATUS_OPS)]
    op = {"op": "escalate", "queue": task.gold_queue, "summary": extra["summary"]}
    early, _ = ctx.score(example, inserted(base, i, extra["early_position"], op))
    late, _ = ctx.score(example, inserted(base, j, extra["late_position"], op))
    if late.score > early.score + TOLERANCE:
        fail(f"escalating to {task.gold_queue} at turn {j + 1} instead of turn {i + 1} raised "
             f"the score from {early.score} to {late.score}: {breakdown_diff(early, late)}")


# --------------------------------------------------------------------------- every queue


def spray_strategy(ctx: SuiteContext) -> SearchStrategy[Example]:
    task = ctx.task
    bases = weighted((1, first_turn(task).map(lambda ops: [ops])), (2, mixed_sequences(task)))
    return ctx.examples(st.fixed_dictionaries({
        "turn": st.integers(0, task.max_steps - 1),
        "queues": st.permutations(task.catalog.queues),
    }), sequences=bases)


def spray_explicit(ctx: SuiteContext) -> list[Example]:
    task = ctx.task
    first = gold_first_turn(task, escalate=False)
    queues = list(task.catalog.queues)
    gold_first = [task.gold_queue, *(q for q in queues if q != task.gold_queue)]
    return [Example.in_world(ctx.first_world(), [first], turn=turn, queues=order)
            for order in (gold_first, gold_first[::-1]) for turn in (0, 1)
            if turn < task.max_steps]


def spray_not_applicable(ctx: SuiteContext) -> str | None:
    if not [q for q in ctx.task.catalog.queues if q != ctx.task.gold_queue]:
        return "the catalog has no queue but the gold one"
    return None


def check_spray(ctx: SuiteContext, example: Example) -> None:
    task, extra = ctx.task, example.extra
    index, queues = extra["turn"], list(extra["queues"])
    sprays = spray_turns(task, queues)
    honest_turn = ([{"op": "escalate", "queue": task.gold_queue, "summary": SPRAY_SUMMARY}]
                   if task.needs_escalation else [])
    honest_turns = [honest_turn, *([] for _ in sprays[1:])]
    honest, _ = ctx.score(example, spliced(example.turns, index, honest_turns))
    spray, trace = ctx.score(example, spliced(example.turns, index, sprays))
    spray_turn_numbers = range(index + 1, index + 1 + len(sprays))
    queues_played = [op["queue"] for event, op in applied_ops(trace, "escalate")
                     if event.payload.get("turn") in spray_turn_numbers]
    wrong = [q for q in queues_played if q != task.gold_queue]
    if not wrong:
        return  # the episode ended before the spray
    for name, amount in _QUEUE_PENALTIES:
        want = sum((q in task.over_escalation_queues) == (name == "over_escalation")
                   for q in wrong)
        got = penalty_count(spray, name) - penalty_count(honest, name)
        cost = penalty_total(spray, name) - penalty_total(honest, name)
        if got != want or not math.isclose(cost, want * amount, abs_tol=TOLERANCE):
            fail(f"escalating to every queue at turn {index + 1} ({', '.join(queues_played)}) "
                 f"cost {got} {name} penalties ({cost:.12g}); the spec says {want} "
                 f"({want * amount:.12g})")
    if honest.score > TOLERANCE and spray.score >= honest.score - TOLERANCE:
        fail(f"escalating to every queue at turn {index + 1} ({', '.join(queues_played)}) "
             f"scored {spray.score}, not below {honest.score} for "
             f"{'the gold escalation alone' if honest_turn else 'no escalation'}: "
             f"{breakdown_diff(honest, spray)}")
