from __future__ import annotations

from tasks.base import SupportTaskSpec, KnowledgeSnippet, SupportTicket

TASK = SupportTaskSpec(
    task_id="vague_bug_report_easy",
    difficulty="easy",
    title="Vague 'nothing saves' bug report",
    objective=(
        "A free-tier user reports a bug with no details and then goes quiet; ask for what is needed "
        "to reproduce it and park the ticket as pending instead of escalating it to engineering."
    ),
    ticket=SupportTicket(
        customer_name="Sam Okoro",
        customer_tier="free",
        company="Okoro Photography",
        subject="editor broken AGAIN",
        body=(
            "the editor is broken again. nothing saves, i lose my work every time. "
            "this is the second time this month. fix it"
        ),
        region="eu-west-2",
        affected_users=1,
        sla_minutes_remaining=1440,
    ),
    knowledge_base=(
        KnowledgeSnippet(
            article_id="kb-bug-triage",
            title="Bug triage: before anything else",
            content=(
                "A bug report we cannot reproduce cannot be routed. Keep the ticket in general_support "
                "with issue type bug; priority low for free tier, normal for paid tiers. In one reply, "
                "request the error_message, the browser_version, a screenshot and the "
                "reproduction_steps. In your reply, say we need a few details to reproduce the problem "
                "and suggest a hard refresh and disabling browser extensions meanwhile. Then set status "
                "pending (waiting on customer) with resolution code runbook_investigation until the "
                "customer answers. In an internal note, write 'awaiting reproduction details'."
            ),
        ),
        KnowledgeSnippet(
            article_id="kb-eng-escalation",
            title="Escalating bugs to platform_engineering",
            content=(
                "platform_engineering only accepts bug reports that include reproduction_steps and an "
                "error_message, or an active production incident affecting several customers; they "
                "bounce anything else. Never escalate a single-user report without reproduction details."
            ),
        ),
        KnowledgeSnippet(
            article_id="kb-status-now",
            title="Current platform status",
            content=(
                "All systems operational. Editor autosave: no errors above baseline in any region in "
                "the last 24 hours."
            ),
        ),
    ),
    gold_queue="general_support",
    gold_priority="low",
    gold_issue_type="bug",
    gold_status="pending",
    gold_resolution_code="runbook_investigation",
    required_requested_fields=("error_message", "browser_version", "screenshot", "reproduction_steps"),
    required_reply_markers=(
        ("reproduce",),
        ("hard refresh",),
    ),
    required_note_markers=(("awaiting reproduction details",),),
    risk_flags=(),
    follow_up_outcome="none",
    follow_up_message="Support: no reply from the customer yet; auto-close in 7 days.",
    sla_step_cost=30,
    over_escalation_queues=("platform_engineering",),
    max_steps=4,
    internal_terms=("kb-bug-triage", "kb-eng-escalation", "kb-status-now",),
)
