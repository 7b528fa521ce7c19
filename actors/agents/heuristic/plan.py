"""The plan: what the agent means to do with the ticket, decided from the articles read
so far and, where they are silent, from the ticket itself.

The *runbook* is the first article that instructs (assigns a queue, an escalation, an
issue type or a status); the others only fill gaps, in the order they were found, except
risk flags and blocks, which are collected from every article. Among one kind of mention
an unconditional one wins over a weak ("only if") one. Only catalog values leave the
plan; ``""`` means "leave it as it is".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import attrs

from actors.agents.heuristic.reading import ArticleFacts, Mention, read_article
from actors.agents.heuristic.ticket import (
    DEFAULT_CODE,
    DEFAULT_QUEUE,
    TicketFacts,
    infer_flags,
    infer_issue_type,
    infer_priority,
)
from sim.observation import TicketView
from tasks.base import KnowledgeSnippet
from tasks.catalog import Catalog


@attrs.frozen
class Plan:
    """What the agent means to do with the ticket."""

    queue: str
    priority: str
    issue_type: str
    status: str
    resolution_code: str | None
    escalate_to: str | None
    fields: tuple[str, ...]
    flags: tuple[str, ...]
    blocked_queues: tuple[str, ...]
    banned: tuple[str, ...]
    reply_lines: tuple[str, ...]
    note_lines: tuple[str, ...]
    deferred_note_lines: tuple[str, ...]
    status_page: bool
    runbook: str | None
    runbook_text: str


def derive_plan(
    articles: Sequence[KnowledgeSnippet], ticket: TicketView, catalog: Catalog,
    minutes_to_sla: int, title: str = "", objective: str = "",
) -> Plan:
    """The plan for a ticket, from the articles found so far (in the order found)."""
    facts = TicketFacts.of(ticket, minutes_to_sla)
    scanned = [read_article(a, catalog, facts) for a in articles]
    blocked_queues = list(dict.fromkeys(q for a in scanned for q in a.blocked_queues))
    blocked_flags = list(dict.fromkeys(f for a in scanned for f in a.blocked_flags))
    banned = list(dict.fromkeys(t for a in scanned for t in a.banned))
    for article in scanned:
        article.queues = [m for m in article.queues if m.value not in blocked_queues]
        article.escalations = [m for m in article.escalations if m.value not in blocked_queues]
    runbook = next((a for a in scanned if a.instructs), scanned[0] if scanned else None)
    order = ([runbook] if runbook else []) + [a for a in scanned if a is not runbook]

    escalate_to, escalating = _escalation(order)
    issue_type = _first(_ordered(order, "issue_types")) or infer_issue_type(
        f"{title} {objective} {facts.text}".lower(), catalog)
    queue = escalate_to or _first(_ordered(order, "queues"))
    if queue is None:
        fallback = DEFAULT_QUEUE.get(issue_type or "", "general_support")
        queue = fallback if fallback in catalog.queues and fallback not in blocked_queues \
            else ticket.queue
    priority = _first(_ordered(order, "priorities")) or infer_priority(
        issue_type, facts, catalog) or ticket.priority
    fields: list[str] = list(runbook.fields) if runbook else []
    if not fields:
        fields = next((list(a.fields) for a in order if a.fields), [])
    status = _status(order, escalating, escalate_to, fields, ticket, catalog)
    code = _first(_ordered(order, "resolution_codes"))
    if code is None:
        fallback_code = DEFAULT_CODE.get(issue_type or "")
        code = fallback_code if fallback_code in catalog.resolution_codes else None
    if any(a.mentions_flags for a in scanned):
        flags = list(dict.fromkeys(
            m.value for m in _ordered(order, "flags")
            if not m.weak and m.value not in blocked_flags
        ))
    else:
        flags = infer_flags(issue_type, priority, facts, catalog)
    return Plan(
        queue=queue if queue in catalog.queues else "",
        priority=priority if priority in catalog.priorities else "",
        issue_type=issue_type if issue_type in catalog.issue_types else "",
        status=status if status in catalog.statuses else "",
        resolution_code=code, escalate_to=escalate_to,
        fields=tuple(f for f in fields if f in catalog.fields),
        flags=tuple(f for f in flags if f in catalog.risk_flags),
        blocked_queues=tuple(blocked_queues), banned=tuple(banned),
        reply_lines=tuple(sorted(runbook.reply_lines if runbook else (),
                                 key=lambda line: line.startswith("Workaround:"))),
        note_lines=tuple(runbook.note_lines if runbook else ()),
        deferred_note_lines=tuple(runbook.deferred_note_lines if runbook else ()),
        status_page=any(a.mentions_status_page for a in scanned),
        runbook=runbook.article_id if runbook else None,
        runbook_text=runbook.content if runbook else "",
    )


def _first(mentions: Iterable[Mention]) -> str | None:
    """The first instruction, preferring unconditional ones over "only if" ones."""
    pool = list(mentions)
    strong = [m for m in pool if not m.weak]
    chosen = strong[0] if strong else (pool[0] if pool else None)
    return chosen.value if chosen else None


def _ordered(articles: list[ArticleFacts], attr: str) -> list[Mention]:
    """Mentions of one kind, runbook first, then article order, then position."""
    result: list[Mention] = []
    for article in articles:
        found: list[Mention] = getattr(article, attr)
        result.extend(sorted(found, key=lambda m: m.position))
    return result


def _escalation(order: list[ArticleFacts]) -> tuple[str | None, ArticleFacts | None]:
    """The team to escalate to and the article that says so: the first article (runbook
    first) that names one, unless an earlier one says not to escalate."""
    for article in order:
        if article.escalations:
            return _first(article.escalations), article
        if article.no_escalation:
            break
    return None, None


def _status(order: list[ArticleFacts], escalating: ArticleFacts | None,
            escalate_to: str | None, fields: list[str], ticket: TicketView,
            catalog: Catalog) -> str | None:
    """The target status: the first article that sets one (an escalation counts as
    "escalated" where it is said); else escalated, pending (fields owed) or resolved."""
    status: str | None = None
    for article in order:
        candidates = sorted(article.statuses, key=lambda m: m.position)
        if article is escalating and escalate_to is not None:
            at = min(m.position for m in article.escalations)
            candidates = sorted([*candidates, Mention("escalated", at)],
                                key=lambda m: m.position)
        if candidates:
            status = _first(candidates)
            break
    if status is None:
        status = "escalated" if escalate_to else ("pending" if fields else "resolved")
    if status not in catalog.statuses:
        status = "open" if "open" in catalog.statuses else ticket.status
    return status
