"""The turn decisions: from what the agent remembers and what it sees, this turn's
operations.

* Turn 1 with a brief: rank the brief's knowledge base as ``search_kb`` would (the
  ticket's words, then :data:`~actors.agents.heuristic.memory.FOLLOW_UP_QUERIES`) and
  triage at once: set the ticket's fields, raise flags, reply (asking for the runbook's
  fields), write the note, escalate, set the status (``pending`` while fields are owed
  for a resolved/closed ending). Without a brief, turn 1 searches and acknowledges,
  and the triage waits for the articles (turn 2); one follow-up search a turn follows.
* Later turns: re-request malformed fields (at most ``MAX_REQUESTS_PER_FIELD`` times
  each); chase once a silent customer, when even a slow one would have answered (two
  turns after the request); pass each team update on; answer nudges; resolve or close
  once every requested field came back; finish once nothing is owed (a silent customer
  who was chased counts as settled two turns later).
* At most one public reply a turn, and no more than one per message that called for one
  plus ``REPLY_ALLOWANCE`` (a request or a relay is always owed).

Every function here may update the :class:`~actors.agents.heuristic.memory.Memory` it
is given; none keeps state of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from actors.agents.heuristic.memory import FOLLOW_UP_QUERIES, Memory
from actors.agents.heuristic.plan import Plan, derive_plan
from actors.agents.heuristic.prose import fit, human_list
from actors.agents.heuristic.writing import (
    SIGN_OFF,
    claims_done,
    deferred_note,
    first_name,
    internal_ids,
    reply_message,
    search_query,
    triage_note,
    triage_reply,
    update_line,
)
from sim.knowledge import search_knowledge_base
from sim.observation import Observation
from sim.operations import MAX_NOTE_CHARS, MAX_OPERATIONS_PER_TURN
from tasks.base import TERMINAL_STATUSES, KnowledgeSnippet

Op = dict[str, Any]

#: Replies the agent allows itself beyond one per message that called for one (the
#: first reply, a chase).
REPLY_ALLOWANCE = 2
#: How often one field is asked for again before the agent gives up on it.
MAX_REQUESTS_PER_FIELD = 3


def decide(memory: Memory, observation: Observation) -> list[Op]:
    """This turn's operations (never more than ``MAX_OPERATIONS_PER_TURN``)."""
    if memory.done:
        return [{"op": "finish"}]
    nudged = memory.learn(observation)
    if memory.plan is None and memory.library is not None and not memory.searched:
        _search_library(memory, memory.library, observation)
    if not memory.searched:
        memory.searched = True
        return _first_turn(memory, observation)
    if memory.minutes_at_triage is None:
        memory.minutes_at_triage = observation.minutes_to_sla
    plan = derive_plan(
        list(memory.articles.values()), observation.ticket, observation.catalog,
        memory.minutes_at_triage, observation.title, observation.objective,
    )
    triaged = memory.plan is not None
    memory.plan = plan
    if not triaged:
        return _triage(memory, observation, plan)
    return _follow_up(memory, observation, plan, nudged)


def _search_library(memory: Memory, library: tuple[KnowledgeSnippet, ...],
                    observation: Observation) -> None:
    """Every search at once, in the brief's knowledge base, ranked as ``search_kb`` would
    rank it: the triage need not wait for results."""
    memory.searched = True
    memory.follow_ups = []
    for text in (search_query(observation), *FOLLOW_UP_QUERIES):
        for article in search_knowledge_base(library, text):
            memory.articles.setdefault(article.article_id, article)


def _first_turn(memory: Memory, observation: Observation) -> list[Op]:
    """Without a brief: search the knowledge base and acknowledge the ticket."""
    name = first_name(observation.ticket)
    message = (f"Hello {name}, thank you for contacting us. We have received your ticket "
               "and are reviewing it now; we will follow up shortly with next steps.")
    return [
        {"op": "search_kb", "query": search_query(observation)},
        _reply(memory, observation, [message], []),
    ]


# --------------------------------------------------------------------------- triage


