"""A card charge the customer disputes: a duplicate of a purchase they made, or a charge
nobody on their side recognises, next to signs that the account was taken over.

Decision facts drawn per seed (the knowledge base's rules turn them into the gold):

- the kind of dispute: a duplicate (billing, billing_dispute) or an unrecognised charge
  with a sign of compromise (security, security_incident, escalated, security_review,
  fraud_suspected; no refund may be promised, whatever the amount);
- for a duplicate, the total of the extra charges against the $500.00 direct-refund
  limit: at or under it, support refunds and resolves (refund_issued); above it, the
  refund needs the billing team's approval (escalated to billing);
- the plan: business and enterprise are high priority (urgent for suspected fraud) and
  raise churn_risk; starter and pro are normal (high for suspected fraud).

Surface facts: names, company, region, amounts, how many times the card was hit, what
was bought, when, the compromise sign, the team's reference and ETA.
"""

from __future__ import annotations

from sim.kernel.draws import Draws
from tasks.base import KnowledgeSnippet, MarkerGroups, SupportTaskSpec, SupportTicket

FAMILY_ID = "billing_charge_dispute"
#: The most support may refund without the billing team's approval, in cents.
DIRECT_REFUND_LIMIT_CENTS = 50_000

KNOWLEDGE_BASE = (
    KnowledgeSnippet(
        article_id="kb-card-disputes",
        title="Card charge disputes: duplicate or unrecognised?",
        content=(
            "First decide which kind of dispute it is. A duplicate is an extra copy of a "
            "purchase the customer did make: the same amount again for the same renewal, "
            "seats or credit pack. An unrecognised charge is one nobody at the customer made "
            "or approved; treat it as possible fraud when it comes with any sign that the "
            "account was compromised: a sign-in alert from a place or device they do not know, "
            "a billing or admin email changed without them, API keys or admins nobody on their "
            "team created.\n"
            "Duplicates stay in the billing queue with issue type billing_dispute. Request the "
            "invoice_id, the last4_digits of the card and the transaction_date so the processor "
            "records can be matched. The amount to give back is the total of the extra "
            "charges (two extra copies of $300.00 are $600.00). Support may refund up to $500.00 "
            "directly: at or under that total, once all three fields are in, refund it and set "
            "status resolved with resolution code refund_issued; no escalation. Above $500.00 the "
            "refund needs approval from the billing team: escalate to billing on your first turn "
            "with resolution code refund_issued and let the billing team issue it. A duplicate is "
            "never a security matter: do not raise fraud_suspected for it and do not send it to "
            "security.\n"
            "Unrecognised charges with a sign of compromise are security incidents: queue "
            "security, issue type security_incident, escalate to security at once, raise "
            "fraud_suspected and set resolution code security_review. Request the "
            "login_timestamps and ip_addresses shown in the sign-in alerts, but do not wait for "
            "them to escalate. Never route these to billing, even for a small amount: whether "
            "any money goes back is decided after the security review."
        ),
    ),
    KnowledgeSnippet(
        article_id="kb-dispute-comms",
        title="What to tell the customer, what to write down",
        content=(
            "Refund done by support: reply with the exact amount refunded, written as on the "
            "statement (for example $1,180.00), and that it posts in 5-10 business days. Refund "
            "waiting for approval: reply that the billing team must approve the refund, with the "
            "exact amount. Internal note for any duplicate: 'duplicate verified' and the total "
            "amount, plus 'approval requested' when it went to the billing team.\n"
            "Suspected fraud: reply that every admin should reset their password and that our "
            "security team is reviewing the charges. While that review is open a reply must "
            "never use the word refund, since a promise cannot be withdrawn if the purchase turns "
            "out to be the customer's own. Internal note: 'possible account takeover' and the "
            "disputed amount."
        ),
    ),
    KnowledgeSnippet(
        article_id="kb-billing-priority",
        title="Priority and risk flags on payment tickets",
        content=(
            "Priority follows the plan: business and enterprise customers are high priority, "
            "starter and pro customers normal. Suspected fraud goes one step higher: urgent for "
            "business and enterprise, high for starter and pro. Raise churn_risk on every payment "
            "dispute from a business or enterprise customer, fraud included; not for starter or "
            "pro."
        ),
    ),
    KnowledgeSnippet(
        article_id="kb-downgrade-credit",
        title="Money back after a downgrade or cancellation",
        content=(
            "Unused time after a downgrade or cancellation is not refunded to the card: it becomes "
            "prorated account credit on the next invoice, with issue type refund_request. This "
            "does not apply to charges the customer disputes."
        ),
    ),
    KnowledgeSnippet(
        article_id="kb-failed-payments",
        title="Failed and retried payments",
        content=(
            "A declined card is retried after 1, 3 and 5 days. A retry that succeeds replaces the "
            "failed attempt; a pending authorisation from a failed attempt drops off the "
            "statement within 7 days and is not a second charge."
        ),
    ),
)

