"""An invoice that does not match the price the customer says they agreed.

Decision facts drawn per seed (the knowledge base's rules turn them into the gold):

- how the customer buys, as the CRM note on the ticket says: a signed annual order form
  (account_management owns contract prices: escalate there; never sales, never billing)
  or a self-serve monthly plan (billing; account_management and sales must not get it);
- on a self-serve plan, whether the higher invoice is a proration for seats added
  part-way through the period (how_to, resolved, answered) or an overcharge, and then
  the difference against the $250.00 direct-refund limit (refunded and resolved, or
  escalated to billing);
- the renewal date of a contract (60 days or less: urgent, else high), the tier
  (enterprise: vip_customer) and whether a self-serve customer threatens to leave
  (churn_risk; every contract dispute raises it).

Surface facts: names, company, region, seat counts, per-seat prices, the order form
number, dates, the sales rep bait, the team's reference and ETA.
"""

from __future__ import annotations

from sim.kernel.draws import Draws
from tasks.base import KnowledgeSnippet, SupportTaskSpec, SupportTicket

FAMILY_ID = "contract_pricing_dispute"
#: The largest self-serve difference support may refund directly, in cents.
DIRECT_CREDIT_LIMIT_CENTS = 25_000
#: A contract renewing this many days from now, or sooner, makes the dispute urgent.
RENEWAL_WINDOW_DAYS = 60

KNOWLEDGE_BASE = (
    KnowledgeSnippet(
        article_id="kb-pricing-disputes",
        title="Invoice does not match the agreed price",
        content=(
            "Who owns a pricing dispute depends on how the customer buys; the CRM note at the "
            "top of the ticket says which.\n"
            "Signed annual contracts (an order form): the account team owns contracted prices "
            "and seat caps. Set queue account_management and issue type billing_dispute, "
            "escalate to account_management on your first turn with resolution code "
            "refund_issued, and request the invoice_id and the org_id so the account manager "
            "can pull the order form. Tell the customer their account manager will check the "
            "invoice against the order form, quoting the order form number. Never promise an "
            "amount or guarantee a refund before that check: a reply must not contain the word "
            "'guarantee'. Internal note: 'order form check' and the order form number.\n"
            "Self-serve monthly plans (no order form) belong to billing. First rule out a "
            "proration: seats added part-way through a billing period are charged pro rata on "
            "the next invoice, so that invoice is higher than the plan price although nothing "
            "is wrong. For a proration, set issue type how_to, explain the prorated charge for "
            "the added seats and name its amount, request only the invoice_id to confirm it, "
            "and resolve with resolution code answered once it is in; nothing is refunded. "
            "Internal note: 'proration explained' and the prorated amount.\n"
            "Anything else on a self-serve plan is an overcharge, issue type billing_dispute: "
            "request the invoice_id and the account_email of the billing admin. Support may "
            "refund a difference of up to $250.00 directly: once both fields are in, refund it "
            "and resolve with resolution code refund_issued, telling the customer the exact "
            "amount refunded. A larger difference needs the billing team: escalate to billing "
            "on your first turn with resolution code refund_issued, and tell the customer that "
            "the billing team will confirm the refund of the exact amount. Internal note for an "
            "overcharge: 'overcharge confirmed' and the difference."
        ),
    ),
    KnowledgeSnippet(
        article_id="kb-pricing-priority",
        title="Priority and risk flags for pricing disputes",
        content=(
            "Self-serve disputes are normal priority. Contract disputes are high priority, and "
            "urgent when the CRM note shows the renewal is 60 days away or less. Raise churn_risk "
            "on every contract dispute, and on any other dispute where the customer says they "
            "may cancel or move to another vendor. Raise vip_customer for enterprise tier "
            "accounts."
        ),
    ),
    KnowledgeSnippet(
        article_id="kb-sales-scope",
        title="What sales does and does not take",
        content=(
            "Sales handles new purchases, plan upgrades, quotes for more seats and renewal "
            "negotiations. It never takes a dispute about an invoice already issued, even when "
            "the customer copies their sales rep or is in a renewal conversation: route it by "
            "the pricing disputes article. Self-serve plans have no account manager, so "
            "account_management does not take their invoices either."
        ),
    ),
    KnowledgeSnippet(
        article_id="kb-invoice-tax",
        title="Tax lines on invoices",
        content=(
            "VAT or sales tax is added on top of the plan price according to the billing "
            "address. A customer who adds or fixes a tax ID gets corrected invoices from the next "
            "period on; past tax lines are not refunded by support."
        ),
    ),
)

INTERNAL_TERMS = tuple(article.article_id for article in KNOWLEDGE_BASE)

FIRST_NAMES = ("Beatriz", "Henrik", "Aisha", "Callum", "Noor", "Sebastian", "Ingrid", "Tariq",
               "Mira", "Elliot", "Priyanka", "Jasper", "Rosa", "Wen", "Gideon", "Zofia")
LAST_NAMES = ("Santos", "Eriksen", "Bello", "McAllister", "Farouk", "Keller", "Novak",
              "Abara", "Laurent", "Fitzgerald", "Menon", "Varga", "Osei", "Zhang")
