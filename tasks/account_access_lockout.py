"""Family: a customer cannot get into their account.

Decision facts drawn per seed, which the knowledge base's written policy turns into gold:

- the cause: a routine lockout (forgotten password, reset email not arriving, or a lock
  after repeated failed attempts), signs of an account takeover (sign-ins from unknown
  countries or IPs, a login email changed without the customer, purchases nobody made),
  or a single sign-on (SAML) failure in an enterprise workspace;
- the plan tier, which sets the priority of a routine lockout and of a takeover;
- how many people an SSO failure locks out, against the P1 threshold of the SSO article;
- red herrings: a routine ticket may mention a sign-in alert the customer recognises
  as their own, which is not a sign of takeover.

Surface facts: names, company, region, the helpdesk case number (which the internal
note must carry), timestamps, amounts, and the owning team's reference and ETA.
"""

from __future__ import annotations

from typing import Any

from sim.kernel.draws import Draws
from tasks.base import KnowledgeSnippet, SupportTaskSpec, SupportTicket

FAMILY_ID = "account_access_lockout"

_PEOPLE = (
    "Amara Okafor", "Lukas Brandt", "Priya Raman", "Diego Fuentes", "Hana Kobayashi",
    "Olivia Grant", "Mateus Rocha", "Ingrid Solberg", "Kwame Mensah", "Chloé Martin",
    "Farid Haddad", "Emily Novak", "Ravi Shankar", "Sofia Lindqvist", "Tobias Keller",
    "Nadia Petrova", "Jonah Whitfield", "Leila Ahmadi", "Marek Dvořák", "Grace O'Neill",
)

_COMPANIES = (
    "Pinecrest Dental", "Orbital Print Co", "Fernhill Analytics", "Bluewater Charters",
    "Quarry Lane Bakery", "Halcyon Legal", "Tidemark Logistics", "Copperleaf Studio",
    "Meridian Freight", "Larkspur Health", "Northgate Robotics", "Saltmarsh Media",
    "Brisk Ledger", "Ironbark Construction", "Juniper Learning", "Vantage Row Realty",
)

_REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2",
            "ca-central-1", "eu-north-1")

_FOREIGN_PLACES = ("Romania", "Vietnam", "Brazil", "Nigeria", "Indonesia", "Ukraine",
                   "Peru", "Kazakhstan", "Bangladesh", "Morocco")

_IDPS = ("Okta", "Azure AD", "OneLogin", "Google Workspace", "JumpCloud", "PingOne")

#: Above this many people locked out by an SSO failure, it is a P1 (the SSO article says so).
_SSO_P1_THRESHOLD = 40

