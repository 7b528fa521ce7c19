from __future__ import annotations

from tasks.base import SupportTaskSpec, KnowledgeSnippet, SupportTicket

TASK = SupportTaskSpec(
    task_id="known_incident_duplicate_medium",
    difficulty="medium",
    title="Ticket about an already-declared incident",
    objective=(
        "Recognise that a report matches a declared incident, attach the customer's evidence to the "
        "master ticket and close this one as a duplicate instead of escalating it again."
    ),
    ticket=SupportTicket(
        customer_name="Ana Ferreira",
        customer_tier="pro",
        company="Lumen Analytics",
        subject="Dashboards not loading in EU",
        body=(
            "Our dashboards have been stuck on the loading spinner for about 40 minutes for everyone "
            "in our Lisbon office. API calls from our backend work fine. Is something going on? "
            "Our workspace is hosted in eu-central-1."
        ),
        region="eu-central-1",
        affected_users=60,
        sla_minutes_remaining=120,
    ),
    knowledge_base=(
        KnowledgeSnippet(
            article_id="kb-inc-4471",
            title="Active incident INC-4471: dashboards failing to load in eu-central-1",
            content=(
                "Declared 50 minutes ago; the incident commander is the platform_engineering on-call. "
                "Symptom: dashboards stuck loading for workspaces hosted in eu-central-1; the API is "
                "unaffected. The master ticket carries p1_incident. The status page is updated every "
                "30 minutes."
            ),
        ),
        KnowledgeSnippet(
            article_id="kb-incident-duplicates",
            title="Handling tickets during a declared incident",
            content=(
                "If a ticket matches a declared incident's symptoms and region, it is a duplicate of "
                "the incident's master ticket. Do not escalate individual tickets to "
                "platform_engineering: the incident commander already owns the fix and escalations "
                "during an incident are bounced. Keep the ticket in general_support with issue type "
                "production_incident and priority high. Do not raise p1_incident on duplicates. Request "
                "the request_ids of a few failing page loads (from the browser's network tab) to attach "
                "to the master ticket; once the customer has sent them, set status closed with "
                "resolution code duplicate. In your reply, confirm the ongoing incident, point to the "
                "status page and say it is updated every 30 minutes. In an internal note, write "
                "'linked to master incident'."
            ),
        ),
    ),
    gold_queue="general_support",
    gold_priority="high",
    gold_issue_type="production_incident",
    gold_status="closed",
    gold_resolution_code="duplicate",
    required_requested_fields=("request_ids",),
    required_reply_markers=(
        ("ongoing incident",),
        ("status page", "30 minutes"),
    ),
    required_note_markers=(("linked to master incident",),),
    risk_flags=(),
    follow_up_outcome="complete",
    follow_up_message="Platform: INC-4471 mitigated, dashboards loading again in eu-central-1.",
    sla_step_cost=15,
    over_escalation_queues=("platform_engineering",),
    max_steps=6,
    internal_terms=("kb-inc-4471", "kb-incident-duplicates",),
)
