"""Family: a privacy or data request from a workspace admin or on behalf of a data subject.

Decision facts drawn per seed, turned into gold by the knowledge base's written policy:

- the kind of request: an admin's export of their own workspace (not a data-subject
  request) or a data-subject request (access / portability, or erasure) under a privacy law;
- for a workspace export, the plan: Business and Enterprise admins export it themselves
  (a how-to, answered), lower plans get a support-run export (data_export_sent, needs the
  org id and the admin's email);
- for a data-subject request, the law's statutory deadline against the days already
  elapsed (fewer than 10 days left: urgent and compliance_deadline), whether the sender
  is a verified admin (if not: org_id, account_email and legal_basis too, sometimes a
  malformed org id first), and whether a regulator is already involved (legal_risk).
"""

from __future__ import annotations

import datetime

from sim.kernel.draws import Draws
from tasks.base import KnowledgeSnippet, SupportTaskSpec, SupportTicket

FAMILY_ID = "privacy_request"

_KB = (
    KnowledgeSnippet(
        article_id="kb-workspace-export",
        title="Workspace exports for admins",
        content=(
            "A workspace export is an admin asking for a copy of their own organisation's "
            "workspace (projects, files, comments, audit log) for their records, an audit or a "
            "migration. Nobody is exercising a personal right, so it is not a data-subject request, "
            "even when the admin mentions GDPR or their DPO. Workspace exports stay with support: "
            "set queue general_support and priority normal, and never escalate them. "
            "On the Business and Enterprise plans admins run the export themselves: set issue type "
            "how_to, reply with the steps (Settings, then Data, then 'Export workspace') and say the "
            "download link is emailed to the admin when the archive is ready, then set status "
            "resolved with resolution code answered; no fields are needed. On the Free, Starter and "
            "Pro plans the export is not self-serve and support runs it from the admin console: set "
            "issue type data_request, request the org_id and the account_email of the admin so we "
            "can check they are an admin of that workspace, run the export, reply that it will "
            "arrive by secure download link, and set status resolved with resolution code "
            "data_export_sent once both are confirmed. In an internal note, write 'workspace "
            "export' and the customer's plan."
        ),
    ),
    KnowledgeSnippet(
        article_id="kb-dsr-handling",
        title="Data-subject requests: a person's right to access or delete their personal data",
        content=(
            "A data-subject request is a person exercising a legal right over their personal data "
            "(access to a copy of the data held about them, portability, or erasure, i.e. "
            "deletion) under a privacy law, directly or "
            "through our customer acting for them (a former employee, an end user of the "
            "customer's app, one of their own customers). Support never "
            "fulfils one itself. Set issue type data_request, set "
            "queue data_privacy and escalate to data_privacy by your second turn. Use resolution code "
            "data_export_sent for an access or portability request (the privacy team delivers the "
            "export and closes the ticket with it) and runbook_investigation for an erasure request "
            "(the privacy team runs the erasure runbook). Request the export_scope for an access or "
            "portability request, or the user_ids of the people to erase for an erasure request. "
            "In your reply, say the request is with our privacy team and quote the customer's own "
            "reference for it; for access or portability add that the data will be delivered by "
            "secure download link, for erasure that we will send a deletion certificate when it is "
            "done. Raise legal_risk only when a regulator, a complaint to one or a lawyer is "
            "mentioned. Deadlines and priority: see 'Statutory deadlines'; verification: see "
            "'Verifying the requester'."
        ),
    ),
    KnowledgeSnippet(
        article_id="kb-statutory-deadlines",
        title="Statutory deadlines",
        content=(
            "The deadline runs from the day the customer received the request: GDPR (EU) 30 days, "
            "UK GDPR 30 days, CCPA/CPRA (California) 45 days, LGPD (Brazil) 15 days, PIPEDA "
            "(Canada) 30 days. Data-subject requests are priority high. When fewer than 10 days "
            "remain before the deadline, set priority urgent instead and raise compliance_deadline; "
            "with 10 days or more left, do not raise it. In an internal note on every data-subject "
            "request, write 'statutory deadline' and the days left, as 'N days left'."
        ),
    ),
    KnowledgeSnippet(
        article_id="kb-requester-verification",
        title="Verifying the requester",
        content=(
            "We act on a data-subject request only for a verified admin of the workspace. The CRM "
            "line at the top of a ticket reads 'Verified admin: yes' when the sender is on the "
            "account's admin list. When it does not, also request the org_id (the workspace id: "
            "'org_' followed by 10 hex characters, under Settings > Workspace), the account_email "
            "the admin signs in with, and the legal_basis (the law and article or section the "
            "request relies on). If an org_id comes back in any other shape, ask for it again. "
            "Verification does not delay the escalation: escalate at once, the privacy team waits "
            "for the details."
        ),
    ),
    KnowledgeSnippet(
        article_id="kb-security-scope",
        title="What the security queue handles",
        content=(
            "security handles suspected unauthorized access, leaked credentials and data exposure. "
            "Access, export and erasure requests are not security incidents, even when they mention "
            "personal data, deletion or audit logs: never escalate them to security."
        ),
    ),
    KnowledgeSnippet(
        article_id="kb-account-management-scope",
        title="Account management scope",
        content=(
            "account_management handles plan changes, seats and transfers of workspace ownership. "
            "It does not take export or deletion requests of any kind."
        ),
    ),
)

