from __future__ import annotations

from tasks.base import SupportTaskSpec, KnowledgeSnippet, SupportTicket

TASK = SupportTaskSpec(
    task_id="webhook_backlog_hard",
    difficulty="hard",
    title="Webhook deliveries hours late for several enterprise customers",
    objective=(
        "Rule out the customer's endpoint, recognise a regional incident hitting several enterprise "
        "customers, escalate it under a tight SLA with the right severity flags, and keep the "
        "customer informed without claiming events are gone."
    ),
    ticket=SupportTicket(
        customer_name="Kenji Watanabe",
        customer_tier="enterprise",
        company="Sora Logistics",
        subject="Webhooks delayed 2+ hours in ap-northeast-1",
        body=(
            "Since about 06:10 UTC our order.updated webhooks arrive 2-3 hours late, and some have not "
            "arrived yet. Our endpoint is healthy: your test event was delivered and answered with a 200 "
            "in 80 ms. Our warehouse is picking and shipping on stale order data.\n\n"
            "[Helpdesk: 5 tickets auto-linked in the last 90 minutes from other enterprise customers "
            "in ap-northeast-1, all reporting webhook delivery delays.]"
        ),
        region="ap-northeast-1",
        affected_users=2300,
        sla_minutes_remaining=45,
    ),
    knowledge_base=(
        KnowledgeSnippet(
            article_id="kb-webhook-delays",
            title="Webhook delivery delay runbook",
            content=(
                "Check the customer's endpoint first: a test event delivered and answered 2xx in under "
                "10 seconds rules out the customer side. If the endpoint is healthy and deliveries are "
                "more than 30 minutes late, it is a production incident on our side: set issue type "
                "production_incident, escalate to platform_engineering (queue platform_engineering) and "
                "set the resolution code runbook_investigation. Priority urgent when any enterprise "
                "customer is affected, otherwise high. Request the request_ids of a few delayed "
                "deliveries, the time_window in UTC and the regions of the receiving endpoints. Events "
                "are kept and retried for 72 hours: in your reply, say the events are queued and will be "
                "retried, and give the time of the next update. In an internal note, write 'delivery "
                "backlog' and the number of linked tickets."
            ),
        ),
        KnowledgeSnippet(
            article_id="kb-incident-severity",
            title="Incident severity and risk flags",
            content=(
                "Raise p1_incident when 3 or more enterprise customers report the same production "
                "incident. Raise sla_breach when the ticket has under 60 minutes of SLA remaining at "
                "triage. Raise vip_customer only for accounts tagged Strategic in the CRM."
            ),
        ),
        KnowledgeSnippet(
            article_id="kb-incident-comms",
            title="Incident communications",
            content=(
                "Say what we observe and when the next update comes; never guess at a cause in a reply. "
                "Never write that events or data are 'lost' or 'dropped', not even to deny it: a reply "
                "must not contain either word."
            ),
        ),
        KnowledgeSnippet(
            article_id="kb-customer-endpoint",
            title="Slow webhooks caused by the customer's endpoint",
            content=(
                "If the test event fails, times out or gets a 4xx/5xx, the delay is on the customer "
                "side: keep the ticket in general_support, explain the retry schedule and resolve with "
                "resolution code workaround_provided."
            ),
        ),
    ),
    gold_queue="platform_engineering",
    gold_priority="urgent",
    gold_issue_type="production_incident",
    gold_status="escalated",
    gold_resolution_code="runbook_investigation",
    required_requested_fields=("request_ids", "time_window", "regions"),
    required_reply_markers=(
        ("queued", "retried"),
        ("next update",),
    ),
    required_note_markers=(("delivery backlog",),),
    risk_flags=("p1_incident", "sla_breach"),
    follow_up_outcome="complete",
    follow_up_message=(
        "Platform: consumer lag on the ap-northeast-1 webhook dispatcher; workers added, backlog "
        "draining, ETA 40 minutes to real time."
    ),
    sla_step_cost=15,
    over_escalation_queues=(),
    under_escalation_deadline_step=2,
    max_steps=6,
    internal_terms=(
        "kb-webhook-delays",
        "kb-incident-severity",
        "kb-incident-comms",
        "kb-customer-endpoint",
    ),
    forbidden_reply_markers=(
        ("lost",),
        ("dropped",),
    ),
    team_ack_delay_minutes=10,
    team_update_delay_minutes=45,
)