_KNOWLEDGE_BASE = (
    KnowledgeSnippet(
        article_id="kb-access-routine",
        title="Routine sign-in problems: forgotten passwords and lockouts",
        content=(
            "One person who cannot sign in because they forgot the password, because the reset "
            "email does not arrive, or because the account locked itself after too many failed "
            "attempts is a routine case owned by account_management: set queue "
            "account_management and issue type account_access; no escalation is needed. The "
            "priority follows the plan: free and starter plans low, pro and business plans "
            "normal, enterprise plans high. Request the account_email the person signs in with "
            "and check it against the account before changing anything. Then send a manual "
            "reset link from the admin console and set status resolved with resolution code "
            "credential_reset. In your reply, say a manual reset link is coming and that it "
            "stays valid for 30 minutes; when the account locked itself after failed attempts, "
            "also say you have unlocked it. In an internal note, write 'identity verified' with "
            "the case number from the helpdesk header."
        ),
    ),
    KnowledgeSnippet(
        article_id="kb-access-takeover",
        title="When a sign-in problem is an account takeover",
        content=(
            "Treat a sign-in problem as a takeover when the ticket shows any of these: sign-ins "
            "from a country or IP address nobody on the account recognises, a login email or "
            "password changed without the customer's knowledge, or purchases nobody on the "
            "account made. Then set queue security and issue type security_incident, escalate "
            "to security straight away, raise fraud_suspected, and set status escalated with "
            "resolution code security_review. Priority is urgent on business and enterprise "
            "plans and high on the other plans. Request the login_timestamps and ip_addresses "
            "from the sign-in alert emails, without waiting for them to escalate. Never send a "
            "reset link on a takeover ticket: the login email may now belong to the attacker. "
            "Do not route a takeover to billing even when there are charges; security decides "
            "on any money after its review. In your reply, say the account is frozen while our "
            "security team reviews it and ask them not to reuse the old password anywhere. In "
            "an internal note, write 'takeover suspected' with the case number. A sign-in alert "
            "the customer recognises as their own (a new laptop, a trip) is not a sign of "
            "takeover: routine lockouts never go to security and never get fraud_suspected."
        ),
    ),
    KnowledgeSnippet(
        article_id="kb-access-sso",
        title="Single sign-on (SAML) failures",
        content=(
            "Single sign-on is only available on the enterprise plan. When members of a "
            "workspace cannot get in through SSO (a SAML error, an 'invalid assertion' page, a "
            "redirect loop at the identity provider), it is not one person's password: do not "
            "send reset links, and it is not a security incident. SSO belongs to the identity "
            "team in platform_engineering: set queue platform_engineering and issue type "
            "account_access, escalate to platform_engineering, priority high. When more than "
            f"{_SSO_P1_THRESHOLD} people are locked out, set priority urgent and raise "
            "p1_incident. Request the error_message shown at sign-in and the org_id (org_ "
            "followed by 10 hex characters, under Settings > Workspace). Workspace owners can "
            "still sign in with email and password through the owner bypass page while SSO is "
            "down: tell the customer about the owner bypass, say the identity team is on it, and "
            "set status escalated with resolution code workaround_provided. In an internal "
            "note, write 'SSO outage' with the case number."
        ),
    ),
    KnowledgeSnippet(
        article_id="kb-billing-addons",
        title="Add-on purchases and refunds",
        content=(
            "Questions about add-on credit packs and their charges belong to billing: queue "
            "billing, issue type billing_dispute. Request the invoice_id and the "
            "transaction_date. Billing refunds a pack bought by mistake within 14 days "
            "(resolution code refund_issued)."
        ),
    ),
    KnowledgeSnippet(
        article_id="kb-plan-seats",
        title="Adding seats and inviting members",
        content=(
            "Admins add seats under Settings > Billing and invite members from Settings > "
            "Members. An invitation link is valid for 7 days; an expired one can be resent by "
            "any admin. Seat changes on enterprise contracts go through the account manager."
        ),
    ),
)

_INTERNAL_TERMS = tuple(a.article_id for a in _KNOWLEDGE_BASE)


def _ticket_header(case: str, extra: str = "") -> str:
    return f"[Helpdesk: case {case}{extra}]\n"



def _variant(**fields: Any) -> SupportTaskSpec:
    """A variant: what every branch shares (the policy, the title, the turn length), plus
    the branch's own ``fields``."""
    return SupportTaskSpec(
        task_id=FAMILY_ID,
        difficulty="easy",
        title="Customer cannot sign in",
        objective=(
            "Work out why the customer cannot get into the account, route the ticket by the "
            "sign-in policy and take the next step it prescribes."
        ),
        knowledge_base=_KNOWLEDGE_BASE,
        sla_step_cost=15,
        internal_terms=_INTERNAL_TERMS,
        **fields,
    )

