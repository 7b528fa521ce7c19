from __future__ import annotations

from tasks.base import SupportTaskSpec, KnowledgeSnippet, SupportTicket

TASK = SupportTaskSpec(
    task_id="duplicate_charge_easy",
    difficulty="easy",
    title="Duplicate subscription charge",
    objective=(
        "A business customer was charged twice for one renewal; collect what billing needs to match "
        "the charges, refund the duplicate and resolve the ticket without escalating it."
    ),
    ticket=SupportTicket(
        customer_name="Priya Raman",
        customer_tier="business",
        company="Fernhill Dental Group",
        subject="Charged twice for our March renewal",
        body=(
            "Hi, our company card was charged twice for the March renewal of our Business plan: "
            "two identical charges of $1,180.00 on the same day. Our finance team flagged it this "
            "morning during reconciliation. Could you refund the extra charge, please? "
            "We only have one workspace, so there should only be one renewal."
        ),
        region="us-east-1",
        affected_users=1,
        sla_minutes_remaining=240,
    ),
    knowledge_base=(
        KnowledgeSnippet(
            article_id="kb-billing-duplicate-charges",
            title="Duplicate charges runbook",
            content=(
                "A duplicate charge is two identical card charges for the same invoice. "
                "Keep the ticket in the billing queue, set priority high and issue type billing_dispute. "
                "Request the invoice_id, the last4_digits of the card and the transaction_date of the "
                "charges so the payment processor records can be matched. Support agents can refund "
                "duplicates directly, so no escalation is needed: once the customer has sent all three "
                "fields, refund the second charge and set status resolved with resolution code "
                "refund_issued. In your reply, acknowledge the duplicate charge and confirm the refund "
                "timeline of 5-10 business days. In an internal note, write 'duplicate charge verified' "
                "and the invoice id."
            ),
        ),
        KnowledgeSnippet(
            article_id="kb-billing-risk-flags",
            title="Billing risk flags",
            content=(
                "Raise churn_risk on every billing dispute from a business or enterprise tier customer: "
                "billing errors are the top reason paying teams leave. Raise fraud_suspected only when "
                "the customer does not recognise a charge at all, never for a second copy of a charge "
                "they did make."
            ),
        ),
        KnowledgeSnippet(
            article_id="kb-refund-downgrades",
            title="Refunds for downgrades and unused time",
            content=(
                "Requests for money back on unused time after a downgrade or cancellation use issue type "
                "refund_request and are prorated as account credit, not refunded to the card. This article "
                "does not cover duplicate or erroneous charges."
            ),
        ),
    ),
    gold_queue="billing",
    gold_priority="high",
    gold_issue_type="billing_dispute",
    gold_status="resolved",
    gold_resolution_code="refund_issued",
    required_requested_fields=("invoice_id", "last4_digits", "transaction_date"),
    required_reply_markers=(
        ("duplicate", "charge"),
        ("refund", "business days"),
    ),
    required_note_markers=(("duplicate charge verified",),),
    risk_flags=("churn_risk",),
    follow_up_outcome="complete",
    follow_up_message="Billing: second charge reversed at the processor; the refund posts in 5-10 business days.",
    sla_step_cost=15,
    over_escalation_queues=(),
    max_steps=6,
    internal_terms=(
        "kb-billing-duplicate-charges",
        "kb-billing-risk-flags",
        "kb-refund-downgrades",
    ),
)
