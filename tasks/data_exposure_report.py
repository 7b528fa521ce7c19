"""Family: a customer reports seeing data that may not be theirs.

Decision facts drawn per seed, which the knowledge base's written policy turns into gold:

- whose data it is: another company's (a cross-tenant exposure, a security incident) or
  the customer's own, reachable through a setting the customer controls (a public share
  link someone in their workspace created, or organisation-wide sharing between linked
  workspaces of the same organisation, which the helpdesk header shows);
- where it appeared (an export or a dashboard/shared view), which sets the evidence to
  request;
- how many enterprise customers report it (the reporter on the enterprise plan plus the
  enterprise customers among the linked tickets) against the P1 threshold;
- whether the foreign records hold personal data and the workspace is hosted in an EU
  region, which starts a regulator-notification clock (compliance_deadline);
- the plan tier, which sets the priority of a how-to answer.

Surface facts: names, companies, export/view/link ids, row counts, regions, times, the
security team's reference and ETA.
"""

from __future__ import annotations

from typing import Any

from sim.kernel.draws import Draws
from tasks.base import KnowledgeSnippet, SupportTaskSpec, SupportTicket

FAMILY_ID = "data_exposure_report"

_PEOPLE = (
    "Rafaela Costa", "Henrik Aalto", "Yasmin Haddad", "Declan Murphy", "Mei Lin Tan",
    "Oskar Wieczorek", "Adaeze Nwosu", "Pierre Laurent", "Sunita Rao", "Jakob Huber",
    "Camila Ortega", "Tariq Aziz", "Elise Vermeulen", "Noah Fischer", "Ayumi Sato",
    "Lorenzo Bianchi", "Zara Patel", "Magnus Eriksen", "Ines Carvalho", "Samuel Osei",
)

_COMPANIES = (
    "Atlas Freight", "Brightwater Insurance", "Cobalt Dental Group", "Drumlin Outdoor",
    "Everly Home Care", "Foxglove Pharmacy", "Granite Peak Capital", "Harbourline Ferries",
    "Isles Property", "Juno Payroll", "Kelpie Pet Supplies", "Lumen Optics",
    "Marlowe Recruitment", "Nettle & Finch", "Oriel Travel", "Pavilion Sports",
)

_OTHER_COMPANIES = (
    "Kestrel Home Goods", "Wrenfield Clinics", "Solace Hotels", "Tamarind Foods",
    "Quillon Energy", "Ravenmoor Schools", "Sterling Vale Motors", "Umber Interiors",
    "Verdant Garden Centres", "Whitlock Tutors",
)

_LINKED_COMPANIES = (
    "Halden Pharma", "Oakridge Mutual", "Vireo Retail", "Calloway Logistics",
    "Birchwood Bank", "Ashcombe Labs", "Dunmore Hotels", "Fairlight Media",
)

_EU_REGIONS = ("eu-west-1", "eu-central-1", "eu-north-1", "eu-south-1")
_OTHER_REGIONS = ("us-east-1", "us-west-2", "ap-southeast-2", "ca-central-1", "ap-northeast-1")

_PERSONAL_DATA = (
    "people's names and email addresses",
    "customers' names and phone numbers",
    "names and home addresses for deliveries",
    "employees' names, emails and job titles",
)
_NON_PERSONAL_DATA = (
    "order totals and SKU codes",
    "invoice amounts and product codes",
    "stock levels per warehouse",
    "campaign budgets and click counts",
)

_REPORTS = ("Client list", "Q3 renewals", "Pipeline by owner", "Open invoices",
            "Weekly orders", "Account owners", "Vendor contacts")

#: Enterprise customers reporting the same exposure (reporter included) that make it a P1.
_P1_ENTERPRISE_REPORTS = 3

