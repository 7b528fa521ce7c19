"""Family: a customer asks whether the product can do something.

Decision facts drawn per seed, turned into gold by the knowledge base's written policy:

- whether the capability exists on the customer's plan (a how-to: answered, resolved),
  only on a higher plan (a self-serve upgrade: answered, resolved; or, when the customer
  talks of adding 20 or more seats, a lead escalated to sales), or not at all (a feature
  request: product feedback, feature_logged, closed — never sales or engineering, even
  when the customer dangles seats);
- the plan, which sets the priority; an Enterprise customer threatening to leave over a
  missing capability (churn_risk, urgent);
- a customer who says the option is missing or greyed out for them (a screenshot first).
"""

from __future__ import annotations

from sim.kernel.draws import Draws
from tasks.base import KnowledgeSnippet, MarkerGroups, SupportTaskSpec, SupportTicket

FAMILY_ID = "product_request"

_PLANS = ("free", "starter", "pro", "business", "enterprise")
_PLAN_NAMES = {"free": "Free", "starter": "Starter", "pro": "Pro", "business": "Business",
               "enterprise": "Enterprise"}

# (capability as the matrix names it, lowest plan, where it lives, what the customer asks)
_EXISTING = (
    ("SAML single sign-on", "business", "Security settings",
     "can our people sign in through our identity provider (Okta) with SAML instead of "
     "passwords"),
    ("Custom roles", "business", "Roles page",
     "can we make a role that can edit projects but can't invite or remove people"),
    ("Audit log export", "enterprise", "Audit page",
     "can we download a log of who changed what and when, for our auditors"),
    ("Scheduled reports", "starter", "Reports tab",
     "can a report be emailed to my manager automatically every Friday as a CSV"),
    ("Two-factor enforcement", "pro", "Login policy page",
     "can I force everyone in the workspace to use two-factor authentication"),
    ("API access", "pro", "Developer settings",
     "is there an API so our own script can pull tasks out every night"),
    ("Sandbox workspaces", "enterprise", "Sandbox page",
     "can we get a test copy of our workspace to try automations without touching live data"),
    ("Guest access", "free", "Members page",
     "can I invite a client as a read-only guest without paying for a seat"),
)
# (capability, what the customer asks, their use case)
_MISSING = (
    ("offline mode", "can the mobile app work offline and sync when it's back online",
     "our field crews lose signal on site"),
    ("Gantt view", "is there a Gantt chart view of projects with dependencies",
     "our PMs plan launches in Gantt charts"),
    ("two-way Jira sync", "can tasks sync both ways with Jira",
     "our engineers live in Jira and the rest of us live here"),
    ("SMS notifications", "can reminders go out by text message instead of email",
     "half our staff never read email"),
    ("scheduled PDF dashboards", "can a dashboard be emailed as a PDF every Monday morning",
     "the board wants a PDF, not a link"),
    ("custom fonts", "can we use our brand font in shared dashboards",
     "our brand team insists on it for client-facing pages"),
)

