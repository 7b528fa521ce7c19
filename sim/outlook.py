"""What a world lets any agent reach: the grader's view of (task, seed, persona, faults).

Which criteria apply, and what the gold is, must depend on the world alone, never on
what the agent did (SPEC §4). A world (``actors.world``) describes itself with the
few facts the grader needs, as a :class:`WorldOutlook`; :func:`derive_outlook` turns
those facts, and the task's clock, into what no agent can reach: fields the customer
never delivers within the episode, a chase that comes too late, a team update that
never arrives, an SLA that cannot be met. The outlook is written in the trace header,
so a stored trace re-grades against the world it was played in.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict

from tasks.base import TERMINAL_STATUSES, SupportTaskSpec

__all__ = ["WorldOutlook", "derive_outlook", "outlook_as_written"]


class WorldOutlook(BaseModel):
    """What the world of one episode makes reachable, decided before the first turn."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Simulated seconds from a request for fields to the customer's answer (the nominal
    #: delay where the customer never answers): a request repeated this long after the
    #: first one is a *chase*.
    answer_delay_seconds: int = 0
    #: Required fields the world leaves missing or wrong after the customer's first
    #: answer (all of them where it never answers). Follow-up handling is graded on these.
    first_answer_bad: tuple[str, ...] = ()
    #: Required fields no agent can receive with a correct value within the episode.
    undelivered: tuple[str, ...] = ()
    #: Whether a turn comes late enough to chase an unanswered or wrong field.
    chase_possible: bool = True
    #: Whether the owning team's update arrives in time to be relayed (escalations only).
    update_relayable: bool = True
    #: Whether any agent can meet the SLA (a reply and the adjusted gold status in time).
    sla_reachable: bool = True

    def adjusted_gold_status(self, task: SupportTaskSpec) -> str:
        """The gold status in this world: resolved/closed wait on the customer
        (``pending``) where a required field never arrives."""
        if self.undelivered and task.gold_status in TERMINAL_STATUSES:
            return "pending"
        return task.gold_status

    def sla_met(self, task: SupportTaskSpec, *, replied: bool, status: str) -> bool:
        """The SLA rule (SPEC §3): a public reply by the deadline, and the ticket's
        effective ``status`` at the deadline is this world's gold status. The episode's
        monitor records it at the deadline; the grader also withholds it from an episode
        that ended prematurely."""
        return replied and status == self.adjusted_gold_status(task)

    def resolution_code_applies(self, task: SupportTaskSpec) -> bool:
        return self.adjusted_gold_status(task) == task.gold_status


def _first_turn_at(time: int, step: int) -> int:
    """The time of the first turn at or after ``time`` (turns come every ``step``)."""
    return -(-time // step) * step


def _seen_at(sent: int, arrives: int, step: int) -> int:
    """When the agent first sees an event due at ``arrives`` that was set off by its turn
    at ``sent``: at the first turn from then on, but never at the turn that set it off
    (a message due "now" is delivered after that turn's operations)."""
    return _first_turn_at(arrives, step) if arrives > sent else sent + step


def derive_outlook(
    task: SupportTaskSpec,
    *,
    answers: bool,
    answer_delay_seconds: int,
    first_answer_bad: Iterable[str],
    patience_seconds: int,
    update_after_seconds: int | None,
) -> WorldOutlook:
    """The outlook of a world whose customer and owning team behave as described.

    - ``answers``: the customer ever answers a request for fields;
    - ``answer_delay_seconds``: from a request to its answer;
    - ``first_answer_bad``: required fields missing or wrong in the first answer;
    - ``patience_seconds``: how long after a request an agent must wait before it may
      conclude that no answer is coming (where none ever comes);
    - ``update_after_seconds``: from an escalation to the owning team's first update
      (``None``: the team never sends one).

    An ideal agent asks for every field and escalates at turn 1 (time 0) and acts at
    every turn. A message due at the same instant as a turn reaches that turn, unless
    that very turn set it off; an event after the last turn is never seen (the episode
    has ended), so something counts as reachable only if a turn sees it.
    """
    required = task.required_requested_fields
    step, last_turn = task.step_seconds, (task.max_steps - 1) * task.step_seconds
    delay = answer_delay_seconds
    bad = tuple(f for f in required if f in set(first_answer_bad)) if answers else required
    if answers:
        chase_at = _seen_at(0, delay, step)  # the turn that sees the first answer
    else:
        chase_at = _seen_at(0, max(delay, patience_seconds), step)
    chase_possible = bool(required) and chase_at <= last_turn
    # When a turn has seen every field an ideal agent can get (None: some never arrive).
    complete_at: int | None
    undelivered: tuple[str, ...]
    if not required:
        complete_at, undelivered = 0, ()
    elif not answers or chase_at > last_turn:
        complete_at, undelivered = None, required
    elif not bad:
        complete_at, undelivered = chase_at, ()
    elif (again := _seen_at(chase_at, chase_at + delay, step)) <= last_turn:
        complete_at, undelivered = again, ()
    else:
        complete_at, undelivered = None, bad
    sla_reachable = True
    if undelivered == () and task.gold_status in TERMINAL_STATUSES:
        # The status needs every field, seen by a turn no later than the deadline.
        sla_reachable = complete_at is not None and complete_at <= task.sla_deadline_seconds
    return WorldOutlook(
        answer_delay_seconds=delay, first_answer_bad=bad, undelivered=undelivered,
        chase_possible=chase_possible, sla_reachable=sla_reachable,
        update_relayable=(update_after_seconds is not None
                          and _seen_at(0, update_after_seconds, step) <= last_turn),
    )


def outlook_as_written(task: SupportTaskSpec) -> WorldOutlook:
    """The outlook of the task's own world: its follow-up outcome as written, a
    cooperative customer and teams without faults (the grader's default for a trace
    whose header names no outlook)."""
    delay = task.customer_reply_delay_minutes * 60
    bad: tuple[str, ...] = ()
    if task.follow_up_outcome == "partial":
        provided = set(task.follow_up_provided_fields)
        bad = tuple(f for f in task.required_requested_fields if f not in provided)
    return derive_outlook(
        task, answers=task.follow_up_outcome != "none", answer_delay_seconds=delay,
        # Patience as the standard world's customer has it (actors.customer.customer_plan):
        # the slowest persona's delay, so this is that world's cooperative outlook.
        first_answer_bad=bad, patience_seconds=max(delay, 1) + task.step_seconds,
        update_after_seconds=task.team_update_delay_minutes * 60,
    )
