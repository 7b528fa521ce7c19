from __future__ import annotations

from tasks.base import SupportTaskSpec, KnowledgeSnippet, SupportTicket

TASK = SupportTaskSpec(
    task_id="gdpr_access_request_medium",
    difficulty="medium",
    title="GDPR subject access request for an ex-employee",
    objective=(
        "Route a data subject access request to the privacy team with the details it needs, "
        "catch a malformed organisation id, and flag the statutory deadline."
    ),
    ticket=SupportTicket(
        customer_name="Sophie Lambert",
        customer_tier="enterprise",
        company="Maison Verdier SA",
        subject="Formal GDPR Article 15 request: export of an ex-employee's data",
        body=(
            "Writing on behalf of our DPO. A former employee has filed a subject access request with "
            "us, and we need a complete export of the personal data your platform holds about them in "
            "our workspace, including audit log entries. We received the request 4 days ago and the "
            "statutory deadline is one month from receipt. Please confirm how we proceed."
        ),
        region="eu-west-3",
        affected_users=1,
        sla_minutes_remaining=480,
    ),
    knowledge_base=(
        KnowledgeSnippet(
            article_id="kb-dsar",
            title="Data subject access and export requests (GDPR Art. 15/20)",
            content=(
                "Support cannot run personal-data exports. Set queue data_privacy, priority high and "
                "issue type data_request, and escalate to data_privacy. Request the org_id (the "
                "workspace id: 'org_' followed by 10 hex characters, under Settings > Workspace), "
                "the export_scope (which data subjects and which data categories) and the legal_basis "
                "(the article the request relies on). Set the resolution code to data_export_sent "
                "when you hand off: the privacy team closes the ticket with it once the export is "
                "delivered. Raise compliance_deadline on every data request with a statutory deadline; "
                "raise legal_risk only if the customer threatens legal action or a regulator is "
                "involved. In your reply, confirm the request is with our privacy team and that the "
                "export will be delivered through a secure download link. In an internal note, write "
                "'statutory deadline' with the due date."
            ),
        ),
        KnowledgeSnippet(
            article_id="kb-security-scope",
            title="What the security queue handles",
            content=(
                "security handles suspected unauthorized access, leaked credentials and data exposure. "
                "Access, export and deletion requests under data protection law are not security "
                "incidents, even when they mention personal data or audit logs: never escalate them "
                "to security."
            ),
        ),
        KnowledgeSnippet(
            article_id="kb-account-management-scope",
            title="Account management scope",
            content=(
                "account_management handles plan, seat and workspace ownership changes. Requests to "
                "export or delete personal data belong to data_privacy, not account_management."
            ),
        ),
    ),
    gold_queue="data_privacy",
    gold_priority="high",
    gold_issue_type="data_request",
    gold_status="escalated",
    gold_resolution_code="data_export_sent",
    required_requested_fields=("org_id", "export_scope", "legal_basis"),
    required_reply_markers=(
        ("privacy team",),
        ("secure download link",),
    ),
    required_note_markers=(("statutory deadline",),),
    risk_flags=("compliance_deadline",),
    follow_up_outcome="partial",
    follow_up_message=(
        "Privacy team: DSAR export queued for the workspace; delivery by secure download link "
        "within 5 business days."
    ),
    follow_up_provided_fields=("export_scope", "legal_basis"),
    follow_up_wrong_fields=("org_id",),
    sla_step_cost=25,
    over_escalation_queues=("security", "account_management"),
    under_escalation_deadline_step=3,
    max_steps=8,
    internal_terms=("kb-dsar", "kb-security-scope", "kb-account-management-scope",),
    customer_reply_delay_minutes=20,
    team_update_delay_minutes=60,
)