_KB = (
    KnowledgeSnippet(
        article_id="kb-plan-matrix",
        title="Which plan has which capability",
        content=(
            "Plans from lowest to highest: Free, Starter, Pro, Business, Enterprise. A capability "
            "is on the plan listed and every higher plan. Guest access: Free (Members page). "
            "Scheduled reports, CSV only: Starter (Reports tab). API access: Pro (Developer "
            "settings). Two-factor enforcement: Pro (Login policy page). SAML single sign-on: "
            "Business (Security settings). Custom roles: Business (Roles page). Audit log export: "
            "Enterprise (Audit page). Sandbox workspaces: Enterprise (Sandbox page). A capability "
            "that is not in this list does not exist on any plan."
        ),
    ),
    KnowledgeSnippet(
        article_id="kb-capability-questions",
        title="Answering 'can the product do this?'",
        content=(
            "Look the capability up in the plan matrix. Priority follows the customer's plan on "
            "every such ticket: Enterprise high, Business normal, Free, Starter and Pro low. "
            "If their plan has it: set queue general_support and issue type how_to, reply with "
            "where it lives (the page named in the matrix), then set status resolved with "
            "resolution code answered. If the customer says they already looked and the option is "
            "missing or greyed out for them, first request a screenshot of what they see and say "
            "that only workspace admins see the setting; resolve once it arrives. "
            "If only a higher plan has it: it is still a how_to. When the customer plans to add "
            "fewer than 20 seats (or says nothing about seats), reply naming the lowest plan that "
            "has it (as 'Business plan') and that they can upgrade in their billing settings, then "
            "resolve with resolution code answered in queue general_support. When they say they "
            "would add 20 or more seats, it is a sales lead: set queue sales, escalate to sales, "
            "set resolution code answered, reply naming the plan and that our sales team will be "
            "in touch. In an internal note on any capability that exists, write 'existing "
            "feature' and the capability's name as the matrix gives it; on a sales lead, also "
            "write 'sales lead' and the number of seats, as 'N seats'. "
            "If no plan has it: it is a feature request, see 'Logging feature requests'."
        ),
    ),
    KnowledgeSnippet(
        article_id="kb-feature-requests",
        title="Logging feature requests",
        content=(
            "A capability that no plan has is logged on the product feedback board: set queue "
            "product_feedback and issue type feature_request; that files it, so do not escalate "
            "and request no fields. Reply thanking the customer, say the feature request has been "
            "logged, and point them to the public roadmap; then set status closed with resolution "
            "code feature_logged. In an internal note, write 'use case' and the capability asked "
            "for. Plain feature requests never go to sales or platform_engineering, even when the "
            "customer says they would buy seats or upgrade if it existed. When an Enterprise "
            "customer says they will leave, cancel or not renew over it, raise churn_risk and set "
            "priority urgent instead of high; it still goes to product feedback, not "
            "account_management. Never promise that or when it will ship: a reply must not "
            "contain 'guarantee' or 'next release'."
        ),
    ),
    KnowledgeSnippet(
        article_id="kb-engineering-scope",
        title="What platform engineering takes",
        content=(
            "platform_engineering takes outages, errors and bugs in capabilities that exist. A "
            "capability the product does not have is not a bug, and a setting a customer cannot "
            "find is a how-to question: neither goes to engineering."
        ),
    ),
    KnowledgeSnippet(
        article_id="kb-billing-upgrades",
        title="Changing plans",
        content=(
            "Admins can move to a higher plan at any time in their billing settings; the change "
            "is prorated. Downgrades take effect at the end of the billing period."
        ),
    ),
)

_INTERNAL = tuple(article.article_id for article in _KB)

_FIRST = ("Nadia", "Elliot", "Sofia", "Bruno", "Hana", "Marcus", "Ines", "Theo", "Aisha", "Lukas",
          "Clara", "Dev", "Freya", "Omar", "Paula", "Rhys", "Zoe", "Anton")
_LAST = ("Kowalski", "Bianchi", "Ahmed", "Lund", "Fischer", "Reyes", "Murphy", "Sato", "Costa",
         "Jansen", "Petrov", "Quinn", "Dumont", "Varga", "Hughes", "Mendes")
_COMPANY = ("Bluefin Ops", "Copperline Builders", "Driftwood Media", "Emberly Care",
            "Foxglove Events", "Gullwing Travel", "Hollow Oak Brewing", "Ironbark Legal",
            "Jetty Freight", "Kindling Schools", "Lumen Dental", "Mossgrove Farms",
            "Nimbus Robotics", "Oakridge Realty", "Pebble Finance", "Quarry Works")
_REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2", "ca-central-1")

_TITLE = "Customer asks about a product capability"
_OBJECTIVE = (
    "Find out whether what the customer wants exists on their plan, only on a higher plan or "
    "not at all, and handle it the way the product policy says."
)

_PRIORITY = {"free": "low", "starter": "low", "pro": "low", "business": "normal",
             "enterprise": "high"}


