"""The task model: what a task file declares, validated when it loads.

A task file ``tasks/<task_id>.py`` defines ``TASK = SupportTaskSpec(...)``. Every
model here is frozen, forbids unknown fields and checks the cross-field rules of
the spec (catalog membership, subsets, deadlines), so a task that loads is one the
simulator and the grader can trust.
"""

from __future__ import annotations

import hashlib
import re
from functools import cache, cached_property
from collections.abc import Mapping
from typing import Any, Literal, Self, get_args

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator, model_validator

from tasks.catalog import DEFAULT_CATALOG, Catalog, merge_catalog

__all__ = [
    "PERSONAS",
    "TERMINAL_STATUSES",
    "KnowledgeSnippet",
    "MarkerGroups",
    "Persona",
    "SupportTaskSpec",
    "SupportTicket",
    "TaskBrief",
    "check_persona",
]

Persona = Literal["cooperative", "silent", "slow", "confused", "impatient"]
#: Customer personas (SPEC §3). ``cooperative`` is the spec as written.
PERSONAS: tuple[str, ...] = get_args(Persona)


def check_persona(name: str) -> str:
    """``name`` if it is a persona; else a ``ValueError`` naming the allowed ones."""
    if name not in PERSONAS:
        raise ValueError(f"persona {name!r} is unknown; allowed: {', '.join(PERSONAS)}")
    return name


#: Statuses that end an episode and need nothing more from anyone.
TERMINAL_STATUSES: frozenset[str] = frozenset({"resolved", "closed"})

MarkerGroups = tuple[tuple[str, ...], ...]

