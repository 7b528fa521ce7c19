"""An episode's page: its timeline beside the grade report, from a trace and its task.

:func:`episode_view` gathers what the page shows, all of it recomputed from the trace
and the task — the grade (:func:`sim.grading.grade`) and each turn's step reward
(:func:`sim.grading.step_rewards`), as ``run_sim.py grade`` would give them today —
plus what the trace stored (the termination, and the score as stored, shown when it
differs from the re-grade). :func:`episode_page` renders it.

Everything a trace holds is untrusted text (an agent wrote it): it goes to the
template as plain strings, which the template escapes, with secrets redacted
(:mod:`sim.secrets`) as in every other output. Grade reasons that name events
("the reply at event 12") become links to those events, and those events' marks are
ringed on the timeline: the page shows what caused each penalty.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import attrs

from actors.report.render import render
from actors.report.timeline import Timeline, lane_of, layout_timeline, legend
from sim.grading import grade, step_rewards
from sim.secrets import redact
from sim.trace import Trace, TraceEvent
from sim.transcript import describe_event, sla_countdown
from tasks.base import SupportTaskSpec

__all__ = [
    "CriterionRow",
    "EpisodeView",
    "EventRow",
    "PenaltyRow",
    "ReasonPart",
    "TurnRow",
    "clock",
    "episode_page",
    "episode_view",
    "reason_parts",
]

#: Hover text is cut here (the event list below the timeline holds the whole text).
TITLE_CHARS = 600
#: "event 12", "events 3, 5, 7", "(turn 2, event 5)": the grader's way to name events.
_EVENT_REFS = re.compile(r"\b(events?) (\d+(?:, \d+)*)")
_INVALID_KINDS = frozenset({"invalid_operation", "invalid_turn"})


@attrs.frozen
class ReasonPart:
    """A piece of a grader's reason: text, or an event it names (``seq``)."""

    text: str
    seq: int | None = None


def reason_parts(reason: str, known: frozenset[int]) -> tuple[ReasonPart, ...]:
    """``reason`` split so that each event number it names (and the trace holds) is a
    part of its own, for a link."""
    parts: list[ReasonPart] = []
    at = 0
    for found in _EVENT_REFS.finditer(reason):
        numbers = found.group(2)
        start = found.start(2)
        parts.append(ReasonPart(reason[at:start]))
        offset = start
        for piece in re.finditer(r"\d+", numbers):
            seq = int(piece.group())
            parts.append(ReasonPart(reason[offset:start + piece.start()]))
            parts.append(ReasonPart(piece.group(), seq if seq in known else None))
            offset = start + piece.end()
        at = offset
    parts.append(ReasonPart(reason[at:]))
    return tuple(part for part in parts if part.text)


def clock(seconds: int) -> str:
    """Simulated time as ``12m05s`` (hours as minutes: an SLA is counted in minutes)."""
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    return f"{sign}{seconds // 60}m{seconds % 60:02d}s"


@attrs.frozen
class EventRow:
    seq: int
    t: int
    time: str
    actor: str
    lane: str
    kind: str
    turn: int | None
    text: str
    invalid: bool
    penalised: bool


@attrs.frozen
class TurnRow:
    turn: int
    seq: int
    time: str
    sla: str
    reward: float | None
    cumulative: float | None
    operations: int
    invalid: int


@attrs.frozen
class CriterionRow:
    name: str
    weight: float
    effective_weight: float
    applies: bool
    value: float | None
    #: What it adds to the weighted score (effective weight × value).
    contribution: float | None
    reason: tuple[ReasonPart, ...]


@attrs.frozen
class PenaltyRow:
    name: str
    amount: float
    reason: tuple[ReasonPart, ...]
    #: The events that caused it, as far as the reason names them.
    causes: tuple[int, ...]


@attrs.frozen
class EpisodeView:
    """Everything the episode page shows, computed; the template only lays it out."""

    source: str
    task_id: str
    title: str
    objective: str
    family: str | None
    seed: int
    agent: str
    persona: str
    faults: tuple[str, ...]
    privileged: bool
    code_version: str
    ticket: tuple[tuple[str, str], ...]
    ticket_subject: str
    ticket_body: str
    score: float
    weighted_score: float
    stored_score: float | None
    termination: str | None
    error: str | None
    steps: int | None
    sim_minutes: int | None
    sla_breached: bool
    sla_minutes: int
    invalid_operations: int
    premature: bool
    criteria: tuple[CriterionRow, ...]
    penalties: tuple[PenaltyRow, ...]
    dropped: tuple[str, ...]
    events: tuple[EventRow, ...]
    turns: tuple[TurnRow, ...]
    reward_total: float
    timeline: Timeline
    kinds_seen: tuple[str, ...]


def _text(event: TraceEvent) -> str:
    return redact(describe_event(event.kind, event.payload))


def _title(event: TraceEvent, text: str) -> str:
    head = f"{clock(event.t)} · {event.actor} · {event.kind} (event {event.seq})"
    body = text if len(text) <= TITLE_CHARS else text[:TITLE_CHARS - 1] + "…"
    return redact(f"{head}\n{body}")