_KNOWLEDGE_BASE = (
    KnowledgeSnippet(
        article_id="kb-foreign-data",
        title="A customer sees data that may not be theirs",
        content=(
            "First establish whose data it is. When the records belong to another customer's "
            "workspace (another company's contacts, orders or records that the reporting "
            "customer never held and that no workspace of its own organisation holds), it is a "
            "cross-tenant exposure and a security incident until security says otherwise: set "
            "queue security, issue type security_incident and priority urgent, escalate to "
            "security within your first two turns, and set status escalated with resolution "
            "code security_review. Raise data_exposure and legal_risk. Count the enterprise "
            "customers reporting the same thing: the reporter if on the enterprise plan, plus "
            "the enterprise customers among the linked tickets in the helpdesk header. At "
            f"{_P1_ENTERPRISE_REPORTS} or more, also raise p1_incident. Request the time_window "
            "in which the data was seen and the evidence for where it appeared: for an export, "
            "the request_ids of the export job (Reports > Export history, req_ followed by 12 "
            "hex characters); for a dashboard or a shared view, a screenshot of the foreign "
            "records. In your reply, name the export or view by its id, say our security team "
            "is investigating, and ask the customer to restrict access to the material. In an "
            "internal note, write 'cross-tenant exposure' with the export or view id and the "
            "name of the company the records belong to."
        ),
    ),
    KnowledgeSnippet(
        article_id="kb-foreign-data-personal",
        title="Exposed personal data and notification clocks",
        content=(
            "When the foreign records contain personal data (people's names, email addresses, "
            "phone numbers or home addresses) and the reporting workspace is hosted in an EU "
            "region (a region name starting with eu-), a regulator may have to be notified "
            "within 72 hours. Then also raise compliance_deadline, also request the user_ids of "
            "everyone who opened or downloaded the material, and write '72-hour clock' in the "
            "internal note with the time the customer first saw the data, as the ticket states "
            "it. Records without personal data (amounts, product codes, stock or campaign "
            "figures), or a workspace hosted outside the EU, do not start this clock: do not "
            "raise compliance_deadline for them. Security brings in privacy and legal itself: "
            "never escalate an exposure to data_privacy."
        ),
    ),
    KnowledgeSnippet(
        article_id="kb-own-sharing",
        title="Own data visible through the customer's own sharing settings",
        content=(
            "Not every report of 'someone can see our data' or 'we see records that are not "
            "ours' is an exposure. When the records are the customer's own and were reachable "
            "because of a setting the customer controls, it is a how-to question: set issue "
            "type how_to, do not escalate, raise no risk flag and never send it to security. "
            "Two cases. A public share link created by someone in the customer's workspace "
            "(Share > Anyone with the link): queue general_support; explain how to revoke the "
            "link under Share > Manage links. Records from another workspace of the same "
            "organisation, shown because an admin turned on organisation-wide sharing (the "
            "helpdesk header lists the organisation's linked workspaces): queue "
            "account_management, which owns organisation settings; explain how to turn off "
            "organisation-wide sharing. Priority is normal on business and enterprise plans and "
            "low on the others. Request the org_id (org_ followed by 10 hex characters) so the "
            "audit log can confirm who created the link or changed the setting, then set status "
            "resolved with resolution code answered. In your reply, name the link id or the "
            "linked workspace the records came from. In an internal note, write "
            "'customer-controlled sharing'."
        ),
    ),
    KnowledgeSnippet(
        article_id="kb-exposure-comms",
        title="Replying about possible data exposures",
        content=(
            "In any reply about data that may not be the customer's, never use the word "
            "'breach' (only legal makes that call) and never guess at a cause: do not mention a "
            "'bug' or a 'glitch'. Any statement about notifying regulators or other customers "
            "comes from legal, not from support."
        ),
    ),
    KnowledgeSnippet(
        article_id="kb-privacy-requests",
        title="What the privacy team handles",
        content=(
            "The privacy team (queue data_privacy) runs data subject requests (access, export, "
            "deletion) and processes DPA paperwork, with a statutory deadline on each request. "
            "It does not run incident response."
        ),
    ),
    KnowledgeSnippet(
        article_id="kb-export-duplicates",
        title="Exports: repeated rows after a timezone change",
        content=(
            "After a workspace's timezone changes, the next scheduled export can repeat some of "
            "the workspace's own rows around midnight. Filed with platform_engineering as a "
            "known defect (resolution code bug_filed); the rows are always the workspace's own."
        ),
    ),
)

_ARTICLE_IDS = tuple(a.article_id for a in _KNOWLEDGE_BASE)
_FORBIDDEN = (("breach",), ("bug",), ("glitch",))


def _id(draw: Draws, prefix: str) -> str:
    return f"{prefix}-{draw.randint(10000, 99999)}"


def _clock(draw: Draws) -> str:
    return f"{draw.randint(6, 11):02d}:{draw.choice(('05', '15', '20', '35', '40', '50'))} UTC"


