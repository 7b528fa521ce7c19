"""The grader's field criteria: fields collected from the customer, and follow-up handling
(chasing what came back missing or wrong).

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
    API_BAD,
    API_FIELDS,
    ASK,
    CHASE,
    DUP,
    DUP_FIELDS,
    DUP_RESOLVE,
    FINISH,
    TASKS,
    events_of,
    op_event,
    play,
    reply,
    set_status,
    value,
    variant,
)

from sim.grading import grade_events

# --------------------------------------------------------------------- fields collected


@pytest.mark.parametrize(
    ("turns", "expected"),
    [
        # asked for two; both come back right
        ([[reply("Please send these.", ["request_ids", "time_window"])]], 2 * 1 * 0.5 / 1.5),
        # asked for all four, finished before any answer: asked is not collected
        ([[ASK, FINISH]], 0.0),
        # all four asked: regions comes back missing, payload_sample wrong
        ([[ASK]], 2 * 1 * 0.5 / 1.5),
        # a field the task does not require lowers the precision: 2 of 3 given, 2 of 4 gold
        ([[reply("Please send these.", [*API_FIELDS, "screenshot"])]],
         2 * (2 / 3) * 0.5 / (2 / 3 + 0.5)),
        # the wrong and the missing field asked again: answered right at minute 30
        ([[ASK], [CHASE]], 1.0),
    ],
    ids=["two-received", "asked-not-received", "missing-and-wrong", "extra-field",
         "wrong-then-re-asked"],
)
def test_fields_collected_needs_a_correct_value_received(
    turns: list[Any], expected: float
) -> None:
    report, _ = play(API, turns)
    assert math.isclose(value(report, "fields_collected") or 0.0, expected)


def test_fields_collected_reason_names_collected_asked_and_required() -> None:
    report, _ = play(API, [[ASK]])
    assert report.criterion("fields_collected").reason == (
        "collected request_ids, time_window; asked for payload_sample, regions, request_ids, "
        "time_window; required payload_sample, regions, request_ids, time_window")


def test_a_correct_value_for_a_field_never_asked_for_is_not_collected() -> None:
    # A stored trace in which the customer volunteers every field, right, unasked.
    answer = {f: {"value": "x", "status": "correct"} for f in API_FIELDS}
    events = events_of((0, "turn", {"turn": 1}),
                       (600, "customer_answer", {"fields": answer}, "customer"))
    assert value(grade_events(TASKS[API], events), "fields_collected") == 0.0


def test_f1_against_an_empty_gold_set() -> None:
    # feature_request_easy requires no fields and no risk flags.
    nothing, _ = play("feature_request_easy", [[reply("Thanks, noted.")]])
    assert value(nothing, "fields_collected") == 1.0
    assert value(nothing, "risk_flags") == 1.0
    something, _ = play("feature_request_easy", [[reply("Which browser?", ["browser_version"]),
                                                  {"op": "flag_risk", "flags": ["churn_risk"]}]])
    assert value(something, "fields_collected") == 0.0
    assert value(something, "risk_flags") == 0.0


def test_fields_the_world_never_delivers_count_once_asked_and_chased() -> None:
    # A silent customer never answers: every required field is undelivered; a field
    # counts once it was asked for and asked again after the answer was due (minute 10).
    asked_only, _ = play(API, [[ASK]], persona="silent")
    assert value(asked_only, "fields_collected") == 0.0
    assert value(asked_only, "follow_up_handling") == 0.0
    asked_twice_at_once, _ = play(API, [[ASK, ASK]], persona="silent")
    assert value(asked_twice_at_once, "fields_collected") == 0.0  # the same turn: no chase
    chased, _ = play(API, [[ASK], [reply("Any news on these?", API_FIELDS)]], persona="silent")
    assert value(chased, "fields_collected") == 1.0
    assert value(chased, "follow_up_handling") == 1.0
    half, _ = play(API, [[ASK], [CHASE]], persona="silent")  # two of four chased
    assert math.isclose(value(half, "fields_collected") or 0.0, 2 * 1 * 0.5 / 1.5)


def test_a_silent_customer_makes_pending_the_gold_of_a_resolved_task() -> None:
    # duplicate_charge_easy under a silent customer: nothing ever comes back, so resolved
    # becomes pending (waiting on the customer) and the resolution code does not apply.
    pending = set_status("pending")
    done, _ = play(DUP, [[reply("Please send these.", DUP_FIELDS)],
                         [reply("Could you send these?", DUP_FIELDS), pending, FINISH]],
                   persona="silent")
    assert not done.premature_status
    assert value(done, "status") == 1.0 and value(done, "fields_collected") == 1.0
    assert value(done, "resolution_code") is None and "resolution_code" in done.dropped
    assert "so the gold status is 'pending'" in done.criterion("resolution_code").reason
    # Not chased: finishing is premature, even with the right status.
    quit_, _ = play(DUP, [[reply("Please send these.", DUP_FIELDS), pending, FINISH]],
                    persona="silent")
    assert quit_.premature_status and value(quit_, "status") == 0.0
    # Resolving is wrong in that world, however legitimately.
    resolved, _ = play(DUP, [[reply("Please send these.", DUP_FIELDS)],
                             [reply("Could you send these?", DUP_FIELDS), DUP_RESOLVE]],
                       persona="silent")
    assert value(resolved, "status") == 0.0
    assert resolved.criterion("status").reason == "final status 'resolved', gold 'pending'"


def test_a_malformed_answer_entry_does_not_hide_the_fields_after_it() -> None:
    report = grade_events(TASKS["password_reset_easy"], events_of(
        (0, "turn", {"turn": 1}), op_event(0, reply("Please confirm.", ["account_email"])),
        (600, "customer_answer", {"fields": {"screenshot": "oops",
                                             "account_email": {"value": "a@b.example",
                                                               "status": "correct"}}},
         "customer"),
    ))
    assert value(report, "fields_collected") == 1.0


# ------------------------------------------------------------------- follow-up handling


@pytest.mark.parametrize(
    ("rerequested", "expected"),
    [
        ([], 0.0),
        (["payload_sample"], 2 * 1 * 0.5 / 1.5),  # regions (missing) not asked again
        (API_BAD, 1.0),
        (API_FIELDS, 2 * 0.5 * 1 / 1.5),  # asked again for fields that came back right
    ],
)
def test_follow_up_is_f1_of_chased_against_missing_or_wrong(
    rerequested: list[str], expected: float
) -> None:
    # Turn 1 asks for all four; the partial answer arrives at minute 10 (regions missing,
    # payload_sample wrong); turn 2 (minute 20) asks again.
    turns = [[ASK], [reply("Could you send these again?", rerequested)] if rerequested else []]
    report, _ = play(API, turns)
    criterion = report.criterion("follow_up_handling")
    assert criterion.applies
    assert math.isclose(criterion.value or 0, expected)
    chased = ", ".join(sorted(rerequested)) or "none"
    assert criterion.reason == (f"chased {chased} after the answer was due; missing or wrong "
                                "after the first answer payload_sample, regions")


def test_a_re_request_before_the_answer_was_due_is_not_a_chase() -> None:
    # The slow customer answers 30 minutes after a request (after the agent's next turn).
    # Asking again at turn 2 (minute 20) comes before the first answer was due: no chase,
    # though the customer does answer it right.
    early, result = play(API, [[ASK], [CHASE]], persona="slow")
    assert result.trace.header.world is not None
    assert result.trace.header.world.answer_delay_seconds == 30 * 60
    assert value(early, "follow_up_handling") == 0.0
    assert value(early, "fields_collected") == 1.0
    # At turn 3 (minute 40), after the answer (minute 30): a chase.
    due, _ = play(API, [[ASK], [], [CHASE]], persona="slow")
    assert value(due, "follow_up_handling") == 1.0
    assert value(due, "fields_collected") == 1.0


def test_asking_twice_in_one_turn_is_not_a_chase_even_without_a_delay() -> None:
    # With answers at once (delay 0), a second request in the same turn is no chase;
    # one at the next turn is.
    task = variant(API, customer_reply_delay_minutes=0)
    same_turn, _ = play(task, [[ASK, CHASE]])
    assert value(same_turn, "follow_up_handling") == 0.0
    next_turn, _ = play(task, [[ASK], [CHASE]])
    assert value(next_turn, "follow_up_handling") == 1.0


def test_follow_up_handling_applies_by_the_world_only() -> None:
    # A partial task: it applies even when the agent never asked (value 0).
    never_asked, _ = play(API, [[reply("We are looking into it.")]])
    criterion = never_asked.criterion("follow_up_handling")
    assert criterion.applies and criterion.value == 0.0
    # A complete task, a cooperative customer: it never applies, whatever the agent does.
    for turns in ([[reply("Hi.")]], [[reply("Send these.", DUP_FIELDS)], [CHASE]]):
        report, _ = play(DUP, turns)
        assert value(report, "follow_up_handling") is None
        assert report.criterion("follow_up_handling").reason == (
            "the world leaves no required field missing or wrong")
    # The same complete task under a confused customer (every field wrong at first).
    confused, _ = play(DUP, [[reply("Hi.")]], persona="confused")
    assert value(confused, "follow_up_handling") == 0.0
    handled, _ = play(DUP, [[reply("Send these.", DUP_FIELDS)],
                            [reply("Could you check these again?", DUP_FIELDS)]],
                      persona="confused")
    assert value(handled, "follow_up_handling") == 1.0
    assert value(handled, "fields_collected") == 1.0
    # An outcome-none task: the customer never answers, and it applies.
    vague = "vague_bug_report_easy"
    fields = list(TASKS[vague].required_requested_fields)
    silent, _ = play(vague, [[reply("Hi.")]])
    assert value(silent, "follow_up_handling") == 0.0
    chased, _ = play(vague, [[reply("Send these.", fields)], [reply("Any news?", fields)]])
    assert value(chased, "follow_up_handling") == 1.0


def test_what_the_customer_said_in_a_trace_does_not_decide_what_applies() -> None:
    # Stored traces whose answers disagree with the world as written: the world decides.
    wrong = {f: {"value": "?", "status": "wrong"} for f in DUP_FIELDS}
    events = events_of((0, "turn", {"turn": 1}),
                       op_event(0, reply("Send these.", DUP_FIELDS)),
                       (600, "customer_answer", {"fields": wrong}, "customer"))
    assert value(grade_events(TASKS[DUP], events), "follow_up_handling") is None
    right = {f: {"value": "ok", "status": "correct"} for f in API_FIELDS}
    events = events_of((0, "turn", {"turn": 1}),
                       op_event(0, ASK),
                       (600, "customer_answer", {"fields": right}, "customer"))
    report = grade_events(TASKS[API], events)
    assert value(report, "follow_up_handling") == 0.0  # applies: the world leaves two bad
    assert value(report, "fields_collected") == 1.0
