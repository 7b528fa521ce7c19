"""The ticket's mutable state and the one place where operations change it.

The episode applies operations through :func:`apply_operation`, and the grader
replays a trace through the same function, so a stored trace always re-grades to
what the live run saw.
"""

from __future__ import annotations

from typing import Any

import attrs

from sim.operations import bounded
from tasks.catalog import Catalog

__all__ = ["INITIAL_PRIORITY", "INITIAL_QUEUE", "INITIAL_STATUS", "TicketState", "apply_operation"]

INITIAL_QUEUE = "general_support"
INITIAL_PRIORITY = "normal"
INITIAL_STATUS = "open"


@attrs.define(slots=True)
class TicketState:
    """The ticket's fields as they stand now."""

    queue: str = INITIAL_QUEUE
    priority: str = INITIAL_PRIORITY
    issue_type: str | None = None
    status: str = INITIAL_STATUS
    resolution_code: str | None = None
    risk_flags: list[str] = attrs.field(factory=list)
    escalated_to: str | None = None

    def bounce(self, queue: str) -> bool:
        """A team handed back an escalation; reopens the ticket if it still sat with them."""
        if self.escalated_to == queue and self.status == "escalated":
            self.status = INITIAL_STATUS
            self.escalated_to = None
            return True
        return False

    def effective_status(self, gold_queue: str) -> str:
        """The status as graded: escalated to a team other than ``gold_queue`` is not
        "escalated", since the ticket sits with the wrong team."""
        if self.status == "escalated" and self.escalated_to != gold_queue:
            return "escalated_elsewhere"
        return self.status

    def view(self) -> dict[str, Any]:
        return {
            "queue": self.queue,
            "priority": self.priority,
            "issue_type": self.issue_type,
            "status": self.status,
            "resolution_code": self.resolution_code,
            "risk_flags": tuple(self.risk_flags),
            "escalated_to": self.escalated_to,
        }


def _not_in_catalog(value: str, allowed: tuple[str, ...], name: str) -> str:
    return f"{name}: {bounded(value)!r} is not in the catalog; allowed: {', '.join(allowed)}"


def check_operation(operation: Any, catalog: Catalog) -> str | None:
    """Why ``operation`` is invalid against ``catalog``, or ``None`` when it is valid."""
    kind = operation.op  # a string compare: cheaper than isinstance on models
    if kind == "set_fields":
        if operation.queue is not None and operation.queue not in catalog.queues:
            return _not_in_catalog(operation.queue, catalog.queues, "queue")
        if operation.priority is not None and operation.priority not in catalog.priorities:
            return _not_in_catalog(operation.priority, catalog.priorities, "priority")
        if operation.issue_type is not None and operation.issue_type not in catalog.issue_types:
            return _not_in_catalog(operation.issue_type, catalog.issue_types, "issue_type")
    elif kind == "reply":
        for field in operation.request_fields:
            if field not in catalog.fields:
                return _not_in_catalog(field, catalog.fields, "request_fields")
    elif kind == "flag_risk":
        for flag in operation.flags:
            if flag not in catalog.risk_flags:
                return _not_in_catalog(flag, catalog.risk_flags, "flags")
    elif kind == "escalate":
        if operation.queue not in catalog.queues:
            return _not_in_catalog(operation.queue, catalog.queues, "queue")
    elif kind == "set_status":
        if operation.status not in catalog.statuses:
            return _not_in_catalog(operation.status, catalog.statuses, "status")
        code = operation.resolution_code
        if code is not None and code not in catalog.resolution_codes:
            return _not_in_catalog(code, catalog.resolution_codes, "resolution_code")
    return None


def apply_operation(state: TicketState, operation: Any) -> None:
    """Apply a valid (already checked) operation to ``state``."""
    kind = operation.op
    if kind == "set_fields":
        if operation.queue is not None:
            state.queue = operation.queue
        if operation.priority is not None:
            state.priority = operation.priority
        if operation.issue_type is not None:
            state.issue_type = operation.issue_type
    elif kind == "flag_risk":
        for flag in operation.flags:
            if flag not in state.risk_flags:
                state.risk_flags.append(flag)
    elif kind == "escalate":
        state.status = "escalated"
        state.escalated_to = operation.queue
    elif kind == "set_status":
        state.status = operation.status
        if operation.status != "escalated":
            state.escalated_to = None
        if operation.resolution_code is not None:
            state.resolution_code = operation.resolution_code
