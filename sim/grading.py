"""The grader: a pure function of a task and a trace.

:class:`GradeAccumulator` folds a trace's events one at a time and can report the
grade of the prefix it has seen at any point, so :func:`grade` (the whole trace)
and :func:`step_rewards` (the grade after each turn, differenced) share one pass.

Scoring (SPEC §4): each criterion has a weight; criteria that do not apply are
dropped and the others renormalised, and the report says which and why. Penalties
are subtracted after weighting and the score is floored at 0.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import attrs
from pydantic import BaseModel, ConfigDict

from sim.markers import groups_met
from sim.messages import TEAM_PREFIX
from sim.operations import (
    MAX_NOTE_CHARS,
    MAX_REPLY_CHARS,
    parse_operation,
)
from sim.ticket import TicketState, apply_operation
from sim.trace import Trace, TraceEvent
from tasks.base import TERMINAL_STATUSES, SupportTaskSpec

__all__ = [
    "CRITERIA_WEIGHTS",
    "PENALTY_NAMES",
    "CriterionResult",
    "GradeAccumulator",
    "GradeReport",
    "Penalty",
    "grade",
    "grade_events",
    "step_rewards",
]

CRITERIA_WEIGHTS: dict[str, float] = {
    "queue": 0.10,
    "priority": 0.08,
    "issue_type": 0.07,
    "status": 0.08,
    "resolution_code": 0.07,
    "fields_requested": 0.15,
    "follow_up_handling": 0.05,
    "reply_markers": 0.10,
    "kept_informed": 0.05,
    "note_markers": 0.08,
    "risk_flags": 0.05,
    "escalation": 0.07,
    "sla": 0.05,
}
INVALID_OPERATION_PENALTY = 0.02
INVALID_OPERATION_PENALTY_CAP = 0.10
OVER_ESCALATION_PENALTY = 0.10
FORBIDDEN_MARKER_PENALTY = 0.05
#: The names penalties carry in a report.
PENALTY_NAMES: tuple[str, ...] = ("invalid_operations", "over_escalation", "forbidden_reply")
LATE_ESCALATION_CREDIT = 0.3
WRONG_QUEUE_CREDIT = 0.5
BAD_ANSWER_STATUSES = frozenset({"wrong", "missing"})
_DIGITS = 12


class CriterionResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    weight: float
    #: The weight after renormalising over the criteria that apply (0 if it does not).
    effective_weight: float
    applies: bool
    value: float | None
    reason: str


class Penalty(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    amount: float
    reason: str


class GradeReport(BaseModel):
    """The grade of one (possibly partial) episode, criterion by criterion."""

    model_config = ConfigDict(frozen=True)

    task_id: str
    score: float
    weighted_score: float
    criteria: tuple[CriterionResult, ...]
    penalties: tuple[Penalty, ...]
    dropped: tuple[str, ...]
    sla_breached: bool
    invalid_operations: int
    premature_status: bool

    def breakdown(self) -> dict[str, float | None]:
        """criterion -> value (``None`` where it does not apply)."""
        return {c.name: c.value for c in self.criteria}

    def criterion(self, name: str) -> CriterionResult:
        return next(c for c in self.criteria if c.name == name)


def _f1(given: Iterable[str], gold: Iterable[str]) -> float:
    given_set, gold_set = set(given), set(gold)
    if not gold_set:
        return 1.0 if not given_set else 0.0
    hits = len(given_set & gold_set)
    if not hits:
        return 0.0
    precision, recall = hits / len(given_set), hits / len(gold_set)
    return 2 * precision * recall / (precision + recall)


def _whole_number(value: Any, default: int) -> int:
    """A turn number or count as live traces write it (an int >= 1); else ``default``.

    A stored trace may have been edited: a malformed value must neither crash the grader
    nor, as a negative count would, raise the score.
    """
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    return default


def _names(values: Iterable[str]) -> str:
    return ", ".join(sorted(values)) or "none"


@attrs.define(slots=True)
class GradeAccumulator:
    """The grader's state after some prefix of a trace; feed events in order."""

    task: SupportTaskSpec
    ticket: TicketState = attrs.field(factory=TicketState)
    turn: int = 0
    ended: bool = False
    invalid_operations: int = 0
    requested: dict[str, None] = attrs.field(factory=dict)
    answered_once: bool = False
    # Ordered sets as dicts: far smaller than sets, and thousands of episodes run at once.
    # Those most episodes never need are made when first needed (``None`` until then).
    rerequested: dict[str, None] | None = None
    bad_fields: dict[str, None] | None = None
    received: dict[str, None] = attrs.field(factory=dict)
    premature: bool = False
    reply_groups: dict[int, None] = attrs.field(factory=dict)
    note_groups: dict[int, None] = attrs.field(factory=dict)
    forbidden_groups: dict[int, None] | None = None
    last_reply_seq: int = -1
    gold_escalation_turns: list[int] = attrs.field(factory=list)
    other_escalations: int = 0
    over_escalations: list[str] | None = None
    last_update_seq: int = -1
    gold_team_silent: bool = False
    sla_snapshot: bool | None = None
    replies_by_deadline: int = 0

    # -- folding ------------------------------------------------------------------
    def feed(self, event: TraceEvent, operation: Any = None) -> None:
        """Fold one event. A live run passes the ``operation`` it already parsed for an
        ``operation`` event, which spares parsing the payload again (same result)."""
        self.fold(event.t, event.seq, event.actor, event.kind, event.payload, operation)

    def fold(self, t: int, seq: int, actor: str, kind: str, payload: dict[str, Any],
             operation: Any = None) -> None:
        """:meth:`feed` for an event given by its parts (a live episode's recorder keeps
        no :class:`TraceEvent` until the episode ends)."""
        if self.ended:
            return  # nothing after the end changes anything
        task = self.task
        if self.sla_snapshot is None and t > task.sla_deadline_seconds:
            self.sla_snapshot = self._sla_met_now()
        if kind == "operation":  # the most common kind first
            self._operation(t, seq, payload, operation)
        elif kind == "turn":
            self.turn = _whole_number(payload.get("turn"), self.turn + 1)
        elif kind == "invalid_operation":
            self.invalid_operations += 1
        elif kind == "invalid_turn":
            self.invalid_operations += _whole_number(payload.get("rejected"), 1)
        elif kind == "customer_answer":
            self._answer(payload)
        elif kind == "team_update" and actor == TEAM_PREFIX + task.gold_queue:
            self.last_update_seq = seq
        elif kind == "team_silent" and actor == TEAM_PREFIX + task.gold_queue:
            self.gold_team_silent = True
        elif kind == "team_bounce":
            self.ticket.bounce(str(payload.get("queue")))
        elif kind == "end":
            self.ended = True

    def _sla_met_now(self) -> bool:
        return self.replies_by_deadline > 0 and self._effective_status() == self.task.gold_status

    def _effective_status(self) -> str:
        return self.ticket.effective_status(self.task.gold_queue)

    def _operation(self, t: int, seq: int, payload: dict[str, Any], operation: Any) -> None:
        if operation is None:
            operation, error, _ = parse_operation(payload.get("op"))
            if operation is None or error is not None:
                self.invalid_operations += 1
                return
        task = self.task
        apply_operation(self.ticket, operation)
        kind = operation.op
        if kind == "reply" and len(operation.message) <= MAX_REPLY_CHARS:
            self.last_reply_seq = seq
            if t <= task.sla_deadline_seconds:
                self.replies_by_deadline += 1
            for field in operation.request_fields:
                self.requested[field] = None
                if self.answered_once:
                    if self.rerequested is None:
                        self.rerequested = {}
                    self.rerequested[field] = None
            for index in groups_met(operation.message, task.required_reply_markers):
                self.reply_groups[index] = None
            for index in groups_met(operation.message, task.forbidden_reply_markers):
                if self.forbidden_groups is None:
                    self.forbidden_groups = {}
                self.forbidden_groups[index] = None
        elif kind == "note" and len(operation.text) <= MAX_NOTE_CHARS:
            for index in groups_met(operation.text, task.required_note_markers):
                self.note_groups[index] = None
        elif kind == "escalate":
            if operation.queue == task.gold_queue:
                self.gold_escalation_turns.append(self.turn)
            else:
                self.other_escalations += 1
            if operation.queue in task.over_escalation_queues:
                if self.over_escalations is None:
                    self.over_escalations = []
                self.over_escalations.append(operation.queue)
        elif kind == "set_status" and operation.status in TERMINAL_STATUSES:
            if not all(f in self.received for f in task.required_requested_fields):
                self.premature = True

    def _answer(self, payload: dict[str, Any]) -> None:
        fields = payload.get("fields")
        if not isinstance(fields, dict):
            return
        required = self.task.required_requested_fields
        for name, answer in fields.items():
            status = answer.get("status") if isinstance(answer, dict) else None
            if not isinstance(status, str):
                status = None
            if status == "correct":
                self.received[name] = None
            elif status in BAD_ANSWER_STATUSES and name in required and name not in self.received:
                if self.bad_fields is None:
                    self.bad_fields = {}
                self.bad_fields[name] = None
        self.answered_once = True

    # -- reporting ----------------------------------------------------------------
    def report(self) -> GradeReport:
        """The grade of the events fed so far."""
        return GradeReport.model_validate(self.report_data())

    def report_data(self) -> dict[str, Any]:
        """:meth:`report` as JSON-ready data (what ``report().model_dump(mode="json")``
        gives), without building the models: the live episode's fast path."""
        task = self.task
        values, sla_met = self._values()
        laid_out = self._penalties()
        total, weighted, score = self._score(values, [amount for _, amount, _ in laid_out])
        penalties = [{"name": name, "amount": amount, "reason": reason}
                     for name, amount, reason in laid_out]
        criteria: list[dict[str, Any]] = []
        for name, weight in CRITERIA_WEIGHTS.items():
            value, reason = values[name]
            criteria.append({
                "name": name, "weight": weight,
                "effective_weight": weight / total if value is not None else 0.0,
                "applies": value is not None, "value": value, "reason": reason,
            })
        return {
            "task_id": task.task_id, "score": score, "weighted_score": weighted,
            "criteria": criteria, "penalties": penalties,
            "dropped": [n for n in CRITERIA_WEIGHTS if values[n][0] is None],
            "sla_breached": not sla_met, "invalid_operations": self.invalid_operations,
            "premature_status": self.premature,
        }

    def summary(self) -> tuple[float, dict[str, float | None], bool]:
        """(score, criterion -> value, sla_breached): the figures of :meth:`report_data`
        an episode's result carries, without the report's reasons laid out."""
        values, sla_met = self._values()
        _, _, score = self._score(values, [amount for _, amount, _ in self._penalties()])
        return score, {name: values[name][0] for name in CRITERIA_WEIGHTS}, not sla_met

    def _values(self) -> tuple[dict[str, tuple[float | None, str]], bool]:
        """Each criterion's (value, reason), ``None`` where it does not apply; and
        whether the SLA was met."""
        task, ticket = self.task, self.ticket
        values: dict[str, tuple[float | None, str]] = {}
        status = self._effective_status()
        for name, final, gold in (
            ("queue", ticket.queue, task.gold_queue),
            ("priority", ticket.priority, task.gold_priority),
            ("issue_type", ticket.issue_type, task.gold_issue_type),
            ("status", status, task.gold_status),
            ("resolution_code", ticket.resolution_code, task.gold_resolution_code),
        ):
            if final != gold:
                values[name] = (0.0, f"final {name} {final!r}, gold {gold!r}")
            elif name == "status" and self.premature:
                values[name] = (0.0, f"{status!r} was set before every required field was "
                                "received correctly (premature)")
            else:
                values[name] = (1.0, f"final {name} {final!r} is gold")
        required = task.required_requested_fields
        values["fields_requested"] = (
            _f1(self.requested, required),
            f"requested {_names(self.requested)}; required {_names(required)}",
        )
        if self.bad_fields:
            rerequested = self.rerequested or {}
            values["follow_up_handling"] = (
                _f1(rerequested, self.bad_fields),
                f"re-requested {_names(rerequested)}; missing or wrong "
                f"{_names(self.bad_fields)}",
            )
        else:
            values["follow_up_handling"] = (
                None, "no answer left a required field missing or wrong"
            )
        for name, groups, met, channel in (
            ("reply_markers", task.required_reply_markers, self.reply_groups, "public reply"),
            ("note_markers", task.required_note_markers, self.note_groups, "internal note"),
        ):
            if groups:
                values[name] = (len(met) / len(groups),
                                f"{len(met)} of {len(groups)} groups met by a single {channel}")
            else:
                values[name] = (None, f"the task has no {name.replace('_', ' ')}")
        if not task.needs_escalation:
            values["kept_informed"] = (None, "no escalation to the gold queue is needed")
        elif self.gold_team_silent:
            values["kept_informed"] = (None, f"a fault kept {task.gold_queue} silent")
        elif self.last_update_seq < 0:
            values["kept_informed"] = (0.0, f"no update from {task.gold_queue} arrived")
        elif self.last_reply_seq > self.last_update_seq:
            values["kept_informed"] = (1.0, "a public reply followed the team's latest update")
        else:
            values["kept_informed"] = (0.0, "no public reply after the team's latest update")
        values["risk_flags"] = (
            _f1(ticket.risk_flags, task.risk_flags),
            f"raised {_names(ticket.risk_flags)}; required {_names(task.risk_flags)}",
        )
        values["escalation"] = self._escalation()
        sla_met = self.sla_snapshot if self.sla_snapshot is not None else self._sla_met_now()
        values["sla"] = (1.0 if sla_met else 0.0,
                         "met" if sla_met else "a public reply and the gold status were not "
                         "both in place by the deadline")

        return values, sla_met

    def _penalties(self) -> list[tuple[str, float, str]]:
        penalties: list[tuple[str, float, str]] = []
        if self.invalid_operations:
            penalties.append((
                "invalid_operations",
                min(INVALID_OPERATION_PENALTY * self.invalid_operations,
                    INVALID_OPERATION_PENALTY_CAP),
                f"{self.invalid_operations} invalid operation(s)",
            ))
        for queue in self.over_escalations or ():
            penalties.append(("over_escalation", OVER_ESCALATION_PENALTY,
                              f"escalated to {queue}, which must not get it"))
        for index in sorted(self.forbidden_groups or ()):
            group = self.task.forbidden_reply_markers[index]
            penalties.append(("forbidden_reply", FORBIDDEN_MARKER_PENALTY,
                              f"a reply said {' + '.join(group)}"))
        return penalties

    @staticmethod
    def _score(values: dict[str, tuple[float | None, str]],
               amounts: list[float]) -> tuple[float, float, float]:
        """(total weight that applies, weighted score, score after penalties)."""
        applying = [n for n, (v, _) in values.items() if v is not None]
        total = sum(CRITERIA_WEIGHTS[n] for n in applying)
        parts = [CRITERIA_WEIGHTS[n] * value for n, (value, _) in values.items()
                 if value is not None]
        # Rounded so that a perfect episode scores exactly 1.0 despite float sums.
        weighted = round(math.fsum(parts) / total, _DIGITS)
        score = round(min(1.0, max(0.0, weighted - math.fsum(amounts))), _DIGITS)
        return total, weighted, score

    def _escalation(self) -> tuple[float, str]:
        task = self.task
        if not task.needs_escalation:
            made = len(self.gold_escalation_turns) + self.other_escalations
            return ((1.0, "no escalation needed, none made") if not made
                    else (0.0, f"{made} escalation(s) made; none was needed"))
        deadline = task.under_escalation_deadline_step or task.max_steps
        if any(turn <= deadline for turn in self.gold_escalation_turns):
            return 1.0, f"escalated to {task.gold_queue} by turn {deadline}"
        if self.gold_escalation_turns:
            return (LATE_ESCALATION_CREDIT,
                    f"escalated to {task.gold_queue} at turn {self.gold_escalation_turns[0]}, "
                    f"after the deadline turn {deadline}")
        if self.other_escalations:
            return WRONG_QUEUE_CREDIT, f"escalated, but never to {task.gold_queue}"
        return 0.0, f"never escalated; {task.gold_queue} was needed"


