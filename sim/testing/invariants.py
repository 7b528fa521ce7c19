"""The invariants that say the grader is sound: a function of the trace that keeps the
spec's arithmetic and scores the oracle 1.0.

Each invariant is up to four functions of a :class:`~sim.testing.context.SuiteContext`:
``*_strategy`` draws examples, ``*_explicit`` lists examples always tried first,
``*_not_applicable`` says why the invariant does not apply (``None`` when it does), and
``check_*`` plays one example and raises (via :func:`~sim.testing.checks.fail`) when the
invariant does not hold. :mod:`sim.testing.suite` names and orders them.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies import DrawFn, SearchStrategy

from sim.grading import GradeReport, ImpossibleTraceError, grade, step_rewards
from sim.operations import MAX_OPERATIONS_PER_TURN, Escalate, SetFields, SetStatus, parse_operation
from sim.runner import EpisodeJob
from sim.testing.adversaries import mixed_sequences
from sim.testing.checks import (
    TOLERANCE,
    InvariantViolation,
    breakdown_diff,
    check_regrade,
    check_report_arithmetic,
    check_step_rewards,
    fail,
    impossible_trace_reason,
    repaired,
)
from sim.testing.context import Example, SuiteContext
from sim.testing.replaying import YieldingScript, replay_many, resolve_world
from sim.testing.strategies import (
    gold_first_turn,
    named,
    trace_events,
    turn_sequences,
    turns,
    valid_by_kind,
)
from sim.testing.turn_edits import inserted, with_room
from sim.ticket import check_operation
from sim.trace import Trace, TraceEvent
from tasks.base import SupportTaskSpec

# --------------------------------------------------------------------------- the oracle


def oracle_strategy(ctx: SuiteContext) -> SearchStrategy[Example]:
    return st.builds(lambda seed, c: Example(seed=seed, persona=c[0], faults=c[1]),
                     st.integers(0, 2**32 - 1), ctx.conditions())


def oracle_explicit(ctx: SuiteContext) -> list[Example]:
    """Every world once: each persona with each subset of the faults."""
    return [Example.in_world(world) for world in ctx.worlds()]


def oracle_not_applicable(ctx: SuiteContext) -> str | None:
    if ctx.oracle is None:
        return "no oracle agent was given"
    return None


def check_oracle(ctx: SuiteContext, example: Example) -> None:
    result = ctx.run_oracle(example)
    if result.error is not None or not math.isclose(result.score, 1.0, abs_tol=TOLERANCE):
        short = grade(ctx.task, result.trace).shortfall()
        fail(f"the oracle scored {result.score}, not 1.0, under persona {example.persona!r} "
             f"with faults {list(example.faults)} (ended {result.termination_reason}"
             f"{', ' + result.error if result.error else ''}): {'; '.join(short)}")


# --------------------------------------------------------------------------- applicability


def applicability_strategy(ctx: SuiteContext) -> SearchStrategy[Example]:
    return ctx.examples(st.fixed_dictionaries({"other": mixed_sequences(ctx.task)}))


def applicability_explicit(ctx: SuiteContext) -> list[Example]:
    gold = [gold_first_turn(ctx.task)]
    return [Example.in_world(world, other=gold) for world in ctx.fault_free_worlds()]


def check_applicability(ctx: SuiteContext, example: Example) -> None:
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
            fail(f"in the same world, {first_label} leave out {list(first.dropped)} but "
                 f"{label} leave out {list(report.dropped)}: {why}")


# --------------------------------------------------------------------------- arithmetic


def check_arithmetic(ctx: SuiteContext, example: Example) -> None:
    result = ctx.run(example)
    report = grade(ctx.task, result.trace)
    check_report_arithmetic(report)
    if result.score != report.score:
        fail(f"the episode's score {result.score} differs from grading its trace "
             f"{report.score}")


def check_rewards(ctx: SuiteContext, example: Example) -> None:
    check_step_rewards(ctx.task, ctx.run(example).trace)


# --------------------------------------------------------------------------- determinism


def determinism_strategy(ctx: SuiteContext) -> SearchStrategy[Example]:
    return ctx.examples(st.fixed_dictionaries({"alongside": turn_sequences(ctx.task)}))


def check_determinism(ctx: SuiteContext, example: Example) -> None:
    task = ctx.task
    first = ctx.run(example).trace
    world = resolve_world(ctx.world, example.persona, example.faults, task)
    mine, other = list(example.turns), list(example.extra["alongside"])
    # Again, as an async agent that yields to trio, next to another episode.
    jobs = [
        EpisodeJob(task=task, make_agent=lambda: YieldingScript(other), world=world,
                   seed=example.seed + 1, agent_name="scripted", config=ctx.config),
        EpisodeJob(task=task, make_agent=lambda: YieldingScript(mine), world=world,
                   seed=example.seed, agent_name="scripted", config=ctx.config),
    ]
    second = replay_many(jobs, concurrency=2)[1].trace
    a, b = first.to_jsonl(), second.to_jsonl()
    if a != b:
        pairs = zip(a.splitlines(), b.splitlines(), strict=False)
        lines = [(n, x, y) for n, (x, y) in enumerate(pairs, 1) if x != y]
        where = (f"line {lines[0][0]}: {lines[0][1][:160]} vs {lines[0][2][:160]}" if lines
                 else f"{len(a.splitlines())} vs {len(b.splitlines())} lines")
        fail(f"two runs of the same inputs gave different traces at {where}")
    if grade(task, first) != grade(task, second):
        fail("two identical traces graded differently")
    if grade(task, first) != grade(task, first):
        fail("grading the same trace twice gave two reports")


def check_stored_trace(ctx: SuiteContext, example: Example) -> None:
    check_regrade(ctx.task, ctx.run(example).trace)


# --------------------------------------------------------------------------- after the end


def after_end_strategy(ctx: SuiteContext) -> SearchStrategy[Example]:
    task = ctx.task
    return ctx.examples(st.fixed_dictionaries({
        "finish_turn": st.integers(0, task.max_steps - 1),
        "finish_at": st.integers(0, MAX_OPERATIONS_PER_TURN - 1),
        "extra_turns": st.lists(turns(task), min_size=1, max_size=task.max_steps),
        "appended_events": st.lists(trace_events(task), min_size=1, max_size=6),
    }))


def check_after_end(ctx: SuiteContext, example: Example) -> None:
    task, extra = ctx.task, example.extra
    # 1. Events appended after the end (numbered on from it, as a recorder would) change
    #    neither the grade nor the rewards; numbered any other way they make a trace no
    #    episode could write, which is rejected rather than graded differently.
    report, trace = ctx.score(example)
    if any(e.kind == "end" for e in trace.events):
        events = list(trace.events)
        appended = list(extra["appended_events"])
        longer = Trace(header=trace.header, events=tuple(repaired([*events, *appended])))
        after = grade(task, longer)
        if after != report:
            fail(f"events appended after the end changed the grade from {report.score} to "
                 f"{after.score}: {breakdown_diff(report, after)}")
        if step_rewards(task, longer) != step_rewards(task, trace):
            fail("events appended after the end changed the step rewards")
        raw = Trace(header=trace.header, events=tuple([*events, *appended]))
        try:
            as_given = grade(task, raw)
        except ImpossibleTraceError:
            pass
        else:
            if as_given != report:
                fail(f"events appended after the end (as drawn) changed the grade from "
                     f"{report.score} to {as_given.score}: {breakdown_diff(report, as_given)}")
    # 2. Turns scripted after a finish are never played.
    index = extra["finish_turn"]
    finished = with_room(example.turns[: index + 1], index)
    finished = inserted(finished, index, extra["finish_at"], {"op": "finish"})
    short_report, short_trace = ctx.score(example, finished)
    long_report, long_trace = ctx.score(example, finished + list(extra["extra_turns"]))
    if long_trace.to_jsonl() != short_trace.to_jsonl() or long_report != short_report:
        fail(f"turns after the finish at turn {index + 1} changed the score from "
             f"{short_report.score} to {long_report.score}: "
             f"{breakdown_diff(short_report, long_report)}")


# --------------------------------------------------------------------------- reordering


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


def reorder_strategy(ctx: SuiteContext) -> SearchStrategy[Example]:
    task = ctx.task
    # Dense turns of 3..8 valid operations of two kinds make same-kind neighbours (two
    # replies, two flag_risk...) the rule: that is where an order-dependent grader shows.
    by_kind = valid_by_kind(task)
    kinds = sorted(by_kind)
    dense_turn = st.one_of([
        st.lists(st.one_of(by_kind[a], by_kind[b]), min_size=3, max_size=MAX_OPERATIONS_PER_TURN)
        for a, b in itertools.combinations(kinds, 2)
    ])
    dense = named("dense_turn_sequences",
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


def reorder_explicit(ctx: SuiteContext) -> list[Example]:
    """Two flag_risk operations, one with a required flag: they commute."""
    task = ctx.task
    flags = task.catalog.risk_flags
    first = task.risk_flags[0] if task.risk_flags else flags[0]
    other = next((f for f in flags if f not in task.risk_flags), flags[-1])
    turn = [{"op": "flag_risk", "flags": [first]}, {"op": "flag_risk", "flags": [other]},
            {"op": "note", "text": "Flags raised."}]
    return [Example.in_world(ctx.first_world(), [turn], reordered=[turn[::-1]])]


def check_reorder(ctx: SuiteContext, example: Example) -> None:
    before, _ = ctx.score(example)
    after, _ = ctx.score(example, example.extra["reordered"])
    if not math.isclose(before.score, after.score, abs_tol=TOLERANCE):
        fail(f"reordering independent operations changed the score from {before.score} to "
             f"{after.score}: {breakdown_diff(before, after)}")


# --------------------------------------------------------------------------- never raises


def never_raises_strategy(ctx: SuiteContext) -> SearchStrategy[Example]:
    events = st.lists(trace_events(ctx.task), max_size=12)
    return ctx.examples(st.fixed_dictionaries({
        "garbage": events,
        "splice_at": st.lists(st.integers(0, 10_000), max_size=12),
    }))


def never_raises_explicit(ctx: SuiteContext) -> list[Example]:
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
    return [Example.in_world(ctx.first_world(), turn_list, garbage=garbage,
                             splice_at=[3] * len(garbage))
            for turn_list in ([], [gold_first_turn(ctx.task)])]


def check_never_raises(ctx: SuiteContext, example: Example) -> None:
    task = ctx.task
    try:
        result = ctx.run(example)
    except Exception as error:
        raise InvariantViolation(
            f"the episode raised {type(error).__name__}: {error}") from error
    trace = result.trace
    reason = impossible_trace_reason(trace.events)
    if reason is not None:
        fail(f"the episode wrote a trace no episode could write: {reason}")
    garbage: list[TraceEvent] = list(example.extra["garbage"])
    spliced = list(trace.events)
    for event, at in zip(garbage, example.extra["splice_at"], strict=False):
        spliced.insert(at % (len(spliced) + 1), event)
    graders: tuple[tuple[str, Callable[[SupportTaskSpec, Trace], Any]], ...] = (
        ("grading", grade), ("step rewards of", step_rewards))
    for label, events in (("the episode's trace", list(trace.events)),
                          ("garbage events", garbage),
                          ("the trace with garbage spliced in", spliced),
                          ("the trace with garbage spliced in, renumbered", repaired(spliced))):
        why = impossible_trace_reason(events)
        candidate = Trace(header=trace.header, events=tuple(events))
        for what, call in graders:
            try:
                outcome = call(task, candidate)
            except ImpossibleTraceError as error:
                if why is None:
                    fail(f"{what} {label} rejected a possible trace: {error}")
                continue
            except Exception as error:
                raise InvariantViolation(
                    f"{what} {label} raised {type(error).__name__}: {error}") from error
            if why is not None:
                fail(f"{what} {label} went ahead on a trace no episode could write ({why}) "
                     "instead of raising ImpossibleTraceError")
            if isinstance(outcome, GradeReport):
                check_report_arithmetic(outcome)

