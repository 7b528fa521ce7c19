"""What the heuristic has learnt in one episode, as one record.

:class:`Memory` is the agent's whole state between turns: what ``reset`` handed it, the
articles it has read and the plan they gave, the fields it asked the customer for and
what came back, what the teams said, and what it has already done. The agent holds one
and makes a new one at each ``reset``; the policy reads and updates it each turn.
:meth:`Memory.learn` folds each observation in (the clock, the articles found, the
customer's answers, the teams' updates and bounces).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import attrs

from actors.agents.heuristic.plan import Plan
from actors.field_values import looks_valid
from sim.observation import Observation
from sim.text_checks import shingles
from tasks.base import KnowledgeSnippet

#: Follow-up searches, one a turn after triage: they surface the articles about what
#: never to say and which risk flags to raise, which the ticket's words can miss.
FOLLOW_UP_QUERIES = (
    "customer communications reply never word say",
    "risk flags raise severity",
)
#: The answer a customer gives for a field that does not apply to them.
NOT_RELEVANT = "not relevant"
#: Messages that call for a public reply (see ``Memory.inbound``).
CALLS_FOR_A_REPLY = frozenset({"customer_answer", "customer_nudge", "customer_complaint",
                               "team_update"})

#: The word 5-grams of one text (see :func:`sim.text_checks.shingles`).
Shingles = frozenset[tuple[str, ...]]


class _Ticket(Protocol):
    @property
    def subject(self) -> str: ...
    @property
    def body(self) -> str: ...


class Brief(Protocol):
    """What the agent reads of what ``reset`` hands it: a :class:`~tasks.base.TaskBrief`,
    or the whole task in a privileged run (it reads these fields alone)."""

    @property
    def knowledge_base(self) -> Sequence[KnowledgeSnippet]: ...
    @property
    def sla_step_cost(self) -> int: ...
    @property
    def ticket(self) -> _Ticket: ...
    @property
    def title(self) -> str: ...
    @property
    def objective(self) -> str: ...


#: The attributes :class:`Brief` names, for checking what ``reset`` was handed.
BRIEF_FIELDS = ("knowledge_base", "sla_step_cost", "ticket", "title", "objective")


@attrs.define
class Memory:
    """The agent's state between turns (see the module doc)."""

    # -- what it was handed
    #: The brief's knowledge base, when ``reset`` handed a brief.
    library: tuple[KnowledgeSnippet, ...] | None = None
    #: Seconds a turn: the brief's, else learnt from the clock at turn 2.
    step_seconds: int | None = None
    #: Shingles of every text the agent was shown (for notes in its own words).
    seen: list[Shingles] = attrs.field(factory=list)

    # -- what it has read
    articles: dict[str, KnowledgeSnippet] = attrs.field(factory=dict)
    searched: bool = False
    #: The follow-up searches still to make, one a turn.
    follow_ups: list[str] = attrs.field(factory=lambda: list(FOLLOW_UP_QUERIES))
    minutes_at_triage: int | None = None
    plan: Plan | None = None

    # -- the customer's fields
    #: How often each field was asked for.
    requested: dict[str, int] = attrs.field(factory=dict)
    received: dict[str, str] = attrs.field(factory=dict)
    irrelevant: list[str] = attrs.field(factory=list)
    #: Fields whose last answer was malformed, in the order they came (a dict as an
    #: ordered set).
    bad: dict[str, None] = attrs.field(factory=dict)
    #: When fields were first asked for, whether any answer came, and when the agent
    #: chased a customer who stayed silent.
    asked_at: int | None = None
    answered: bool = False
    chased_at: int | None = None

    # -- the teams
    escalated_to: str | None = None
    #: Teams that sent the ticket back.
    bounced: list[str] = attrs.field(factory=list)
    #: A team update not yet passed on, and whether one ever was.
    update_pending: bool = False
    informed: bool = False

    # -- what it has done
    flags_raised: list[str] = attrs.field(factory=list)
    #: Reply lines that claim an action done, held back until the fields are in.
    deferred_reply: list[str] = attrs.field(factory=list)
    deferred_written: bool = False
    #: Public replies sent, and the messages (customer's, teams' updates) that called
    #: for one: the agent never replies more than one per message, plus two.
    replies: int = 0
    inbound: int = 0
    #: The ticket is settled: every later turn finishes.
    done: bool = False

    @classmethod
    def from_brief(cls, brief: Brief) -> Memory:
        """A memory that starts from a brief: its knowledge base, its turn length, and
        the texts it shows (so notes can be kept in the agent's own words)."""
        library = tuple(article.model_copy() for article in brief.knowledge_base)
        step = int(brief.sla_step_cost) * 60
        ticket = brief.ticket
        texts = [ticket.subject, ticket.body, brief.title, brief.objective]
        for article in library:
            texts += (article.title, article.content)
        return cls(library=library, step_seconds=step if step > 0 else None,
                   seen=[shingles(text) for text in texts])

    def saw(self, *texts: str) -> None:
        self.seen.extend(shingles(text) for text in texts)

    def learn(self, observation: Observation) -> bool:
        """Fold an observation in (the clock, articles found, messages); whether the
        customer is waiting on us."""
        if self.step_seconds is None and observation.turn > 1:
            self.step_seconds = observation.time_seconds // (observation.turn - 1) or None
        for article in observation.kb_results:
            self.articles.setdefault(article.article_id, article)
            self.saw(article.title, article.content)
        nudged = False
        for message in observation.messages:
            self.saw(message.text, *message.fields.values())
            if message.kind in CALLS_FOR_A_REPLY:
                self.inbound += 1
            if message.sender == "customer" and message.fields:
                self.answered = True
                self._take_answers(message.fields)
            elif message.kind == "team_update":
                self.update_pending = True
            elif message.kind == "team_bounce":
                queue = message.sender.removeprefix("team:")
                if queue not in self.bounced:
                    self.bounced.append(queue)
                if self.escalated_to == queue:
                    self.escalated_to = None
            elif message.sender == "customer" or message.kind in (
                "customer_nudge", "customer_complaint"
            ):
                nudged = True
        return nudged

    def _take_answers(self, fields: dict[str, str]) -> None:
        """Sort the customer's answers to requested fields: valid, not relevant, or bad.
        The first valid answer to a field stands."""
        for name, value in fields.items():
            if name not in self.requested or name in self.received:
                continue
            if value.strip().lower() == NOT_RELEVANT:
                if name not in self.irrelevant:
                    self.irrelevant.append(name)
                self.bad.pop(name, None)
            elif looks_valid(name, value):
                self.received[name] = value
                self.bad.pop(name, None)
            else:
                self.bad[name] = None

    def asked_for(self, fields: Sequence[str], time_seconds: int) -> None:
        """Record a request for ``fields`` sent at ``time_seconds``."""
        for name in fields:
            self.requested[name] = self.requested.get(name, 0) + 1
            self.bad.pop(name, None)
        if self.asked_at is None:
            self.asked_at = time_seconds

    def outstanding(self) -> list[str]:
        """Requested fields with no valid answer yet ("not relevant" is an answer)."""
        return [f for f in self.requested if f not in self.received and f not in self.irrelevant]