def grade_events(task: SupportTaskSpec, events: Iterable[TraceEvent]) -> GradeReport:
    """The grade of a sequence of events (a whole trace or any prefix of one)."""
    accumulator = GradeAccumulator(task)
    for event in events:
        accumulator.feed(event)
    return accumulator.report()


def grade(task: SupportTaskSpec, trace: Trace) -> GradeReport:
    """Grade an episode's trace. Pure: the same task and trace give the same report."""
    return grade_events(task, trace.events)


def step_rewards(task: SupportTaskSpec, trace: Trace) -> list[float]:
    """Reward of turn k = grade up to the end of turn k minus grade up to turn k-1.

    The grade before the first turn counts as 0, so the rewards sum to the score. An
    episode that ended before its first turn gets one reward: its score.
    """
    accumulator = GradeAccumulator(task)
    rewards: list[float] = []
    previous = 0.0
    started = False
    for event in trace.events:
        if event.kind == "turn" and started and not accumulator.ended:
            score = accumulator.report_data()["score"]
            rewards.append(score - previous)
            previous = score
        if event.kind == "turn":
            started = True
        accumulator.feed(event)
    # The last turn's reward; with no turn at all (the agent failed before its first),
    # one reward carries the whole score, so the rewards still sum to it.
    rewards.append(accumulator.report_data()["score"] - previous)
    return rewards