def _cross_tenant(draw: Draws, name: str, company: str) -> SupportTaskSpec:
    tier = draw.choice(("pro", "business", "enterprise", "enterprise"))
    foreign = draw.choice(_OTHER_COMPANIES)
    surface = draw.choice(("export", "export", "view"))
    personal = draw.randint(0, 1) == 1
    region = draw.choice(_EU_REGIONS + _OTHER_REGIONS)
    eu = region.startswith("eu-")
    records = draw.choice(_PERSONAL_DATA if personal else _NON_PERSONAL_DATA)
    rows = draw.randint(12, 4800)
    seen = _clock(draw)
    linked_n = draw.choice((0, 1, 2, 2, 3, 4))
    linked = draw.sample(_LINKED_COMPANIES, linked_n)
    linked_tiers = [draw.choice(("enterprise", "enterprise", "business", "pro"))
                    for _ in linked]
    enterprise_reports = (tier == "enterprise") + sum(t == "enterprise" for t in linked_tiers)
    p1 = enterprise_reports >= _P1_ENTERPRISE_REPORTS
    regulated = personal and eu

    if surface == "export":
        ref = _id(draw, "EXP")
        report = draw.choice(_REPORTS)
        subject = draw.choice((f"Export {ref} has rows from another company",
                               "Our export contains someone else's data",
                               "Wrong company's records in our CSV export"))
        story = (
            f"At {seen} today I opened our '{report}' export ({ref}) and about {rows} of the "
            f"rows are not ours at all: {records} belonging to what looks like {foreign}. We "
            f"have never worked with them. I've kept the file on my machine for now. Is our "
            f"data going to other people too?"
        )
        evidence = "request_ids"
    else:
        ref = _id(draw, "VW")
        subject = draw.choice(("Dashboard showing another company's records",
                               f"Shared view {ref} shows data that isn't ours"))
        story = (
            f"Since {seen} our shared view {ref} shows {rows} records that aren't ours: "
            f"{records}, all tagged {foreign}. Nobody here has ever had that data. A couple "
            f"of my colleagues have the view open on the office screen. What is going on?"
        )
        evidence = "screenshot"
    if linked:
        parts = ", ".join(f"{c} ({t})" for c, t in zip(linked, linked_tiers, strict=True))
        header = (f"[Helpdesk: {len(linked)} similar ticket{'s' if len(linked) > 1 else ''} "
                  f"auto-linked in the last 3 hours: {parts}.]\n")
    else:
        header = "[Helpdesk: no similar tickets linked.]\n"

    fields: tuple[str, ...] = ("time_window", evidence)
    flags: tuple[str, ...] = ("data_exposure", "legal_risk")
    notes: tuple[tuple[str, ...], ...] = (("cross-tenant exposure", ref, foreign),)
    if regulated:
        fields += ("user_ids",)
        flags += ("compliance_deadline",)
        notes += (("72-hour clock", seen),)
    if p1:
        flags += ("p1_incident",)
    outcome = draw.choice(("complete", "partial", "partial", "none"))
    provided = tuple(f for f in fields if f != evidence) if outcome == "partial" else ()
    wrong = (evidence,) if outcome == "partial" else ()
    sir = _id(draw, "SIR")
    eta = draw.choice((30, 45, 60, 90))
    action = ("the export job isolated" if surface == "export"
              else "the shared view taken offline")
    return _variant(
        ticket=SupportTicket(
            customer_name=name, customer_tier=tier, company=company, subject=subject,
            body=header + story, region=region, affected_users=draw.randint(20, 1500),
            sla_minutes_remaining=draw.choice((45, 60, 90)),
        ),
        gold_queue="security",
        gold_priority="urgent",
        gold_issue_type="security_incident",
        gold_status="escalated",
        gold_resolution_code="security_review",
        required_requested_fields=fields,
        required_reply_markers=(
            (ref,),
            ("security team", "investigating"),
            ("restrict access",),
        ),
        required_note_markers=notes,
        risk_flags=flags,
        follow_up_outcome=outcome,
        follow_up_provided_fields=provided,
        follow_up_wrong_fields=wrong,
        follow_up_message=(
            f"Security: {ref} quarantined and {action} in {region}; scoping under {sir}, "
            f"next update in {eta} minutes."
        ),
        sla_step_cost=12,
        over_escalation_queues=("data_privacy",),
        under_escalation_deadline_step=2,
        max_steps=8,
        internal_terms=(*_ARTICLE_IDS, foreign, *linked),
        forbidden_reply_markers=_FORBIDDEN,
    )


