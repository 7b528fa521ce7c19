"""Writing for the customer and for the internal note.

Public text never shows an internal catalog id as written (``platform_engineering``
reads "platform engineering") nor a knowledge-base article id, and drops every line that
holds a term the knowledge base says never to use. A note quotes the runbook but stays
mostly in the agent's own words: an optional line is kept only while at most
``OWN_WORDS_SHARE`` of the note's word 5-grams come from text the agent was shown.
Everything here is pure: the policy decides what to say, this module how.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from actors.agents.heuristic.memory import Shingles
from actors.agents.heuristic.plan import Plan
from actors.agents.heuristic.prose import (
    content_words,
    fit,
    fit_lines,
    has_term,
    human,
    human_list,
    sentence_case,
)
from sim.observation import Observation, TicketView
from sim.operations import MAX_NOTE_CHARS, MAX_REPLY_CHARS
from sim.text_checks import copied_share, update_facts
from tasks.catalog import Catalog

#: The largest share of a note's word 5-grams that may come from text the agent was
#: shown: a note quotes the runbook's words, it does not paste the runbook.
OWN_WORDS_SHARE = 0.4
SIGN_OFF = "Best regards, Support"
#: Past participles a runbook's "say you have ..." uses, and their base forms.
_BASE_FORMS = {"sent": "send", "issued": "issue", "reset": "reset", "refunded": "refund",
               "processed": "process", "fixed": "fix", "resolved": "resolve", "made": "make",
               "opened": "open", "filed": "file", "logged": "log", "credited": "credit",
               "restored": "restore", "removed": "remove", "deleted": "delete",
               "exported": "export", "updated": "update", "applied": "apply"}


def first_name(ticket: TicketView) -> str:
    name = ticket.customer_name.strip().split()
    return name[0] if name else "there"


def team(queue: str) -> str:
    """A queue as the customer reads it: "platform engineering"."""
    return queue.replace("_", " ")


def search_query(observation: Observation) -> str:
    """The knowledge-base query for the ticket: its meaningful words, each once."""
    ticket = observation.ticket
    words = content_words(
        f"{observation.title} {observation.objective} {ticket.subject} {ticket.body}"
    )
    query = " ".join(dict.fromkeys(words))
    return query[:MAX_REPLY_CHARS].rsplit(" ", 1)[0] if len(query) > MAX_REPLY_CHARS \
        else (query or "help")


# --------------------------------------------------------------------------- public text


def internal_ids(catalog: Catalog) -> tuple[str, ...]:
    """Catalog ids a customer must never read as written (``platform_engineering``)."""
    return tuple(v for v in (*catalog.queues, *catalog.risk_flags, *catalog.resolution_codes)
                 if "_" in v)


def public(text: str, internal: Sequence[str], articles: Iterable[str]) -> str:
    """``text`` with every internal catalog id written as words, and no knowledge-base
    article id (internal references a customer cannot open)."""
    capital = text[:1].isupper()
    for value in sorted(internal, key=len, reverse=True):
        if value.lower() in text.lower():
            text = re.sub(r"(?<![\w])" + re.escape(value) + r"(?![\w])", team(value), text,
                          flags=re.IGNORECASE)
    for article_id in sorted(articles, key=len, reverse=True):
        if article_id.lower() in text.lower():
            text = re.sub(r"(?<![\w-])" + re.escape(article_id) + r"(?![\w-])",
                          "our help article", text, flags=re.IGNORECASE)
    return text[:1].upper() + text[1:] if capital else text


def reply_message(lines: Sequence[str], banned: Sequence[str], internal: Sequence[str],
                  articles: Iterable[str]) -> str:
    """A reply's text: the lines with no banned term, made public, fitted to a reply."""
    kept = [public(line, internal, articles) for line in lines
            if line and not any(has_term(line, term) for term in banned)]
    return fit_lines(kept, MAX_REPLY_CHARS) or "Thank you, we are on it."


def claims_done(line: str) -> bool:
    """Whether a reply line reports an action as done ("we have sent a reset link")."""
    return re.search(r"\bwe have (?:already |now )?(?:sent|issued|reset|refunded|processed|"
                     r"fixed|resolved|\w+ed)\b", line.lower()) is not None


def next_step(line: str) -> str | None:
    """A done-claim ("We have sent a reset link ...") as the step that follows once the
    details are in, or ``None`` where the verb is not one it knows how to turn."""
    match = re.match(r"\s*we have (?:already |now )?(\w+)\b(.*)$", line, re.IGNORECASE | re.DOTALL)
    if match is None or match.group(1).lower() not in _BASE_FORMS:
        return None
    rest = match.group(2).strip()
    return sentence_case(f"once we have the details below, we will "
                         f"{_BASE_FORMS[match.group(1).lower()]} {rest}")


