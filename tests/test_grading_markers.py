"""The grader's marker criteria: the marker groups a public reply or an internal note must
meet, and text copied from what the agent was shown, which earns no marker credit.

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
from grading_helpers import ESCALATED, TASKS, events_of, note, op_event, play, reply, value, variant

from sim.grading import grade_events
from sim.operations import MAX_NOTE_CHARS, MAX_REPLY_CHARS
from sim.trace import TraceEvent

# ------------------------------------------------------------------------------ markers


def test_markers_count_only_in_their_own_channel() -> None:
    task_id = "password_reset_easy"  # reply: manual reset link / expires 30 minutes
    in_reply, _ = play(task_id, [[reply("Here is a manual reset link; it expires in 30 minutes."),
                                  note("Identity verified by phone.")]])
    assert value(in_reply, "reply_markers") == 1.0 and value(in_reply, "note_markers") == 1.0
    swapped, _ = play(task_id, [[note("manual reset link expires 30 minutes"),
                                 reply("identity verified")]])
    assert value(swapped, "reply_markers") == 0.0 and value(swapped, "note_markers") == 0.0


def test_marker_reasons_list_met_and_missed_groups() -> None:
    report, _ = play(API, [[reply("We acknowledge the incident; see our status page."),
                            note("Request IDs requested.")]])
    assert report.criterion("reply_markers").reason == (
        "2 of 4 groups met by a single public reply; met: acknowledge + incident; status + page; "
        "missed: collect + request ids; escalate + platform")
    assert report.criterion("note_markers").reason == (
        "1 of 3 groups met by a single internal note; met: request ids; missed: status page; "
        "platform escalation")


def test_a_group_must_be_met_by_a_single_message() -> None:
    report, _ = play("password_reset_easy", [[reply("It expires soon."), reply("In 30 minutes.")]])
    assert value(report, "reply_markers") == 0.0


def test_markers_in_an_over_long_message_never_count() -> None:
    text = "manual reset link, expires in 30 minutes. "
    at_limit = (text * 100)[:MAX_REPLY_CHARS]
    ok, _ = play("password_reset_easy", [[reply(at_limit)]])
    assert value(ok, "reply_markers") == 1.0 and ok.invalid_operations == 0
    too_long, _ = play("password_reset_easy", [[reply((text * 100)[: MAX_REPLY_CHARS + 1])]])
    assert value(too_long, "reply_markers") == 0.0 and too_long.invalid_operations == 1
    note_at_limit = ("identity verified " * 200)[:MAX_NOTE_CHARS]
    ok_note, _ = play("password_reset_easy", [[note(note_at_limit)]])
    assert value(ok_note, "note_markers") == 1.0 and ok_note.invalid_operations == 0
    long_note, _ = play("password_reset_easy",
                        [[note(("identity verified " * 200)[: MAX_NOTE_CHARS + 1])]])
    assert value(long_note, "note_markers") == 0.0 and long_note.invalid_operations == 1


def test_an_over_long_reply_written_straight_into_a_trace_never_counts() -> None:
    task = TASKS["password_reset_easy"]
    message = ("manual reset link expires in 30 minutes " * 30)[: MAX_REPLY_CHARS + 1]
    events = events_of((0, "turn", {"turn": 1}),
                       (0, "operation", {"turn": 1, "index": 0,
                                         "op": {"op": "reply", "message": message}}))
    report = grade_events(task, events)
    assert value(report, "reply_markers") == 0.0
    assert report.invalid_operations == 1


# -------------------------------------------------------------------------- copied text


def test_a_reply_made_of_the_ticket_and_the_knowledge_base_earns_no_marker_credit() -> None:
    task = TASKS["password_reset_easy"]
    kb = ("In your reply, say you have sent a manual reset link and that it expires in "
          "30 minutes.")
    assert kb in task.knowledge_base[0].content
    copied, _ = play(task.task_id, [[reply(f"{task.ticket.body} {kb}")]])
    assert value(copied, "reply_markers") == 0.0
    assert "missed: manual reset link; expires + 30 minutes" in (
        copied.criterion("reply_markers").reason)
    own, _ = play(task.task_id, [[reply("I have sent you a manual reset link by email; please "
                                        "use it soon, as it expires in 30 minutes.")]])
    assert value(own, "reply_markers") == 1.0


#: Eleven words copied from the knowledge base (seven of its five-grams), with the markers.
_KB_WORDS = "a manual reset link and that it expires in 30 minutes"


@pytest.mark.parametrize(
    ("own_words", "credit"),
    [
        # 11 of 22 words copied (7 of 18 five-grams): half is not a copy
        ("thanks so much for waiting this long Tomasz we are sorry", 1.0),
        # 11 of 17 words copied (7 of 13 five-grams): more than half is
        ("thanks so much for waiting Tomasz", 0.0),
    ],
    ids=["half-copied", "more-than-half"],
)
def test_a_copy_is_a_reply_mostly_made_of_text_the_agent_was_shown(own_words: str,
                                                                    credit: float) -> None:
    report, _ = play("password_reset_easy", [[reply(f"{_KB_WORDS} {own_words}")]])
    assert value(report, "reply_markers") == credit


def test_a_reply_of_fewer_than_five_words_is_never_a_copy() -> None:
    # "manual reset link" is in the knowledge base, but four words are the agent's reply.
    report, _ = play("password_reset_easy", [[reply("Manual reset link sent.")]])
    assert value(report, "reply_markers") == 0.5


def test_a_reply_of_exactly_five_copied_words_is_a_copy() -> None:
    report, _ = play("password_reset_easy", [[reply("it expires in 30 minutes")]])
    assert value(report, "reply_markers") == 0.0


def test_one_quoted_phrase_at_the_end_of_a_reply_of_ones_own_is_no_copy() -> None:
    report, _ = play("password_reset_easy", [[reply(
        "Hello, thanks for your patience today; we checked your account and sent a fresh "
        "email to you, and it expires in 30 minutes")]])
    assert value(report, "reply_markers") == 0.5


def test_a_note_copied_from_the_knowledge_base_earns_no_marker_credit() -> None:
    kb = ("Capture request IDs, time window, regions, and payload samples. Check current "
          "status page and incident channel.")
    copied, _ = play(API, [[note(kb)]])
    assert value(copied, "note_markers") == 0.0
    own, _ = play(API, [[note("Status page updated; request ids being collected.")]])
    assert math.isclose(value(own, "note_markers") or 0.0, 2 / 3)


def test_a_relay_copied_from_the_update_informs_but_earns_no_markers() -> None:
    # The copy rule is about marker credit; relaying the team's words is what informs.
    task = variant(API, required_reply_markers=(("DB latency",),))
    update = TASKS[API].follow_up_message
    copied, _ = play(task, [ESCALATED, [], [reply(update)]])
    assert value(copied, "kept_informed") == 1.0
    assert value(copied, "reply_markers") == 0.0
    own, _ = play(task, [ESCALATED, [], [reply("Our engineers traced it to DB latency; they "
                                               "expect a fix within 20 minutes.")]])
    assert value(own, "reply_markers") == 1.0 and value(own, "kept_informed") == 1.0


_SEEN = "we acknowledge the incident and will collect request ids from you today"


@pytest.mark.parametrize(
    "shown",
    [
        (600, "customer_nudge", {"text": _SEEN}, "customer"),
        (600, "customer_complaint", {"text": _SEEN}, "customer"),
        (600, "customer_answer", {"fields": {"regions": {"value": _SEEN, "status": "wrong"}}},
         "customer"),
        (600, "team_ack", {"queue": "billing", "text": _SEEN}, "team:billing"),
        (600, "team_bounce", {"queue": "billing", "text": _SEEN}, "team:billing"),
        (600, "team_update", {"queue": "billing", "text": _SEEN}, "team:billing"),
        (0, "invalid_operation", {"turn": 1, "index": 0, "op": {}, "error": _SEEN}),
        (0, "invalid_turn", {"turn": 1, "error": _SEEN, "rejected": 1}),
    ],
    ids=["nudge", "complaint", "answer", "ack", "bounce", "update", "error", "turn-error"],
)
def test_a_reply_copying_any_text_the_agent_was_sent_earns_no_markers(
        shown: tuple[Any, ...]) -> None:
    def trace(*before: tuple[Any, ...]) -> list[TraceEvent]:
        return events_of((0, "turn", {"turn": 1}), *before, (1200, "turn", {"turn": 2}),
                         op_event(1200, reply(_SEEN)))

    assert value(grade_events(TASKS[API], trace()), "reply_markers") == 0.5  # own words
    assert value(grade_events(TASKS[API], trace(shown)), "reply_markers") == 0.0
