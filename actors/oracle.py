"""The oracle: reads the gold fields and plays the task perfectly (scores 1.0).

It is the reference a task author checks a task against: if the oracle cannot
score 1.0 under the task's own persona with no faults, the task (or the grader)
is wrong.
"""

from __future__ import annotations

from typing import Any

from actors.field_values import looks_valid
from sim.observation import Observation
from tasks.base import TERMINAL_STATUSES, SupportTaskSpec

__all__ = ["OracleAgent"]


def _marker_text(groups: tuple[tuple[str, ...], ...]) -> str:
    return " ".join(" ".join(group) + "." for group in groups)


#: content hash -> (first reply, note, escalation summary): texts that depend only on the
#: task, made once and shared by its episodes (their traces hold them).
_TEXTS: dict[str, tuple[str, str, str]] = {}


def _texts(task: SupportTaskSpec) -> tuple[str, str, str]:
    texts = _TEXTS.get(task.content_hash)
    if texts is None:
        if len(_TEXTS) >= 256:  # a bound, for runs over many generated tasks
            _TEXTS.clear()
        greeting = f"Hello {task.ticket.customer_name}, thank you for reaching out."
        texts = _TEXTS[task.content_hash] = (
            f"{greeting} {_marker_text(task.required_reply_markers)}",
            _marker_text(task.required_note_markers),
            f"{task.title}: {task.ticket.subject}",
        )
    return texts


class OracleAgent:
    """Knows the gold answer; needs ``reset(task, seed)`` before the first turn."""

    inline_safe = True

    def __init__(self) -> None:
        self.task: SupportTaskSpec | None = None
        self.received: set[str] = set()
        self.informed = False

    def reset(self, task: SupportTaskSpec, seed: int) -> None:
        self.task = task
        self.received = set()
        self.informed = False

    def act(self, observation: Observation) -> list[dict[str, Any]]:
        task = self.task
        if task is None:
            raise RuntimeError("the oracle needs reset(task, seed) before act()")
        ops: list[dict[str, Any]] = []
        required = task.required_requested_fields
        rerequest: list[str] = []
        update_arrived = False
        for message in observation.messages:
            for field, value in message.fields.items():
                if field in required and field not in self.received:
                    if looks_valid(field, value):
                        self.received.add(field)
                    else:
                        rerequest.append(field)
            if message.kind == "team_update" and message.sender == f"team:{task.gold_queue}":
                update_arrived = True
        if observation.turn == 1:
            reply, note, summary = _texts(task)
            ops.append({"op": "set_fields", "queue": task.gold_queue,
                        "priority": task.gold_priority, "issue_type": task.gold_issue_type})
            if task.risk_flags:
                ops.append({"op": "flag_risk", "flags": list(task.risk_flags)})
            ops.append({"op": "reply", "message": reply, "request_fields": list(required)})
            if task.required_note_markers:
                ops.append({"op": "note", "text": note})
            if task.needs_escalation:
                ops.append({"op": "escalate", "queue": task.gold_queue, "summary": summary})
            if task.gold_status not in TERMINAL_STATUSES:
                ops.append({"op": "set_status", "status": task.gold_status,
                            "resolution_code": task.gold_resolution_code})
        if rerequest:
            ops.append({"op": "reply", "message": "Thanks. Could you send these again, please?",
                        "request_fields": rerequest})
        if update_arrived:
            self.informed = True
            ops.append({"op": "reply",
                        "message": "An update from our engineering team: they are on it."})
        fields_done = task.follow_up_outcome == "none" or set(required) <= self.received
        if fields_done and task.gold_status in TERMINAL_STATUSES:
            ops.append({"op": "set_status", "status": task.gold_status,
                        "resolution_code": task.gold_resolution_code})
        elif fields_done and (self.informed or not task.needs_escalation):
            ops.append({"op": "finish"})
        return ops