def FAMILY(draw: Draws) -> SupportTaskSpec:
    reply: MarkerGroups
    note: MarkerGroups
    over: tuple[str, ...]
    name = f"{draw.choice(_FIRST)} {draw.choice(_LAST)}"
    company = draw.choice(_COMPANY)
    region = draw.choice(_REGIONS)
    branch = draw.choice(("on_plan", "on_plan", "upgrade", "sales", "missing", "missing"))
    greeting = draw.choice(("Hi there,", "Hello,", "Hi team,", "Quick question -"))
    sign_off = draw.choice(("Thanks!", "Cheers", "Thanks in advance.", "Best regards"))

    required: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    over = ("platform_engineering", "sales")
    forbidden: tuple[tuple[str, ...], ...] = ()
    outcome = "none"
    deadline = None
    message = "Support: answered from the plan matrix."
    status, resolution, queue, issue = "resolved", "answered", "general_support", "how_to"

    if branch == "missing":
        capability, ask, use_case = draw.choice(_MISSING)
        churn = draw.randbelow(2) == 0
        tier = "enterprise" if churn else draw.choice(_PLANS)
        seats = draw.randint(15, 120)
        if churn:
            renewal = draw.randint(20, 90)
            pressure = draw.choice((
                f" Our renewal is in {renewal} days and, frankly, if this isn't possible we will "
                "move to a tool that has it.",
                f" Leadership has asked me to evaluate alternatives before our renewal in "
                f"{renewal} days if this can't be done.",
                f" We're {renewal} days from renewal and this is the deciding factor; otherwise "
                "we'll cancel.",
            ))
        else:
            pressure = draw.choice((
                f" If you had this we'd roll it out to another {seats} seats.",
                " Would be a big help for us.",
                f" We'd happily upgrade and add {seats} seats for it.",
                "",
            ))
        body = (f"{greeting}\n{ask[0].upper()}{ask[1:]}? {use_case.capitalize()}, so it "
                f"matters to us.{pressure}\n{sign_off}\n{name.split()[0]}")
        subject = draw.choice((f"Feature question: {capability}", f"Do you support {capability}?",
                               f"Request: {capability}"))
        status, resolution, queue, issue = "closed", "feature_logged", "product_feedback", \
            "feature_request"
        priority = "urgent" if churn else _PRIORITY[tier]
        flags = ("churn_risk",) if churn else ()
        if churn:
            over = (*over, "account_management")
        reply = (("feature request", "logged"), ("roadmap",))
        note = (("use case", capability),)
        forbidden = (("guarantee",), ("next release",))
        message = "Product: added to the feedback board."
    else:
        if branch == "on_plan":
            capability, lowest, where, ask = draw.choice(_EXISTING)
            tier = draw.choice(_PLANS[_PLANS.index(lowest):])
        else:
            capability, lowest, where, ask = draw.choice(
                [c for c in _EXISTING if c[1] != "free"])
            tier = draw.choice(_PLANS[:_PLANS.index(lowest)])
        priority = _PRIORITY[tier]
        note = (("existing feature", capability),)
        greyed = branch == "on_plan" and draw.randbelow(2) == 0
        extra = ""
        if greyed:
            extra = draw.choice((
                " I went through the settings but the option is greyed out for me.",
                " I looked everywhere in settings and I don't see it anywhere.",
                " A colleague said it's there but it's missing from my menu.",
            ))
        team = draw.randint(3, 40)
        if branch == "sales":
            seats = draw.randint(20, 150)
            extra = draw.choice((
                f" If it's included we'd bring the rest of the company over: another {seats} "
                "seats.",
                f" We're planning to add {seats} seats next quarter and this is on our checklist.",
            ))
        elif branch == "upgrade":
            seats = draw.randint(1, 19)
            extra = draw.choice((
                f" We might add {seats} seats later this year.",
                "",
                f" We're a team of {team} for now.",
            ))
        body = f"{greeting}\n{ask[0].upper()}{ask[1:]}?{extra}\n{sign_off}\n{name.split()[0]}"
        subject = draw.choice((f"Question about {capability.lower()}",
                               f"{capability} on our plan?", "Can we do this in the app?"))
        plan_name = f"{_PLAN_NAMES[lowest]} plan"
        if branch == "on_plan":
            reply = ((where,),)
            if greyed:
                required = ("screenshot",)
                outcome = "complete"
                reply = ((where,), ("workspace admins",))
        elif branch == "upgrade":
            reply = ((plan_name,), ("billing settings",))
        else:
            status, queue = "escalated", "sales"
            over = ("platform_engineering",)
            deadline = 2
            reply = ((plan_name,), ("sales team",))
            note = (("existing feature", capability), ("sales lead", f"{seats} seats"))
            lead = f"SAL-{draw.randint(1000, 9899)}"
            days = draw.randint(1, 4)
            message = (f"Sales: lead {lead} assigned to an account executive; first call within "
                       f"{days} business days.")
    ticket = SupportTicket(customer_name=name, customer_tier=tier, company=company,
                           subject=subject, body=body, region=region,
                           affected_users=draw.randint(2, 60),
                           sla_minutes_remaining=draw.choice((720, 1440)))
    return SupportTaskSpec(
        task_id=FAMILY_ID, difficulty="easy", title=_TITLE, objective=_OBJECTIVE, ticket=ticket,
        knowledge_base=_KB, gold_queue=queue, gold_priority=priority, gold_issue_type=issue,
        gold_status=status, gold_resolution_code=resolution, required_requested_fields=required,
        required_reply_markers=reply, required_note_markers=note, risk_flags=flags,
        follow_up_outcome=outcome, follow_up_message=message, sla_step_cost=30,
        over_escalation_queues=over, under_escalation_deadline_step=deadline, max_steps=5,
        internal_terms=_INTERNAL, forbidden_reply_markers=forbidden,
    )
