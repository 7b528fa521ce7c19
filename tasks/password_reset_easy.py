from __future__ import annotations

from tasks.base import SupportTaskSpec, KnowledgeSnippet, SupportTicket

TASK = SupportTaskSpec(
    task_id="password_reset_easy",
    difficulty="easy",
    title="Password reset email never arrives",
    objective=(
        "A customer who forgot their password gets no reset email; confirm the login email, "
        "send a manual reset and resolve, without treating a routine lockout as a security incident."
    ),
    ticket=SupportTicket(
        customer_name="Tomasz Nowak",
        customer_tier="pro",
        company="Brightline Tutoring",
        subject="Password reset email never arrives",
        body=(
            "I've clicked 'Forgot password' four times since this morning and no reset email has "
            "arrived, not in spam either. I'm locked out and my students' sessions start at 3pm. "
            "Nobody else uses my account and I haven't had any odd sign-in alerts; I simply forgot "
            "the password after two weeks of holiday."
        ),
        region="eu-central-1",
        affected_users=1,
        sla_minutes_remaining=480,
    ),
    knowledge_base=(
        KnowledgeSnippet(
            article_id="kb-login-reset",
            title="Password reset emails not arriving",
            content=(
                "Most often the reset email goes to an old address on file or is held by the "
                "customer's mail filter. Login and password problems are owned by account_management: "
                "set queue account_management, priority normal and issue type account_access. Request "
                "the account_email the customer signs in with (the login email, not a billing contact) "
                "and check it against the account. Then send a manual reset link from the admin console "
                "and set status resolved with resolution code credential_reset; no escalation is needed. "
                "In your reply, say you have sent a manual reset link and that it expires in 30 minutes. "
                "In an internal note, write 'identity verified' once the login email matches."
            ),
        ),
        KnowledgeSnippet(
            article_id="kb-login-security-routing",
            title="When a login problem is a security incident",
            content=(
                "Escalate to security only when there are signs of unauthorized access: sign-ins the "
                "customer does not recognise, an email or password change they did not make, or new API "
                "keys. A customer who forgot their password or does not receive the reset email is not a "
                "security incident: do not escalate it to security and do not raise fraud_suspected."
            ),
        ),
    ),
    gold_queue="account_management",
    gold_priority="normal",
    gold_issue_type="account_access",
    gold_status="resolved",
    gold_resolution_code="credential_reset",
    required_requested_fields=("account_email",),
    required_reply_markers=(
        ("manual reset link",),
        ("expires", "30 minutes"),
    ),
    required_note_markers=(("identity verified",),),
    risk_flags=(),
    follow_up_outcome="complete",
    follow_up_message="Account management: login email confirmed, manual reset issued.",
    sla_step_cost=15,
    over_escalation_queues=("security",),
    max_steps=6,
    internal_terms=("kb-login-reset", "kb-login-security-routing",),
)
