"""The oracle: reads the gold fields and plays the task perfectly (scores 1.0 in every world).

It is the reference a task author checks a task against: if the oracle cannot score
1.0 under every persona and fault, the task (or the grader) is wrong. It is
privileged (it needs the whole task in ``reset``) and it does not know the world: it
plays so that every world's gold is reached.

- Turn 1: the gold fields, flags, one reply carrying every reply marker and asking for
  every required field, a note with every note marker, the escalation when one is
  needed, and the gold status, or ``pending`` while a resolved/closed status still
  waits on the customer.
- Then: fields that came back missing or wrong are asked for again; where no answer has
  come by the time even the slowest customer would have answered, every outstanding
  field is chased once; each update from the owning team is relayed with its facts;
  the resolved/closed status is set once every field is in; the episode is finished
  once nothing more is owed.
"""

from __future__ import annotations

from typing import Any

from actors.customer import customer_plan
from actors.field_values import looks_valid
from sim.episode import trust_with_task
from sim.observation import Observation
from sim.task_memo import per_task
from sim.text_checks import update_facts
from tasks.base import TERMINAL_STATUSES, SupportTaskSpec

__all__ = ["OracleAgent"]


def _marker_text(groups: tuple[tuple[str, ...], ...]) -> str:
    return " ".join(" ".join(group) + "." for group in groups)


@per_task
def _texts(task: SupportTaskSpec) -> tuple[str, str, str]:
    """(first reply, note, escalation summary): texts that depend only on the task,
    shared by its episodes (their traces hold them)."""
    greeting = f"Hello {task.ticket.customer_name}, thank you for reaching out."
    return (
        f"{greeting} {_marker_text(task.required_reply_markers)}",
        _marker_text(task.required_note_markers),
        f"{task.title}: {task.ticket.subject}",
    )


def relay_text(task: SupportTaskSpec, update: str) -> str:
    """A public reply that passes on the facts of the owning team's ``update``."""
    facts = (task.update_markers if task.update_markers and update == task.follow_up_message
             else update_facts(update))
    if not facts:
        return "An update from the team working on this: they are on it."
    return f"An update from the team working on this: {', '.join(facts)}."


@trust_with_task  # it never writes to the task: no private copy per episode
class OracleAgent:
    """Knows the gold answer; needs a privileged ``reset(task, seed)`` before acting."""

    inline_safe = True

    def __init__(self) -> None:
        self.task: SupportTaskSpec | None = None
        self.received: set[str] = set()
        self.asked_at = 0
        self.answered = False
        self.chased = False
        self.informed = False

    def reset(self, task: Any, seed: int) -> None:
        if not isinstance(task, SupportTaskSpec):
            raise RuntimeError(
                "the oracle reads the gold: run it privileged (it was handed a "
                f"{type(task).__name__})"
            )
        self.task = task
        self.received = set()
        self.asked_at = 0
        self.answered = self.chased = self.informed = False

    def act(self, observation: Observation) -> list[dict[str, Any]]:
        task = self.task
        if task is None:
            raise RuntimeError("the oracle needs reset(task, seed) before act()")
        ops: list[dict[str, Any]] = []
        required = task.required_requested_fields
        terminal = task.gold_status in TERMINAL_STATUSES
        rerequest: list[str] = []
        updates: list[str] = []
        for message in observation.messages:
            if message.kind == "customer_answer":
                self.answered = True
            for field, value in message.fields.items():
                if field in required and field not in self.received:
                    if looks_valid(field, value):
                        self.received.add(field)
                    elif field not in rerequest:
                        rerequest.append(field)
            if message.kind == "team_update" and message.sender == f"team:{task.gold_queue}":
                updates.append(message.text)
        if observation.turn == 1:
            reply, note, summary = _texts(task)
            self.asked_at = observation.time_seconds
            ops.append({"op": "set_fields", "queue": task.gold_queue,
                        "priority": task.gold_priority, "issue_type": task.gold_issue_type})
            if task.risk_flags:
                ops.append({"op": "flag_risk", "flags": list(task.risk_flags)})
            ops.append({"op": "reply", "message": reply, "request_fields": list(required)})
            if task.required_note_markers:
                ops.append({"op": "note", "text": note})
            if task.needs_escalation:
                ops.append({"op": "escalate", "queue": task.gold_queue, "summary": summary})
            if not terminal:
                ops.append({"op": "set_status", "status": task.gold_status,
                            "resolution_code": task.gold_resolution_code})
            elif required:
                ops.append({"op": "set_status", "status": "pending"})
        patience = customer_plan(task, task.default_persona).patience_seconds
        outstanding = [f for f in required if f not in self.received]
        if (outstanding and not self.answered and not self.chased
                and observation.time_seconds >= self.asked_at + patience):
            self.chased = True  # silence: even the slowest customer would have answered
            rerequest = outstanding
        if rerequest:
            ops.append({"op": "reply", "message": "Thanks. Could you send these again, please?",
                        "request_fields": rerequest})
        if updates:
            self.informed = True
            ops.append({"op": "reply", "message": relay_text(task, updates[-1])})
        fields_done = not outstanding or self.chased
        if not outstanding and terminal:
            ops.append({"op": "set_status", "status": task.gold_status,
                        "resolution_code": task.gold_resolution_code})
        elif fields_done and (self.informed or not task.needs_escalation):
            ops.append({"op": "finish"})
        return ops