def triage_reply(ticket: TicketView, plan: Plan, wanted: Sequence[str], escalate: bool,
                 deferred: Sequence[str]) -> list[str]:
    """The first reply after triage: acknowledgement, the runbook's lines (those in
    ``deferred`` announced as next steps instead), the escalation and the request."""
    lines = [f"Hello {first_name(ticket)},"]
    runbook_lines = [line for line in plan.reply_lines if line not in deferred]
    runbook_lines += [step for step in map(next_step, deferred) if step]
    if plan.issue_type.endswith("_incident"):
        lines.append(f"We acknowledge the incident and are treating it with {plan.priority} "
                     "priority.")
    elif not (runbook_lines and runbook_lines[0].startswith("Thank you")):
        lines.append("Thank you for the details you shared.")
    lines.extend(runbook_lines)
    runbook_text = " ".join(plan.reply_lines).lower()
    if plan.status_page and plan.issue_type.endswith("_incident") \
            and "status page" not in runbook_text:
        lines.append("Please check our status page for live updates.")
    if escalate and plan.escalate_to:
        lines.append(f"We escalate this to our {team(plan.escalate_to)} team now, and we "
                     "will send you the next update as soon as they report back.")
    if wanted:
        lines.append(f"To move forward, we need to collect the following details: "
                     f"{human_list(wanted)}. Could you reply with them?")
    lines.append(SIGN_OFF)
    return lines


def update_line(text: str, queue: str, banned: Sequence[str]) -> str:
    """A team's update (``text``), passed on from ``queue`` with its facts (numbers,
    ETAs, ids); only the facts where the update holds a banned term."""
    name = team(queue)
    body = re.sub(r"^[A-Za-z ]{2,40}:\s*", "", text).strip()
    line = f"An update from our {name} team: {body}" if body else ""
    if not line or any(has_term(line, term) for term in banned):
        facts = [f for f in update_facts(text)
                 if not any(has_term(f, term) for term in banned)]
        line = (f"Our {name} team has sent an update ({', '.join(facts)}) and is actively "
                "working on this." if facts else
                f"Our {name} team has sent an update and is actively working on this.")
    return line + " We will send you the next update as soon as we have one."


# --------------------------------------------------------------------------- notes


def own_words(lines: Sequence[str], optional: Sequence[str], seen: Sequence[Shingles],
              limit: int = MAX_NOTE_CHARS) -> str:
    """``lines``, plus each of ``optional`` that keeps the text mostly the agent's own
    (quoting what it was shown is fine; pasting it wholesale is not)."""
    kept = list(lines)
    for line in optional:
        candidate = "\n".join([*kept, line])
        if len(candidate) <= limit and copied_share(candidate, seen) <= OWN_WORDS_SHARE:
            kept.append(line)
    return fit("\n".join(kept), limit)


def triage_note(ticket: TicketView, plan: Plan, wanted: Sequence[str], escalate: bool,
                seen: Sequence[Shingles]) -> str:
    """The triage note: the plan, the runbook's note lines, flags, escalation, blocks and
    the request; the runbook and the ticket's bracketed context where they fit."""
    lines = [f"Triage: queue {plan.queue}, priority {plan.priority}, issue type "
             f"{plan.issue_type or 'unset'}, target status {plan.status}"
             f"{', resolution ' + plan.resolution_code if plan.resolution_code else ''}."]
    optional: list[str] = []  # kept only while the note stays in the agent's own words
    for line in plan.note_lines:
        line = line.replace("{subject}", ticket.subject)
        (optional if line.startswith("Runbook:") else lines).append(line)
    if plan.flags:
        lines.append(f"Risk flags: {', '.join(plan.flags)}.")
    for bracket in re.findall(r"\[([^\]]{3,400})\]", ticket.body):
        label = "Linked tickets" if "link" in bracket.lower() else "Context"
        optional.append(f"{label}: {bracket.strip()}")
    if escalate and plan.escalate_to:
        short = plan.escalate_to.split("_")[0].capitalize()
        lines.append(f"{short} escalation: handed to {plan.escalate_to}.")
    if plan.blocked_queues:
        lines.append(f"Not for: {', '.join(plan.blocked_queues)}.")
    if wanted:
        lines.append(f"Requested from the customer: {human_list(wanted)}.")
    if plan.runbook:
        lines.append(f"Runbook followed: {plan.runbook}.")
        optional.append(f"Runbook {plan.runbook}: {plan.runbook_text}")
    return own_words(lines, optional, seen)


def deferred_note(ticket: TicketView, plan: Plan, received: Iterable[str],
                  seen: Sequence[Shingles]) -> str:
    """The note the runbook asked for "once" the fields are in, with what came back."""
    names = ", ".join(human(f) for f in received)
    deferred = [line.replace("{subject}", ticket.subject) for line in plan.deferred_note_lines]
    kept = [d for d in deferred if not d.startswith("Runbook:")]
    optional = [d for d in deferred if d.startswith("Runbook:")]
    return own_words([*kept, f"Received from the customer: {names}."], optional, seen)
