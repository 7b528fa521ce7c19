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
from typing import Any

from actors.field_values import correct_value, wrong_value
from sim.environment import ActorContext, Timer
from sim.episode import EpisodeState
from sim.messages import AGENT, Inbound, PublicReply, SlaBreached
from tasks.base import PERSONAS

__all__ = ["MISSING_TEXT", "NOT_RELEVANT_TEXT", "NUDGE_SECONDS", "PERSONAS", "customer_actor"]

MISSING_TEXT = "I don't have that right now"
NOT_RELEVANT_TEXT = "not relevant"
NUDGE_SECONDS = 15 * 60
CUSTOMER = "customer"


def customer_actor(state: EpisodeState, persona: str) -> Any:
    """The customer's trio task for one episode."""
    if persona not in PERSONAS:
        raise ValueError(f"persona {persona!r} is unknown; allowed: {', '.join(PERSONAS)}")
    task = state.task
    required = task.required_requested_fields
    truth: dict[str, str] = {}
    wrong: dict[str, str] = {}
    times_asked: dict[str, int] = {}
    answers_never = persona == "silent" or task.follow_up_outcome == "none"
    delay = task.customer_reply_delay_minutes * 60
    if persona == "slow":  # at least a second past the next turn, so that turn misses it
        delay = max(delay, 1) + task.step_seconds

    def answer(field: str) -> tuple[str, str]:
        """(status, value) of the answer to one requested field."""
        if field not in required:
            return "not_relevant", NOT_RELEVANT_TEXT
        if not truth:  # drawn when first needed, all at once, in a fixed order
            rng = state.rng("customer-values")
            truth.update((f, correct_value(f, rng)) for f in required)
        times_asked[field] = times_asked.get(field, 0) + 1
        if times_asked[field] > 1:
            return "correct", truth[field]
        if persona == "confused":
            return "wrong", wrong_answer(field)
        if task.follow_up_outcome == "complete" or field in task.follow_up_provided_fields:
            return "correct", truth[field]
        if field in task.follow_up_wrong_fields:
            return "wrong", wrong_answer(field)
        return "missing", MISSING_TEXT

    def wrong_answer(field: str) -> str:
        # Made only when given, each from its own draws: the value never depends on
        # which other fields were answered wrong before it.
        if field not in wrong:
            rng = state.rng(f"customer-wrong-value:{field}")
            wrong[field] = wrong_value(field, truth[field], rng)
        return wrong[field]

    nudge: Timer | None = None

    def send_nudge(ctx: ActorContext) -> None:
        nonlocal nudge
        text = "Any update on this? I haven't heard back in 15 minutes."
        ctx.record("customer_nudge", {"text": text})
        ctx.send(AGENT, Inbound(CUSTOMER, "customer_nudge", text, time=ctx.now))
        nudge = ctx.call_later(NUDGE_SECONDS, send_nudge)

    def send_answer(turn: int, answered: dict[str, tuple[str, str]], ctx: ActorContext) -> None:
        lines = [f"- {field}: {value}" for field, (_, value) in answered.items()]
        text = "Here is what I have:\n" + "\n".join(lines)
        ctx.record("customer_answer", {
            "request_turn": turn,
            "fields": {f: {"value": v, "status": s} for f, (s, v) in answered.items()},
        })
        ctx.send(AGENT, Inbound(
            CUSTOMER, "customer_answer", text,
            fields=tuple((f, v) for f, (_, v) in answered.items()), time=ctx.now,
        ))

    async def body(ctx: ActorContext) -> None:
        # Timed work (answers, nudges) runs as kernel callbacks: no wake-up of this task.
        nonlocal nudge
        if persona == "impatient":
            nudge = ctx.call_later(NUDGE_SECONDS, send_nudge)
        while True:
            item = await ctx.receive()
            if isinstance(item, PublicReply):
                if nudge is not None:
                    nudge.cancel()
                    nudge = ctx.call_later(NUDGE_SECONDS, send_nudge)
                if item.request_fields and not answers_never:
                    answered = {f: answer(f) for f in dict.fromkeys(item.request_fields)}
                    ctx.call_later(delay, partial(send_answer, item.turn, answered))
            elif isinstance(item, SlaBreached) and persona == "impatient":
                text = "Your SLA has been breached and I still have no resolution. " \
                       "This is unacceptable; I am escalating this with our account team."
                ctx.record("customer_complaint", {"text": text})
                ctx.send(AGENT, Inbound(CUSTOMER, "customer_complaint", text, time=ctx.now))

    return body