def _triage(memory: Memory, observation: Observation, plan: Plan) -> list[Op]:
    ticket = observation.ticket
    ops: list[Op] = []
    fields_update = {key: value for key, value in (
        ("queue", plan.queue), ("priority", plan.priority), ("issue_type", plan.issue_type)
    ) if value}
    if fields_update:
        ops.append({"op": "set_fields", **fields_update})
    ops.extend(_new_flags(memory, plan))
    wanted = [f for f in plan.fields if f in observation.catalog.fields]
    escalate = plan.escalate_to is not None and plan.escalate_to not in memory.bounced
    if plan.status in TERMINAL_STATUSES and wanted:
        # "Say you have sent a reset link" waits until the fields are back; until then
        # the customer hears it as the next step.
        memory.deferred_reply = [line for line in plan.reply_lines if claims_done(line)]
    reply = triage_reply(ticket, plan, wanted, escalate, memory.deferred_reply)
    ops.append(_reply(memory, observation, reply, wanted))
    ops.append({"op": "note", "text": triage_note(ticket, plan, wanted, escalate, memory.seen)})
    if escalate and plan.escalate_to is not None:
        ops.append({"op": "escalate", "queue": plan.escalate_to,
                    "summary": fit(f"{ticket.subject} ({ticket.company}, "
                                   f"{ticket.customer_tier} tier, {ticket.affected_users} "
                                   f"users affected). Runbook: {plan.runbook or 'none'}.",
                                   MAX_NOTE_CHARS)})
        memory.escalated_to = plan.escalate_to
    ops.extend(_status_ops(memory, plan, observation.catalog.statuses, closing=not wanted))
    if not memory.done and memory.follow_ups:
        ops.append({"op": "search_kb", "query": memory.follow_ups.pop(0)})
    return ops


def _new_flags(memory: Memory, plan: Plan) -> list[Op]:
    """Raise the plan's flags not raised yet."""
    flags = [f for f in plan.flags if f not in memory.flags_raised]
    if not flags:
        return []
    memory.flags_raised.extend(flags)
    return [{"op": "flag_risk", "flags": flags}]


def _status_ops(memory: Memory, plan: Plan, statuses: Sequence[str], *,
                closing: bool) -> list[Op]:
    """The status to set now: the target, or pending until the fields are back."""
    status = plan.status
    if not status:
        return []
    if status in TERMINAL_STATUSES and not closing:
        status = "pending" if "pending" in statuses else ""
    if status not in statuses:
        return []
    if status == "escalated" and memory.escalated_to is None:
        return []
    op: Op = {"op": "set_status", "status": status}
    if plan.resolution_code:
        op["resolution_code"] = plan.resolution_code
    if status in TERMINAL_STATUSES:
        memory.done = True
    return [op]


# --------------------------------------------------------------------------- later turns


def _follow_up(memory: Memory, observation: Observation, plan: Plan,
               nudged: bool) -> list[Op]:
    ticket = observation.ticket
    ops = [*_new_flags(memory, plan), *_reroute(memory, observation, plan)]
    again, lines = _requests(memory, observation)
    relaying = memory.update_pending
    if relaying:
        lines.append(_relay(memory, observation, plan))
    fields_done = bool(memory.requested) and not memory.outstanding()
    closing = (plan.status in TERMINAL_STATUSES and (fields_done or not memory.requested)
               and not again)
    if closing:
        lines.append("Thank you, we now have everything we need.")
        lines.extend(memory.deferred_reply)
        lines.append(("We are resolving this ticket now."
                      if plan.status == "resolved" else "We are closing this ticket now.")
                     + " Reply any time if anything else comes up.")
    if nudged and not lines:
        lines.append("Sorry for the wait. We are actively working on your ticket and will "
                     "send the next update as soon as we have one.")
    # A request or a relay is owed; anything else only within the reply allowance.
    if lines and (again or relaying or memory.replies < memory.inbound + REPLY_ALLOWANCE):
        body = [f"Hello {first_name(ticket)},", *lines, SIGN_OFF]
        ops.append(_reply(memory, observation, body, again))
        if relaying:
            memory.update_pending = False
            memory.informed = True
    if fields_done and plan.deferred_note_lines and not memory.deferred_written:
        memory.deferred_written = True
        ops.append({"op": "note",
                    "text": deferred_note(ticket, plan, memory.received, memory.seen)})
    if closing:
        ops.extend(_status_ops(memory, plan, observation.catalog.statuses, closing=True))
    elif _finished(memory, plan, observation, again):
        ops.append({"op": "finish"})
        memory.done = True
    if not memory.done and memory.follow_ups and len(ops) < MAX_OPERATIONS_PER_TURN:
        ops.append({"op": "search_kb", "query": memory.follow_ups.pop(0)})
    return ops


