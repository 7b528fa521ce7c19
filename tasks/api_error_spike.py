"""Family: a customer reports a burst of API errors.

Decision facts the knowledge base turns into gold:
- the status codes in the customer's log: 5xx (the platform failing) is an incident for
  platform_engineering; 4xx (the API rejecting the customer's own requests) stays in
  general_support and is resolved: a rate limit (how_to, answered) or the known
  metadata-key defect (bug, workaround_provided), never escalated;
- how many enterprise customers report the 5xx errors (linked tickets from enterprise
  accounts, plus this one if it is enterprise): 3 or more make it a P1 (urgent, p1_incident);
- the SLA minutes left at triage against the 60-minute line (sla_breach);
- the region, which names the status page component to follow (5xx), and the tier, which
  sets the rate limit to quote (429) and the priority of customer-side errors.
"""

from __future__ import annotations

from sim.kernel.draws import Draws
from tasks.base import KnowledgeSnippet, SupportTaskSpec, SupportTicket

FAMILY_ID = "api_error_spike"

_FIRST = ("Priya", "Tomasz", "Lena", "Oluwaseun", "Hiroshi", "Camila", "Rafael", "Ingrid",
          "Mehmet", "Aisha", "Jonas", "Beatriz", "Dmitri", "Nora", "Sandeep", "Elif")
_LAST = ("Raman", "Kowalczyk", "Brandt", "Adeyemi", "Sato", "Restrepo", "Duarte", "Lindqvist",
         "Yilmaz", "Haddad", "Berger", "Souza", "Volkov", "Keane", "Iyer", "Aydin")
_COMPANY = ("Brightcart", "Tidewater Freight", "Quillstone Health", "Meridian Payroll",
            "Foxglove Travel", "Copperleaf Games", "Halden Insurance", "Nimbus Tickets",
            "Orchard Grocers", "Kestrel Mobility", "Lattice Learning", "Bluefin Markets")
_REGIONS = ("us-east-1", "us-west-2", "ca-central-1", "sa-east-1", "eu-west-1",
            "eu-central-1", "eu-north-1", "ap-southeast-2", "ap-northeast-1", "ap-south-1")
_ENDPOINTS = ("POST /v2/orders", "GET /v2/orders", "POST /v2/payments", "GET /v2/customers",
              "POST /v2/shipments", "GET /v2/invoices")
_5XX = ("500 Internal Server Error", "502 Bad Gateway", "503 Service Unavailable",
        "504 Gateway Timeout")
_CAUSES = ("connection pool exhaustion on the API gateway", "a bad configuration push to the "
           "load balancers", "a failing primary database replica", "a saturated cache cluster",
           "TLS termination errors on a subset of edge nodes")
_META_KEYS = ("erp.ref", "shop.id", "crm.account", "source.channel", "pos.terminal",
              "wms.batch", "promo.code", "tax.zone")
_RATE_LIMITS = {"starter": 120, "pro": 600, "business": 1500, "enterprise": 3000}

KNOWLEDGE_BASE = (
    KnowledgeSnippet(
        article_id="kb-api-error-triage",
        title="Triage of API error reports",
        content=(
            "Read the HTTP status codes in the customer's logs before anything else. 5xx codes "
            "(500, 502, 503, 504) mean our platform is failing: treat the report as a "
            "production_incident, escalate it to platform_engineering, set status escalated "
            "with resolution code runbook_investigation, and ask for the request_ids of a few "
            "failed calls, the time_window in UTC and the regions the calls were sent to. "
            "Priority is high, or urgent for a P1 (see the severity article). In the reply, "
            "acknowledge the incident, tell the customer which status page component to follow "
            "and say that our engineers are investigating. In the internal note, write 'api "
            "error spike' with the region, and the number of enterprise customers affected.\n"
            "4xx codes mean the API rejected the customer's own requests: that is never an "
            "outage, whatever the volume, and platform_engineering bounces such tickets. Keep "
            "them in general_support; priority normal, or high when the customer is on the "
            "enterprise plan. Resolve them once the customer has sent what you asked for "
            "(see the rate limit and known issue articles)."
        ),
    ),
    KnowledgeSnippet(
        article_id="kb-incident-severity",
        title="Severity, P1 and SLA flags",
        content=(
            "Count the enterprise customers reporting the same 5xx errors: tickets the helpdesk "
            "linked from enterprise accounts, plus the reporter if their account is enterprise. "
            "Accounts on other plans do not count. With 3 or more, the incident is a P1: "
            "priority urgent and risk flag p1_incident. Below 3, no p1_incident. On any ticket, "
            "raise sla_breach when fewer than 60 minutes of SLA remain at triage."
        ),
    ),
    KnowledgeSnippet(
        article_id="kb-status-components",
        title="Status page components",
        content=(
            "The status page shows the API per geography. Calls served from us-, ca- and sa- "
            "regions are on the component 'API Americas'; eu- regions on 'API Europe'; ap- "
            "regions on 'API Asia Pacific'. Point customers at the component of the region "
            "their failing calls went to; never promise a resolution time or a service credit "
            "before engineering gives one (a reply must not contain 'guarantee')."
        ),
    ),
    KnowledgeSnippet(
        article_id="kb-rate-limits",
        title="Rate limits (HTTP 429)",
        content=(
            "Each API key may make a fixed number of requests per minute, set by plan: starter "
            "120, pro 600, business 1500, enterprise 3000. Above that the API answers 429 Too "
            "Many Requests with a Retry-After header. A 429 report is a how_to question: ask "
            "for the api_key_prefix of the key that gets the 429s and the time_window, tell the "
            "customer the per-minute limit of their plan and to back off for the number of "
            "seconds in Retry-After, and resolve with resolution code answered. In the internal "
            "note, write 'customer-side errors'."
        ),
    ),
    KnowledgeSnippet(
        article_id="kb-known-issue-meta-keys",
        title="Known issue: 422 unknown_field for metadata keys with a dot",
        content=(
            "Since API version 2025-11-01, the Orders API answers 422 Unprocessable Entity "
            "with 'unknown_field' when a metadata key contains a dot. Engineering owns the fix "
            "(ENG-3317), so this is not escalated: issue type bug, handled in general_support. "
            "Ask for the request_ids, the exact error_message and a payload_sample of a "
            "rejected call. The workaround: rename the key with an underscore instead of the "
            "dot ('order.note' becomes 'order_note') or pin the API version header to "
            "2025-09-15. Once the customer sent them, resolve with resolution code "
            "workaround_provided. In the reply, say it is a known issue and give the renamed "
            "key; in the internal note, write 'linked to known issue'."
        ),
    ),
    KnowledgeSnippet(
        article_id="kb-api-keys",
        title="Rotating API keys",
        content=(
            "Customers rotate keys from Settings > Developers. A revoked key answers 401 at "
            "once; a rolled key keeps working for 24 hours. Support cannot see full keys, only "
            "the prefix."
        ),
    ),
)

