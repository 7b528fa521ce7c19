from __future__ import annotations

from tasks.base import SupportTaskSpec, KnowledgeSnippet, SupportTicket

TASK = SupportTaskSpec(
    task_id="webhook_signature_bug_medium",
    difficulty="medium",
    title="Webhook signature failures after an SDK upgrade",
    objective=(
        "Match the report to a known SDK issue, confirm the SDK version (not the API version), "
        "give the documented workaround and resolve, without escalating a bug engineering already owns."
    ),
    ticket=SupportTicket(
        customer_name="Daniel Okafor",
        customer_tier="pro",
        company="Parcelwise",
        subject="Webhook signature verification failing since SDK upgrade",
        body=(
            "Since we upgraded the Node SDK yesterday, roughly a third of the webhook events we receive "
            "fail signature verification and our handler rejects them. Events for plain-ASCII "
            "addresses seem fine; the failures look like orders with names such as 'Müller' or "
            "'Søren'. This is blocking order status updates for our shop customers. Do we need to "
            "rotate our webhook secret?"
        ),
        region="us-east-1",
        affected_users=35,
        sla_minutes_remaining=240,
    ),
    knowledge_base=(
        KnowledgeSnippet(
            article_id="kb-known-issue-webhook-sig",
            title="Known issue: webhook signature mismatch in SDK 4.2.0",
            content=(
                "SDK 4.2.0 (Node and Python) re-serialises the JSON body before computing the signature, "
                "so events whose payload contains non-ASCII characters fail verification. The bug is "
                "filed and the fix ships in 4.2.1; platform_engineering already owns it, so do not "
                "escalate new reports to platform_engineering. For an affected customer: set queue "
                "general_support, issue type bug, priority normal (high only if payments fail). Request "
                "the sdk_version (a package version such as 4.2.0, not the API version date), the exact "
                "error_message and one payload_sample of a failing event. If the sdk_version is 4.2.0, "
                "give the workaround (pin the SDK to the previous version, 4.1.3, or verify the signature "
                "against the raw request body) and set status resolved with resolution code "
                "workaround_provided. Rotating the webhook secret does not help. In your reply, say this "
                "is a known issue and explain how to pin the SDK to the previous version. In an internal "
                "note, write 'linked to known issue' so the report counts toward the fix."
            ),
        ),
        KnowledgeSnippet(
            article_id="kb-webhook-security",
            title="Webhook security guidance",
            content=(
                "Never advise a customer to disable signature verification, not even temporarily: an "
                "endpoint that does not verify signatures accepts forged events. A reply must never "
                "suggest to disable signature verification."
            ),
        ),
    ),
    gold_queue="general_support",
    gold_priority="normal",
    gold_issue_type="bug",
    gold_status="resolved",
    gold_resolution_code="workaround_provided",
    required_requested_fields=("sdk_version", "error_message", "payload_sample"),
    required_reply_markers=(
        ("known issue",),
        ("pin", "previous version"),
    ),
    required_note_markers=(("linked to known issue",),),
    risk_flags=(),
    follow_up_outcome="partial",
    follow_up_message="Platform: report attached to the SDK 4.2.1 fix; release planned this week.",
    follow_up_provided_fields=("error_message",),
    follow_up_wrong_fields=("sdk_version",),
    sla_step_cost=15,
    over_escalation_queues=("platform_engineering",),
    max_steps=8,
    internal_terms=("kb-known-issue-webhook-sig", "kb-webhook-security",),
    forbidden_reply_markers=(("disable", "signature verification"),),
)
