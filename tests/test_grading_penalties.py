"""The grader's penalties: invalid operations, forbidden replies, leaks of internal text,
spam; and the floor of the score at zero.

Each test plays a short script through the real simulator or grades a trace built event by
event (tests/grading_helpers.py, whose docstring holds the timelines) and pins one rule of
SPEC §4: the value, the reason, the penalty, what is dropped. The property suite
(test_grader_properties.py) checks the invariants on random sequences.
"""

from __future__ import annotations

import math

from episode_helpers import API
from grading_helpers import (
    API_FIELDS,
    ESCALATED,
    TASKS,
    escalate,
    events_of,
    note,
    op_event,
    penalties,
    play,
    reply,
    seq_of,
    value,
    variant,
)

from sim.grading import grade_events
from sim.trace import TraceEvent

# --------------------------------------------- invalid operations and forbidden replies


def test_invalid_operation_penalty_is_two_points_each_capped_at_ten() -> None:
    two, result = play(API, [[{"op": "refund"}, {"op": "set_fields", "queue": "nowhere"}]])
    assert two.invalid_operations == 2
    assert penalties(two) == [("invalid_operations", 0.04)]
    seqs = [e.seq for e in result.trace.events if e.kind == "invalid_operation"]
    assert two.penalties[0].reason == f"2 invalid operation(s), events {seqs[0]}, {seqs[1]}"
    many, _ = play(API, [[{"op": "refund"}] * 11])  # 8 rejected entries + 3 past the limit
    assert many.invalid_operations == 11
    assert penalties(many) == [("invalid_operations", 0.10)]


def test_invalid_entries_in_a_stored_trace_add_up() -> None:
    report = grade_events(TASKS[API], events_of(
        (0, "turn", {"turn": 1}),
        (0, "operation", {"turn": 1, "index": 0, "op": {"op": "refund"}}),
        (0, "operation", {"turn": 1, "index": 1, "op": "not an operation"}),
        (0, "invalid_operation", {"turn": 1, "index": 2}),
        (0, "invalid_turn", {"turn": 1, "rejected": 1}),
    ))
    assert report.invalid_operations == 4
    [penalty] = report.penalties
    assert penalty.name == "invalid_operations" and math.isclose(penalty.amount, 0.08)
    assert penalty.reason == "4 invalid operation(s), events 1, 2, 3, 4"


def test_forbidden_reply_marker_costs_five_points_per_group_and_reply() -> None:
    task_id = "contract_overbilling_medium"  # forbids ("guarantee",)
    twice, result = play(task_id, [[reply("We guarantee a correction."),
                                    reply("I guarantee it.")]])
    assert penalties(twice) == [("forbidden_reply", 0.05)] * 2
    first = seq_of(result, "operation", op="reply")[0]
    assert twice.penalties[0].reason == f"the reply at event {first} said guarantee"
    in_a_note, _ = play(task_id, [[note("We cannot guarantee anything.")]])
    assert in_a_note.penalties == ()
    # cross_tenant_exposure_hard forbids four single-word groups.
    four, _ = play("cross_tenant_exposure_hard",
                   [[reply("Maybe a breach, a bug, a cache or a misconfiguration.")]])
    assert penalties(four) == [("forbidden_reply", 0.05)] * 4


def test_score_is_floored_at_zero() -> None:
    report, _ = play("cross_tenant_exposure_hard",
                     [[reply("breach bug cache misconfiguration"), escalate("data_privacy"),
                       escalate("platform_engineering"), {"op": "refund"}]])
    assert report.weighted_score < math.fsum(p.amount for p in report.penalties)
    assert report.score == 0.0


# -------------------------------------------------------------------------------- leaks


def test_a_catalog_id_in_a_reply_is_a_leak_and_the_reply_earns_nothing() -> None:
    leaking, result = play(API, [[reply("We acknowledge the incident; platform_engineering "
                                        "has it.")]])
    [seq] = seq_of(result, "operation", op="reply")
    assert penalties(leaking) == [("leak", 0.05)]
    assert leaking.penalties[0].reason == (
        f"the reply at event {seq} showed the customer internal text: platform_engineering")
    assert value(leaking, "reply_markers") == 0.0  # "acknowledge + incident" would be met
    # The same words as words, and one-word ids (billing, security), are ordinary text.
    words, _ = play(API, [[reply("We acknowledge the incident; platform engineering has it, "
                                 "not billing or security.")]])
    assert penalties(words) == []
    assert value(words, "reply_markers") == 0.25
    # Risk flags and resolution codes too, in any case.
    for text in ("This is a P1_Incident.", "Resolution: runbook_investigation."):
        report, _ = play(API, [[reply(text)]])
        assert penalties(report) == [("leak", 0.05)], text