INTERNAL_TERMS = (*(article.article_id for article in KNOWLEDGE_BASE), "ENG-3317")


def _component(region: str) -> str:
    if region.startswith("eu-"):
        return "API Europe"
    if region.startswith("ap-"):
        return "API Asia Pacific"
    return "API Americas"


def _clock(draw: Draws) -> str:
    return f"{draw.randint(0, 23):02d}:{draw.choice((0, 5, 10, 15, 20, 30, 40, 45, 50)):02d}"


def _linked_line(enterprise: int, others: int, about: str) -> str:
    if enterprise == 0 and others == 0:
        return "[Helpdesk: no related tickets in the last hour.]"
    total = enterprise + others
    parts = []
    if enterprise:
        parts.append(f"{enterprise} from enterprise accounts")
    if others:
        parts.append(f"{others} from pro or business accounts")
    return (f"[Helpdesk: {total} ticket{'s' if total > 1 else ''} auto-linked in the last hour "
            f"about {about}: {' and '.join(parts)}.]")


def FAMILY(draw: Draws) -> SupportTaskSpec:
    kind = draw.choice(("5xx", "5xx", "5xx", "5xx", "429", "429", "422", "422"))
    name = f"{draw.choice(_FIRST)} {draw.choice(_LAST)}"
    company = draw.choice(_COMPANY)
    region = draw.choice(_REGIONS)
    endpoint = draw.choice(_ENDPOINTS)
    started = _clock(draw)
    total_calls = draw.randint(8, 90) * 100
    failed = total_calls * draw.randint(12, 65) // 100
    sla = draw.randint(25, 170)
    flags: list[str] = []
    required: tuple[str, ...]
    reply_markers: tuple[tuple[str, ...], ...]
    note_markers: tuple[tuple[str, ...], ...]

    if kind == "5xx":
        tier = draw.choice(("enterprise", "enterprise", "business", "pro"))
        linked_ent = draw.randint(0, 4)
        linked_other = draw.randint(0, 3)
        enterprise_count = linked_ent + (1 if tier == "enterprise" else 0)
        p1 = enterprise_count >= 3
        codes = draw.sample(_5XX, 2)
        ticket_ref = f"INC-{draw.randint(1000, 9999)}"
        eta = draw.choice((15, 20, 25, 30, 40, 45, 60))
        cause = draw.choice(_CAUSES)
        body = (
            f"Since roughly {started} UTC our calls to {endpoint} keep failing. In the last "
            f"{draw.randint(20, 90)} minutes {failed} of {total_calls} requests came back with "
            f"`{codes[0]}`, and a few with `{codes[1]}`. We have not deployed anything since "
            f"yesterday and our traffic is normal. Everything goes through {region}. Our "
            f"{draw.choice(('checkout', 'dispatch board', 'booking flow', 'billing run'))} is "
            f"degraded; please tell us what is going on.\n\n"
            + _linked_line(linked_ent, linked_other, "5xx errors from the API")
        )
        subject = draw.choice((f"{codes[0][:3]} errors on {endpoint}",
                               f"API failing for us since {started} UTC",
                               "Lots of server errors from your API"))
        if p1:
            flags.append("p1_incident")
        queue, priority, issue = "platform_engineering", ("urgent" if p1 else "high"), \
            "production_incident"
        status, resolution = "escalated", "runbook_investigation"
        required = ("request_ids", "time_window", "regions")
        outcome = draw.choice(("complete", "partial", "partial"))
        provided: tuple[str, ...] = ()
        wrong: tuple[str, ...] = ()
        if outcome == "partial":
            provided, wrong = draw.choice(((("request_ids", "time_window"), ("regions",)),
                                           (("regions", "time_window"), ("request_ids",)),
                                           (("request_ids",), ("time_window",))))
        reply_markers = (("status page", _component(region)), ("engineers", "investigating"))
        note_markers = (("api error spike", region), ("enterprise customers", str(enterprise_count)))
        follow_up = (f"Platform: elevated 5xx in {region} traced to {cause}; mitigation under "
                     f"way, next update in {eta} minutes ({ticket_ref}).")
        update_markers: tuple[str, ...] = (f"{eta} minutes", ticket_ref)
        over: tuple[str, ...] = ()
        deadline: int | None = 2
        affected = draw.randint(300, 9000)
    else:
        tier = draw.choice(("starter", "pro", "business", "enterprise"))
        queue = "general_support"
        priority = "high" if tier == "enterprise" else "normal"
        status = "resolved"
        over = ("platform_engineering",)
        deadline = None
        update_markers = ()
        follow_up = "General support: nothing to add on our side."
        affected = draw.randint(5, 400)
        noise = _linked_line(0, draw.randint(0, 1), "API errors")
        if kind == "429":
            workers = draw.randint(6, 64)
            body = (
                f"Your API is rejecting our calls. Since {started} UTC our sync job gets "
                f"`HTTP 429 Too Many Requests` on {endpoint}: {failed} of {total_calls} calls in "
                f"the last run. The job runs {workers} workers in parallel with the same key. It "
                f"worked fine until we onboarded a new batch of stores this week. Is the API "
                f"down in {region}?\n\n{noise}"
            )
            subject = draw.choice(("API rejecting our requests", f"429s on {endpoint}",
                                   "Sync job failing against your API"))
            issue, resolution = "how_to", "answered"
            required = ("api_key_prefix", "time_window")
            outcome = draw.choice(("complete", "partial"))
            provided, wrong = ((("time_window",), ("api_key_prefix",)) if outcome == "partial"
                               else ((), ()))
            limit = _RATE_LIMITS[tier]
            reply_markers = (("rate limit", f"{limit} requests per minute"), ("retry-after",))
            note_markers = (("customer-side errors",),)
        else:
            key = draw.choice(_META_KEYS)
            renamed = key.replace(".", "_")
            body = (
                f"Since {started} UTC every update we send to PATCH /v2/orders is refused with "
                f"`422 Unprocessable Entity` and the body says `unknown_field: metadata.{key}`. "
                f"That is {failed} failed updates so far. We send `{key}` on every order and it "
                f"worked last week; we did bump our API version header during the upgrade. "
                f"Region {region}.\n\n{noise}"
            )
            subject = draw.choice(("422 on order updates", "Order updates rejected by the API",
                                   f"unknown_field error for {key}"))
            issue, resolution = "bug", "workaround_provided"
            required = ("request_ids", "error_message", "payload_sample")
            outcome = draw.choice(("complete", "partial"))
            provided, wrong = ((("request_ids", "error_message"), ("payload_sample",))
                               if outcome == "partial" else ((), ()))
            reply_markers = (("known issue",), (renamed,))
            note_markers = (("linked to known issue",),)

    if sla < 60:
        flags.append("sla_breach")

    return SupportTaskSpec(
        task_id=FAMILY_ID,
        difficulty="hard",
        title="Customer reports a burst of API errors",
        objective=(
            "Work out from the customer's error codes and the knowledge base whether the "
            "platform is failing or the API is rejecting the customer's requests; set severity "
            "and flags by policy, collect the right diagnostics, and escalate or resolve."
        ),
        ticket=SupportTicket(
            customer_name=name,
            customer_tier=tier,
            company=company,
            subject=subject,
            body=body,
            region=region,
            affected_users=affected,
            sla_minutes_remaining=sla,
        ),
        knowledge_base=KNOWLEDGE_BASE,
        gold_queue=queue,
        gold_priority=priority,
        gold_issue_type=issue,
        gold_status=status,
        gold_resolution_code=resolution,
        required_requested_fields=required,
        required_reply_markers=reply_markers,
        required_note_markers=note_markers,
        risk_flags=tuple(flags),
        follow_up_outcome=outcome,
        follow_up_message=follow_up,
        follow_up_provided_fields=provided,
        follow_up_wrong_fields=wrong,
        sla_step_cost=15,
        over_escalation_queues=over,
        under_escalation_deadline_step=deadline,
        max_steps=8,
        forbidden_reply_markers=(("guarantee",),),
        update_markers=update_markers,
        internal_terms=INTERNAL_TERMS,
        team_ack_delay_minutes=5,
        team_update_delay_minutes=30,
    )