_INTERNAL = tuple(article.article_id for article in _KB)

_FIRST = ("Amelie", "Jonas", "Priya", "Mateo", "Chloe", "Rafael", "Ingrid", "Samuel", "Yara",
          "Tobias", "Leila", "Owen", "Beatriz", "Kenji", "Hannah", "Diego", "Maren", "Felix")
_LAST = ("Dubois", "Hartmann", "Okafor", "Silva", "Lindqvist", "Moreau", "Novak", "Castillo",
         "Brennan", "Tanaka", "Horvat", "Ferreira", "Keller", "Nakamura", "Oliveira", "Walsh")
_COMPANY_STEM = ("Larkspur", "Northgate", "Bellweather", "Cobalt Reef", "Tidewell", "Marrow & Finch",
                 "Quillon", "Saltmarsh", "Everleaf", "Granite Peak", "Halcyon", "Juniper Row",
                 "Kestrel", "Orchard Lane", "Pinecrest", "Redwater")
_COMPANY_KIND = ("Analytics", "Logistics", "Studio", "Health", "Legal", "Retail Group", "Labs",
                 "Foods", "Learning", "Energy")

# law -> (name as the customer writes it, deadline in days, regions, regulator)
_LAWS = {
    "gdpr": ("GDPR", 30, ("eu-west-1", "eu-central-1", "eu-west-3", "eu-north-1"),
             "the CNIL"),
    "uk": ("UK GDPR", 30, ("eu-west-2",), "the ICO"),
    "ccpa": ("CCPA", 45, ("us-west-1", "us-west-2"), "the California Attorney General"),
    "lgpd": ("LGPD", 15, ("sa-east-1",), "the ANPD"),
    "pipeda": ("PIPEDA", 30, ("ca-central-1",), "the Privacy Commissioner"),
}
_LAW_ORDER = ("gdpr", "uk", "ccpa", "lgpd", "pipeda")

_TIER_NAMES = {"free": "Free", "starter": "Starter", "pro": "Pro", "business": "Business",
               "enterprise": "Enterprise"}

_TITLE = "Customer data request"
_OBJECTIVE = (
    "Work out what kind of data request this is, route and prioritise it as the privacy policy "
    "says, collect what is needed to act on it, and tell the customer what happens next."
)


def _name(draw: Draws) -> str:
    return f"{draw.choice(_FIRST)} {draw.choice(_LAST)}"


def _company(draw: Draws) -> str:
    return f"{draw.choice(_COMPANY_STEM)} {draw.choice(_COMPANY_KIND)}"


