"""What the agent under test sees at each turn, and how an episode builds it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from sim.messages import Inbound
from sim.task_memo import per_task
from tasks.base import KnowledgeSnippet, SupportTaskSpec
from tasks.catalog import Catalog

if TYPE_CHECKING:
    from sim.episode import EpisodeState

__all__ = [
    "InboundMessage",
    "Observation",
    "ObservationMaker",
    "OperationResult",
    "Outcome",
    "TicketView",
]


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


_OBSERVATION = Observation.__pydantic_validator__
#: One entry's outcome, (index, op, ok, error): kept small until the next observation.
Outcome = tuple[int, str | None, bool, str | None]


@per_task
def _static_fields(task: SupportTaskSpec) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the task's constant observation fields, its ticket's constant fields)."""
    t = task.ticket
    return (
        {"task_id": task.task_id, "title": task.title, "objective": task.objective},
        {"customer_name": t.customer_name, "customer_tier": t.customer_tier,
         "company": t.company, "subject": t.subject, "body": t.body,
         "region": t.region, "affected_users": t.affected_users},
    )


class ObservationMaker:
    """Builds each turn's :class:`Observation` in one validation call.

    What never changes in a task is prepared once per task and shared; the agent gets
    its own copy of the catalog, once per episode: a hostile agent writing through
    ``vars()`` reaches only that copy.
    """

    __slots__ = ("catalog", "state", "static")

    def __init__(self, state: EpisodeState) -> None:
        task = state.task
        self.state = state
        catalog = task.catalog
        # A copy that shares the original's (never changed) set of field names: a
        # model_copy's own set would cost each episode half a kilobyte more.
        self.catalog = type(catalog).model_construct(
            catalog.__pydantic_fields_set__, **catalog.__dict__
        )
        self.static = _static_fields(task)

    def __call__(self, now: int, turn: int, inbox: list[Inbound],
                 results: list[Outcome], kb: tuple[KnowledgeSnippet, ...]) -> Observation:
        state = self.state
        task = state.task
        constant, ticket = self.static
        observation: Observation = _OBSERVATION.validate_python({
            **constant,
            "catalog": self.catalog,
            "ticket": {**ticket, **state.ticket.view()},
            "messages": [{"time_seconds": m.time, "sender": m.sender, "kind": m.kind,
                          "text": m.text, "fields": dict(m.fields)} for m in inbox],
            "results": [{"index": i, "op": op, "ok": ok, "error": error}
                        for i, op, ok, error in results],
            # Copies, like the catalog: articles are the task's own objects.
            "kb_results": [article.model_copy() for article in kb],
            "time_seconds": now,
            "sim_minutes": now // 60,
            "minutes_to_sla": (task.sla_deadline_seconds - now) // 60,
            "sla_breached": state.sla_breached,
            "turn": turn,
            "turns_left": task.max_steps - turn,
            "max_steps": task.max_steps,
        })
        return observation
