from __future__ import annotations

from tasks.base import SupportTaskSpec, KnowledgeSnippet, SupportTicket

TASK = SupportTaskSpec(
    task_id="feature_request_easy",
    difficulty="easy",
    title="Scheduled PDF exports feature request",
    objective=(
        "Log a feature request with product feedback and close it, without promising a delivery "
        "date and without handing a would-upgrade remark to sales."
    ),
    ticket=SupportTicket(
        customer_name="Lena Fischer",
        customer_tier="starter",
        company="Kiefer & Sohn Bau",
        subject="Can dashboards be emailed as PDF every Monday?",
        body=(
            "We'd love to have our site-progress dashboard emailed as a PDF to the foremen every "
            "Monday at 7am. Right now someone exports it by hand. If you had scheduled PDF exports "
            "we would probably move up to the Business plan and add ten more seats. Is this planned?"
        ),
        region="eu-central-1",
        affected_users=4,
        sla_minutes_remaining=1440,
    ),
    knowledge_base=(
        KnowledgeSnippet(
            article_id="kb-feature-requests",
            title="Handling feature requests",
            content=(
                "Log the request on the product feedback board by setting queue product_feedback, "
                "priority low and issue type feature_request; that files it, so no escalation is "
                "needed and no fields need to be requested. Reply thanking the customer, say the "
                "feature request has been logged with the product team, and point them to the public "
                "roadmap. Then set status closed with resolution code feature_logged: we close (not "
                "resolve) feature requests because there is nothing to fix. In an internal note, "
                "describe the customer's use case in one line, starting with 'use case'. Never promise "
                "that or when a feature will ship: a reply must not contain the words 'guarantee' or "
                "'next release'."
            ),
        ),
        KnowledgeSnippet(
            article_id="kb-sales-handoff",
            title="When to involve sales",
            content=(
                "The sales queue only takes explicit requests for a quote, a contract or a plan change "
                "the customer cannot make in the billing settings. A customer who says they would "
                "upgrade if a feature existed is making a feature request, not a sales lead: do not "
                "send it to sales."
            ),
        ),
        KnowledgeSnippet(
            article_id="kb-dashboard-export",
            title="Exporting dashboards",
            content=(
                "Dashboards can be exported to PDF by hand from Share > Export PDF. Scheduled email "
                "delivery currently exists only for CSV reports (Reports > Schedule)."
            ),
        ),
    ),
    gold_queue="product_feedback",
    gold_priority="low",
    gold_issue_type="feature_request",
    gold_status="closed",
    gold_resolution_code="feature_logged",
    required_requested_fields=(),
    required_reply_markers=(
        ("feature request", "logged"),
        ("roadmap",),
    ),
    required_note_markers=(("use case",),),
    risk_flags=(),
    follow_up_outcome="none",
    follow_up_message="Product: added to 'Scheduled PDF exports' on the feedback board (now 23 votes).",
    sla_step_cost=30,
    over_escalation_queues=("sales",),
    max_steps=4,
    internal_terms=("kb-feature-requests", "kb-sales-handoff", "kb-dashboard-export",),
    forbidden_reply_markers=(
        ("guarantee",),
        ("next release",),
    ),
)