COMPANIES = ("Redwood Payroll", "Alder & Hale Consulting", "Nimbus Field Services",
             "Greyhaven Insurance", "Solstice Media", "Ironbark Engineering",
             "Juniper Health Partners", "Castell Retail Group", "Orchard Street Bank",
             "Wavecrest Travel", "Brightwater Schools", "Meridian Labs")
REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "eu-west-2", "eu-central-1",
           "ap-southeast-2")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
SALES_REPS = ("Dana", "Marco", "Olivia", "Kwame", "Hannah", "Felix")
SEAT_PRICE = {"starter": 9, "pro": 16, "business": 28}


def money(cents: int) -> str:
    return f"${cents // 100:,}.{cents % 100:02d}"


def _seats(n: int) -> str:
    return "1 seat" if n == 1 else f"{n} seats"


def _text(*parts: str) -> str:
    """The non-empty parts, one space apart."""
    return " ".join(part.strip() for part in parts if part.strip())


def FAMILY(draw: Draws) -> SupportTaskSpec:
    first, last = draw.choice(FIRST_NAMES), draw.choice(LAST_NAMES)
    name = f"{first} {last}"
    company = draw.choice(COMPANIES)
    region = draw.choice(REGIONS)
    month = draw.choice(MONTHS)
    ref_number = draw.randint(1000, 9899)
    contract = draw.randbelow(2) == 0
    leaving = draw.choice((
        "",
        "",
        " Honestly, if this keeps happening we'll look at other vendors.",
        " We're already comparing alternatives and this isn't helping.",
        " If it isn't fixed this month we will cancel.",
    ))
    rep = draw.choice(SALES_REPS)

    if contract:
        tier = draw.choice(("business", "enterprise"))
        order_form = f"OF-{draw.randint(10000, 99999)}"
        near = draw.randbelow(2) == 0
        renewal_days = (RENEWAL_WINDOW_DAYS if draw.randbelow(6) == 0 else draw.randint(9, 59)) \
            if near else draw.randint(RENEWAL_WINDOW_DAYS + 1, 300)
        seats = draw.randint(4, 60) * 10
        price = draw.randint(14, 65)
        if draw.randbelow(2) == 0:
            billed_price = price + draw.randint(2, 9)
            mismatch = (f"The order form says {seats} seats at ${price} per seat per month, but "
                        f"the {month} invoice charges ${billed_price} per seat.")
            difference = seats * (billed_price - price) * 100
        else:
            billed_seats = seats + draw.randint(2, 15) * 5
            mismatch = (f"We signed for a cap of {seats} seats at ${price} per seat, with any "
                        f"overage trued up once a year, yet the {month} invoice bills "
                        f"{billed_seats} seats.")
            difference = (billed_seats - seats) * price * 100
        crm = (f"[CRM: {tier.capitalize()} account, annual order form {order_form}; renewal in "
               f"{renewal_days} days.]")
        bait = draw.choice((
            f"I've copied {rep} from your sales team, who negotiated the contract with us.",
            f"We're due to start renewal talks with {rep} in sales soon, so I'd like this "
            "settled first.",
            "",
        ))
        greeting = draw.choice(("Hello,", "Hi team,", "Good morning,"))
        body = f"{crm}\n{greeting}\n" + _text(mismatch,
                     f"That's {money(difference)} more than we agreed to pay.", bait, leaving,
                     "Please send a corrected invoice.")
        subject = draw.choice((
            f"{month} invoice doesn't match our order form",
            "Invoice above our contracted price",
            f"Billed {money(difference)} more than our contract",
        ))
        queue, issue = "account_management", "billing_dispute"
        status, code = "escalated", "refund_issued"
        priority = "urgent" if renewal_days <= RENEWAL_WINDOW_DAYS else "high"
        flags: tuple[str, ...] = (("churn_risk", "vip_customer") if tier == "enterprise"
                                  else ("churn_risk",))
        fields: tuple[str, ...] = ("invoice_id", "org_id")
        reply_markers: tuple[tuple[str, ...], ...] = (
            ("account manager", "order form", order_form),)
        note_markers: tuple[tuple[str, ...], ...] = (("order form check", order_form),)
        forbidden: tuple[tuple[str, ...], ...] = (("guarantee",),)
        over_queues: tuple[str, ...] = ("sales", "billing")
        days = draw.choice((2, 3, 5))
        ref = f"AM-{ref_number}"
        follow_up = (f"Account management: pulled {order_form} and the {month} invoice; a "
                     f"corrected invoice goes out within {days} business days under {ref}.")
        update_markers: tuple[str, ...] = (ref, f"{days} business days")
        outcome = draw.choice(("complete", "complete", "none"))
        deadline: int | None = 2
        affected = seats
        sla = draw.choice((360, 480, 600))
        update_delay = draw.choice((45, 60, 90))
    else:
        tier = draw.choice(("starter", "pro", "business"))
        plan = tier.capitalize()
        price = SEAT_PRICE[tier]
        crm = f"[CRM: Self-serve {plan} plan, billed monthly by card; no order form.]"
        seats = draw.randint(3, 40)
        case = draw.choice(("proration", "small", "small", "large", "large"))
        bait = draw.choice((
            f"I did mention this to {rep} in sales when they called about upgrading.",
            "",
            "",
        ))
        over_queues = ("sales", "account_management")
        forbidden = ()
        affected = seats
        sla = draw.choice((300, 360, 480))
        update_delay = draw.choice((30, 45))
        greeting = draw.choice(("Hi,", "Hello there,", "Hi billing team,"))
        if case == "proration":
            added = draw.randint(1, 8)
            day = draw.choice((6, 11, 16, 21, 26))
            next_month = MONTHS[(MONTHS.index(month) + 1) % len(MONTHS)]
            prorated = added * price * 100 * (31 - day) // 30
            expected = (seats + added) * price * 100
            body = f"{crm}\n{greeting}\n" + _text(
                f"We're on the {plan} plan at ${price} per seat per month and have "
                f"{seats + added} seats, which should come to {money(expected)}. The "
                f"{next_month} invoice is {money(expected + prorated)} instead.",
                f"The only change on our side was adding {_seats(added)} for new starters on "
                f"{month} {day}, and that shouldn't change the price we signed up for.",
                bait, leaving, "Can you check what happened?")
            subject = draw.choice((f"{next_month} invoice higher than our plan price",
                                   "Why is our invoice more than the plan?"))
            amount = money(prorated)
            queue, issue = "billing", "how_to"
            status, code = "resolved", "answered"
            fields = ("invoice_id",)
            reply_markers = (("prorated", amount),)
            note_markers = (("proration explained", amount),)
            follow_up = f"Billing: invoice checked, proration confirmed (ref BIL-{ref_number})."
            update_markers = ()
            outcome = "complete"
            deadline = None
        else:
            small = case == "small"
            limit = DIRECT_CREDIT_LIMIT_CENTS // 100
            if draw.randbelow(2) == 0:  # a per-seat price nobody agreed to
                if small and draw.randbelow(8) == 0:
                    seats = draw.choice((25, 50))  # exactly at the limit
                    delta = limit // seats
                elif small:
                    delta = draw.randint(1, max(1, (limit - 1) // seats))
                else:
                    seats = draw.randint(30, 120)
                    delta = draw.randint(limit // seats + 1, limit // seats + 4)
                difference = seats * delta * 100
                mismatch = (f"We signed up at ${price} per seat per month and have {seats} "
                            f"seats, but the {month} invoice charges ${price + delta} per seat, "
                            f"{money(difference)} more than it should be.")
            else:  # seats still billed after they were removed
                removed = (draw.randint(1, limit // price) if small
                           else draw.randint(limit // price + 1, limit // price + 30))
                difference = removed * price * 100
                mismatch = (f"We removed {_seats(removed)} at the start of {month} and now have "
                            f"{seats} seats at ${price} each, but the {month} invoice still bills "
                            f"the removed ones: {money(difference)} more than it should be.")
            body = f"{crm}\n{greeting}\n" + _text(mismatch, bait, leaving,
                         "Please fix this and refund the difference.")
            subject = draw.choice(("Invoice doesn't match our plan price",
                                   f"Overcharged on the {month} invoice",
                                   "Wrong amount on our latest invoice"))
            amount = money(difference)
            queue, issue = "billing", "billing_dispute"
            fields = ("invoice_id", "account_email")
            note_markers = (("overcharge confirmed", amount),)
            if difference <= DIRECT_CREDIT_LIMIT_CENTS:
                status, code = "resolved", "refund_issued"
                reply_markers = (("refund", amount),)
                follow_up = f"Billing: difference refunded (ref BIL-{ref_number})."
                update_markers = ()
                outcome = draw.choice(("complete", "partial"))
                deadline = None
            else:
                status, code = "escalated", "refund_issued"
                reply_markers = (("billing team", "refund", amount),)
                window = draw.choice(("3-5", "5-10"))
                ref = f"BIL-{ref_number}"
                follow_up = (f"Billing: refund of {amount} approved under {ref}; it posts in "
                             f"{window} business days.")
                update_markers = (ref, f"{window} business days")
                outcome = "complete"
                deadline = 2
        priority = "normal"
        flags = ("churn_risk",) if leaving else ()
    provided: tuple[str, ...] = ()
    wrong: tuple[str, ...] = ()
    if outcome == "partial":
        provided, wrong = ("invoice_id",), ("account_email",)

    return SupportTaskSpec(
        task_id=FAMILY_ID,
        difficulty="medium",
        title="Invoice does not match the agreed price",
        objective=("A customer says an invoice does not match the price they agreed; find out "
                   "who owns their pricing, route and prioritise it by policy, and set "
                   "expectations accordingly."),
        ticket=SupportTicket(
            customer_name=name,
            customer_tier=tier,
            company=company,
            subject=subject,
            body=body,
            region=region,
            affected_users=affected,
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
        sla_step_cost=20,
        over_escalation_queues=over_queues,
        under_escalation_deadline_step=deadline,
        max_steps=7,
        forbidden_reply_markers=forbidden,
        team_update_delay_minutes=update_delay,
        internal_terms=INTERNAL_TERMS,
    )
