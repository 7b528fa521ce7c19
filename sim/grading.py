"""The grader (version 2): a pure function of a task and a trace.

:class:`GradeAccumulator` folds a trace's events one at a time and can report the
grade of the prefix it has seen at any point, so :func:`grade` (the whole trace)
and :func:`step_rewards` (the grade after each turn, differenced) share one pass.

Scoring (SPEC §4): each criterion has a weight; which criteria apply, and the gold
they compare with, follow from the *world* alone (a :class:`~sim.outlook.WorldOutlook`
in the trace's header), never from what the agent did. Criteria that do not apply are
dropped and the others renormalised, and the report says which and why. Penalties
are subtracted after weighting and the score is floored at 0.

Every rule here answers a way to game the score: ending early (*premature*: status,
resolution code and SLA count for nothing), asking without receiving (*fields
collected*), relaying nothing (*kept informed* needs the update's facts), paging every
queue (a penalty per wrong queue), leaking internal text, stuffing replies with text
the agent was shown (no marker credit), and spamming (a penalty per reply beyond what
the conversation called for).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import attrs

from sim.grade_report import CriterionResult, GradeReport, Penalty
from sim.markers import group_met, groups_met
from sim.messages import AGENT, TEAM_PREFIX
from sim.operations import MAX_NOTE_CHARS, MAX_REPLY_CHARS, parse_operation
from sim.outlook import WorldOutlook, outlook_as_written
from sim.spec import (
    AGENT_FAILURES,
    CRITERIA_WEIGHTS,
    CUSTOMER_MESSAGE_KINDS,
    FORBIDDEN_MARKER_PENALTY,
    GRADING_VERSION,
    INVALID_OPERATION_PENALTY,
    INVALID_OPERATION_PENALTY_CAP,
    LATE_ESCALATION_CREDIT,
    LEAK_PENALTY,
    LEAK_PENALTY_CAP,
    OVER_ESCALATION_PENALTY,
    SPAM_ALLOWANCE,
    SPAM_PENALTY,
    SPAM_PENALTY_CAP,
    TURN_EVENT_KINDS,
    WRONG_QUEUE_FIRST_SHARE,
    WRONG_QUEUE_PENALTY,
)
from sim.task_memo import per_task
from sim.text_checks import (
    COPY_THRESHOLD,
    copied_from_task,
    copied_words,
    internal_ids,
    leaked_terms,
    seen_units,
    update_facts,
)
from sim.ticket import TicketState, apply_operation
from sim.trace import Trace, TraceEvent
from tasks.base import TERMINAL_STATUSES, SupportTaskSpec

__all__ = [
    "CriterionResult",
    "GradeAccumulator",
    "GradeReport",
    "ImpossibleTraceError",
    "Penalty",
    "grade",
    "grade_events",
    "step_rewards",
]

#: The payload :meth:`GradeAccumulator.fold_operation` passes on: never read.
_UNREAD: dict[str, Any] = {}
_LEAKS_PENALISED = round(LEAK_PENALTY_CAP / LEAK_PENALTY)
_DIGITS = 12


class ImpossibleTraceError(ValueError):
    """A trace that no episode could have written (events out of order, duplicate
    sequence numbers, negative times, skipped turns); ``str(error)`` is one line."""


def _f1(given: Iterable[str], gold: Iterable[str]) -> float:
    given_set, gold_set = set(given), set(gold)
    if not gold_set:
        return 1.0 if not given_set else 0.0
    hits = len(given_set & gold_set)
    if not hits:
        return 0.0
    precision, recall = hits / len(given_set), hits / len(gold_set)
    return 2 * precision * recall / (precision + recall)


def _names(values: Iterable[str]) -> str:
    return ", ".join(sorted(values)) or "none"


def _groups(groups: Iterable[tuple[str, ...]]) -> str:
    return "; ".join(" + ".join(group) for group in groups) or "none"


_default_outlook = per_task(outlook_as_written)


@per_task
def _task_texts(task: SupportTaskSpec) -> tuple[frozenset[tuple[str, ...]], tuple[str, ...]]:
    """(the shingles of what every agent is shown — ticket and knowledge base — and the
    task's internal-only terms)."""
    ticket = task.ticket
    parts = [ticket.subject, ticket.body, task.title, task.objective]
    for article in task.knowledge_base:
        parts += (article.title, article.content)
    seen: frozenset[tuple[str, ...]] = frozenset().union(*(seen_units(p) for p in parts))
    catalog = task.catalog
    internal = (*internal_ids(catalog.queues), *internal_ids(catalog.risk_flags),
                *internal_ids(catalog.resolution_codes), *task.internal_terms)
    return seen, tuple(dict.fromkeys(internal))


@attrs.define(slots=True)
class GradeAccumulator:
    """The grader's state after some prefix of a trace; feed events in order.

    ``outlook`` is the episode's world (default: the task as written, cooperative and
    fault-free). Feeding an event that no episode could have written raises
    :class:`ImpossibleTraceError`.
    """

    task: SupportTaskSpec
    outlook: WorldOutlook = attrs.field(
        default=attrs.Factory(lambda self: _default_outlook(self.task), takes_self=True)
    )
    ticket: TicketState = attrs.field(factory=TicketState)
    turn: int = 0
    ended: bool = False
    next_seq: int = 0
    last_t: int = 0
    invalid_seqs: list[int] = attrs.field(factory=list)
    #: field -> time it was first asked for (structured, in a reply).
    requested: dict[str, int] = attrs.field(factory=dict)
    chased: dict[str, None] = attrs.field(factory=dict)
    received: dict[str, None] = attrs.field(factory=dict)
    premature: bool = False
    premature_why: str = ""
    #: What ends the episode in the turn being applied (``finish``, a resolved or closed
    #: status), judged premature or not when the turn is over: every operation of a turn
    #: happens at the same instant, so a chase after the ``finish`` in it still counts.
    ending: str | None = None
    #: group index -> seq of the first reply (note) that met it.
    reply_groups: dict[int, int] = attrs.field(factory=dict)
    note_groups: dict[int, int] = attrs.field(factory=dict)
    forbidden: list[tuple[int, int]] = attrs.field(factory=list)
    leaks: list[tuple[int, tuple[str, ...]]] = attrs.field(factory=list)
    reply_seqs: list[int] = attrs.field(factory=list)
    customer_messages: int = 0
    team_updates: int = 0
    #: (queue, turn, seq) of every escalation, in order.
    escalations: list[tuple[str, int, int]] = attrs.field(factory=list)
    last_update_seq: int = -1
    last_update_facts: tuple[str, ...] = ()
    informed_seq: int = -1
    #: Shingles of messages the agent was sent (team texts, customer values).
    #: Texts the agent was sent (team and customer messages, errors), for the copy rule:
    #: kept as they are and cut into units only when a reply meets a marker group.
    seen_messages: list[str] | None = None
    sla_snapshot: bool | None = None
    replies_by_deadline: int = 0
    #: Why the episode cannot be graded at all (its score is then 0), if it cannot.
    voided: str | None = None

    # -- folding ------------------------------------------------------------------
    def feed(self, event: TraceEvent, operation: Any = None) -> None:
        """Fold one event. A live run passes the ``operation`` it already parsed for an
        ``operation`` event, which spares parsing the payload again (same result)."""
        self.fold(event.t, event.seq, event.actor, event.kind, event.payload, operation)

    def fold(self, t: int, seq: int, actor: str, kind: str, payload: dict[str, Any],
             operation: Any = None) -> None:
        """:meth:`feed` for an event given by its parts (a live episode's recorder keeps
        no :class:`TraceEvent` until the episode ends)."""
        if seq != self.next_seq or t < self.last_t or t < 0:
            raise ImpossibleTraceError(
                f"event seq {seq!r} at t={t!r}: expected seq {self.next_seq} at t >= "
                f"{self.last_t}; allowed: events in order, numbered from 0, times never "
                "going back"
            )
        self.next_seq, self.last_t = seq + 1, t
        if self.ended:
            return  # nothing after the end changes anything
        if self.ending is not None and kind not in TURN_EVENT_KINDS:
            self._check_premature(self.ending)
            self.ending = None
        task = self.task
        if self.sla_snapshot is None and t > task.sla_deadline_seconds:
            self.sla_snapshot = self._sla_met_now()
        if kind == "operation":  # the most common kind first
            self._operation(t, seq, payload, operation)
        elif kind == "turn":
            turn = payload.get("turn")
            if turn != self.turn + 1 or type(turn) is not int:
                raise ImpossibleTraceError(
                    f"event seq {seq}: turn {turn!r} after turn {self.turn}; allowed: "
                    f"turn {self.turn + 1}"
                )
            self.turn = turn
        elif kind == "invalid_operation":
            self.invalid_seqs.append(seq)
            self._saw(payload.get("error"))  # the agent is shown the error
        elif kind == "invalid_turn":
            rejected = payload.get("rejected")
            count = rejected if type(rejected) is int and 1 <= rejected <= 10_000 else 1
            self.invalid_seqs.extend([seq] * count)
            self._saw(payload.get("error"))
        elif kind in CUSTOMER_MESSAGE_KINDS:
            self.customer_messages += 1
            if kind == "customer_answer":
                self._answer(payload)
            else:
                self._saw(payload.get("text"))
        elif kind == "team_update":
            self.team_updates += 1
            text = payload.get("text")
            self._saw(text)
            if actor == TEAM_PREFIX + task.gold_queue:
                self.last_update_seq = seq
                text = text if isinstance(text, str) else ""
                self.last_update_facts = (
                    task.update_markers
                    if task.update_markers and text == task.follow_up_message
                    else update_facts(text)
                )
        elif kind in ("team_ack", "team_bounce"):
            self._saw(payload.get("text"))
            if kind == "team_bounce":
                self.ticket.bounce(str(payload.get("queue")))
        elif kind == "end":
            reason = payload.get("reason")
            if reason in AGENT_FAILURES:  # an agent that fails has reached nothing either
                self._check_premature(f"the episode ended with {reason}")
            self.ended = True

    def fold_operation(self, t: int, seq: int, operation: Any) -> None:
        """:meth:`fold` for an ``operation`` event of the agent's that the caller has
        already parsed (a live episode): the same result, without reading a payload."""
        self.fold(t, seq, AGENT, "operation", _UNREAD, operation)

    def void(self, reason: str) -> None:
        """Score the episode 0 whatever it did (a penalty of its whole weighted score)."""
        self.voided = reason

    def _saw(self, text: Any) -> None:
        if isinstance(text, str):
            if self.seen_messages is None:
                self.seen_messages = []
            self.seen_messages.append(text)

    def _sla_met_now(self) -> bool:
        return not self._premature_now() and self.outlook.sla_met(
            self.task, replied=self.replies_by_deadline > 0, status=self._effective_status())

    def _effective_status(self) -> str:
        return self.ticket.effective_status(self.task.gold_queue)

    def _settled(self, field: str) -> bool:
        """Whether ``field`` is collected: received right, or, where the world never
        delivers it, asked for and chased (asked, where no chase is possible)."""
        if field in self.received:
            return True
        outlook = self.outlook
        return (field in outlook.undelivered and field in self.requested
                and (field in self.chased or not outlook.chase_possible))

    def _missing(self) -> list[str]:
        return [f for f in self.task.required_requested_fields if not self._settled(f)]

    def _check_premature(self, what: str) -> None:
        if self.premature:
            return
        missing = self._missing()
        if missing:
            self.premature = True
            self.premature_why = (f"{what} at turn {self.turn} before {_names(missing)} "
                                  "was collected")

    def _premature_now(self) -> bool:
        """Premature, counting an ending in the turn being applied (a prefix cut there)."""
        return self.premature or (self.ending is not None and bool(self._missing()))

    def _premature_reason(self) -> str:
        if self.premature or self.ending is None:
            return self.premature_why
        return (f"{self.ending} at turn {self.turn} before {_names(self._missing())} "
                "was collected")

    def _operation(self, t: int, seq: int, payload: dict[str, Any], operation: Any) -> None:
        if operation is None:
            operation, error, _ = parse_operation(payload.get("op"))
            if operation is None or error is not None:
                self.invalid_seqs.append(seq)
                return
        task = self.task
        kind = operation.op
        if self.ending is None:
            if kind == "set_status" and operation.status in TERMINAL_STATUSES:
                self.ending = f"status {operation.status!r} set"
            elif kind == "finish":
                self.ending = "the episode was finished"
        apply_operation(self.ticket, operation)
        if kind == "reply":
            self._reply(t, seq, operation.message, operation.request_fields)
        elif kind == "note" and len(operation.text) <= MAX_NOTE_CHARS:
            met = groups_met(operation.text, task.required_note_markers)
            if met and not self._copied(operation.text):
                for index in met:
                    self.note_groups.setdefault(index, seq)
        elif kind == "escalate":
            self.escalations.append((operation.queue, self.turn, seq))

    def _copied(self, text: str) -> bool:
        seen, _ = _task_texts(self.task)
        if self.seen_messages is None:  # the common case, and the same for every episode
            share = copied_from_task(text, seen)
        else:
            share = copied_words(text, (seen, *map(seen_units, self.seen_messages)))
        return share > COPY_THRESHOLD

    def _reply(self, t: int, seq: int, message: str, request_fields: Iterable[str]) -> None:
        task = self.task
        if len(message) > MAX_REPLY_CHARS:
            return  # invalid already; kept for a trace edited by hand
        self.reply_seqs.append(seq)
        if t <= task.sla_deadline_seconds:
            self.replies_by_deadline += 1
        delay = self.outlook.answer_delay_seconds
        for field in request_fields:
            first = self.requested.setdefault(field, t)
            if t >= first + delay and t > first:
                self.chased[field] = None
        leaked = leaked_terms(message, _task_texts(task)[1])
        if leaked:
            self.leaks.append((seq, leaked))
        for index in groups_met(message, task.forbidden_reply_markers):
            self.forbidden.append((index, seq))
        if leaked:
            return  # a leaking reply counts for nothing
        if self.last_update_seq >= 0 and group_met(message, self.last_update_facts):
            self.informed_seq = self.last_update_seq
        met = groups_met(message, task.required_reply_markers)
        if met and not self._copied(message):
            for index in met:
                self.reply_groups.setdefault(index, seq)

    def _answer(self, payload: dict[str, Any]) -> None:
        fields = payload.get("fields")
        if not isinstance(fields, dict):
            return
        for name, answer in fields.items():
            if not isinstance(answer, dict):
                continue
            value = answer.get("value")
            if isinstance(value, str):
                self._saw(value)
            if answer.get("status") == "correct" and name in self.requested:
                self.received[name] = None

    # -- reporting ----------------------------------------------------------------
    def report(self) -> GradeReport:
        """The grade of the events fed so far."""
        return GradeReport.model_validate(self.report_data())

    def report_data(self) -> dict[str, Any]:
        """:meth:`report` as JSON-ready data (what ``report().model_dump(mode="json")``
        gives), without building the models: the live episode's fast path."""
        task = self.task
        values, sla_met = self._values()
        reasons = self._reasons(values, sla_met)
        total, weighted, score, laid_out = self._scored(values)
        penalties = [{"name": name, "amount": amount, "reason": reason}
                     for name, amount, reason in laid_out]
        criteria: list[dict[str, Any]] = []
        for name, weight in CRITERIA_WEIGHTS.items():
            value = values[name]
            criteria.append({
                "name": name, "weight": weight,
                "effective_weight": weight / total if value is not None else 0.0,
                "applies": value is not None, "value": value, "reason": reasons[name],
            })
        return {
            "task_id": task.task_id, "score": score, "weighted_score": weighted,
            "criteria": criteria, "penalties": penalties,
            "dropped": [n for n in CRITERIA_WEIGHTS if values[n] is None],
            "sla_breached": not sla_met, "invalid_operations": len(self.invalid_seqs),
            "premature_status": self._premature_now(), "grading_version": GRADING_VERSION,
        }

    def summary(self) -> tuple[float, dict[str, float | None], bool]:
        """(score, criterion -> value, sla_breached): the figures of :meth:`report_data`
        an episode's result carries, without the report's reasons laid out."""
        values, sla_met = self._values()
        return self._scored(values)[2], values, not sla_met

    def _values(self) -> tuple[dict[str, float | None], bool]:
        """Each criterion's value, ``None`` where it does not apply (in the order of
        :data:`CRITERIA_WEIGHTS`); and whether the SLA was met. The reasons are
        :meth:`_reasons`: a run that only wants scores never lays them out."""
        task, ticket, outlook = self.task, self.ticket, self.outlook
        premature = self._premature_now()
        required = task.required_requested_fields
        bad = outlook.first_answer_bad
        sla_met = self.sla_snapshot if self.sla_snapshot is not None else self._sla_met_now()
        sla_met = sla_met and not premature
        reply_groups, note_groups = task.required_reply_markers, task.required_note_markers
        values: dict[str, float | None] = {
            "queue": 1.0 if ticket.queue == task.gold_queue else 0.0,
            "priority": 1.0 if ticket.priority == task.gold_priority else 0.0,
            "issue_type": 1.0 if ticket.issue_type == task.gold_issue_type else 0.0,
            "status": 1.0 if (self._effective_status() == outlook.adjusted_gold_status(task)
                              and not premature) else 0.0,
            "resolution_code": (
                None if not outlook.resolution_code_applies(task)
                else 1.0 if ticket.resolution_code == task.gold_resolution_code and not premature
                else 0.0),
            "fields_collected": _f1(
                [*(f for f in required if self._settled(f)),
                 *(f for f in self.requested if f not in required)], required),
            "follow_up_handling": _f1(self.chased, bad) if bad and outlook.chase_possible
            else None,
            "reply_markers": len(self.reply_groups) / len(reply_groups) if reply_groups
            else None,
            "kept_informed": self._kept_informed(),
            "note_markers": len(self.note_groups) / len(note_groups) if note_groups else None,
            "risk_flags": _f1(ticket.risk_flags, task.risk_flags),
            "escalation": self._escalation(),
            "sla": (1.0 if sla_met else 0.0) if outlook.sla_reachable else None,
        }
        return values, sla_met

    def _kept_informed(self) -> float | None:
        if not self.task.needs_escalation or not self.outlook.update_relayable:
            return None
        if self.last_update_seq >= 0 and self.informed_seq == self.last_update_seq:
            return 1.0
        return 0.0

    def _escalation(self) -> float:
        task, escalations = self.task, self.escalations
        if not task.needs_escalation:
            return 0.0 if escalations else 1.0
        turns = [turn for queue, turn, _ in escalations if queue == task.gold_queue]
        if not turns:
            return 0.0
        deadline = task.under_escalation_deadline_step or task.max_steps
        credit = 1.0 if turns[0] <= deadline else LATE_ESCALATION_CREDIT
        return credit if escalations[0][0] == task.gold_queue else credit * WRONG_QUEUE_FIRST_SHARE

    def _reasons(self, values: dict[str, float | None], sla_met: bool) -> dict[str, str]:
        """Why each criterion has its value (or does not apply)."""
        task, ticket, outlook = self.task, self.ticket, self.outlook
        gold_status = outlook.adjusted_gold_status(task)
        reasons: dict[str, str] = {}
        for name, final, gold in (
            ("queue", ticket.queue, task.gold_queue),
            ("priority", ticket.priority, task.gold_priority),
            ("issue_type", ticket.issue_type, task.gold_issue_type),
            ("status", self._effective_status(), gold_status),
            ("resolution_code", ticket.resolution_code, task.gold_resolution_code),
        ):
            if values[name] is None:
                reasons[name] = (f"the world never delivers {_names(outlook.undelivered)}, "
                                 f"so the gold status is {gold_status!r}")
            elif final != gold:
                reasons[name] = f"final {name} {final!r}, gold {gold!r}"
            elif values[name] == 0.0:
                reasons[name] = f"premature: {self._premature_reason()}"
            else:
                reasons[name] = f"final {name} {final!r} is gold"
        required = task.required_requested_fields
        collected = [f for f in required if self._settled(f)]
        reasons["fields_collected"] = (f"collected {_names(collected)}; asked for "
                                       f"{_names(self.requested)}; required {_names(required)}")
        bad = outlook.first_answer_bad
        if values["follow_up_handling"] is not None:
            reasons["follow_up_handling"] = (
                f"chased {_names(self.chased)} after the answer was due; missing or wrong "
                f"after the first answer {_names(bad)}")
        elif bad:
            reasons["follow_up_handling"] = "no turn comes late enough to chase"
        else:
            reasons["follow_up_handling"] = "the world leaves no required field missing or wrong"
        for name, groups, met, channel in (
            ("reply_markers", task.required_reply_markers, self.reply_groups, "public reply"),
            ("note_markers", task.required_note_markers, self.note_groups, "internal note"),
        ):
            if groups:
                reasons[name] = (
                    f"{len(met)} of {len(groups)} groups met by a single {channel}; met: "
                    f"{_groups(g for i, g in enumerate(groups) if i in met)}; missed: "
                    f"{_groups(g for i, g in enumerate(groups) if i not in met)}")
            else:
                reasons[name] = f"the task has no {name.replace('_', ' ')}"
        reasons["kept_informed"] = self._kept_informed_reason(values["kept_informed"])
        reasons["risk_flags"] = (f"raised {_names(ticket.risk_flags)}; required "
                                 f"{_names(task.risk_flags)}")
        reasons["escalation"] = self._escalation_reason()
        if values["sla"] is None:
            reasons["sla"] = "no agent can meet the SLA in this world"
        elif sla_met:
            reasons["sla"] = "met"
        else:
            reasons["sla"] = (f"a public reply and the gold status {gold_status!r}, reached "
                              "legitimately, were not both in place by the deadline")
        return reasons

    def _kept_informed_reason(self, value: float | None) -> str:
        task = self.task
        if not task.needs_escalation:
            return "no escalation to the gold queue is needed"
        if value is None:
            return f"no update from {task.gold_queue} can arrive in time in this world"
        if self.last_update_seq < 0:
            return f"no update from {task.gold_queue} arrived"
        facts = _names(self.last_update_facts)
        if value == 1.0:
            return f"a public reply after the team's latest update carried {facts}"
        return f"no public reply after the team's latest update carried its facts ({facts})"

    def _penalties(self) -> list[tuple[str, float, str]]:
        task = self.task
        penalties: list[tuple[str, float, str]] = []
        if self.invalid_seqs:
            count = len(self.invalid_seqs)
            penalties.append((
                "invalid_operations",
                min(INVALID_OPERATION_PENALTY * count, INVALID_OPERATION_PENALTY_CAP),
                f"{count} invalid operation(s), events {_seqs(self.invalid_seqs)}",
            ))
        for queue, turn, seq in self.escalations:
            if queue in task.over_escalation_queues:
                penalties.append(("over_escalation", OVER_ESCALATION_PENALTY,
                                  f"escalated to {queue}, which must not get it "
                                  f"(turn {turn}, event {seq})"))
            elif queue != task.gold_queue:
                penalties.append(("wrong_queue", WRONG_QUEUE_PENALTY,
                                  f"escalated to {queue} (turn {turn}, event {seq})"))
        for index, seq in self.forbidden:
            penalties.append(("forbidden_reply", FORBIDDEN_MARKER_PENALTY,
                              f"the reply at event {seq} said "
                              f"{' + '.join(task.forbidden_reply_markers[index])}"))
        for seq, terms in self.leaks[:_LEAKS_PENALISED]:
            penalties.append(("leak", LEAK_PENALTY, f"the reply at event {seq} showed the "
                              f"customer internal text: {', '.join(terms)}"))
        allowance = self.customer_messages + self.team_updates + SPAM_ALLOWANCE
        extra = self.reply_seqs[allowance:]
        if extra:
            penalties.append((
                "spam", min(SPAM_PENALTY * len(extra), SPAM_PENALTY_CAP),
                f"{len(self.reply_seqs)} public replies where {self.customer_messages} "
                f"customer message(s) and {self.team_updates} team update(s) called for at "
                f"most {allowance}; beyond them: events {_seqs(extra)}",
            ))
        return penalties

    def _scored(self, values: dict[str, float | None]
                ) -> tuple[float, float, float, list[tuple[str, float, str]]]:
        """(total weight that applies, weighted score, score, penalties)."""
        laid_out = self._penalties()
        total, weighted, score = self._score(values, [amount for _, amount, _ in laid_out])
        if self.voided is not None and score > 0:
            laid_out.append(("void", score, self.voided))
            score = 0.0
        return total, weighted, score, laid_out

    @staticmethod
    def _score(values: dict[str, float | None],
               amounts: list[float]) -> tuple[float, float, float]:
        """(total weight that applies, weighted score, score after penalties)."""
        total = sum(CRITERIA_WEIGHTS[n] for n, v in values.items() if v is not None)
        parts = [CRITERIA_WEIGHTS[n] * v for n, v in values.items() if v is not None]
        # Rounded so that a perfect episode scores exactly 1.0 despite float sums.
        weighted = round(math.fsum(parts) / total, _DIGITS)
        score = round(min(1.0, max(0.0, weighted - math.fsum(amounts))), _DIGITS)
        return total, weighted, score

    def _escalation_reason(self) -> str:
        task = self.task
        escalations = self.escalations
        if not task.needs_escalation:
            return ("no escalation needed, none made" if not escalations
                    else f"{len(escalations)} escalation(s) made; none was needed")
        gold = task.gold_queue
        deadline = task.under_escalation_deadline_step or task.max_steps
        turns = [turn for queue, turn, _ in escalations if queue == gold]
        if not turns:
            return f"never escalated to {gold}" + (
                f" (paged {_names({q for q, _, _ in escalations})} instead)" if escalations
                else "")
        timing = (f"by turn {deadline}" if turns[0] <= deadline
                  else f"at turn {turns[0]}, after the deadline turn {deadline}")
        if escalations[0][0] != gold:
            return (f"escalated to {gold} {timing}, but only after paging "
                    f"{escalations[0][0]} first")
        return f"escalated to {gold} {timing}"


def _seqs(seqs: list[int]) -> str:
    shown = ", ".join(str(s) for s in seqs[:10])
    return shown + (f" and {len(seqs) - 10} more" if len(seqs) > 10 else "")


def _outlook_of(task: SupportTaskSpec, trace: Trace) -> WorldOutlook:
    world = trace.header.world
    return world if isinstance(world, WorldOutlook) else _default_outlook(task)


def grade_events(task: SupportTaskSpec, events: Iterable[TraceEvent],
                 outlook: WorldOutlook | None = None) -> GradeReport:
    """The grade of a sequence of events (a whole trace or any prefix of one) played
    in the world ``outlook`` describes (default: the task as written)."""
    accumulator = GradeAccumulator(task, outlook or _default_outlook(task))
    for event in events:
        accumulator.feed(event)
    return accumulator.report()


def grade(task: SupportTaskSpec, trace: Trace) -> GradeReport:
    """Grade an episode's trace. Pure: the same task and trace give the same report.

    Raises :class:`ImpossibleTraceError` for a trace no episode could have written.
    """
    return grade_events(task, trace.events, _outlook_of(task, trace))


def step_rewards(task: SupportTaskSpec, trace: Trace) -> list[float]:
    """Reward of turn k = grade up to the end of turn k minus grade up to turn k-1.

    The grade before the first turn counts as 0, so the rewards sum to the score. An
    episode that ended before its first turn gets one reward: its score.
    """
    accumulator = GradeAccumulator(task, _outlook_of(task, trace))
    rewards: list[float] = []
    previous = 0.0
    started = False
    for event in trace.events:
        if event.kind == "turn" and started and not accumulator.ended:
            score = accumulator.summary()[0]
            rewards.append(score - previous)
            previous = score
        if event.kind == "turn":
            started = True
        accumulator.feed(event)
    # The last turn's reward; with no turn at all (the agent failed before its first),
    # one reward carries the whole score, so the rewards still sum to it.
    rewards.append(accumulator.summary()[0] - previous)
    return rewards
