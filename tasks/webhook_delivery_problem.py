"""Family: webhook deliveries fail or arrive late.

Decision facts the knowledge base turns into gold:
- signature failures and the customer's webhook SDK version: 3.7.0-3.8.1 is the known
  non-ASCII signature bug engineering already owns (general_support, workaround_provided,
  resolved; escalating it is a minefield); 3.8.2 or later is a new bug (escalate to
  platform_engineering, bug_filed), high priority when payment events fail;
- late deliveries with a healthy endpoint: an incident on our side (production_incident,
  runbook_investigation); 3 or more enterprise customers in the same region make it a P1
  (urgent, p1_incident); under 60 minutes of SLA raises sla_breach;
- late deliveries where the customer's endpoint times out: a how-to (answered, resolved).
"""

from __future__ import annotations

from sim.kernel.draws import Draws
from tasks.base import KnowledgeSnippet, SupportTaskSpec, SupportTicket

FAMILY_ID = "webhook_delivery_problem"

_FIRST = ("Maya", "Florian", "Chidi", "Sofia", "Kwame", "Yuki", "Mateo", "Hanna", "Arjun",
          "Leila", "Pieter", "Valentina", "Omar", "Greta", "Tariq", "Ines")
_LAST = ("Lindgren", "Moreau", "Okonkwo", "Rossi", "Mensah", "Tanaka", "Herrera", "Nowak",
         "Patel", "Karimi", "de Vries", "Bianchi", "Farouk", "Schulz", "Qureshi", "Alves")
_COMPANY = ("Parcelpoint", "Greenbay Florists", "Ridgeway Rentals", "Loop Subscriptions",
            "Harbor Clinics", "Sunday Bakehouse", "Pinecrest Ticketing", "Atlas Courier",
            "Velvet Cinemas", "Northstar Fitness", "Ember Coffee Co", "Mosaic Events")
_HOST_WORDS = ("parcelpoint", "greenbay", "ridgeway", "loopsubs", "harborclinics", "sundaybake",
               "pinecrest", "atlascourier", "velvet", "northstarfit", "embercoffee", "mosaic")
_HOST_PREFIX = ("hooks", "api", "events", "webhooks", "ingest")
_REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2",
            "ap-northeast-1")
_LANGS = ("Node", "Python", "Ruby", "PHP")
_OLD_SDK = ("3.7.0", "3.7.2", "3.7.4", "3.8.0", "3.8.1")
_NEW_SDK = ("3.8.2", "3.8.3", "3.9.0", "3.9.1", "4.0.0")
_ORDER_EVENTS = ("order.updated", "order.created", "shipment.delivered", "customer.updated")
_PAYMENT_EVENTS = ("payment.succeeded", "payment.refunded", "charge.failed")

KNOWLEDGE_BASE = (
    KnowledgeSnippet(
        article_id="kb-sdk-signature-known-issue",
        title="Known issue: webhook signatures fail in SDK 3.7.0 to 3.8.1",
        content=(
            "Webhook SDK releases 3.7.0 up to and including 3.8.1 (all languages) re-encode the "
            "JSON body before they compute the signature, so events with non-ASCII characters "
            "fail verification. Release 3.8.2 fixed it. Engineering already owns this bug: do "
            "not escalate reports from customers on an affected release. Keep them in "
            "general_support, issue type bug, priority normal; ask the customer to confirm the "
            "sdk_version and send the exact error_message; the workaround is to upgrade to "
            "3.8.2 or later, or to verify against the raw request body. Once they answered, "
            "resolve with resolution code workaround_provided. In the reply, say it is a known "
            "issue and that upgrading to 3.8.2 fixes it; in the internal note, write 'linked "
            "to known issue' and the customer's release number.\n"
            "Signature failures on 3.8.2 or later are not this bug. Treat them as a new bug: "
            "issue type bug, escalate to platform_engineering, status escalated, resolution "
            "code bug_filed; priority normal, or high when payment events fail. Ask for the "
            "sdk_version, a payload_sample of a failing event and the request_ids (event ids) "
            "of failed deliveries. In the reply, say you filed a bug with engineering for the "
            "customer's release; in the internal note, write 'new signature bug' and the "
            "release number."
        ),
    ),
    KnowledgeSnippet(
        article_id="kb-webhook-delivery-delays",
        title="Late or missing webhook deliveries",
        content=(
            "Our dispatcher waits 10 seconds for a 2xx answer; a slower answer counts as a "
            "failed attempt and the event is retried after 1, 5 and 30 minutes, then hourly for "
            "72 hours. Look at the delivery log the customer quotes.\n"
            "If attempts to the customer's endpoint time out, the delay comes from their "
            "endpoint: keep general_support, issue type how_to, priority normal; ask for the "
            "request_ids of a few late events and the time_window; explain that the endpoint "
            "must answer 2xx within 10 seconds and do the work asynchronously, naming their "
            "endpoint host in the reply; resolve with resolution code answered once they sent "
            "them. Internal note: 'endpoint timeouts'.\n"
            "If the endpoint answers quickly (for example a test event gets a 2xx in well under "
            "a second) yet deliveries are more than 30 minutes late, the backlog is ours: issue "
            "type production_incident, escalate to platform_engineering, status escalated, "
            "resolution code runbook_investigation, priority high (urgent for a P1). Ask for "
            "the request_ids of late events, the time_window and the regions of the receiving "
            "endpoints. In the reply, say the events are queued and will be retried, and when "
            "the next update comes. Internal note: 'dispatcher backlog' and the region."
        ),
    ),
    KnowledgeSnippet(
        article_id="kb-webhook-severity",
        title="Webhook incident severity",
        content=(
            "A delivery incident is a P1 (priority urgent, risk flag p1_incident) when 3 or "
            "more enterprise customers in the same region report it: count the enterprise "
            "tickets the helpdesk linked from that region, plus the reporter if they are on "
            "enterprise. Tickets from other regions or other plans do not count. On any ticket, "
            "raise sla_breach when fewer than 60 minutes of SLA remain at triage."
        ),
    ),
    KnowledgeSnippet(
        article_id="kb-webhook-security-guidance",
        title="Webhook security guidance",
        content=(
            "A signature mismatch from one of our SDKs is not a security incident, and the "
            "security team bounces such tickets; they only take events the customer received "
            "that we never sent. Never advise turning off verification: a reply must never "
            "suggest to disable signature verification. Rotating the signing secret does not "
            "fix SDK bugs."
        ),
    ),
    KnowledgeSnippet(
        article_id="kb-webhook-ip-ranges",
        title="Webhook source IP ranges",
        content=(
            "Deliveries come from the published IP ranges of each region. Customers who filter "
            "by IP must allow every range of their region; the list changes with 14 days' "
            "notice on the changelog."
        ),
    ),
)

