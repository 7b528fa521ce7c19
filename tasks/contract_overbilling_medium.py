from __future__ import annotations

from tasks.base import SupportTaskSpec, KnowledgeSnippet, SupportTicket

TASK = SupportTaskSpec(
    task_id="contract_overbilling_medium",
    difficulty="medium",
    title="Enterprise invoice exceeds contracted seats",
    objective=(
        "An unhappy strategic enterprise account was invoiced above its order form; route it to the "
        "team that owns contract pricing, flag the account risk and set expectations without "
        "promising an amount."
    ),
    ticket=SupportTicket(
        customer_name="Helen Whitaker",
        customer_tier="enterprise",
        company="Calder & Finch LLP",
        subject="Invoice bills 250 seats, our contract says 200",
        body=(
            "[Account note from CRM: Strategic account; renewal in 47 days.]\n"
            "Our latest invoice bills us for 250 seats. Our signed order form caps us at 200 seats at "
            "the contracted rate, and any overage is only billed quarterly after a true-up. This is the "
            "second invoice error this year, and our procurement team is now reviewing alternatives "
            "ahead of the renewal. Please correct the invoice."
        ),
        region="eu-west-2",
        affected_users=200,
        sla_minutes_remaining=480,
    ),
    knowledge_base=(
        KnowledgeSnippet(
            article_id="kb-contract-billing",
            title="Enterprise contract billing disputes",
            content=(
                "Invoices for enterprise contracts are generated from the order form held by the "
                "account team. Set queue account_management, priority high and issue type "
                "billing_dispute, and escalate to account_management: the account manager checks the "
                "order form and refunds the overbilled amount, so set the resolution code refund_issued "
                "when you hand off. Request the invoice_id and the org_id so the account manager can "
                "find the order form. Raise churn_risk when the customer mentions alternatives, "
                "cancelling or the renewal; raise vip_customer for accounts tagged Strategic. In your "
                "reply, apologise for the invoice error and say the account manager will review the "
                "order form. Never promise an amount or guarantee a refund before that review: a reply "
                "must not contain the word 'guarantee'. In an internal note, write 'order form review' "
                "and the renewal date."
            ),
        ),
        KnowledgeSnippet(
            article_id="kb-billing-scope",
            title="What the billing queue handles",
            content=(
                "billing handles card payments, duplicate charges, failed payments and self-serve plan "
                "invoices. It cannot change contracted (order form) prices or seat caps and bounces "
                "those tickets: enterprise contract disputes belong to account_management, not billing."
            ),
        ),
    ),
    gold_queue="account_management",
    gold_priority="high",
    gold_issue_type="billing_dispute",
    gold_status="escalated",
    gold_resolution_code="refund_issued",
    required_requested_fields=("invoice_id", "org_id"),
    required_reply_markers=(
        ("invoice error",),
        ("account manager", "order form"),
    ),
    required_note_markers=(("order form review",),),
    risk_flags=("churn_risk", "vip_customer"),
    follow_up_outcome="complete",
    follow_up_message=(
        "Account management: order form confirms a 200-seat cap; a corrected invoice and a refund "
        "for 50 seats go out by end of day tomorrow."
    ),
    sla_step_cost=20,
    over_escalation_queues=("billing",),
    under_escalation_deadline_step=2,
    max_steps=7,
    internal_terms=("kb-contract-billing", "kb-billing-scope",),
    forbidden_reply_markers=(("guarantee",),),
    team_ack_delay_minutes=15,
    team_update_delay_minutes=90,
)