def test_the_tasks_internal_terms_leak() -> None:
    task = variant(API, internal_terms=("db-primary-3", "Globex Corp"))
    host, _ = play(task, [[reply("We acknowledge the incident on db-primary-3.")]])
    assert penalties(host) == [("leak", 0.05)]
    assert value(host, "reply_markers") == 0.0
    name, _ = play(task, [[reply("Globex  corp saw it too.")]])
    assert penalties(name) == [("leak", 0.05)]
    in_a_note, _ = play(task, [[note("Same root cause as Globex Corp; db-primary-3, "
                                     "platform_engineering.")]])
    assert penalties(in_a_note) == []  # notes are internal


def test_leak_penalties_are_capped_at_fifteen_points() -> None:
    report, _ = play(API, [[reply(f"Update {n}: see p1_incident.") for n in range(4)]])
    assert penalties(report, "leak") == [("leak", 0.05)] * 3


def test_a_leaking_relay_informs_nobody() -> None:
    leaking, _ = play(API, [ESCALATED, [], [reply("ETA 20 minutes from platform_engineering.")]])
    assert value(leaking, "kept_informed") == 0.0
    assert penalties(leaking) == [("leak", 0.05)]
    clean, _ = play(API, [ESCALATED, [], [reply("ETA 20 minutes from the platform team.")]])
    assert value(clean, "kept_informed") == 1.0


# --------------------------------------------------------------------------------- spam


def test_spam_costs_two_points_per_reply_beyond_the_allowance() -> None:
    # No customer message and no team update: two public replies are allowed.
    def replies(count: int) -> list[TraceEvent]:
        return events_of((0, "turn", {"turn": 1}),
                         *(op_event(0, reply(f"Reply {n}.")) for n in range(count)))

    assert penalties(grade_events(TASKS[API], replies(2))) == []
    three = grade_events(TASKS[API], replies(3))
    assert penalties(three) == [("spam", 0.02)]
    assert three.penalties[0].reason == (
        "3 public replies where 0 customer message(s) and 0 team update(s) called for at most "
        "2; beyond them: events 3")
    assert penalties(grade_events(TASKS[API], replies(6))) == [("spam", 0.08)]
    capped = grade_events(TASKS[API], replies(9))  # 7 beyond: 0.14, capped
    assert penalties(capped) == [("spam", 0.10)]


def test_the_spam_allowance_grows_with_customer_messages_and_team_updates() -> None:
    def trace(count: int) -> list[TraceEvent]:
        return events_of(
            (0, "turn", {"turn": 1}),
            (600, "customer_answer", {"fields": {}}, "customer"),
            (900, "customer_nudge", {"text": "Any update?"}, "customer"),
            (1200, "team_update", {"text": "On it."}, "team:platform_engineering"),
            (1200, "turn", {"turn": 2}),
            *(op_event(1200, reply(f"Reply {n}.")) for n in range(count)),
        )

    assert penalties(grade_events(TASKS[API], trace(5))) == []  # 3 messages + 2
    assert penalties(grade_events(TASKS[API], trace(6))) == [("spam", 0.02)]


def test_every_team_update_adds_to_the_spam_allowance() -> None:
    def trace(count: int) -> list[TraceEvent]:
        return events_of(
            (0, "turn", {"turn": 1}),
            (1800, "team_update", {"text": "On it."}, "team:platform_engineering"),
            (3000, "team_update", {"text": "Still on it."}, "team:platform_engineering"),
            (3600, "turn", {"turn": 2}),
            *(op_event(3600, reply(f"Reply {n}.")) for n in range(count)),
        )

    assert penalties(grade_events(TASKS[API], trace(4))) == []  # 2 updates + 2
    assert penalties(grade_events(TASKS[API], trace(5))) == [("spam", 0.02)]


def test_spam_in_a_real_episode() -> None:
    # One reply a turn for four turns: with no message from anyone, two are beyond.
    silent_world, _ = play(API, [[reply(f"Update {n}.")] for n in range(4)])
    assert penalties(silent_world) == [("spam", 0.04)]
    # Asking for fields brings the customer's answer (minute 10): one more is allowed.
    asked, _ = play(API, [[reply("Please send these.", API_FIELDS)],
                          *([reply(f"Update {n}.")] for n in range(3))])
    assert penalties(asked) == [("spam", 0.02)]
