"""What the agent under test sees at each turn."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from tasks.base import KnowledgeSnippet
from tasks.catalog import Catalog

__all__ = ["InboundMessage", "Observation", "OperationResult", "TicketView"]


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


class TicketView(_View):
    """The ticket as the agent sees it: what the customer wrote, and its current fields."""

    customer_name: str
    customer_tier: str
    company: str
    subject: str
    body: str
    region: str
    affected_users: int
    queue: str
    priority: str
    issue_type: str | None
    status: str
    resolution_code: str | None
    risk_flags: tuple[str, ...]
    escalated_to: str | None


class InboundMessage(_View):
    """A message that arrived since the last turn (from the customer, a team or the system)."""

    time_seconds: int
    sender: str
    kind: str
    text: str
    #: Field values the customer sent, by field name, as the customer wrote them.
    fields: dict[str, str] = {}


class OperationResult(_View):
    """The outcome of one entry of the last turn."""

    index: int
    op: str | None
    ok: bool
    error: str | None = None


class Observation(_View):
    """Everything the agent may use to decide its next turn."""

    task_id: str
    title: str
    objective: str
    ticket: TicketView
    catalog: Catalog
    messages: tuple[InboundMessage, ...]
    results: tuple[OperationResult, ...]
    kb_results: tuple[KnowledgeSnippet, ...]
    time_seconds: int
    sim_minutes: int
    minutes_to_sla: int
    sla_breached: bool
    turn: int
    turns_left: int
    max_steps: int