_TASK_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def _allowed(values: tuple[str, ...]) -> str:
    return ", ".join(values)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy, as pydantic makes it, minus the values ``cached_property`` derived from
        the fields (a task's catalog, hash, deadlines): ``update`` may have changed what
        they derive from. Pydantic copies ``__dict__``, cached values included."""
        copied = super().model_copy(update=update, deep=deep)
        for name in _cached_properties(type(self)):
            copied.__dict__.pop(name, None)
        return copied


@cache
def _cached_properties(cls: type) -> tuple[str, ...]:
    return tuple(name for klass in cls.__mro__ for name, attr in vars(klass).items()
                 if isinstance(attr, cached_property))


class SupportTicket(_Frozen):
    """The ticket as the customer filed it; the agent sees all of it."""

    customer_name: str = Field(min_length=1)
    customer_tier: Literal["free", "starter", "pro", "business", "enterprise"]
    company: str = Field(min_length=1)
    subject: str = Field(min_length=1)
    body: str = Field(min_length=1)
    region: str = Field(min_length=1)
    # Counts are strict: ``True`` or ``"90"`` is a typo in a task file, not a number.
    affected_users: StrictInt = Field(ge=0)
    #: The SLA deadline, in simulated minutes from the episode's start.
    sla_minutes_remaining: StrictInt = Field(gt=0, le=100_000)


class KnowledgeSnippet(_Frozen):
    """One knowledge-base article that ``search_kb`` can return."""

    article_id: str = Field(min_length=1)
    title: str = Field(min_length=1)
    content: str = Field(min_length=1)


class SupportTaskSpec(_Frozen):
    """One ticket, its knowledge base, the gold outcome and the simulation's knobs.

    Fields after ``max_steps`` are optional additions to the seed's format; their
    defaults are the spec's defaults, so a task in the seed's format loads unchanged.
    """

    task_id: str
    difficulty: Literal["easy", "medium", "hard"]
    title: str = Field(min_length=1)
    objective: str = Field(min_length=1)
    ticket: SupportTicket
    knowledge_base: tuple[KnowledgeSnippet, ...] = ()
    gold_queue: str
    gold_priority: str
    gold_issue_type: str
    gold_status: str
    gold_resolution_code: str
    required_requested_fields: tuple[str, ...] = ()
    required_reply_markers: MarkerGroups = ()
    required_note_markers: MarkerGroups = ()
    risk_flags: tuple[str, ...] = ()
    follow_up_outcome: Literal["complete", "partial", "none"]
    follow_up_message: str = Field(min_length=1)
    follow_up_provided_fields: tuple[str, ...] = ()
    follow_up_wrong_fields: tuple[str, ...] = ()
    sla_step_cost: StrictInt = Field(gt=0, le=10_000)
    over_escalation_queues: tuple[str, ...] = ()
    under_escalation_deadline_step: StrictInt | None = Field(default=None, ge=1)
    max_steps: StrictInt = Field(ge=1, le=1_000)

    # Optional additions (SPEC §2: "new optional fields may be added").
    #: Groups a public reply must never meet (e.g. speculating on a cause); -0.05 each.
    forbidden_reply_markers: MarkerGroups = ()
    #: Values this task adds to the default catalog.
    catalog_extension: Catalog = Catalog()
    #: The persona the task's customer has unless a run names another.
    default_persona: Persona = (
        "cooperative"
    )
    #: Simulated minutes the customer takes to answer a request for fields.
    customer_reply_delay_minutes: StrictInt = Field(default=10, ge=0, le=10_000)
    #: Simulated minutes a team takes to acknowledge an escalation.
    team_ack_delay_minutes: StrictInt = Field(default=5, ge=0, le=10_000)
    #: Simulated minutes from an escalation to the owning team's update.
    team_update_delay_minutes: StrictInt = Field(default=30, ge=0, le=10_000)
    #: Simulated minutes a team takes to bounce work that is not theirs.
    team_bounce_delay_minutes: StrictInt = Field(default=10, ge=0, le=10_000)
    #: The facts a relay of ``follow_up_message`` must carry (all in one public reply);
    #: by default every number with its unit and every identifier in the message.
    update_markers: tuple[str, ...] = ()
    #: Internal-only words or phrases (hostnames, runbook ids, other customers' names):
    #: a public reply that contains one leaks.
    internal_terms: tuple[str, ...] = ()
    #: The family this task is a variant of (SPEC §7), set by the loader on what a
    #: ``FAMILY`` returns; ``None`` for a fixed ``TASK``. Task files leave it unset.
    family: str | None = None

    @field_validator("task_id")
    @classmethod
    def _task_id_shape(cls, value: str) -> str:
        if not _TASK_ID.match(value):
            raise ValueError(
                f"{value!r} is not a task id; allowed: lowercase letters, digits and '_', "
                "starting with a letter, at most 64 characters"
            )
        return value

    @field_validator(
        "required_reply_markers", "required_note_markers", "forbidden_reply_markers"
    )
    @classmethod
    def _marker_groups(cls, groups: MarkerGroups) -> MarkerGroups:
        for index, group in enumerate(groups):
            if not group:
                raise ValueError(
                    f"group {index} is empty in {groups!r}; allowed: groups of non-empty terms"
                )
            for term in group:
                if not term.strip():
                    raise ValueError(
                        f"group {index} has an empty term in {group!r}; "
                        "allowed: non-empty words or phrases"
                    )
        return tuple(tuple(term.strip() for term in group) for group in groups)

    @field_validator("update_markers", "internal_terms")
    @classmethod
    def _terms(cls, terms: tuple[str, ...]) -> tuple[str, ...]:
        for term in terms:
            if not term.strip():
                raise ValueError(f"an empty term in {terms!r}; allowed: non-empty words or phrases")
        return tuple(term.strip() for term in terms)

    @model_validator(mode="after")
    def _cross_field_rules(self) -> SupportTaskSpec:
        catalog = self.catalog
        single = {
            "gold_queue": ("queues", self.gold_queue),
            "gold_priority": ("priorities", self.gold_priority),
            "gold_issue_type": ("issue_types", self.gold_issue_type),
            "gold_status": ("statuses", self.gold_status),
            "gold_resolution_code": ("resolution_codes", self.gold_resolution_code),
        }
        for name, (dim, value) in single.items():
            if value not in catalog.values(dim):
                raise ValueError(
                    f"{name}: {value!r} is not in the catalog; allowed: "
                    f"{_allowed(catalog.values(dim))}"
                )
        several = {
            "required_requested_fields": ("fields", self.required_requested_fields),
            "risk_flags": ("risk_flags", self.risk_flags),
            "over_escalation_queues": ("queues", self.over_escalation_queues),
        }
        for name, (dim, values) in several.items():
            for value in values:
                if value not in catalog.values(dim):
                    raise ValueError(
                        f"{name}: {value!r} is not in the catalog; allowed: "
                        f"{_allowed(catalog.values(dim))}"
                    )
            if len(set(values)) != len(values):
                raise ValueError(f"{name}: {list(values)!r} repeats a value; allowed: each once")
        required = self.required_requested_fields
        for name in ("follow_up_provided_fields", "follow_up_wrong_fields"):
            values = getattr(self, name)
            if values and self.follow_up_outcome != "partial":
                raise ValueError(
                    f"{name}: {list(values)!r} given with follow_up_outcome "
                    f"{self.follow_up_outcome!r}; allowed: only with 'partial'"
                )
            for value in values:
                if value not in required:
                    raise ValueError(
                        f"{name}: {value!r} is not a required requested field; allowed: "
                        f"{_allowed(required) or '(none: required_requested_fields is empty)'}"
                    )
            if len(set(values)) != len(values):
                raise ValueError(f"{name}: {list(values)!r} repeats a value; allowed: each once")
        both = set(self.follow_up_provided_fields) & set(self.follow_up_wrong_fields)
        if both:
            raise ValueError(
                f"follow_up_wrong_fields: {sorted(both)!r} also in follow_up_provided_fields; "
                "allowed: a field is either provided or wrong"
            )
        if self.gold_queue in self.over_escalation_queues:
            raise ValueError(
                f"over_escalation_queues: {self.gold_queue!r} is the gold queue; "
                "allowed: queues other than gold_queue"
            )
        deadline = self.under_escalation_deadline_step
        if deadline is not None and deadline > self.max_steps:
            raise ValueError(
                f"under_escalation_deadline_step: {deadline} is after max_steps "
                f"{self.max_steps}; allowed: 1..{self.max_steps}"
            )
        if self.gold_status == "escalated" and deadline is None:
            raise ValueError(
                "under_escalation_deadline_step: missing for gold_status 'escalated'; "
                f"allowed: 1..{self.max_steps}"
            )
        if self.gold_status in TERMINAL_STATUSES and required and self.follow_up_outcome == "none":
            raise ValueError(
                f"gold_status: {self.gold_status!r} needs fields {list(required)!r} from a "
                "customer whose follow_up_outcome is 'none'; allowed: open, pending or "
                "escalated, or no required fields"
            )
        ids = [snippet.article_id for snippet in self.knowledge_base]
        if len(set(ids)) != len(ids):
            raise ValueError(f"knowledge_base: article ids {ids!r} repeat; allowed: each once")
        return self

    @cached_property
    def catalog(self) -> Catalog:
        """The catalog this task uses: the default one plus ``catalog_extension``."""
        return merge_catalog(DEFAULT_CATALOG, self.catalog_extension)

    @cached_property
    def content_hash(self) -> str:
        """A stable hash of every field, written in trace headers."""
        # A fixed task hashes as it did before families existed: stored traces still match.
        canonical = self.model_dump_json(
            round_trip=True, exclude={"family"} if self.family is None else None)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    @cached_property
    def sla_deadline_seconds(self) -> int:
        return self.ticket.sla_minutes_remaining * 60

    @cached_property
    def step_seconds(self) -> int:
        return self.sla_step_cost * 60

    @cached_property
    def needs_escalation(self) -> bool:
        return self.gold_status == "escalated"

    def private_copy(self) -> SupportTaskSpec:
        """A copy no write can carry back to this task: every model in it is copied,
        and the rest (strings, numbers, tuples of them) cannot change. As safe as a deep
        copy, at a tenth of its cost."""
        return self.model_copy(update={
            "ticket": self.ticket.model_copy(),
            "knowledge_base": tuple(article.model_copy() for article in self.knowledge_base),
            "catalog_extension": self.catalog_extension.model_copy(),
        })

    def brief(self) -> TaskBrief:
        """What a new support agent is handed (SPEC §3): everything but the gold and the
        simulation's knobs, as copies private to the caller."""
        return TaskBrief.model_construct(
            task_id=self.task_id, difficulty=self.difficulty, title=self.title,
            objective=self.objective, ticket=self.ticket.model_copy(),
            knowledge_base=tuple(article.model_copy() for article in self.knowledge_base),
            catalog=self.catalog.model_copy(), max_steps=self.max_steps,
            sla_step_cost=self.sla_step_cost,
        )


class TaskBrief(_Frozen):
    """A task as an agent under test sees it before its first turn: no gold value."""

    task_id: str
    difficulty: Literal["easy", "medium", "hard"]
    title: str
    objective: str
    ticket: SupportTicket
    knowledge_base: tuple[KnowledgeSnippet, ...]
    catalog: Catalog
    max_steps: int
    sla_step_cost: int