def _workspace_export(draw: Draws, name: str, company: str) -> SupportTaskSpec:
    self_serve = draw.randbelow(2) == 0
    tier = draw.choice(("business", "enterprise") if self_serve else ("free", "starter", "pro"))
    plan = _TIER_NAMES[tier]
    region = draw.choice(("us-east-1", "eu-west-1", "eu-central-1", "ap-southeast-2",
                          "us-west-2"))
    users = draw.randint(6, 400) if self_serve else draw.randint(2, 25)
    year = draw.choice((2024, 2025))
    reason = draw.choice((
        f"Our external auditor wants a full archive of the workspace for fiscal {year}.",
        "We're consolidating tools after a merger and need everything in one archive first.",
        f"Our DPO wants a copy of all {year} projects and the audit log for our own GDPR records.",
        "We keep an offline copy of our data every year and it's that time again.",
    ))
    noise = draw.choice((
        "", " Also, is the archive a zip of JSON files or CSVs?",
        " Sorry if this is documented somewhere, I couldn't find it.",
        " No rush, but ideally before the end of the month.",
    ))
    crm = f"[CRM: Plan: {plan} | Seats: {users}]"
    body = (
        f"{crm}\nHi, I'm one of the admins of the {company} workspace. {reason} "
        "How do I get an export of all our workspace data - projects, files, comments and the "
        f"audit log?{noise}"
    )
    subject = draw.choice(("Export of our whole workspace", "How do we get a full data export?",
                           "Need an archive of all our workspace data"))
    ticket = SupportTicket(customer_name=name, customer_tier=tier, company=company,
                           subject=subject, body=body, region=region, affected_users=users,
                           sla_minutes_remaining=draw.choice((480, 600, 720)))
    common = dict(
        task_id=FAMILY_ID, difficulty="medium", title=_TITLE, objective=_OBJECTIVE,
        ticket=ticket, knowledge_base=_KB, gold_queue="general_support",
        gold_priority="normal", gold_status="resolved",
        required_note_markers=(("workspace export", plan.lower()),),
        follow_up_message="Support: workspace export handled in the admin console.",
        sla_step_cost=20, over_escalation_queues=("security", "account_management", "data_privacy"),
        max_steps=8, internal_terms=_INTERNAL,
    )
    if self_serve:
        return SupportTaskSpec(
            **common, gold_issue_type="how_to", gold_resolution_code="answered",
            required_requested_fields=(),
            required_reply_markers=(("export workspace",), ("download link", "emailed")),
            follow_up_outcome="none",
        )
    partial = draw.randbelow(3) == 0
    return SupportTaskSpec(
        **common, gold_issue_type="data_request", gold_resolution_code="data_export_sent",
        required_requested_fields=("org_id", "account_email"),
        required_reply_markers=(("secure download link",),),
        follow_up_outcome="partial" if partial else "complete",
        follow_up_provided_fields=("account_email",) if partial else (),
        follow_up_wrong_fields=("org_id",) if partial else (),
    )


