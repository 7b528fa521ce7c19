"""The per-trace invariants of SPEC §4, checked against the spec's own numbers.

Give any finished trace to :func:`check_trace` (or one of the checks it runs) and it
raises :class:`InvariantViolation` if the grader's report breaks the spec: a score outside
[0, 1] or not the weighted criteria minus penalties, a weight or penalty the spec does not
set, step rewards that do not sum to the score, a stored trace that grades differently.

The weights and penalty sizes below are the spec's table copied on purpose, not imported
from the grader: the checks hold the grader to the spec, not to itself.

The trace readings the invariants share live here too: the events the grader folds
(:func:`until_end`), the operations applied, the facts a relay must carry, the spam
penalty the spec sets, and :func:`impossible_trace_reason` (what no episode could write).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NoReturn

from sim.grading import GradeReport, grade, step_rewards
from sim.messages import TEAM_PREFIX
from sim.operations import MAX_REPLY_CHARS
from sim.text_checks import update_facts
from sim.trace import Trace, TraceEvent
from tasks.base import SupportTaskSpec

#: Float slack for "equal" scores: the grader rounds to 12 digits.
TOLERANCE = 1e-9

#: The criteria table of SPEC §4.
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
#: The penalties of SPEC §4: per occurrence, and the cap on their sum where there is one.
SPEC_INVALID_PENALTY, SPEC_INVALID_PENALTY_CAP = 0.02, 0.10
SPEC_OVER_ESCALATION_PENALTY = 0.10
SPEC_WRONG_QUEUE_PENALTY = 0.03
SPEC_FORBIDDEN_PENALTY = 0.05
SPEC_LEAK_PENALTY, SPEC_LEAK_PENALTY_CAP = 0.05, 0.15
SPEC_SPAM_PENALTY, SPEC_SPAM_PENALTY_CAP = 0.02, 0.10
#: Public replies allowed beyond one per customer message and team update.
SPEC_SPAM_ALLOWANCE = 2


class InvariantViolation(AssertionError):
    """An invariant does not hold; the message says which and on what."""


def fail(message: str) -> NoReturn:
    raise InvariantViolation(message)


# --------------------------------------------------------------------------- reading traces


def until_end(events: Sequence[TraceEvent]) -> list[TraceEvent]:
    """The events the grader folds: those before the first ``end``."""
    out: list[TraceEvent] = []
    for event in events:
        if event.kind == "end":
            break
        out.append(event)
    return out


def applied_ops(trace: Trace, name: str) -> Iterator[tuple[TraceEvent, Mapping[str, Any]]]:
    """(event, operation) for each ``name`` operation applied before the end."""
    for event in until_end(trace.events):
        op = event.payload.get("op") if event.kind == "operation" else None
        if isinstance(op, Mapping) and op.get("op") == name:
            yield event, op


def played(trace: Trace, turn_number: int, op: Mapping[str, Any]) -> bool:
    """Whether ``op`` was applied as a valid operation at turn ``turn_number``."""
    return any(e.kind == "operation" and e.payload.get("turn") == turn_number
               and all(e.payload.get("op", {}).get(k) == v for k, v in op.items())
               for e in trace.events)


def latest_update_facts(task: SupportTaskSpec, trace: Trace) -> tuple[int, tuple[str, ...]] | None:
    """(seq, facts) of the owning team's latest update before the end, or ``None``: the
    facts a relay must carry (SPEC §4, kept informed)."""
    owner = TEAM_PREFIX + task.gold_queue
    updates = [e for e in until_end(trace.events) if e.kind == "team_update" and e.actor == owner]
    if not updates:
        return None
    text = updates[-1].payload.get("text")
    text = text if isinstance(text, str) else ""
    facts = (task.update_markers if task.update_markers and text == task.follow_up_message
             else update_facts(text))
    return updates[-1].seq, tuple(facts)


def replies_after(trace: Trace, seq: int) -> list[str]:
    """The public replies applied after event ``seq``, before the end."""
    return [str(op.get("message", "")) for event, op in applied_ops(trace, "reply")
            if event.seq > seq]


def expected_spam(trace: Trace) -> float:
    """The spam penalty SPEC §4 sets for the trace: 0.02 per public reply beyond
    (customer messages + team updates + 2), at most 0.10."""
    replies = sum(len(str(op.get("message", ""))) <= MAX_REPLY_CHARS
                  for _, op in applied_ops(trace, "reply"))
    messages = sum(event.kind in ("customer_answer", "customer_nudge", "customer_complaint",
                                  "team_update")
                   for event in until_end(trace.events))
    beyond = replies - messages - SPEC_SPAM_ALLOWANCE
    return min(SPEC_SPAM_PENALTY * beyond, SPEC_SPAM_PENALTY_CAP) if beyond > 0 else 0.0


def penalty_total(report: GradeReport, name: str) -> float:
    return math.fsum(p.amount for p in report.penalties if p.name == name)


def penalty_count(report: GradeReport, name: str) -> int:
    return sum(p.name == name for p in report.penalties)


def breakdown_diff(a: GradeReport, b: GradeReport) -> str:
    """The criteria and penalties that differ from ``a`` to ``b``, for a failure message."""
    changed = [f"{c.name} {c.value}->{d.value}" for c, d in zip(a.criteria, b.criteria,
                                                                strict=True)
               if c.value != d.value]
    pa = [(p.name, p.amount) for p in a.penalties]
    pb = [(p.name, p.amount) for p in b.penalties]
    if pa != pb:
        changed.append(f"penalties {pa}->{pb}")
    return ", ".join(changed) or "no criterion changed"


# --------------------------------------------------------------------------- possible traces


def renumbered(events: Sequence[TraceEvent]) -> list[TraceEvent]:
    """``events`` with sequence numbers 0, 1, 2... in order and times never going back."""
    out: list[TraceEvent] = []
    last = 0
    for index, event in enumerate(events):
        last = max(last, event.t if isinstance(event.t, int) else 0, 0)
        out.append(event._replace(seq=index, t=last))
    return out


def repaired(events: Sequence[TraceEvent]) -> list[TraceEvent]:
    """``events`` made a possible trace: renumbered, and turn events numbered 1, 2, 3..."""
    out: list[TraceEvent] = []
    turn = 0
    for event in renumbered(events):
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


# --------------------------------------------------------------------------- the checks


def check_report_arithmetic(report: GradeReport) -> None:
    """Score in [0, 1] and equal to the weighted criteria minus penalties, recomputed from
    the report's own criteria and penalties against the SPEC §4 table."""
    if not 0.0 <= report.score <= 1.0:
        fail(f"score {report.score} is outside [0, 1]")
    names = [c.name for c in report.criteria]
    if sorted(names) != sorted(SPEC_CRITERIA_WEIGHTS):
        fail(f"criteria {names} differ from the spec's {list(SPEC_CRITERIA_WEIGHTS)}")
    applying = [c for c in report.criteria if c.applies]
    for c in report.criteria:
        if not math.isclose(c.weight, SPEC_CRITERIA_WEIGHTS[c.name], abs_tol=TOLERANCE):
            fail(f"criterion {c.name} weighs {c.weight}; the spec says "
                 f"{SPEC_CRITERIA_WEIGHTS[c.name]}")
        if c.applies and (c.value is None or not 0.0 <= c.value <= 1.0):
            fail(f"criterion {c.name} applies with value {c.value!r}, not in [0, 1]")
        if not c.applies and (c.value is not None or c.effective_weight != 0.0):
            fail(f"dropped criterion {c.name} has value {c.value!r} and effective weight "
                 f"{c.effective_weight}")
    dropped = tuple(c.name for c in report.criteria if not c.applies)
    if tuple(report.dropped) != dropped:
        fail(f"report.dropped is {list(report.dropped)} but the criteria that do not apply "
             f"are {list(dropped)}")
    if not applying:
        fail("no criterion applies")
    total = math.fsum(c.weight for c in applying)
    weighted = math.fsum(c.weight * (c.value or 0.0) for c in applying) / total
    for c in applying:
        if not math.isclose(c.effective_weight, c.weight / total, abs_tol=TOLERANCE):
            fail(f"criterion {c.name} has effective weight {c.effective_weight}; renormalised "
                 f"it is {c.weight / total}")
    if not math.isclose(report.weighted_score, weighted, abs_tol=TOLERANCE):
        fail(f"weighted_score {report.weighted_score} but the weighted criteria give {weighted}")
    _check_penalties(report)
    expected = min(1.0, max(0.0, weighted - math.fsum(p.amount for p in report.penalties)))
    if not math.isclose(report.score, expected, abs_tol=TOLERANCE):
        fail(f"score {report.score} but the weighted criteria {weighted:.12g} minus penalties "
             f"{[(p.name, p.amount) for p in report.penalties]} give {expected:.12g}")
    sla = report.criterion("sla")
    if sla.value is not None and (sla.value == 1.0) == report.sla_breached:
        fail(f"sla criterion {sla.value} but sla_breached={report.sla_breached}")