def FAMILY(draw: Draws) -> SupportTaskSpec:
    name = draw.choice(_PEOPLE)
    first = name.split()[0]
    company = draw.choice(_COMPANIES)
    region = draw.choice(_REGIONS)
    case = f"ACC-{draw.randint(10000, 99999)}"
    branch = draw.choice(("routine", "routine", "routine", "routine",
                          "takeover", "takeover", "takeover", "sso", "sso", "sso"))

    if branch == "routine":
        tier = draw.choice(("free", "starter", "pro", "business", "enterprise"))
        cause = draw.choice(("forgot", "no_email", "locked"))
        herring = draw.randint(0, 1) == 1
        attempts = draw.randint(5, 9)
        days = draw.randint(3, 21)
        meeting = draw.choice(("a client call at 2pm", "payroll due today",
                               "a board pack to send tonight", "a demo in an hour",
                               "month-end close tomorrow"))
        if cause == "forgot":
            subject = "Forgot my password and can't get back in"
            story = (
                f"I've been away for {days} days and honestly can't remember my password. I "
                f"tried a few guesses, then the reset page, and now I'm stuck on the login "
                f"screen. I have {meeting}, so I'd appreciate a quick fix."
            )
        elif cause == "no_email":
            subject = "Reset email not arriving"
            story = (
                f"I requested a password reset {draw.randint(2, 5)} times this morning and "
                f"nothing has come through, checked junk and our quarantine too. Colleagues at "
                f"{company} get your emails fine. I have {meeting}."
            )
        else:
            subject = "Account locked after wrong passwords"
            story = (
                f"I mistyped my password {attempts} times after my keyboard layout changed and "
                f"now it says the account is temporarily locked. I have {meeting}, can you "
                f"lift it?"
            )
        if herring:
            story += (
                f" You might see a new sign-in from {draw.choice(('Lisbon', 'Denver', 'Osaka', 'Leeds'))} "
                "yesterday; that was me on my new laptop while travelling, nothing odd."
            )
        else:
            story += " Nobody else uses my login and I haven't had any strange alerts."
        priority = {"free": "low", "starter": "low", "pro": "normal", "business": "normal",
                    "enterprise": "high"}[tier]
        reply_markers: tuple[tuple[str, ...], ...] = (
            ("manual reset link", "30 minutes"),
        )
        if cause == "locked":
            reply_markers += (("unlocked",),)
        outcome = draw.choice(("complete", "complete", "partial"))
        return _variant(
            ticket=SupportTicket(
                customer_name=name, customer_tier=tier, company=company, subject=subject,
                body=_ticket_header(case) + story, region=region, affected_users=1,
                sla_minutes_remaining=draw.choice((240, 360, 480)),
            ),
            gold_queue="account_management",
            gold_priority=priority,
            gold_issue_type="account_access",
            gold_status="resolved",
            gold_resolution_code="credential_reset",
            required_requested_fields=("account_email",),
            required_reply_markers=reply_markers,
            required_note_markers=(("identity verified", case),),
            risk_flags=(),
            follow_up_outcome=outcome,
            follow_up_provided_fields=(),
            follow_up_wrong_fields=("account_email",) if outcome == "partial" else (),
            follow_up_message=(
                f"Account management: login email matched on {case}, manual reset issued."
            ),
            over_escalation_queues=("security",),
            max_steps=6,
        )

    if branch == "takeover":
        tier = draw.choice(("starter", "pro", "business", "enterprise"))
        places = draw.sample(_FOREIGN_PLACES, 2)
        hour = draw.randint(1, 5)
        signal = draw.choice(("alerts", "email_changed", "charges"))
        opener = draw.choice((
            "At first I assumed I'd just forgotten my password, ",
            "I thought it was the usual forgotten-password thing, ",
            "My first guess was a typo on my side, ",
        ))
        if signal == "alerts":
            subject = "Can't log in, and odd sign-in emails"
            story = (
                f"{opener}but my password stopped working this morning. Overnight I got "
                f"'new sign-in' emails from {places[0]} and {places[1]} around {hour}am; nobody "
                f"at {company} is there."
            )
            users = 1
        elif signal == "email_changed":
            subject = "My login email was changed and I'm locked out"
            story = (
                f"{opener}but then I found an email saying my login address was changed to a "
                f"gmail address I've never seen. I didn't do that, and now the reset goes "
                f"there. There was also a sign-in from {places[0]} at {hour}am."
            )
            users = 1
        else:
            packs = draw.randint(6, 18)
            price = draw.choice((29, 39, 49, 79))
            subject = "Locked out, and charges we didn't make"
            story = (
                f"{opener}but our admin login fails and the card on file was charged {packs} "
                f"times for ${price} add-on packs that nobody on our team bought. There were "
                f"sign-in alerts from {places[0]} at {hour}am. Please also refund the charges."
            )
            users = draw.randint(4, 30)
        priority = "urgent" if tier in ("business", "enterprise") else "high"
        sec_ref = f"SEC-{draw.randint(1000, 9999)}"
        eta = draw.choice((30, 45, 60, 90, 120))
        outcome = draw.choice(("complete", "partial", "none"))
        return _variant(
            ticket=SupportTicket(
                customer_name=name, customer_tier=tier, company=company, subject=subject,
                body=_ticket_header(case) + story, region=region, affected_users=users,
                sla_minutes_remaining=draw.choice((90, 120, 180)),
            ),
            gold_queue="security",
            gold_priority=priority,
            gold_issue_type="security_incident",
            gold_status="escalated",
            gold_resolution_code="security_review",
            required_requested_fields=("login_timestamps", "ip_addresses"),
            required_reply_markers=(
                ("frozen", "security team"),
                ("old password",),
            ),
            required_note_markers=(("takeover suspected", case),),
            risk_flags=("fraud_suspected",),
            follow_up_outcome=outcome,
            follow_up_provided_fields=("login_timestamps",) if outcome == "partial" else (),
            follow_up_wrong_fields=("ip_addresses",) if outcome == "partial" else (),
            follow_up_message=(
                f"Security: all sessions for {first}'s account revoked under {sec_ref}; "
                f"reviewing the sign-in history now, next update in {eta} minutes."
            ),
            over_escalation_queues=("billing",),
            under_escalation_deadline_step=2,
            max_steps=7,
        )

    # SSO: enterprise workspaces only.
    idp = draw.choice(_IDPS)
    locked = draw.choice((draw.randint(12, _SSO_P1_THRESHOLD),
                          draw.randint(_SSO_P1_THRESHOLD + 1, 400)))
    since = draw.randint(20, 150)
    symptom = draw.choice((
        "a SAML 'invalid assertion' page",
        "a redirect loop between your login page and our identity provider",
        "'SAML response signature could not be verified'",
    ))
    subject = draw.choice(("SSO login broken for our team", "Nobody can sign in with SSO",
                           "SAML sign-in failing since this morning"))
    story = (
        f"For the last {since} minutes, {locked} of our people have been unable to sign in "
        f"through {idp}: they get {symptom}. Direct logins aren't set up for them. We haven't "
        f"changed anything on our side as far as I know. It isn't a password problem, several "
        f"of us tried."
    )
    p1 = locked > _SSO_P1_THRESHOLD
    team_ref = f"IDP-{draw.randint(100, 9999)}"
    eta = draw.choice((15, 20, 25, 40))
    outcome = draw.choice(("complete", "partial"))
    wrong = draw.choice(("org_id", "error_message"))
    return _variant(
        ticket=SupportTicket(
            customer_name=name, customer_tier="enterprise", company=company, subject=subject,
            body=_ticket_header(case, f" · SSO: {idp}") + story, region=region,
            affected_users=locked, sla_minutes_remaining=draw.choice((60, 90, 120)),
        ),
        gold_queue="platform_engineering",
        gold_priority="urgent" if p1 else "high",
        gold_issue_type="account_access",
        gold_status="escalated",
        gold_resolution_code="workaround_provided",
        required_requested_fields=("error_message", "org_id"),
        required_reply_markers=(
            ("owner bypass",),
            ("identity team",),
        ),
        required_note_markers=(("SSO outage", case),),
        risk_flags=("p1_incident",) if p1 else (),
        follow_up_outcome=outcome,
        follow_up_provided_fields=(
            tuple(f for f in ("error_message", "org_id") if f != wrong) if outcome == "partial"
            else ()),
        follow_up_wrong_fields=(wrong,) if outcome == "partial" else (),
        follow_up_message=(
            f"Identity team: {idp} assertions for {company} are failing validation; tracking "
            f"as {team_ref}, next update in {eta} minutes."
        ),
        over_escalation_queues=("security",),
        under_escalation_deadline_step=2,
        max_steps=7,
    )
