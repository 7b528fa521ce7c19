"""Helpers shared by the grader's tests: play a script, build a trace by hand, read a report.

:func:`play` plays a short script through the real simulator (standard world, the task's
own persona unless told otherwise), grades its trace, and checks the report's arithmetic
on the way, so every example is also a check of the arithmetic. :func:`events_of` builds a
trace event by event, for what no agent could make happen.

Timelines the tests rely on (minutes):
- api_incident_hard: turns at 0, 20, 40, 60, ... 140 (8 turns); the customer answers 10
  minutes after a request (partial: request_ids and time_window right, regions missing,
  payload_sample wrong; a second request is answered right); the platform team
  acknowledges 5 minutes after the escalation and sends its update ("ETA 20 minutes")
  30 minutes after it (the eta_slips fault: a second update 20 minutes later); the
  escalation deadline is turn 3; the SLA deadline minute 90.
- duplicate_charge_easy, password_reset_easy: turns every 15 minutes, answers (complete)
  10 minutes after a request; gold status resolved, no escalation.
"""

from __future__ import annotations

from typing import Any

import episode_helpers

from actors.world import StandardWorld
from sim.episode import EpisodeResult
from sim.grading import GradeReport, grade
from sim.testing import check_report_arithmetic, replay
from sim.trace import TraceEvent
from tasks import SupportTaskSpec, discover_tasks

TASKS = discover_tasks()


# --------------------------------------------------------------------------- playing


def play(task_id: str | SupportTaskSpec, turns: list[Any], **options: Any
         ) -> tuple[GradeReport, EpisodeResult]:
    task = task_id if isinstance(task_id, SupportTaskSpec) else TASKS[task_id]
    result = replay(task, turns, world=StandardWorld, **options)
    report = grade(task, result.trace)
    check_report_arithmetic(report)  # every example is also a check of the arithmetic
    assert report.score == result.score
    return report, result


def value(report: GradeReport, name: str) -> float | None:
    return report.criterion(name).value


def penalties(report: GradeReport, name: str | None = None) -> list[tuple[str, float]]:
    return [(p.name, p.amount) for p in report.penalties if name is None or p.name == name]


# --------------------------------------------------------------------------- operations


def reply(message: str = "Thanks for the report.", fields: list[str] | None = None
          ) -> dict[str, Any]:
    return {"op": "reply", "message": message, "request_fields": fields or []}


def note(text: str) -> dict[str, Any]:
    return {"op": "note", "text": text}


def escalate(queue: str) -> dict[str, Any]:
    return {"op": "escalate", "queue": queue, "summary": "please take this"}


def set_status(status: str, code: str | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {"op": "set_status", "status": status}
    if code is not None:
        op["resolution_code"] = code
    return op


FINISH = {"op": "finish"}
API_FIELDS = ["request_ids", "time_window", "regions", "payload_sample"]
API_BAD = ["regions", "payload_sample"]  # missing or wrong after the first answer
API_TRIAGE = {"op": "set_fields", "queue": "platform_engineering", "priority": "urgent",
              "issue_type": "production_incident"}
API_STATUS = set_status("escalated", "runbook_investigation")
ASK = reply("Please send these.", API_FIELDS)
CHASE = reply("Could you send these again?", API_BAD)
DUP = "duplicate_charge_easy"
DUP_FIELDS = ["invoice_id", "last4_digits", "transaction_date"]
DUP_RESOLVE = set_status("resolved", "refund_issued")
ESCALATED = [API_TRIAGE, escalate("platform_engineering"), API_STATUS]


# --------------------------------------------------------------------------- traces


def event(t: int, seq: int, kind: str, payload: dict[str, Any], actor: str = "agent"
          ) -> TraceEvent:
    return TraceEvent(t=t, seq=seq, actor=actor, kind=kind, payload=payload)


def events_of(*items: tuple[Any, ...]) -> list[TraceEvent]:
    """A hand-built trace: (t, kind, payload[, actor]) per event, numbered in order."""
    return [event(item[0], seq, item[1], item[2], *item[3:]) for seq, item in enumerate(items)]


def op_event(t: int, op: dict[str, Any]) -> tuple[int, str, dict[str, Any]]:
    return (t, "operation", {"op": op})


def variant(task_id: str, **changes: Any) -> SupportTaskSpec:
    """A shipped task with some fields changed, validated like any task file."""
    return episode_helpers.variant(TASKS[task_id], **changes)


def seq_of(result: EpisodeResult, kind: str, **payload: Any) -> list[int]:
    """The sequence numbers of the trace's events of ``kind`` (whose op has ``payload``)."""
    found = []
    for e in result.trace.events:
        if e.kind != kind:
            continue
        op = e.payload.get("op", {})
        if all(op.get(k) == v for k, v in payload.items()):
            found.append(e.seq)
    return found