def _reroute(memory: Memory, observation: Observation, plan: Plan) -> list[Op]:
    """After a bounce, the plan's queue; or an escalation the plan has come to call for
    (a later article, a team that bounced another)."""
    if memory.escalated_to is not None:
        return []
    if memory.bounced and plan.escalate_to is None and plan.queue:
        return [{"op": "set_fields", "queue": plan.queue}]
    if plan.escalate_to is None or plan.escalate_to in memory.bounced:
        return []
    ops: list[Op] = [{"op": "escalate", "queue": plan.escalate_to,
                      "summary": fit(f"{observation.ticket.subject} (re-triaged)",
                                     MAX_NOTE_CHARS)}]
    if plan.escalate_to in observation.catalog.queues:
        ops.append({"op": "set_fields", "queue": plan.escalate_to})
    memory.escalated_to = plan.escalate_to
    return ops


def _requests(memory: Memory, observation: Observation) -> tuple[list[str], list[str]]:
    """The fields to ask for this turn (malformed answers, or a chase) and the lines
    that ask."""
    again = [f for f in memory.bad if memory.requested.get(f, 0) < MAX_REQUESTS_PER_FIELD]
    if again:
        return again, [f"Thank you for your answer. Some details were missing or not in the "
                       f"expected format: {human_list(again)}. Could you send them again, "
                       "please?"]
    if not _silence_to_chase(memory, observation):
        return [], []
    again = memory.outstanding()
    memory.chased_at = observation.time_seconds
    return again, [f"We have not received the details we asked for yet: "
                   f"{human_list(again)}. Could you send them when you can, please?"]


def _silence_to_chase(memory: Memory, observation: Observation) -> bool:
    """Whether to chase now: fields asked for, no answer at all, and the time even a
    slow customer would have answered (a reply delay of up to one turn, plus one turn)
    has passed. Once only."""
    step = memory.step_seconds
    return (memory.asked_at is not None and step is not None and not memory.answered
            and memory.chased_at is None and bool(memory.outstanding())
            and observation.time_seconds >= memory.asked_at + 2 * step)


def _relay(memory: Memory, observation: Observation, plan: Plan) -> str:
    """The latest team update of this turn, passed on with its facts."""
    updates = [m for m in observation.messages if m.kind == "team_update"]
    text = updates[-1].text if updates else ""
    return update_line(text, memory.escalated_to or plan.queue, plan.banned)


def _finished(memory: Memory, plan: Plan, observation: Observation, again: list[str]) -> bool:
    """Whether nothing more is owed: every field asked for is in (or a silent customer
    was chased and stayed silent for two turns), and any team update passed on."""
    if again or memory.update_pending:
        return False
    step = memory.step_seconds or 0
    settled = not memory.outstanding() or (
        memory.chased_at is not None and not memory.answered
        and observation.time_seconds >= memory.chased_at + 2 * step
    )
    if not settled:
        return False
    if plan.status == "escalated":
        return memory.escalated_to is not None and memory.informed
    # Resolved or closed comes with its fields; without them the ticket stays parked.
    return plan.status not in TERMINAL_STATUSES


def _reply(memory: Memory, observation: Observation, lines: list[str],
           request: list[str]) -> Op:
    """A public reply of ``lines`` that asks for ``request``, counted in the memory."""
    plan = memory.plan
    articles = {*memory.articles, *(a.article_id for a in memory.library or ())}
    message = reply_message(lines, plan.banned if plan is not None else (),
                            internal_ids(observation.catalog), articles)
    op: Op = {"op": "reply", "message": message}
    memory.replies += 1
    if request:
        op["request_fields"] = list(request)
        memory.asked_for(request, observation.time_seconds)
    return op