def _own_sharing(draw: Draws, name: str, company: str) -> SupportTaskSpec:
    kind = draw.choice(("public_link", "org_sharing"))
    region = draw.choice(_EU_REGIONS + _OTHER_REGIONS)
    rows = draw.randint(30, 2500)
    report = draw.choice(_REPORTS)
    if kind == "public_link":
        tier = draw.choice(("starter", "pro", "business", "enterprise"))
        link = _id(draw, "LNK")
        outsider = draw.choice(_OTHER_COMPANIES)
        creator = draw.choice(("our marketing lead", "an intern last summer", "me, for a webinar",
                               "our sales director"))
        days = draw.randint(3, 60)
        subject = draw.choice(("Outsiders can see our dashboard?!",
                               "Is our client data exposed?",
                               "Someone outside the company opened our report"))
        body = (
            f"[Helpdesk: share link {link} on '{report}' is set to 'Anyone with the link', "
            f"created {days} days ago by a member of this workspace.]\n"
            f"A contact at {outsider} just told me they could open our '{report}' report "
            f"without logging in, all {rows} rows of it. I dug around and the share panel "
            f"says 'Anyone with the link'; I think the link was made by {creator}. Is this a "
            f"data leak on your side? How do we lock it down?"
        )
        queue = "general_support"
        reply: tuple[tuple[str, ...], ...] = (("revoke", "link"), (link,))
    else:
        tier = draw.choice(("business", "enterprise"))
        sibling = f"{company} {draw.choice(('Canada', 'Ireland', 'Nordics', 'APAC', 'Labs'))}"
        org = f"{company.split()[0]} Group"
        admin_days = draw.randint(2, 30)
        subject = draw.choice(("We're seeing another company's records",
                               f"Records from '{sibling}' in our workspace",
                               "Dashboard shows data that isn't ours"))
        body = (
            f"[Helpdesk: organisation {org} has 2 linked workspaces: {company}, {sibling}. "
            f"Organisation-wide sharing turned on {admin_days} days ago by an admin of "
            f"{company}.]\n"
            f"Our '{report}' dashboard suddenly lists {rows} records labelled '{sibling}'. "
            f"That's not us, we're {company}. Are we looking at somebody else's customers? "
            f"And can they see ours? Please check urgently."
        )
        queue = "account_management"
        reply = (("organisation-wide sharing",), (sibling,))
    outcome = draw.choice(("complete", "complete", "partial"))
    return _variant(
        ticket=SupportTicket(
            customer_name=name, customer_tier=tier, company=company, subject=subject,
            body=body, region=region, affected_users=draw.randint(5, 400),
            sla_minutes_remaining=draw.choice((240, 360, 480)),
        ),
        gold_queue=queue,
        gold_priority="normal" if tier in ("business", "enterprise") else "low",
        gold_issue_type="how_to",
        gold_status="resolved",
        gold_resolution_code="answered",
        required_requested_fields=("org_id",),
        required_reply_markers=reply,
        required_note_markers=(("customer-controlled sharing",),),
        risk_flags=(),
        follow_up_outcome=outcome,
        follow_up_wrong_fields=("org_id",) if outcome == "partial" else (),
        follow_up_message="Support: sharing setting confirmed in the audit log.",
        sla_step_cost=20,
        over_escalation_queues=("security",),
        max_steps=6,
        internal_terms=_ARTICLE_IDS,
        forbidden_reply_markers=_FORBIDDEN,
    )



def _variant(**fields: Any) -> SupportTaskSpec:
    """A variant: what every branch shares (the policy, the title), plus the branch's
    own ``fields``."""
    return SupportTaskSpec(
        task_id=FAMILY_ID,
        difficulty="hard",
        title="Customer sees data that may not be theirs",
        objective=(
            "Decide whose data the customer is seeing, route and prioritise the ticket as the "
            "policy says, collect the evidence it asks for and reply without speculating."
        ),
        knowledge_base=_KNOWLEDGE_BASE,
        **fields,
    )

def FAMILY(draw: Draws) -> SupportTaskSpec:
    name = draw.choice(_PEOPLE)
    company = draw.choice(_COMPANIES)
    if draw.randbelow(20) < 11:
        return _cross_tenant(draw, name, company)
    return _own_sharing(draw, name, company)
