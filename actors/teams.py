"""Internal teams, one actor per queue, created when first escalated to.

The owning team (the task's ``gold_queue``) acknowledges an escalation after
``team_ack_delay_minutes`` and sends the task's ``follow_up_message`` after
``team_update_delay_minutes``. Any other team bounces the ticket after
``team_bounce_delay_minutes``, without saying where it belongs.

Faults, applied to the owning team: ``slow_eta`` (the update takes twice as long),
``eta_slips`` (a second update pushes the ETA back once), ``team_silent`` (the team
never answers).
"""

from __future__ import annotations

from functools import lru_cache, partial
from typing import Any

from sim.episode import EpisodeState
from sim.kernel.environment import ActorContext
from sim.messages import AGENT, EscalationRequest, Inbound
from tasks.base import SupportTaskSpec

__all__ = ["FAULTS", "SLIP_SECONDS", "check_fault", "team_actor", "update_after_seconds"]

FAULTS: tuple[str, ...] = ("slow_eta", "eta_slips", "team_silent")


def check_fault(name: str) -> str:
    """``name`` if it is a fault; else a ``ValueError`` naming the allowed ones."""
    if name not in FAULTS:
        raise ValueError(f"fault {name!r} is unknown; allowed: {', '.join(FAULTS)}")
    return name
SLIP_SECONDS = 20 * 60
SLIP_TEXT = ("Update: the fix is taking longer than expected; our ETA has slipped, the new "
             "ETA is in 20 minutes.")


def update_after_seconds(task: SupportTaskSpec, faults: tuple[str, ...]) -> int | None:
    """Simulated seconds from an accepted escalation to the owning team's first update
    (``None``: under ``team_silent`` it never comes)."""
    if "team_silent" in faults:
        return None
    update = task.team_update_delay_minutes * 60
    return update * 2 if "slow_eta" in faults else update


def team_actor(state: EpisodeState, queue: str, faults: tuple[str, ...]) -> Any:
    """The trio task of the team that owns ``queue`` (the body an environment spawns)."""
    return _Team(state, queue, faults).run


class _Team:
    # Slotted rather than closures: cheaper for each of thousands of episodes at once.
    __slots__ = ("faults", "queue", "state")

    def __init__(self, state: EpisodeState, queue: str, faults: tuple[str, ...]) -> None:
        self.state = state
        self.queue = queue
        self.faults = faults

    def reply(self, timer: str, ctx: ActorContext) -> None:
        queue = self.queue
        kind, text = _message(timer, queue.replace("_", " "), self.state.task.follow_up_message)
        payload: dict[str, Any] = {"queue": queue, "text": text}
        if kind == "team_bounce":
            payload["reopened"] = self.state.ticket.bounce(queue)
        ctx.record(kind, payload)
        ctx.send(AGENT, Inbound(ctx.name, kind, text, time=ctx.now))

    async def run(self, ctx: ActorContext) -> None:
        # Replies due later run as kernel callbacks: no wake-up of this task for them.
        task, faults, reply = self.state.task, self.faults, self.reply
        owner = self.queue == task.gold_queue
        accepted = False
        while True:
            item = await ctx.receive()
            if not isinstance(item, EscalationRequest):
                continue
            if not owner:
                ctx.call_later(task.team_bounce_delay_minutes * 60, partial(reply, "bounce"))
            elif "team_silent" in faults:
                ctx.record("team_silent", {"queue": self.queue})
            elif accepted:
                ctx.call_later(task.team_ack_delay_minutes * 60, partial(reply, "ack_again"))
            else:
                accepted = True
                ctx.call_later(task.team_ack_delay_minutes * 60, partial(reply, "ack"))
                update = update_after_seconds(task, faults) or 0
                ctx.call_later(update, partial(reply, "update"))
                if "eta_slips" in faults:
                    ctx.call_later(update + SLIP_SECONDS, partial(reply, "slip"))


@lru_cache(maxsize=1024)
def _message(timer: str, name: str, follow_up: str) -> tuple[str, str]:
    # Cached: every episode's team says the same words, and shares them.
    if timer == "bounce":
        return "team_bounce", (
            f"The {name} team here: this ticket is not ours to handle. "
            "We are sending it back; please re-triage it."
        )
    if timer == "ack":
        return "team_ack", f"The {name} team here: escalation received, we are on it."
    if timer == "ack_again":
        return "team_ack", f"The {name} team here: we already have this one and are on it."
    if timer == "slip":
        return "team_update", SLIP_TEXT
    return "team_update", follow_up
