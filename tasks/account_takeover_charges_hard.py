from __future__ import annotations

from tasks.base import SupportTaskSpec, KnowledgeSnippet, SupportTicket

TASK = SupportTaskSpec(
    task_id="account_takeover_charges_hard",
    difficulty="hard",
    title="Unrecognised add-on charges after strange sign-ins",
    objective=(
        "A refund request that is really an account takeover: route it to security rather than "
        "billing, flag fraud, protect the account and do not promise a refund, even though the "
        "customer stops answering."
    ),
    ticket=SupportTicket(
        customer_name="Grace Liu",
        customer_tier="business",
        company="Tandem Studio",
        subject="14 charges we didn't make, please refund",
        body=(
            "Overnight our account was charged 14 times for add-on credit packs ($49 each) that nobody "
            "on our team bought. Our admin also got two 'new sign-in' emails, from Romania and from "
            "Vietnam, around 2am; we ignored them, thinking they were spam. Please refund these "
            "charges as soon as possible."
        ),
        region="us-west-2",
        affected_users=12,
        sla_minutes_remaining=120,
    ),
    knowledge_base=(
        KnowledgeSnippet(
            article_id="kb-unrecognised-charges",
            title="Unrecognised charges: billing error or account takeover?",
            content=(
                "First decide whether this is a billing error or an account takeover. Signs of takeover: "
                "sign-in alerts from unknown locations or IPs, new API keys, a changed email, or "
                "purchases nobody on the team made. With any sign of takeover: set issue type "
                "security_incident, priority urgent and queue security, escalate to security, raise "
                "fraud_suspected and set the resolution code security_review. Do not send the ticket "
                "to billing: refunds in takeover cases are decided by security after its review. "
                "Request the login_timestamps and ip_addresses from the sign-in alert emails and the "
                "transaction_date of the charges, but do not wait for them to escalate. In your reply, "
                "tell the customer to reset the password of every admin, sign out all sessions, and "
                "that our security team is reviewing the charges. In an internal note, write 'account "
                "takeover suspected'. Without any sign of takeover, follow the duplicate charges "
                "runbook instead."
            ),
        ),
        KnowledgeSnippet(
            article_id="kb-billing-duplicate-charges",
            title="Duplicate charges runbook",
            content=(
                "Two identical charges for the same invoice: keep the ticket in billing, priority high, "
                "issue type billing_dispute; request invoice_id, last4_digits and transaction_date; "
                "refund the second charge and resolve with resolution code refund_issued."
            ),
        ),
        KnowledgeSnippet(
            article_id="kb-refund-comms",
            title="Talking about refunds on security tickets",
            content=(
                "While a security review is open, a reply must never mention a refund: do not use the "
                "word 'refund' at all, since a promised refund cannot be withdrawn if the review finds "
                "the purchases were made by the customer's own team."
            ),
        ),
    ),
    gold_queue="security",
    gold_priority="urgent",
    gold_issue_type="security_incident",
    gold_status="escalated",
    gold_resolution_code="security_review",
    required_requested_fields=("login_timestamps", "ip_addresses", "transaction_date"),
    required_reply_markers=(
        ("reset", "password"),
        ("sign out", "sessions"),
        ("security team", "reviewing"),
    ),
    required_note_markers=(("account takeover suspected",),),
    risk_flags=("fraud_suspected",),
    follow_up_outcome="none",
    follow_up_message=(
        "Security: sessions revoked and add-on purchases frozen on the account; reviewing the 14 "
        "charges with the payments team, update within 2 hours."
    ),
    sla_step_cost=15,
    over_escalation_queues=("billing",),
    under_escalation_deadline_step=2,
    max_steps=6,
    internal_terms=("kb-unrecognised-charges", "kb-billing-duplicate-charges", "kb-refund-comms",),
    forbidden_reply_markers=(("refund",),),
)