INTERNAL_TERMS = tuple(article.article_id for article in KNOWLEDGE_BASE)

FIRST_NAMES = ("Amara", "Jonas", "Keiko", "Rafael", "Ingrid", "Tobias", "Leila", "Marcus",
               "Sunita", "Declan", "Yara", "Owen", "Mei", "Lucas", "Farah", "Nikolai")
LAST_NAMES = ("Okafor", "Lindqvist", "Tanaka", "Moreira", "Halvorsen", "Brandt", "Haddad",
              "Whitfield", "Iyer", "Gallagher", "Rahman", "Kowalczyk", "Chen", "Dubois")
COMPANIES = ("Northgate Logistics", "Pebble & Pine Studio", "Quayside Analytics",
             "Harrow Veterinary", "Bluefin Robotics", "Copperleaf Legal", "Ostara Foods",
             "Marlow Architects", "Tidewater Clinics", "Kestrel Freight", "Lumen Learning Co",
             "Saffron Hospitality")
REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
TIMES = ("twice", "three times")


def money(cents: int) -> str:
    return f"${cents // 100:,}.{cents % 100:02d}"


def _amount(draw: Draws, low: int, high: int) -> int:
    """Cents in [low, high], mostly whole dollars, like real plan prices."""
    dollars = draw.randint(low // 100, high // 100)
    cents = draw.choice((0, 0, 0, 50, 99))
    value = dollars * 100 + cents
    return min(max(value, low), high)


def FAMILY(draw: Draws) -> SupportTaskSpec:
    reply_markers: MarkerGroups
    note_markers: MarkerGroups
    update_markers: tuple[str, ...]
    flags: tuple[str, ...]
    fields: tuple[str, ...]
    first, last = draw.choice(FIRST_NAMES), draw.choice(LAST_NAMES)
    name = f"{first} {last}"
    company = draw.choice(COMPANIES)
    region = draw.choice(REGIONS)
    tier = draw.choice(("starter", "pro", "business", "enterprise"))
    big_account = tier in ("business", "enterprise")
    plan = tier.capitalize()
    month = draw.choice(MONTHS)
    kind = draw.choice(("duplicate", "duplicate", "unrecognised"))
    ref_number = draw.randint(1000, 9899)

    if kind == "duplicate":
        extra_copies = draw.choice((1, 1, 1, 2))
        over = draw.randbelow(2) == 1
        if over:
            low = DIRECT_REFUND_LIMIT_CENTS // extra_copies + 1
            unit = _amount(draw, max(low, 50_100 // extra_copies), 240_000 // extra_copies)
        elif draw.randbelow(6) == 0:
            unit = DIRECT_REFUND_LIMIT_CENTS // extra_copies  # right at the limit
        else:
            unit = _amount(draw, 2_900, DIRECT_REFUND_LIMIT_CENTS // extra_copies)
        total = unit * extra_copies
        over = total > DIRECT_REFUND_LIMIT_CENTS
        seats = draw.randint(3, 60)
        purchase = draw.choice((
            f"the {month} renewal of our {plan} plan",
            f"{seats} extra seats we added in {month}",
            f"the {month} invoice for our {plan} subscription",
            "a usage credit top-up",
        ))
        times = TIMES[extra_copies - 1]
        opener = draw.choice((
            f"Hi there, our card was charged {times} for {purchase}, {money(unit)} each time, "
            "all within a few minutes of each other.",
            f"Hello, going through our card statement I can see {purchase} billed {times}: "
            f"identical lines of {money(unit)}.",
            f"Hi, quick one: {purchase} went through {times} on the company card "
            f"({money(unit)} a time).",
        ))
        noise = draw.choice((
            "Our bookkeeper didn't recognise the extra line at first, but it is clearly the "
            "same purchase repeated; we only bought it once.",
            "I think the checkout page hung and I clicked pay again, but only one purchase "
            "shows in our account.",
            "Finance caught it in the monthly reconciliation. Nothing else looks off on the "
            "account.",
            "We only have the one workspace, so there should only be one of these.",
        ))
        ask = draw.choice((
            "Can you put the extra money back on the card?",
            "Please refund whatever was taken more than once.",
            "Could you sort out a refund for the extra charge(s)? Thanks.",
        ))
        body = f"{opener} {noise} {ask}"
        subject = draw.choice((
            f"Card charged {times} for one purchase",
            f"Duplicate payment on our {month} statement",
            f"Same charge showing {times}, please fix",
        ))
        amount = money(total)
        if over:
            status, code = "escalated", "refund_issued"
            reply_markers = (("billing team", "approve", "refund", amount),)
            note_markers = (("duplicate verified", amount, "approval requested"),)
            days = draw.choice(("3-5", "5-7", "5-10"))
            ref = f"BIL-{ref_number}"
            follow_up = (f"Billing: refund of {amount} approved under {ref}; it reaches the card "
                         f"in {days} business days.")
            update_markers = (ref, f"{days} business days")
            outcome = "complete"
            provided: tuple[str, ...] = ()
            wrong: tuple[str, ...] = ()
            deadline: int | None = 2
        else:
            status, code = "resolved", "refund_issued"
            reply_markers = (("refund", amount, "5-10 business days"),)
            note_markers = (("duplicate verified", amount),)
            ref = f"BIL-{ref_number}"
            follow_up = f"Billing: duplicate refunded under {ref}."
            update_markers = ()
            outcome = draw.choice(("complete", "complete", "partial"))
            provided, wrong = ((("invoice_id", "transaction_date"), ("last4_digits",))
                               if outcome == "partial" else ((), ()))
            deadline = None
        queue, issue = "billing", "billing_dispute"
        priority = "high" if big_account else "normal"
        flags = ("churn_risk",) if big_account else ()
        fields = ("invoice_id", "last4_digits", "transaction_date")
        over_queues: tuple[str, ...] = ("security",)
        forbidden: tuple[tuple[str, ...], ...] = ()
        sla = draw.choice((180, 240, 300))
    else:
        count = draw.randint(1, 6)
        unit = _amount(draw, 1_900, 90_000 // count)
        total = unit * count
        amount = money(total)
        item = draw.choice(("add-on credit packs", "extra seats", "premium support upgrades",
                            "API usage bundles"))
        charges = (f"a charge of {amount} for {item}" if count == 1 else
                   f"{count} charges of {money(unit)} each ({amount} in total) for {item}")
        sign = draw.choice((
            f"Our admin also had a 'new sign-in' alert from {draw.choice(('Lagos', 'Bucharest', 'Hanoi', 'Caracas', 'Minsk'))} "
            f"around {draw.randint(1, 4)}am that we assumed was spam.",
            "The billing contact email on the account has been changed to a gmail address none "
            "of us owns.",
            "There's also an API key called 'tmp-sync' in the settings that nobody here created.",
            f"And there are {draw.randint(2, 5)} new admin users in the workspace that nobody "
            "invited.",
        ))
        body = draw.choice((
            f"Hello, this morning I found {charges} on our card. Nobody on the team bought "
            f"these. {sign} Please refund this straight away.",
            f"Hi, our {month} statement has {charges}. I've asked around and no one here "
            f"approved or made this purchase. {sign} We want the money back.",
            f"We have {charges} that we simply don't recognise; we didn't buy anything this "
            f"week. {sign} How do we get this reversed?",
        ))
        subject = draw.choice(("Charges we never made", "Unknown purchase on our card",
                               "We didn't buy this - please reverse"))
        queue, issue = "security", "security_incident"
        status, code = "escalated", "security_review"
        priority = "urgent" if big_account else "high"
        flags = ("fraud_suspected", "churn_risk") if big_account else ("fraud_suspected",)
        fields = ("login_timestamps", "ip_addresses")
        reply_markers = (("reset", "password"), ("security team", "reviewing"))
        note_markers = (("possible account takeover", amount),)
        forbidden = (("refund",),)
        over_queues = ("billing",)
        minutes = draw.choice((30, 45, 60, 90))
        ref = f"SEC-{ref_number}"
        follow_up = (f"Security: sessions revoked and purchases frozen on the account under {ref}; "
                     f"next update in {minutes} minutes.")
        update_markers = (ref, f"{minutes} minutes")
        outcome = draw.choice(("none", "complete"))
        provided, wrong = (), ()
        deadline = 2
        sla = draw.choice((60, 90, 120))

    return SupportTaskSpec(
        task_id=FAMILY_ID,
        difficulty="medium",
        title="Disputed card charge",
        objective=("A customer disputes a charge on their card; work out what kind of dispute "
                   "it is, route and prioritise it by the payment policy, and tell them what "
                   "happens next."),
        ticket=SupportTicket(
            customer_name=name,
            customer_tier=tier,
            company=company,
            subject=subject,
            body=body,
            region=region,
            affected_users=1,
            sla_minutes_remaining=sla,
        ),
        knowledge_base=KNOWLEDGE_BASE,
        gold_queue=queue,
        gold_priority=priority,
        gold_issue_type=issue,
        gold_status=status,
        gold_resolution_code=code,
        required_requested_fields=fields,
        required_reply_markers=reply_markers,
        required_note_markers=note_markers,
        risk_flags=flags,
        follow_up_outcome=outcome,
        follow_up_provided_fields=provided,
        follow_up_wrong_fields=wrong,
        follow_up_message=follow_up,
        update_markers=update_markers,
        sla_step_cost=15,
        over_escalation_queues=over_queues,
        under_escalation_deadline_step=deadline,
        max_steps=6,
        forbidden_reply_markers=forbidden,
        internal_terms=INTERNAL_TERMS,
    )