INTERNAL_TERMS = tuple(article.article_id for article in KNOWLEDGE_BASE)


def _linked_line(same: int, other_region: int, other_plan: int, region: str,
                 elsewhere: str) -> str:
    parts = []
    if same:
        parts.append(f"{same} from enterprise accounts in {region}")
    if other_region:
        parts.append(f"{other_region} from enterprise accounts in {elsewhere}")
    if other_plan:
        parts.append(f"{other_plan} from pro accounts in {region}")
    total = same + other_region + other_plan
    if not total:
        return "[Helpdesk: no related tickets in the last 2 hours.]"
    return (f"[Helpdesk: {total} ticket{'s' if total > 1 else ''} about late webhooks "
            f"auto-linked in the last 2 hours: {', '.join(parts)}.]")


def FAMILY(draw: Draws) -> SupportTaskSpec:
    kind = draw.choice(("old_sdk", "old_sdk", "new_sdk", "new_sdk", "backlog", "backlog",
                        "backlog", "endpoint"))
    name = f"{draw.choice(_FIRST)} {draw.choice(_LAST)}"
    pick = draw.randbelow(len(_COMPANY))
    company = _COMPANY[pick]
    host = f"{draw.choice(_HOST_PREFIX)}.{_HOST_WORDS[pick]}.com"
    region = draw.choice(_REGIONS)
    lang = draw.choice(_LANGS)
    event_id = f"evt_{draw.getrandbits(48):012x}"
    total = draw.randint(4, 60) * 50
    failing = total * draw.randint(8, 45) // 100
    sla = draw.randint(30, 240)
    flags: list[str] = []
    update_markers: tuple[str, ...] = ()
    deadline: int | None = None
    provided: tuple[str, ...] = ()
    wrong: tuple[str, ...] = ()
    follow_up = "Support lead: nothing further needed from engineering."

    if kind in ("old_sdk", "new_sdk"):
        version = draw.choice(_OLD_SDK if kind == "old_sdk" else _NEW_SDK)
        payments = draw.randint(0, 2) == 0
        event = draw.choice(_PAYMENT_EVENTS if payments else _ORDER_EVENTS)
        tier = draw.choice(("pro", "business", "enterprise", "starter"))
        body = (
            f"After moving our {lang} webhook handler to SDK {version} on "
            f"{draw.choice(('Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday'))}, about "
            f"{failing} of the last {total} {event} events failed signature verification at "
            f"{host}; the handler throws and rejects them. Example event id: {event_id}. The "
            f"failures {draw.choice(('seem to be the ones with accented names', 'look random to us', 'mostly have customer names like Zoë or Łukasz'))}. "
            f"Should we rotate the signing secret? This is holding up "
            f"{'our payment reconciliation' if payments else 'order syncing'}."
        )
        subject = draw.choice(("Webhook signature verification failing",
                               f"Signature errors after SDK {version} upgrade",
                               f"{event} webhooks rejected by our handler"))
        issue = "bug"
        affected = draw.randint(10, 600)
        over: tuple[str, ...] = ("security",)
        if kind == "old_sdk":
            queue, priority, status, resolution = ("general_support", "normal", "resolved",
                                                   "workaround_provided")
            over = ("platform_engineering", "security")
            required: tuple[str, ...] = ("sdk_version", "error_message")
            outcome = draw.choice(("complete", "partial"))
            if outcome == "partial":
                provided, wrong = ("error_message",), ("sdk_version",)
            reply_markers: tuple[tuple[str, ...], ...] = (("known issue",), ("upgrade", "3.8.2"))
            note_markers: tuple[tuple[str, ...], ...] = (("linked to known issue", version),)
        else:
            queue, status, resolution = "platform_engineering", "escalated", "bug_filed"
            priority = "high" if payments else "normal"
            required = ("sdk_version", "payload_sample", "request_ids")
            outcome = draw.choice(("complete", "partial", "partial"))
            if outcome == "partial":
                provided, wrong = ("sdk_version", "request_ids"), ("payload_sample",)
            reply_markers = (("filed", "bug", "engineering"), (version,))
            note_markers = (("new signature bug", version),)
            ref = f"WHK-{draw.randint(1000, 9999)}"
            eta = draw.choice((2, 3, 4, 6, 24))
            follow_up = (f"Platform: reproduced the signature mismatch on SDK {version}; filed "
                         f"as {ref}, first findings in {eta} hours.")
            update_markers = (ref, f"{eta} hours")
            deadline = 3
    else:
        late = draw.randint(35, 240)
        if kind == "backlog":
            tier = draw.choice(("enterprise", "enterprise", "business"))
            same = draw.randint(0, 4)
            other_region = draw.randint(0, 2)
            other_plan = draw.randint(0, 2)
            elsewhere = draw.choice([r for r in _REGIONS if r != region])
            count = same + (1 if tier == "enterprise" else 0)
            p1 = count >= 3
            ms = draw.randint(40, 400)
            body = (
                f"Our {draw.choice(_ORDER_EVENTS)} webhooks to {host} are arriving {late} minutes "
                f"late or more since about {draw.randint(0, 23):02d}:{draw.choice(('05', '20', '35', '50'))} "
                f"UTC, and {event_id} still has not shown up. The endpoint is fine: the test event "
                f"from your dashboard got a 200 in {ms} ms. Our receivers sit in {region}.\n\n"
                + _linked_line(same, other_region, other_plan, region, elsewhere)
            )
            subject = draw.choice((f"Webhooks {late}+ minutes late", "Delayed webhook deliveries",
                                   f"Missing webhook events in {region}"))
            queue, issue, status, resolution = ("platform_engineering", "production_incident",
                                                "escalated", "runbook_investigation")
            priority = "urgent" if p1 else "high"
            if p1:
                flags.append("p1_incident")
            required = ("request_ids", "time_window", "regions")
            outcome = draw.choice(("complete", "partial"))
            if outcome == "partial":
                provided, wrong = ("request_ids", "regions"), ("time_window",)
            reply_markers = (("queued", "retried"), ("next update",))
            note_markers = (("dispatcher backlog", region),)
            eta = draw.choice((20, 30, 40, 50, 60, 90))
            ref = f"INC-{draw.randint(1000, 9999)}"
            follow_up = (f"Platform: {ref} opened for the {region} webhook dispatcher; workers "
                         f"scaled up, backlog expected to clear in {eta} minutes.")
            update_markers = (ref, f"{eta} minutes")
            deadline = 2
            over = ()
            affected = draw.randint(200, 5000)
        else:
            tier = draw.choice(("starter", "pro", "business", "enterprise"))
            secs = draw.randint(11, 30)
            body = (
                f"Webhooks have been arriving {late} minutes late for us since yesterday, some "
                f"even later. Your delivery log for {event_id} shows three attempts to "
                f"https://{host}/webhooks, each 'timeout after 10s'; our own logs say the handler "
                f"took about {secs} seconds because it writes to our ERP before answering. We are "
                f"in {region}. Is your platform slow?\n\n"
                + _linked_line(0, 0, draw.randint(0, 1), region, region)
            )
            subject = draw.choice(("Webhooks arriving late", "Slow webhook deliveries",
                                   "Webhook delays since yesterday"))
            queue, priority, issue, status, resolution = ("general_support", "normal", "how_to",
                                                          "resolved", "answered")
            required = ("request_ids", "time_window")
            outcome = draw.choice(("complete", "partial"))
            if outcome == "partial":
                provided, wrong = ("time_window",), ("request_ids",)
            reply_markers = ((host, "10 seconds"), ("asynchronously",))
            note_markers = (("endpoint timeouts",),)
            over = ("platform_engineering",)
            affected = draw.randint(5, 300)

    if sla < 60:
        flags.append("sla_breach")

    return SupportTaskSpec(
        task_id=FAMILY_ID,
        difficulty="medium",
        title="Webhook deliveries failing or late",
        objective=(
            "Tell apart a known SDK bug, a new bug, an incident on our side and a problem with "
            "the customer's own endpoint; route, prioritise and flag by policy, collect what "
            "engineering or support needs, and resolve or escalate."
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
        forbidden_reply_markers=(("disable", "signature verification"),),
        update_markers=update_markers,
        internal_terms=INTERNAL_TERMS,
        team_ack_delay_minutes=5,
        team_update_delay_minutes=30,
    )
