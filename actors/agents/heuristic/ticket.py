"""What the ticket says by itself: its facts, whether a runbook's condition holds for it,
and what its words suggest where the knowledge base is silent.

A runbook condition ("for enterprise customers", "when three or more customers report
it", "under 60 minutes to the SLA") is checked only in the parts a ticket can answer;
the parts it cannot answer pass. The ``infer_*`` functions are the fallbacks
:func:`~actors.agents.heuristic.plan.derive_plan` uses when no article decides.
"""

from __future__ import annotations

import re

import attrs

from actors.agents.heuristic.prose import NUMBER_WORDS, content_words, number
from sim.observation import TicketView
from tasks.catalog import Catalog

_TIERS = ("free", "starter", "pro", "business", "enterprise")
_NUMBER = r"(\d+|" + "|".join(NUMBER_WORDS) + r")"
#: "[Helpdesk: 5 similar tickets auto-linked]", "three other tickets from other customers".
_LINKED = re.compile(
    r"\b" + _NUMBER + r"\s+(?:similar\s+|other\s+|more\s+)*tickets?\b"
    r"[^.\]]*?\b(?:linked|auto-linked|from other)", re.IGNORECASE)


@attrs.frozen
class TicketFacts:
    """What the agent reads off the ticket itself (``text`` is lower case)."""

    text: str
    tier: str
    affected_users: int
    minutes_to_sla: int
    customers_reporting: int

    @classmethod
    def of(cls, ticket: TicketView, minutes_to_sla: int) -> TicketFacts:
        text = f"{ticket.subject}\n{ticket.body}"
        return cls(text=text.lower(), tier=ticket.customer_tier.lower(),
                   affected_users=ticket.affected_users, minutes_to_sla=minutes_to_sla,
                   customers_reporting=1 + linked_tickets(text))


def linked_tickets(text: str) -> int:
    """How many other tickets the helpdesk linked to this one (0 when it says nothing)."""
    best = 0
    for match in _LINKED.finditer(text):
        count = number(match.group(1))
        if count is not None:
            best = max(best, count)
    return best


# --------------------------------------------------------------------------- conditions


def condition_holds(condition: str, facts: TicketFacts) -> bool:
    """Check the parts of a runbook condition a ticket can answer; the rest pass."""
    condition = condition.lower()
    if not condition.strip():
        return True
    return all(check(condition, facts) for check in _CHECKS)


def _sla_within(condition: str, facts: TicketFacts) -> bool:
    """"under 60 minutes" (to the SLA)."""
    match = re.search(r"\bunder\s+(\d+)\s+minutes\b", condition)
    return not match or facts.minutes_to_sla < int(match.group(1))


def _enough_customers(condition: str, facts: TicketFacts) -> bool:
    """"three or more customers" (this ticket and those linked to it)."""
    match = re.search(r"\b" + _NUMBER + r"\s+or\s+more\b[^.;]*?\bcustomers\b", condition)
    return not match or facts.customers_reporting >= (number(match.group(1)) or 0)


def _enough_users(condition: str, facts: TicketFacts) -> bool:
    """"more than 1,000 users" (affected)."""
    match = re.search(r"\b(?:more than|over|at least)\s+([\d,]+)\s+users\b", condition)
    return not match or facts.affected_users >= int(match.group(1).replace(",", ""))


def _tier_matches(condition: str, facts: TicketFacts) -> bool:
    """"for enterprise" or "paid tiers": the customer's tier, or a ticket that says
    "<tier> customers" are affected."""
    tiers = [t for t in _TIERS if re.search(rf"\b{t}\b", condition)]
    if re.search(r"\bpaid\b", condition):
        tiers += [t for t in _TIERS if t != "free"]
    if not tiers or facts.tier in tiers:
        return True
    return any(re.search(rf"\b{t}\s+customers\b", facts.text) for t in tiers)


def _tag_present(condition: str, facts: TicketFacts) -> bool:
    """"tagged strategic": the tag is in the ticket."""
    match = re.search(r"\btagged\s+([a-z][\w-]*)", condition)
    return not match or re.search(rf"\b{re.escape(match.group(1))}\b", facts.text) is not None


def _mention_present(condition: str, facts: TicketFacts) -> bool:
    """"mentions a chargeback": a word of it (by its first six letters) is in the ticket."""
    match = re.search(r"\bmentions?\s+([^;.]+)", condition)
    if not match:
        return True
    wanted = [w for w in content_words(match.group(1)) if w not in ("customer",)]
    stems = {w[:6] for w in wanted}
    return not stems or any(w[:6] in stems for w in content_words(facts.text))


