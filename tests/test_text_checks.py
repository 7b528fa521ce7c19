"""The grader's reading of words (sim.text_checks): an update's facts, internal text in a
public reply, text copied from what the agent was shown."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.teams import SLIP_TEXT
from sim.markers import group_met
from sim.text_checks import (
    COPY_SHINGLE_WORDS,
    COPY_THRESHOLD,
    copied_share,
    internal_ids,
    leaked_terms,
    shingles,
    update_facts,
)
from tasks import discover_tasks
from tasks.catalog import DEFAULT_CATALOG

TASKS = discover_tasks()

# --------------------------------------------------------------------------- update facts

#: The shipped tasks' follow-up messages (as written when these tests were) and their facts.
SHIPPED_UPDATES = {
    "Security: sessions revoked and add-on purchases frozen on the account; reviewing the 14 "
    "charges with the payments team, update within 2 hours.": ("14 charges", "2 hours"),
    "Platform team investigating elevated DB latency; ETA 20 minutes.": ("20 minutes",),
    "Account management: order form confirms a 200-seat cap; a corrected invoice and a refund "
    "for 50 seats go out by end of day tomorrow.": ("200-seat", "50 seats"),
    "Security: scheduled exports paused in eu-west-1 and the affected job isolated; scoping "
    "affected workspaces, next update in 60 minutes.": ("eu-west-1", "60 minutes"),
    "Billing: second charge reversed at the processor; the refund posts in 5-10 business "
    "days.": ("5-10 business",),
    "Product: added to 'Scheduled PDF exports' on the feedback board (now 23 votes).":
        ("23 votes",),
    "Privacy team: DSAR export queued for the workspace; delivery by secure download link "
    "within 5 business days.": ("5 business",),
    "Platform: INC-4471 mitigated, dashboards loading again in eu-central-1.":
        ("INC-4471", "eu-central-1"),
    "Account management: login email confirmed, manual reset issued.": (),
    "Support: no reply from the customer yet; auto-close in 7 days.": ("7 days",),
    "Platform: consumer lag on the ap-northeast-1 webhook dispatcher; workers added, backlog "
    "draining, ETA 40 minutes to real time.": ("ap-northeast-1", "40 minutes"),
    "Platform: report attached to the SDK 4.2.1 fix; release planned this week.": ("4.2.1",),
    SLIP_TEXT: ("20 minutes",),
}


@pytest.mark.parametrize(("text", "facts"), list(SHIPPED_UPDATES.items()),
                         ids=[text[:24] for text in SHIPPED_UPDATES])
def test_the_facts_of_the_shipped_updates(text: str, facts: tuple[str, ...]) -> None:
    assert update_facts(text) == facts
    assert group_met(text, facts)  # the update itself carries them


@pytest.mark.parametrize("task_id", sorted(TASKS))
def test_every_shipped_update_carries_its_own_facts(task_id: str) -> None:
    text = TASKS[task_id].follow_up_message
    facts = update_facts(text)
    assert group_met(text, facts)
    for fact in facts:
        assert " ".join(fact.split()) in " ".join(text.split())


@pytest.mark.parametrize(
    ("text", "facts"),
    [
        # numbers with their unit, a range, a decimal, a percentage
        ("ETA 1.5 hours.", ("1.5 hours",)),
        ("Expect 20-30 minutes.", ("20-30 minutes",)),
        ("Expect 5–10 business days.", ("5–10 business",)),
        ("Uptime is back to 99.9% now.", ("99.9%",)),
        ("Error rate down to 2 %.", ("2 %",)),
        ("We processed 1,000 requests.", ("1,000 requests",)),
        # a unit glued to its number is part of the fact
        ("ETA 20min.", ("20min",)),
        ("The 503s stopped; fix in 2h.", ("503s", "2h")),
        # identifiers, as written
        ("Tracked as DP-2291; fixed in v4.2.1.", ("DP-2291", "v4.2.1")),
        ("Node 10.0.0.1 in eu-west-1 restarted.", ("10.0.0.1", "eu-west-1")),
        ("Ticket #4471.", ("4471",)),
        # each fact once, in order of kind (identifiers first) and place
        ("ETA 20 minutes, DP-2291; again: 20 minutes.", ("DP-2291", "20 minutes")),
        # a number inside a word is not a fact; no digits, no facts
        ("Shard abc123 restarted.", ()),
        ("Fixed.", ()),
        ("The team is on it and will report back soon.", ()),
        ("ETA twenty minutes.", ()),
    ],
)
def test_update_facts_of_tricky_texts(text: str, facts: tuple[str, ...]) -> None:
    assert update_facts(text) == facts
    assert group_met(text, facts)


def test_the_spaces_inside_a_fact_are_one_space() -> None:
    assert update_facts("ETA 20   -   30   minutes") == ("20 - 30 minutes",)
    assert group_met("it takes 20 - 30 minutes", ("20 - 30 minutes",))


@pytest.mark.parametrize(
    ("relay", "carries"),
    [
        ("The fix should land in about 20 minutes.", True),
        ("ETA: 20 MINUTES", True),  # case does not matter
        ("ETA twenty minutes.", False),
        ("ETA 20 mins.", False),  # another unit is another fact
        ("ETA 120 minutes.", False),  # not as a whole number
        ("ETA 20.", False),
        (".", False),
    ],
)
def test_a_relay_carries_the_facts_as_stated(relay: str, carries: bool) -> None:
    facts = update_facts("Platform team investigating elevated DB latency; ETA 20 minutes.")
    assert group_met(relay, facts) is carries


_TEXT_PIECES = st.sampled_from([
    "ETA", "20", "20min", "5-10", "business", "days", "DP-2291", "eu-west-1", "4.2.1", "v2",
    "1.5", "99.9%", "%", "abc123", "503s", "1,000", "-", ".", ",", ";", "#", "$", "(", ")",
    "é", "ünit", "_", "x_1", "10.0.0.1", "2024-05-01", "14:30", "to", "é3",
])


@given(st.lists(st.tuples(_TEXT_PIECES, st.sampled_from(["", " ", "  ", "\n", "-"])),
                max_size=12).map(lambda parts: "".join(a + b for a, b in parts)))
def test_any_update_carries_its_own_facts(text: str) -> None:
    # A relay that quotes the update word for word always informs: no fact ends inside
    # a word (it used to, for a unit glued to its number: "20min" gave the fact "20").
    assert group_met(text, update_facts(text))


# --------------------------------------------------------------------------- leaks


def test_internal_ids_are_the_catalog_ids_written_as_identifiers() -> None:
    queues = internal_ids(DEFAULT_CATALOG.queues)
    assert queues == ("general_support", "account_management", "platform_engineering",
                      "data_privacy", "product_feedback")
    assert "billing" not in queues and "security" not in queues and "sales" not in queues
    assert "p1_incident" in internal_ids(DEFAULT_CATALOG.risk_flags)
    codes = internal_ids(DEFAULT_CATALOG.resolution_codes)
    assert "runbook_investigation" in codes and "answered" not in codes


INTERNAL = ("platform_engineering", "p1_incident", "db-primary-3", "Globex Corp")


@pytest.mark.parametrize(
    ("text", "leaked"),
    [
        ("Our platform_engineering team has it.", ("platform_engineering",)),
        ("Flagged as P1_INCIDENT (platform_engineering).", ("platform_engineering",
                                                            "p1_incident")),
        ("See https://wiki/platform_engineering/runbook", ("platform_engineering",)),
        ("Host db-primary-3 is overloaded.", ("db-primary-3",)),
        ("Globex\n corp saw it too.", ("Globex Corp",)),
        # words, not ids; other words that merely contain one
        ("Our platform engineering team has it.", ()),
        ("Billing and security are not involved.", ()),
        ("The platform_engineering_oncall rota.", ()),
        ("Host db-primary-30 is fine.", ()),
        ("Globex Corporation is not Globex.", ()),
        ("", ()),
    ],
)
def test_leaked_terms(text: str, leaked: tuple[str, ...]) -> None:
    assert leaked_terms(text, INTERNAL) == leaked


def test_every_shipped_tasks_own_texts_leak_nothing_to_its_customer() -> None:
    # A task's follow-up message is what the agent relays; it must be relayable as written.
    for task in TASKS.values():
        internal = (*internal_ids(task.catalog.queues), *internal_ids(task.catalog.risk_flags),
                    *internal_ids(task.catalog.resolution_codes), *task.internal_terms)
        assert leaked_terms(task.follow_up_message, internal) == (), task.task_id


# --------------------------------------------------------------------------- copied text


def test_shingles_are_lower_cased_word_five_grams() -> None:
    assert COPY_SHINGLE_WORDS == 5
    assert shingles("one two three four") == frozenset()
    assert shingles("One, two; THREE four five!") == {("one", "two", "three", "four", "five")}
    assert shingles("a b c d e f") == {("a", "b", "c", "d", "e"), ("b", "c", "d", "e", "f")}
    assert shingles("a b c d e a b c d e") == {
        ("a", "b", "c", "d", "e"), ("b", "c", "d", "e", "a"), ("c", "d", "e", "a", "b"),
        ("d", "e", "a", "b", "c"), ("e", "a", "b", "c", "d")}


SEEN = "Capture request IDs, time window, regions, and payload samples."


@pytest.mark.parametrize(
    ("text", "share"),
    [
        (SEEN, 1.0),
        (SEEN.upper().replace(",", " ;"), 1.0),  # case and punctuation do not matter
        ("capture request ids time window", 1.0),
        ("capture request ids time window please", 0.5),  # 1 of 2 five-grams
        ("Please capture request ids time window now", 1 / 3),
        ("Please send us the request ids and the time window.", 0.0),
        ("Too short to judge.", 0.0),  # under five words: never a copy
        ("", 0.0),
    ],
)
def test_copied_share(text: str, share: float) -> None:
    assert copied_share(text, [shingles(SEEN)]) == pytest.approx(share)


def test_copied_share_is_the_union_over_every_text_seen() -> None:
    first = "the quick brown fox jumps over the lazy dog"
    second = "pack my box with five dozen liquor jugs"
    joined = f"{first} {second}"  # 17 words, 13 five-grams; 4 cross the join
    seen = [shingles(first), shingles(second)]
    assert copied_share(joined, seen) == pytest.approx(9 / 13)
    assert copied_share(joined, seen) > COPY_THRESHOLD
    assert copied_share(joined, [shingles(first)]) == pytest.approx(5 / 13)
    assert copied_share(joined, []) == 0.0


def test_a_reply_of_the_ticket_and_the_knowledge_base_is_a_copy() -> None:
    task = TASKS["password_reset_easy"]
    parts = [task.ticket.subject, task.ticket.body, task.title, task.objective,
             *(a.content for a in task.knowledge_base)]
    seen = [shingles(p) for p in parts]
    copied = f"{task.ticket.body} {task.knowledge_base[0].content[:200]}"
    assert copied_share(copied, seen) > 0.9
    own = ("I have sent you a manual reset link by email; please use it soon, as it expires in "
           "30 minutes.")
    assert copied_share(own, seen) < COPY_THRESHOLD
