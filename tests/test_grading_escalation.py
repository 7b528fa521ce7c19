"""The grader's escalation criteria: escalating to the right team in time, and keeping the
customer informed of what the team said.

Each test plays a short script through the real simulator or grades a trace built event by
event (tests/grading_helpers.py, whose docstring holds the timelines) and pins one rule of
SPEC §4: the value, the reason, the penalty, what is dropped. The property suite
(test_grader_properties.py) checks the invariants on random sequences.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from episode_helpers import API
from grading_helpers import (
    ESCALATED,
    FINISH,
    TASKS,
    escalate,
    events_of,
    op_event,
    penalties,
    play,
    reply,
    seq_of,
    value,
    variant,
)

from sim.grading import grade_events

# --------------------------------------------------------------------------- escalation


@pytest.mark.parametrize(
    ("turns", "expected", "wrong_queue"),
    [
        ([[escalate("platform_engineering")]], 1.0, 0),
        ([[], [], [escalate("platform_engineering")]], 1.0, 0),  # turn 3: the deadline
        ([[], [], [], [escalate("platform_engineering")]], 0.3, 0),  # turn 4: late
        ([[escalate("security")], [escalate("platform_engineering")]], 0.5, 1),
        ([[escalate("security")], [], [], [escalate("platform_engineering")]], 0.15, 1),
        ([[escalate("platform_engineering")], [escalate("security")]], 1.0, 1),
        ([[escalate("security")]], 0.0, 1),  # another queue earns nothing
        ([[reply()]], 0.0, 0),  # none, though needed
    ],
    ids=["turn-1", "at-the-deadline", "late", "after-another-queue",
         "late-after-another-queue", "another-queue-after-gold", "another-queue-only", "none"],
)
def test_escalation_credit(turns: list[Any], expected: float, wrong_queue: int) -> None:
    report, _ = play(API, turns)
    assert math.isclose(value(report, "escalation") or 0.0, expected)
    assert penalties(report) == [("wrong_queue", 0.03)] * wrong_queue


def test_escalation_reasons() -> None:
    late, result = play(API, [[escalate("security")], [], [], [escalate("platform_engineering")]])
    assert late.criterion("escalation").reason == (
        "escalated to platform_engineering at turn 4, after the deadline turn 3, but only "
        "after paging security first")
    [seq] = seq_of(result, "operation", op="escalate", queue="security")
    [penalty] = late.penalties
    assert penalty.reason == f"escalated to security (turn 1, event {seq})"
    never, _ = play(API, [[escalate("security")]])
    assert never.criterion("escalation").reason == (
        "never escalated to platform_engineering (paged security instead)")


def test_over_escalation_costs_ten_points_instead_of_three() -> None:
    report, result = play("account_takeover_charges_hard", [[escalate("billing")]])
    assert penalties(report) == [("over_escalation", 0.10)]
    [seq] = seq_of(result, "operation", op="escalate")
    assert report.penalties[0].reason == (
        f"escalated to billing, which must not get it (turn 1, event {seq})")
    assert math.isclose(report.score, max(0.0, report.weighted_score - 0.10), abs_tol=1e-12)


def test_escalation_when_none_is_needed() -> None:
    none, _ = play("password_reset_easy", [[reply()]])
    assert value(none, "escalation") == 1.0
    some, _ = play("password_reset_easy", [[escalate("account_management")]])
    assert value(some, "escalation") == 0.0
    assert penalties(some) == []  # the gold queue: a team's time, but not the wrong team's
    over, _ = play("password_reset_easy", [[escalate("security")]])
    assert penalties(over) == [("over_escalation", 0.10)]


def test_escalations_made_when_none_is_needed_are_counted() -> None:
    report, _ = play("password_reset_easy", [[escalate("account_management"),
                                              escalate("billing"), escalate("general_support")]])
    criterion = report.criterion("escalation")
    assert criterion.value == 0.0
    assert criterion.reason == "3 escalation(s) made; none was needed"
    assert penalties(report) == [("wrong_queue", 0.03)] * 2


# ------------------------------------------------------------------------ kept informed


def test_kept_informed_is_zero_when_the_episode_ends_before_the_update() -> None:
    # Escalated at minute 0, the update would come at minute 30; finished at minute 20.
    report, result = play(API, [[escalate("platform_engineering"), reply()], [reply(), FINISH]])
    assert result.sim_minutes == 20
    criterion = report.criterion("kept_informed")
    assert criterion.applies and criterion.value == 0.0
    assert criterion.reason == "no update from platform_engineering arrived"


@pytest.mark.parametrize(
    ("message", "informed"),
    [
        (".", False),
        ("Update: the team is on it.", False),  # a bare acknowledgement
        ("Update: the platform team expects a fix in about 20 minutes.", True),
        ("Platform team investigating elevated DB latency; ETA 20 minutes.", True),  # verbatim
        ("Update: ETA twenty minutes.", False),  # the fact, not as stated
    ],
    ids=["dot", "bare-ack", "own-words", "verbatim", "number-spelled-out"],
)
def test_kept_informed_needs_the_facts_of_the_update(message: str, informed: bool) -> None:
    # The update ("...; ETA 20 minutes.") arrives at minute 30; turn 3 is at minute 40.
    report, _ = play(API, [ESCALATED, [], [reply(message)]])
    criterion = report.criterion("kept_informed")
    assert criterion.value == (1.0 if informed else 0.0)
    if informed:
        assert criterion.reason == (
            "a public reply after the team's latest update carried 20 minutes")
    else:
        assert criterion.reason == ("no public reply after the team's latest update carried "
                                    "its facts (20 minutes)")


def test_kept_informed_needs_the_reply_after_the_update() -> None:
    # The right words at turn 2 (minute 20), before the update (minute 30), inform nobody.
    guessed, _ = play(API, [ESCALATED, [reply("Expect news in 20 minutes.")], [], [FINISH]])
    assert value(guessed, "kept_informed") == 0.0


def test_after_an_eta_slip_the_slips_facts_are_needed() -> None:
    # eta_slips: a second update ("... the new ETA is in 20 minutes.") at minute 50.
    relay = reply("Update: the platform team expects a fix in 20 minutes.")
    before_the_slip, _ = play(API, [ESCALATED, [], [relay]], faults=("eta_slips",))
    assert value(before_the_slip, "kept_informed") == 0.0
    after_it, _ = play(API, [ESCALATED, [], [relay], [relay]], faults=("eta_slips",))
    assert value(after_it, "kept_informed") == 1.0
    # With update_markers the first update needs "DB latency" and the slip (not the
    # task's follow-up message) its own facts: relaying the first again is not enough.
    task = variant(API, update_markers=("DB latency",))
    latency = reply("Update: the team is working on elevated DB latency.")
    stale, _ = play(task, [ESCALATED, [], [latency], [latency]], faults=("eta_slips",))
    assert value(stale, "kept_informed") == 0.0
    fresh, _ = play(task, [ESCALATED, [], [latency], [relay]], faults=("eta_slips",))
    assert value(fresh, "kept_informed") == 1.0


def test_update_markers_override_the_default_facts() -> None:
    task = variant(API, update_markers=("DB latency",))
    facts_only, _ = play(task, [ESCALATED, [], [reply("ETA 20 minutes.")]])
    assert value(facts_only, "kept_informed") == 0.0
    assert "(DB latency)" in facts_only.criterion("kept_informed").reason
    markers, _ = play(task, [ESCALATED, [], [reply("The team found elevated DB latency.")]])
    assert value(markers, "kept_informed") == 1.0


def test_kept_informed_is_dropped_when_a_fault_silences_the_team() -> None:
    report, _ = play(API, [ESCALATED, [], [reply()]], faults=("team_silent",))
    assert value(report, "kept_informed") is None
    assert "kept_informed" in report.dropped
    assert report.criterion("kept_informed").reason == (
        "no update from platform_engineering can arrive in time in this world")


def test_an_update_without_facts_is_relayed_by_any_reply_after_it() -> None:
    events = events_of((0, "team_update", {"text": "Fixed."}, "team:platform_engineering"),
                       (0, "turn", {"turn": 1}),
                       op_event(0, reply("The fix is live.")))
    assert value(grade_events(TASKS[API], events), "kept_informed") == 1.0


def test_an_update_from_another_team_is_not_the_owning_teams() -> None:
    events = events_of((0, "team_update", {"text": "Fixed."}, "team:billing"),
                       (0, "turn", {"turn": 1}),
                       op_event(0, reply("The fix is live.")))
    criterion = grade_events(TASKS[API], events).criterion("kept_informed")
    assert criterion.value == 0.0
    assert criterion.reason == "no update from platform_engineering arrived"


def test_an_update_whose_text_is_not_text_is_graded_without_raising() -> None:
    report = grade_events(TASKS[API], events_of(
        (0, "turn", {"turn": 1}), op_event(0, escalate("platform_engineering")),
        (1800, "team_update", {"text": 20}, "team:platform_engineering"),
        (2400, "turn", {"turn": 2}), op_event(2400, reply("The team is on it.")),
    ))
    assert value(report, "kept_informed") == 1.0  # an update with no facts: any reply