def _subject_request(draw: Draws, name: str, company: str) -> SupportTaskSpec:
    law_key = draw.choice(_LAW_ORDER)
    law, deadline, regions, regulator = _LAWS[law_key]
    erasure = draw.randbelow(5) < 2
    urgent = draw.randbelow(2) == 0
    verified = draw.randbelow(2) == 0
    regulator_involved = draw.randbelow(4) == 0
    left = draw.randint(2, 9) if urgent else draw.randint(10, deadline - 1)
    elapsed = deadline - left
    today = datetime.date(2026, 1, 5) + datetime.timedelta(days=draw.randint(0, 300))
    received = today - datetime.timedelta(days=elapsed)
    received_text = f"{received:%B} {received.day}"
    tier = draw.choice(("starter", "pro", "business", "enterprise", "enterprise"))
    region = draw.choice(regions)
    ref = f"{draw.choice(('DSR', 'PRIV', 'DPR', 'SAR'))}-{draw.randint(1000, 9899)}"
    team_ref = f"PRV-{draw.randint(20000, 89999)}"
    team_days = draw.randint(3, 9)
    subject_person = draw.choice((
        "a former employee", "one of our end users", "a customer of ours",
        "a contractor who left last year", "an applicant we interviewed",
    ))
    if erasure:
        right = draw.choice(("erasure", "deletion"))
        ask = (f"{subject_person.capitalize()} has asked us to delete all personal data we hold "
               f"about them (right to {right} under {law}), and that includes what sits in our "
               "workspace on your platform: their profile, comments and uploaded files.")
        subject = draw.choice((f"{law} {right} request for {subject_person}",
                               f"Please delete a person's data ({law})",
                               f"Right to {right} - ref {ref}"))
    else:
        right = draw.choice(("access", "portability"))
        ask = (f"{subject_person.capitalize()} has filed a {law} data {right} request with us, and "
               "we need a complete copy of the personal data your platform holds about them in "
               "our workspace, including audit log entries.")
        subject = draw.choice((f"{law} {right} request from {subject_person}",
                               f"Subject access request - our ref {ref}",
                               f"Personal data export needed under {law}"))
    timing = draw.choice((
        f"We received it on {received_text}, {elapsed} days ago.",
        f"It reached us {elapsed} days ago (on {received_text}).",
    ))
    regulator_line = (f" The person says they have already complained to {regulator} about how "
                      "long this is taking." if regulator_involved else "")
    if verified:
        crm = f"[CRM: Plan: {_TIER_NAMES[tier]} | Verified admin: yes]"
        sender = draw.choice(("I handle privacy for our team.", "Writing on behalf of our DPO.",
                              "I'm the workspace owner."))
    else:
        crm = (f"[CRM: Plan: {_TIER_NAMES[tier]} | Verified admin: no - sender not on the "
               "account's admin list]")
        sender = draw.choice((
            "I'm the new office manager and I don't have admin access yet.",
            "I'm writing from my personal address because our IT person is away.",
            "I took over compliance here last week, so I'm not set up on the account yet.",
        ))
    body = (f"{crm}\n{sender} {ask} {timing}{regulator_line} Our internal reference is {ref}. "
            "What do you need from us?")
    ticket = SupportTicket(customer_name=name, customer_tier=tier, company=company,
                           subject=subject, body=body, region=region, affected_users=1,
                           sla_minutes_remaining=draw.choice((360, 480, 600)))
    scope_field = "user_ids" if erasure else "export_scope"
    required: tuple[str, ...] = (scope_field,)
    if not verified:
        required += ("org_id", "account_email", "legal_basis")
    partial = not verified and draw.randbelow(2) == 0
    flags = (("compliance_deadline",) if urgent else ()) + (
        ("legal_risk",) if regulator_involved else ())
    reply = (("privacy team",), (ref,)) + (
        (("deletion certificate",),) if erasure else (("secure download link",),))
    if erasure:
        update = (f"Privacy team: erasure runbook started under {team_ref}; deletion certificate "
                  f"to the customer within {team_days} business days.")
    else:
        update = (f"Privacy team: export logged as {team_ref}; delivery by secure download link "
                  f"within {team_days} business days.")
    return SupportTaskSpec(
        task_id=FAMILY_ID, difficulty="medium", title=_TITLE, objective=_OBJECTIVE,
        ticket=ticket, knowledge_base=_KB, gold_queue="data_privacy",
        gold_priority="urgent" if urgent else "high", gold_issue_type="data_request",
        gold_status="escalated",
        gold_resolution_code="runbook_investigation" if erasure else "data_export_sent",
        required_requested_fields=required,
        required_reply_markers=reply,
        required_note_markers=(("statutory deadline", f"{left} days left"),),
        risk_flags=flags,
        follow_up_outcome="partial" if partial else "complete",
        follow_up_provided_fields=tuple(f for f in required if f != "org_id") if partial else (),
        follow_up_wrong_fields=("org_id",) if partial else (),
        follow_up_message=update,
        sla_step_cost=20, over_escalation_queues=("security", "account_management"),
        under_escalation_deadline_step=2, max_steps=8, internal_terms=_INTERNAL,
        customer_reply_delay_minutes=draw.choice((10, 15, 20)),
        team_update_delay_minutes=draw.choice((30, 45, 60)),
    )


def FAMILY(draw: Draws) -> SupportTaskSpec:
    name = _name(draw)
    company = _company(draw)
    if draw.randbelow(10) < 3:
        return _workspace_export(draw, name, company)
    return _subject_request(draw, name, company)
