from __future__ import annotations

from tasks.base import SupportTaskSpec, KnowledgeSnippet, SupportTicket

TASK = SupportTaskSpec(
    task_id="cross_tenant_exposure_hard",
    difficulty="hard",
    title="Scheduled export contains another company's data",
    objective=(
        "Treat a cross-tenant data exposure reported by several enterprise customers as a security "
        "incident: escalate fast to the right team, collect evidence, catch a truncated id, and "
        "communicate without speculating."
    ),
    ticket=SupportTicket(
        customer_name="Rafael Mendes",
        customer_tier="enterprise",
        company="Atlas Freight Group",
        subject="Our export contains another company's shipments",
        body=(
            "This morning's scheduled CSV export (Reports > Shipments) contains about 300 rows that are "
            "not ours: customer names and delivery addresses from a company called Kestrel Home Goods. "
            "We have restricted access to the file internally. We need to know what happened and "
            "whether OUR data went to someone else.\n\n"
            "[Helpdesk: 3 similar tickets auto-linked in the last 2 hours from other enterprise "
            "customers (Halden Pharma, Oakridge Mutual, Vireo Retail), all about scheduled exports "
            "showing rows from another company.]"
        ),
        region="eu-west-1",
        affected_users=850,
        sla_minutes_remaining=60,
    ),
    knowledge_base=(
        KnowledgeSnippet(
            article_id="kb-data-exposure",
            title="Suspected cross-tenant data exposure (P1)",
            content=(
                "Any report of one customer seeing another customer's data is a security incident "
                "until proven otherwise, even when it looks like a reporting bug. Set issue type "
                "security_incident, priority urgent and queue security, and escalate to security "
                "within your first two turns. Raise data_exposure and legal_risk (regulatory "
                "notification clocks may start); when two or more enterprise customers report it, also "
                "raise p1_incident. Request the request_ids of the export job (full ids: req_ followed by 12 hex characters), "
                "the time_window of the export, the user_ids of everyone who opened the file and a "
                "screenshot of the foreign rows. Set the resolution code security_review. In your "
                "reply, say our security team is investigating and ask the customer to keep access "
                "restricted and do not forward the file. In an internal note, write 'tenant data "
                "exposure' and list the linked tickets."
            ),
        ),
        KnowledgeSnippet(
            article_id="kb-security-comms",
            title="Customer communications during a security investigation",
            content=(
                "Until security has confirmed the scope, never use the word 'breach' in a reply and "
                "never speculate on the cause: do not mention a 'bug', a 'cache' or a "
                "'misconfiguration'. Legal reviews any statement about notification."
            ),
        ),
        KnowledgeSnippet(
            article_id="kb-privacy-scope",
            title="What the data_privacy queue handles",
            content=(
                "data_privacy handles data subject requests (access, export, deletion) and DPA "
                "paperwork. It does not run incident response: exposure incidents go to security, "
                "which brings in privacy and legal itself. Do not escalate exposures to data_privacy."
            ),
        ),
        KnowledgeSnippet(
            article_id="kb-reports-known-issues",
            title="Reports: known issues",
            content=(
                "After a workspace timezone change, scheduled exports can repeat some of the "
                "workspace's own rows. That display bug is filed with platform_engineering "
                "(resolution code bug_filed). It never involves another workspace's data."
            ),
        ),
    ),
    gold_queue="security",
    gold_priority="urgent",
    gold_issue_type="security_incident",
    gold_status="escalated",
    gold_resolution_code="security_review",
    required_requested_fields=("request_ids", "time_window", "user_ids", "screenshot"),
    required_reply_markers=(
        ("security team", "investigating"),
        ("do not forward",),
    ),
    required_note_markers=(
        ("tenant data exposure",),
        ("linked tickets",),
    ),
    risk_flags=("data_exposure", "legal_risk", "p1_incident"),
    follow_up_outcome="partial",
    follow_up_message=(
        "Security: scheduled exports paused in eu-west-1 and the affected job isolated; scoping "
        "affected workspaces, next update in 60 minutes."
    ),
    follow_up_provided_fields=("time_window", "screenshot"),
    follow_up_wrong_fields=("request_ids",),
    sla_step_cost=12,
    over_escalation_queues=("data_privacy", "platform_engineering"),
    under_escalation_deadline_step=2,
    max_steps=8,
    internal_terms=(
        "kb-data-exposure",
        "kb-security-comms",
        "kb-privacy-scope",
        "kb-reports-known-issues",
        "Halden Pharma",
        "Oakridge Mutual",
        "Vireo Retail",
    ),
    forbidden_reply_markers=(
        ("breach",),
        ("bug",),
        ("cache",),
        ("misconfiguration",),
    ),
)