def _turn_of_events(events: Sequence[TraceEvent]) -> list[int | None]:
    """Each event's turn: an agent event names its own; others happen in the latest."""
    current: int | None = None
    turns: list[int | None] = []
    for event in events:
        named = event.payload.get("turn")
        if event.kind == "turn" and isinstance(named, int):
            current = named
        turns.append(named if isinstance(named, int) and event.actor == "agent" else current)
    return turns


def episode_view(trace: Trace, task: SupportTaskSpec, *, source: str = "trace") -> EpisodeView:
    """What the page shows of ``trace`` (an episode of ``task``); ``source`` names the
    file in the page. Raises :class:`sim.grading.ImpossibleTraceError` for a trace no
    episode could have written."""
    report = grade(task, trace)
    rewards = step_rewards(task, trace)
    events = trace.events
    known = frozenset(e.seq for e in events)

    penalties = tuple(
        PenaltyRow(name=p.name, amount=p.amount, reason=parts,
                   causes=tuple(dict.fromkeys(part.seq for part in parts
                                              if part.seq is not None)))
        for p in report.penalties
        for parts in (reason_parts(redact(p.reason), known),))
    penalised = frozenset(seq for p in penalties for seq in p.causes)
    criteria = tuple(
        CriterionRow(name=c.name, weight=c.weight, effective_weight=c.effective_weight,
                     applies=c.applies, value=c.value,
                     contribution=None if c.value is None else c.effective_weight * c.value,
                     reason=reason_parts(redact(c.reason), known))
        for c in report.criteria)

    texts = {e.seq: _text(e) for e in events}
    turn_of = _turn_of_events(events)
    rows = tuple(
        EventRow(seq=e.seq, t=e.t, time=clock(e.t), actor=redact(e.actor),
                 lane=lane_of(e.actor), kind=redact(e.kind), turn=turn, text=texts[e.seq],
                 invalid=e.kind in _INVALID_KINDS, penalised=e.seq in penalised)
        for e, turn in zip(events, turn_of, strict=True))

    turn_events = [e for e in events if e.kind == "turn"]
    turn_rows: list[TurnRow] = []
    cumulative = 0.0
    for index, event in enumerate(turn_events):
        reward = rewards[index] if index < len(rewards) else None
        if reward is not None:
            cumulative += reward
        number = event.payload.get("turn")
        number = number if isinstance(number, int) else index + 1
        in_turn = [r for r in rows if r.turn == number and r.actor == "agent"]
        turn_rows.append(TurnRow(
            turn=number, seq=event.seq, time=clock(event.t),
            sla=sla_countdown(task.sla_deadline_seconds, event.t), reward=reward,
            cumulative=None if reward is None else cumulative,
            operations=sum(r.kind == "operation" for r in in_turn),
            invalid=sum(r.invalid for r in in_turn)))

    timeline = layout_timeline(
        events, titles={e.seq: _title(e, texts[e.seq]) for e in events},
        sla_deadline_seconds=task.sla_deadline_seconds, rewards=rewards, penalised=penalised)
    header = trace.header
    result = trace.result
    ticket = task.ticket
    return EpisodeView(
        source=redact(source), task_id=redact(header.task_id), title=redact(task.title),
        objective=redact(task.objective),
        family=None if header.family is None else redact(header.family), seed=header.seed,
        agent=redact(header.agent), persona=redact(header.persona),
        faults=tuple(redact(f) for f in header.faults), privileged=header.privileged,
        code_version=redact(header.code_version),
        ticket=tuple((name, redact(str(value))) for name, value in (
            ("customer", ticket.customer_name), ("company", ticket.company),
            ("tier", ticket.customer_tier), ("region", ticket.region),
            ("affected users", ticket.affected_users),
            ("SLA", f"{ticket.sla_minutes_remaining} min"))),
        ticket_subject=redact(ticket.subject), ticket_body=redact(ticket.body),
        score=report.score, weighted_score=report.weighted_score,
        stored_score=None if result is None else result.score,
        termination=None if result is None else redact(result.termination_reason),
        error=None if result is None or result.error is None else redact(result.error),
        steps=None if result is None else result.steps,
        sim_minutes=None if result is None else result.sim_minutes,
        sla_breached=report.sla_breached, sla_minutes=ticket.sla_minutes_remaining,
        invalid_operations=report.invalid_operations, premature=report.premature_status,
        criteria=criteria, penalties=penalties, dropped=report.dropped, events=rows,
        turns=tuple(turn_rows), reward_total=sum(rewards), timeline=timeline,
        kinds_seen=tuple(sorted({m.shape for m in timeline.marks})))


def episode_page(trace: Trace, task: SupportTaskSpec, *, source: str = "trace") -> str:
    """The episode's page: one self-contained HTML document (see :func:`episode_view`)."""
    return render("episode.html", view=episode_view(trace, task, source=source),
                  legend=legend())
