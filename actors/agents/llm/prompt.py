"""What the model reads: the job description, and one compact update per turn.

The job description (which opens the first update) explains the job in general terms —
operations, the catalog's values (from the first observation), what the customer sees
and what stays internal, asking for fields, escalating, the SLA and the clock,
finishing — and nothing tuned to one task's wording. Each update renders one
observation: the ticket itself on the first turn, then the turn and the clock, the
outcome of the last operations, knowledge-base results, new messages and the ticket's
fields.

Both are pure functions of the observation (and of what the agent itself sent), so the
same episode renders the same text, byte for byte: the response cache relies on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from sim.observation import InboundMessage, Observation, TicketView
from sim.operations import MAX_NOTE_CHARS, MAX_OPERATIONS_PER_TURN, MAX_REPLY_CHARS
from tasks.catalog import Catalog

__all__ = ["job_description", "render_update"]

_CATALOG_LINES = (
    ("queues", "queues"),
    ("priorities", "priorities"),
    ("issue types", "issue_types"),
    ("statuses", "statuses"),
    ("resolution codes", "resolution_codes"),
    ("risk flags", "risk_flags"),
    ("fields (for request_fields)", "fields"),
)

_HOW_TO_ACT = {
    "tools": (
        "You act by calling tools, one call per operation; all the calls of one answer "
        "form one turn and are applied in order. Text outside tool calls is no "
        "operation: it is rejected, and the customer never sees it."
    ),
    "json": (
        'You act by answering with one JSON object, {"ops": [operation, ...]}: each '
        'operation is an object whose "op" names it, with its arguments beside it, e.g. '
        '{"ops": [{"op": "note", "text": "..."}, {"op": "reply", "message": "...", '
        '"request_fields": ["..."]}]}. The operations of one answer form one turn and are '
        'applied in order; {"ops": []} waits for the next turn.'
    ),
}

_OPERATIONS = f"""\
Operations:
- set_fields(queue?, priority?, issue_type?): triage the ticket.
- reply(message, request_fields=[]): a public message, the only thing the customer \
sees (at most {MAX_REPLY_CHARS} characters). To ask the customer for information, name \
the catalog fields in request_fields and ask for them in the message; the answers \
arrive in later turns.
- note(text): an internal note, never shown to the customer: your triage, findings \
and the steps you took (at most {MAX_NOTE_CHARS} characters).
- search_kb(query): search the knowledge base; the articles come in the next update.
- flag_risk(flags): raise risk flags.
- escalate(queue, summary): hand the ticket to the team behind a queue (this sets the \
status to escalated); the team acknowledges and sends updates in later turns.
- set_status(status, resolution_code?): set the status; resolved or closed ends the \
ticket's handling.
- finish(): end your work on the ticket after this turn.
At most {MAX_OPERATIONS_PER_TURN} operations per turn."""

_GUIDANCE = """\
How to work:
- Triage early: queue, priority and issue type; flag the risks that apply.
- Look up the policy or runbook with search_kb and follow it.
- Ask the customer for the information the case needs; when an answer is missing or \
malformed, ask again for those fields.
- Escalate when the problem needs a team: once, to the queue of the team that owns it. \
Pass the team's news (times, numbers, identifiers) on to the customer.
- Write replies in plain words for the customer. Catalog ids (queue, risk flag and \
resolution code names) and internal details belong in notes, never in a reply. Reply \
when there is something new to say, not every turn.
- The SLA: by its deadline the customer must have had a reply and the ticket must be \
in its right status. Every turn moves the clock; each update says the minutes left.
- Set the final status and resolution code once you have what the case needs, then \
finish. Turns are limited; each update says how many are left.
- A rejected operation is reported in the next update with the reason; correct it."""


def job_description(catalog: Catalog, mode: Literal["tools", "json"]) -> str:
    """The job, the operations and the allowed values, for this catalog and mode."""
    values = "\n".join(f"- {label}: {', '.join(catalog.values(dimension)) or '(none)'}"
                       for label, dimension in _CATALOG_LINES)
    return (
        "You are a customer-support agent handling one ticket at a helpdesk. Each message "
        "you get is an update from the helpdesk: the turn and the clock, the outcome of "
        "your last operations, knowledge-base results, new messages from the customer or "
        "internal teams, and the ticket's fields.\n"
        f"{_HOW_TO_ACT[mode]}\n\n{_OPERATIONS}\n\n"
        f"Allowed values (anything else is rejected):\n{values}\n\n{_GUIDANCE}"
    )


def _ticket_intro(observation: Observation) -> str:
    t = observation.ticket
    return (
        f"New ticket: {observation.title}\n"
        f"Objective: {observation.objective}\n"
        f"From: {t.customer_name} ({t.customer_tier} tier), {t.company}; region "
        f"{t.region}; {t.affected_users} affected users\n"
        f"Subject: {t.subject}\n"
        f"{t.body}"
    )


def _clock(observation: Observation) -> str:
    o = observation
    if o.sla_breached:
        sla = "SLA breached"
    elif o.minutes_to_sla >= 0:
        sla = f"SLA deadline in {o.minutes_to_sla} min"
    else:
        sla = f"SLA deadline passed {-o.minutes_to_sla} min ago"
    last = " (your last turn)" if o.turns_left == 0 else f", {o.turns_left} left after this"
    return f"Turn {o.turn} of {o.max_steps}{last} · time {o.sim_minutes} min · {sla}"


def _fields(t: TicketView) -> str:
    def shown(value: str | None) -> str:
        return value if value else "none"

    return (
        f"Ticket fields: queue {t.queue} · priority {t.priority} · issue type "
        f"{shown(t.issue_type)} · status {t.status} · resolution code "
        f"{shown(t.resolution_code)} · risk flags {', '.join(t.risk_flags) or 'none'} · "
        f"escalated to {shown(t.escalated_to)}"
    )


def _message(m: InboundMessage) -> str:
    text = m.text.replace("\n", "\n  ")  # the message's own lines, inside its bullet
    line = f"- at {m.time_seconds // 60} min, {m.sender} ({m.kind}): {text}"
    if m.fields:
        line += "\n  fields received: " + "; ".join(f"{k}={v}" for k, v in m.fields.items())
    return line


def render_update(observation: Observation, *, first: bool, results: Sequence[str]) -> str:
    """One observation as the user message of its turn.

    ``first``: the agent's first turn, which also introduces the ticket. ``results``:
    one line per outcome of the last turn that the conversation does not already carry
    (in tools mode each call's outcome goes in its own tool message instead).
    """
    o = observation
    parts = [_ticket_intro(o)] if first else []
    parts.append(_clock(o))
    if results:
        parts.append("Results of your last operations:\n" + "\n".join(results))
    if o.kb_results:
        parts.append("Knowledge base results:\n" + "\n".join(
            f"- [{a.article_id}] {a.title}: {a.content}" for a in o.kb_results))
    if o.messages:
        parts.append("New messages:\n" + "\n".join(_message(m) for m in o.messages))
    elif not first:
        parts.append("No new messages.")
    parts.append(_fields(o.ticket))
    return "\n\n".join(parts)
