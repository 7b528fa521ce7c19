"""The customer: answers requests for fields as the task and the persona say.

Follow-up rules (SPEC §2–3). The first time a field is requested, the answer
follows the task's ``follow_up_outcome``: ``complete`` gives it right; ``partial``
gives ``follow_up_provided_fields`` right, ``follow_up_wrong_fields`` detectably
wrong and other required fields "I don't have that right now"; ``none`` never
answers. A field requested again is answered right. A field the task does not
require is "not relevant".

Personas: ``cooperative`` is the above; ``silent`` never answers; ``slow`` answers
after the agent's next turn; ``confused`` gets every field wrong the first time;
``impatient`` nudges every 15 minutes without a public reply and complains after
an SLA breach.
"""

from __future__ import annotations

from functools import partial
from typing import Any, NamedTuple

from actors.field_values import correct_value, wrong_value
from sim.episode import EpisodeState
from sim.kernel.environment import ActorContext, Timer
from sim.messages import AGENT, Inbound, PublicReply, SlaBreached
from sim.trace import DeferredPayload
from tasks.base import SupportTaskSpec, check_persona

__all__ = [
    "MISSING_TEXT",
    "NOT_RELEVANT_TEXT",
    "NUDGE_SECONDS",
    "CustomerPlan",
    "customer_actor",
    "customer_plan",
]

MISSING_TEXT = "I don't have that right now"
NOT_RELEVANT_TEXT = "not relevant"
NUDGE_SECONDS = 15 * 60
CUSTOMER = "customer"


class CustomerPlan(NamedTuple):
    """How a customer of one persona will answer on one task, known before it starts."""

    #: Whether it ever answers a request for fields.
    answers: bool
    #: Simulated seconds from a request to its answer.
    delay_seconds: int
    #: Required fields its first answer leaves missing or wrong.
    first_answer_bad: tuple[str, ...]
    #: How long an agent must wait before it may take silence for no answer: the
    #: slowest persona's delay.
    patience_seconds: int


def customer_plan(task: SupportTaskSpec, persona: str) -> CustomerPlan:
    """The customer's rules above, for ``task`` and ``persona``, as data."""
    delay = task.customer_reply_delay_minutes * 60
    slowest = max(delay, 1) + task.step_seconds  # at least a second past the next turn
    required = task.required_requested_fields
    if persona == "confused":
        bad = required
    elif task.follow_up_outcome == "partial":
        provided = set(task.follow_up_provided_fields)
        bad = tuple(f for f in required if f not in provided)
    else:
        bad = ()
    return CustomerPlan(
        answers=persona != "silent" and task.follow_up_outcome != "none",
        delay_seconds=slowest if persona == "slow" else delay,
        first_answer_bad=bad, patience_seconds=slowest,
    )


def customer_actor(state: EpisodeState, persona: str) -> Any:
    """The customer's trio task for one episode (the body an environment spawns)."""
    return _Customer(state, check_persona(persona)).run


class _Customer:
    # A slotted object rather than closures: thousands of episodes run at once, and
    # cells and function objects would cost each of them a kilobyte more.
    __slots__ = ("answers_never", "asked", "delay", "nudge", "persona", "state", "truth",
                 "wrong")

    def __init__(self, state: EpisodeState, persona: str) -> None:
        task = state.task
        self.state = state
        self.persona = persona
        # Filled when first needed: most episodes ask once, some never.
        self.truth: dict[str, str] | None = None
        self.wrong: dict[str, str] | None = None
        #: Fields asked for so far (a tuple: a handful, and smaller than a set).
        self.asked: tuple[str, ...] = ()
        plan = customer_plan(task, persona)
        self.answers_never = not plan.answers
        self.delay = plan.delay_seconds
        self.nudge: Timer | None = None

    def answer(self, field: str) -> tuple[str, str]:
        """(status, value) of the answer to one requested field."""
        task = self.state.task
        required = task.required_requested_fields
        if field not in required:
            return "not_relevant", NOT_RELEVANT_TEXT
        truth = self.truth
        if truth is None:  # drawn when first needed, all at once, in a fixed order
            rng = self.state.rng("customer-values")
            truth = self.truth = {f: correct_value(f, rng) for f in required}
        if field in self.asked:
            return "correct", truth[field]
        self.asked += (field,)
        if self.persona == "confused":
            return "wrong", self.wrong_answer(field, truth[field])
        if task.follow_up_outcome == "complete" or field in task.follow_up_provided_fields:
            return "correct", truth[field]
        if field in task.follow_up_wrong_fields:
            return "wrong", self.wrong_answer(field, truth[field])
        return "missing", MISSING_TEXT

    def wrong_answer(self, field: str, correct: str) -> str:
        # Made only when given, each from its own draws: the value never depends on
        # which other fields were answered wrong before it.
        if self.wrong is None:
            self.wrong = {}
        if field not in self.wrong:
            rng = self.state.rng(f"customer-wrong-value:{field}")
            self.wrong[field] = wrong_value(field, correct, rng)
        return self.wrong[field]

    def send_nudge(self, ctx: ActorContext) -> None:
        text = "Any update on this? I haven't heard back in 15 minutes."
        ctx.record("customer_nudge", {"text": text})
        ctx.send(AGENT, Inbound(CUSTOMER, "customer_nudge", text, time=ctx.now))
        self.nudge = ctx.call_later(NUDGE_SECONDS, self.send_nudge)

    @staticmethod
    def send_answer(turn: int, answered: dict[str, tuple[str, str]], ctx: ActorContext) -> None:
        lines = [f"- {field}: {value}" for field, (_, value) in answered.items()]
        text = "Here is what I have:\n" + "\n".join(lines)
        # Deferred: an episode in flight keeps ``answered``, not the payload's nested dicts.
        ctx.record("customer_answer", DeferredPayload(_answer_payload, turn, answered))
        ctx.send(AGENT, Inbound(
            CUSTOMER, "customer_answer", text,
            fields=tuple((f, v) for f, (_, v) in answered.items()), time=ctx.now,
        ))

    async def run(self, ctx: ActorContext) -> None:
        # Timed work (answers, nudges) runs as kernel callbacks: no wake-up of this task.
        impatient = self.persona == "impatient"
        if impatient:
            self.nudge = ctx.call_later(NUDGE_SECONDS, self.send_nudge)
        try:
            while True:
                item = await ctx.receive()
                if isinstance(item, PublicReply):
                    if self.nudge is not None:
                        self.nudge.cancel()
                        self.nudge = ctx.call_later(NUDGE_SECONDS, self.send_nudge)
                    if item.request_fields and not self.answers_never:
                        asked = dict.fromkeys(item.request_fields)
                        answered = {f: self.answer(f) for f in asked}
                        ctx.call_later(self.delay, partial(self.send_answer, item.turn, answered))
                elif isinstance(item, SlaBreached) and impatient:
                    text = "Your SLA has been breached and I still have no resolution. " \
                           "This is unacceptable; I am escalating this with our account team."
                    ctx.record("customer_complaint", {"text": text})
                    ctx.send(AGENT, Inbound(CUSTOMER, "customer_complaint", text, time=ctx.now))
        finally:
            self.nudge = None  # the pending nudge points back here: no cycle outlives the run


def _answer_payload(turn: int, answered: dict[str, tuple[str, str]]) -> dict[str, Any]:
    return {"request_turn": turn,
            "fields": {f: {"value": v, "status": s} for f, (s, v) in answered.items()}}