def _check_penalties(report: GradeReport) -> None:
    """Each penalty the size the spec sets, leaks within their cap, one invalid-operations
    penalty exactly when there were invalid operations."""
    fixed = {"over_escalation": SPEC_OVER_ESCALATION_PENALTY,
             "wrong_queue": SPEC_WRONG_QUEUE_PENALTY,
             "forbidden_reply": SPEC_FORBIDDEN_PENALTY, "leak": SPEC_LEAK_PENALTY}
    for penalty in report.penalties:
        if penalty.name == "invalid_operations":
            want = min(SPEC_INVALID_PENALTY * report.invalid_operations, SPEC_INVALID_PENALTY_CAP)
        elif penalty.name == "spam":
            # "N public replies where ... beyond them" – at most the cap, a multiple of 0.02
            want = penalty.amount if (
                penalty.amount <= SPEC_SPAM_PENALTY_CAP + TOLERANCE
                and math.isclose(round(penalty.amount / SPEC_SPAM_PENALTY) * SPEC_SPAM_PENALTY,
                                 penalty.amount, abs_tol=TOLERANCE)) else math.nan
        elif penalty.name == "void":
            want = penalty.amount
        else:
            want = fixed.get(penalty.name, math.nan)
        if not math.isclose(penalty.amount, want, abs_tol=TOLERANCE):
            fail(f"penalty {penalty.name} is {penalty.amount}; the spec says {want}")
    leaks = penalty_total(report, "leak")
    if leaks > SPEC_LEAK_PENALTY_CAP + TOLERANCE:
        fail(f"leak penalties add up to {leaks}; the spec caps them at {SPEC_LEAK_PENALTY_CAP}")
    invalid = [p for p in report.penalties if p.name == "invalid_operations"]
    if bool(invalid) != (report.invalid_operations > 0) or len(invalid) > 1:
        fail(f"{report.invalid_operations} invalid operation(s) but penalties {invalid}")


def check_step_rewards(task: SupportTaskSpec, trace: Trace) -> None:
    """One reward per turn played, and the rewards sum to the score."""
    report = grade(task, trace)
    rewards = step_rewards(task, trace)
    total = math.fsum(rewards)
    if not math.isclose(total, report.score, abs_tol=TOLERANCE):
        fail(f"step rewards {rewards} sum to {total!r}, the score is {report.score!r}")
    turns_played = sum(event.kind == "turn" for event in until_end(trace.events))
    if len(rewards) != turns_played:
        fail(f"{len(rewards)} step rewards for {turns_played} turns played")


def check_regrade(task: SupportTaskSpec, trace: Trace) -> None:
    """The trace written as JSON Lines and read back grades to the live report."""
    live = grade(task, trace)
    again = grade(task, Trace.from_jsonl(trace.to_jsonl()))
    if again != live:
        fail(f"re-grading the stored trace gives {again.score} ({again.breakdown()}), "
             f"the live trace {live.score} ({live.breakdown()})")
    stored = trace.result.report if trace.result is not None else None
    if stored is not None and stored != live.model_dump(mode="json"):
        fail(f"the report stored in the trace differs from grading it: score "
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