_CHECKS = (_sla_within, _enough_customers, _enough_users, _tier_matches, _tag_present,
           _mention_present)


# --------------------------------------------------------------------------- fallbacks

#: Issue types by the ticket's words, the first that matches winning.
_ISSUE_KEYWORDS: tuple[tuple[str, str], ...] = (
    ("security_incident", r"unauthori[sz]ed|takeover|hacked|phishing|another company's|"
                          r"leaked|compromised|didn't make|nobody .{0,30}bought"),
    ("production_incident", r"\boutage|\bincident|\b5\d\d\b|\b5xx|\b500s\b|timing out|"
                            r"timeouts?\b|\bdown\b|latency|across regions"),
    ("data_request", r"\bgdpr\b|subject access|personal data|delete (?:my|our) data"),
    ("account_access", r"password|locked out|can't log ?in|cannot log ?in|sign[- ]?in fails"),
    ("refund_request", r"\brefund"),
    ("billing_dispute", r"\bcharged?\b|\binvoice|\bbilled\b|overbill"),
    ("feature_request", r"\bfeature\b|would love|is this planned|could you add|roadmap"),
    ("bug", r"\bbug\b|broken|\berror\b|doesn't work|not working|fails?\b|crash"),
    ("how_to", r"\bhow (?:do|can|to)\b"),
)
DEFAULT_QUEUE = {
    "security_incident": "security", "production_incident": "platform_engineering",
    "data_request": "data_privacy", "account_access": "account_management",
    "refund_request": "billing", "billing_dispute": "billing",
    "feature_request": "product_feedback",
}
DEFAULT_CODE = {
    "security_incident": "security_review", "production_incident": "runbook_investigation",
    "data_request": "data_export_sent", "account_access": "credential_reset",
    "refund_request": "refund_issued", "billing_dispute": "refund_issued",
    "feature_request": "feature_logged", "bug": "bug_filed", "how_to": "answered",
}


def infer_issue_type(text: str, catalog: Catalog) -> str | None:
    """The issue type the words of ``text`` (lower case) suggest, if the catalog has it."""
    for value, pattern in _ISSUE_KEYWORDS:
        if value in catalog.issue_types and re.search(pattern, text):
            return value
    return None


def infer_priority(issue_type: str | None, facts: TicketFacts, catalog: Catalog) -> str | None:
    """The priority the ticket's size, tier and urgency suggest, if the catalog has it."""
    incident = issue_type in ("production_incident", "security_incident")
    big = facts.affected_users >= 1000 or facts.customers_reporting >= 2
    if incident and (big or facts.tier == "enterprise"):
        wanted = "urgent"
    elif incident or facts.tier in ("business", "enterprise") or re.search(
        r"\basap\b|\burgent|\bblocked|\bblocking", facts.text
    ):
        wanted = "high"
    elif facts.tier == "free" or issue_type in ("feature_request", "how_to"):
        wanted = "low"
    else:
        wanted = "normal"
    return wanted if wanted in catalog.priorities else None


def infer_flags(issue_type: str | None, priority: str | None, facts: TicketFacts,
                catalog: Catalog) -> list[str]:
    """Risk flags from the ticket alone, for a knowledge base that names none."""
    text = facts.text
    incident = issue_type in ("production_incident", "security_incident")
    rules = (
        ("p1_incident", incident and (facts.affected_users >= 1000
                                      or facts.customers_reporting >= 2)),
        ("sla_breach", priority == "urgent" and facts.minutes_to_sla <= 120),
        ("fraud_suspected", bool(re.search(r"didn't make|did not make|unauthori[sz]ed|"
                                           r"don't recogni[sz]e|nobody .{0,30}bought", text))),
        ("data_exposure", bool(re.search(r"another company's|other customer's data", text))),
        ("churn_risk", bool(re.search(r"\bcancel|alternatives|competitor|switch(?:ing)? to",
                                      text))),
        ("vip_customer", "strategic" in text),
        ("legal_risk", bool(re.search(r"\blawyer|legal action|\bsue\b|regulator", text))),
        ("compliance_deadline", bool(re.search(r"statutory deadline", text))),
    )
    return [flag for flag, hit in rules if hit and flag in catalog.risk_flags]
