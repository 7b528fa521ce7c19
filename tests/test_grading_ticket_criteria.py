"""The grader's ticket criteria: queue, priority, issue type, status and resolution code,
premature endings, and the SLA.

Each test plays a short script through the real simulator or grades a trace built event by
event (tests/grading_helpers.py, whose docstring holds the timelines) and pins one rule of
SPEC §4: the value, the reason, the penalty, what is dropped. The property suite
(test_grader_properties.py) checks the invariants on random sequences.
"""

from __future__ import annotations

from typing import Any

import pytest
from episode_helpers import API
from grading_helpers import (
    API_FIELDS,
    API_STATUS,
    API_TRIAGE,
    ASK,
    CHASE,
    DUP,
    DUP_FIELDS,
    DUP_RESOLVE,
    FINISH,
    TASKS,
    escalate,
    events_of,
    op_event,
    play,
    reply,
    set_status,
    value,
    variant,
)

from actors.agents.oracle import OracleAgent
from actors.world import StandardWorld
from sim.grading import grade, grade_events
from sim.testing import replay

# ----------------------------------------------------------------------- field criteria


def test_wrong_queue_scores_zero_with_a_reason() -> None:
    report, _ = play(API, [[{"op": "set_fields", "queue": "billing"}], [FINISH]])
    queue = report.criterion("queue")
    assert queue.value == 0.0
    assert queue.reason == "final queue 'billing', gold 'platform_engineering'"
    right, _ = play(API, [[{"op": "set_fields", "queue": "platform_engineering"}], [FINISH]])
    assert right.criterion("queue").value == 1.0
    assert right.criterion("queue").reason.endswith("is gold")


def test_the_final_value_counts_not_the_first() -> None:
    report, _ = play(API, [[{"op": "set_fields", "priority": "urgent"}],
                           [{"op": "set_fields", "priority": "low"}, FINISH]])
    assert value(report, "priority") == 0.0


def test_a_wrong_issue_type_scores_zero() -> None:
    report, _ = play(API, [[{"op": "set_fields", "issue_type": "bug"}], [FINISH]])
    assert value(report, "issue_type") == 0.0


def test_a_ticket_bounced_by_the_wrong_team_is_open_again() -> None:
    # password_reset_easy belongs to account_management; billing bounces the ticket at
    # minute 10, which reopens it (turn 2 is at minute 15). The login email, asked for at
    # turn 1, is in by then, so finishing is not premature.
    task = TASKS["password_reset_easy"]
    turns = [[reply("Which email do you sign in with?", ["account_email"]), escalate("billing")],
             [], [FINISH]]
    report, result = play(task.task_id, turns)
    assert not report.premature_status
    assert "'open'" in report.criterion("status").reason
    bounce = next(n for n, e in enumerate(result.trace.events) if e.kind == "team_bounce")
    before = grade_events(task, result.trace.events[:bounce])
    assert "'escalated_elsewhere'" in before.criterion("status").reason
    # Where the gold status is 'open', the bounce is what earns the status credit.
    reopened, _ = play(variant(task.task_id, gold_status="open"), turns)
    assert value(reopened, "status") == 1.0


def test_an_operation_after_the_end_changes_nothing() -> None:
    gold = {"op": "set_fields", "queue": "platform_engineering"}
    ended = grade_events(TASKS[API], events_of(
        (0, "turn", {"turn": 1}), (0, "end", {"reason": "finished", "turn": 1}),
        op_event(0, gold)))
    assert value(ended, "queue") == 0.0


# -------------------------------------------------------------------- premature endings


def test_premature_resolve_zeroes_status_resolution_code_and_sla() -> None:
    resolve = [reply("Checking the duplicate charge.", DUP_FIELDS), DUP_RESOLVE]
    early, result = play(DUP, [resolve])
    assert result.termination_reason == "finished" and result.steps == 1
    assert early.premature_status
    for name in ("status", "resolution_code", "sla"):
        assert value(early, name) == 0.0, name
    assert early.criterion("status").reason == (
        "premature: status 'resolved' set at turn 1 before invoice_id, last4_digits, "
        "transaction_date was collected")
    assert early.criterion("resolution_code").reason.startswith("premature: ")
    assert early.sla_breached
    # The customer (complete outcome) answers at minute 10; turn 2 is at minute 15.
    later, _ = play(DUP, [[reply("Checking the duplicate charge.", DUP_FIELDS)], [DUP_RESOLVE]])
    assert not later.premature_status
    for name in ("status", "resolution_code", "sla"):
        assert value(later, name) == 1.0, name
    # Resolving without ever asking is premature too, at any turn.
    never, _ = play(DUP, [[reply("Checking.")], [], [DUP_RESOLVE]])
    assert never.premature_status and value(never, "status") == 0.0


def test_premature_finish_on_an_escalated_task() -> None:
    first = [API_TRIAGE, ASK, escalate("platform_engineering"), API_STATUS]
    early, _ = play(API, [[*first, FINISH]])
    assert early.premature_status
    assert value(early, "queue") == 1.0  # only the status-like criteria are lost
    for name in ("status", "resolution_code", "sla"):
        assert value(early, name) == 0.0, name
    assert early.criterion("status").reason == (
        "premature: the episode was finished at turn 1 before payload_sample, regions, "
        "request_ids, time_window was collected")
    # Re-asked at turn 2 (minute 20) but finished before the answers (minute 30) came.
    before_answers, _ = play(API, [first, [CHASE, FINISH]])
    assert before_answers.premature_status
    assert "payload_sample, regions was collected" in before_answers.criterion("status").reason
    # Finished at turn 3 (minute 40), once every field came back right: legitimate.
    legit, _ = play(API, [first, [CHASE], [FINISH]])
    assert not legit.premature_status
    for name in ("status", "resolution_code", "sla", "fields_collected"):
        assert value(legit, name) == 1.0, name


def test_a_premature_finish_after_the_deadline_loses_an_sla_met_in_time() -> None:
    # A reply and the gold status by minute 90 meet the SLA; finishing at turn 6
    # (minute 100) without the fields makes the ending premature, and the SLA goes too.
    first = [API_TRIAGE, escalate("platform_engineering"), API_STATUS, reply("We are on it.")]
    kept_going, _ = play(API, [first])
    assert value(kept_going, "sla") == 1.0
    finished, result = play(API, [first, [], [], [], [], [FINISH]])
    assert result.sim_minutes == 100
    assert finished.premature_status
    assert value(finished, "sla") == 0.0 and finished.sla_breached


@pytest.mark.parametrize(("fails_at", "premature"), [(2, True), (3, False)])
def test_an_agent_that_fails_ends_the_episode_like_finish(fails_at: int, premature: bool
                                                          ) -> None:
    # The chased fields come back at minute 30: failing at turn 2 (minute 20) is ending
    # early, failing at turn 3 (minute 40) is not.
    turns = [[API_TRIAGE, ASK, escalate("platform_engineering"), API_STATUS], [CHASE]]

    class FailsLater:
        def act(self, observation: Any) -> Any:
            if observation.turn == fails_at:
                raise RuntimeError("the model is down")
            return turns[observation.turn - 1]

    result = replay(TASKS[API], [], world=StandardWorld, agent=FailsLater())
    assert result.termination_reason == "agent_error"
    report = grade(TASKS[API], result.trace)
    assert report.premature_status is premature
    assert value(report, "status") == (0.0 if premature else 1.0)
    if premature:
        assert report.criterion("status").reason.startswith(
            "premature: the episode ended with agent_error at turn 2")


def test_running_out_of_turns_is_not_ending_early() -> None:
    # Premature means setting resolved/closed or finishing; an escalated ticket left as it
    # is until max_steps keeps its status credit (the fields are still missing).
    report, result = play(API, [[API_TRIAGE, escalate("platform_engineering"), API_STATUS,
                                 reply("We are on it.")]])
    assert result.termination_reason == "max_steps"
    assert not report.premature_status
    assert value(report, "status") == 1.0 and value(report, "fields_collected") == 0.0


def test_a_trace_cut_right_after_an_early_finish_already_counts_it_premature() -> None:
    _, result = play(API, [[reply("Please send these.", API_FIELDS), FINISH]])
    events = result.trace.events
    cut = next(e.seq for e in events if e.kind == "operation" and e.payload["op"]["op"] == "finish")
    prefix = grade_events(TASKS[API], events[:cut + 1])
    assert prefix.premature_status is True
    assert prefix.score == grade(TASKS[API], result.trace).score


# ---------------------------------------------------------------------------------- SLA


SLA_TASK = TASKS["feature_request_easy"]  # gold status closed; no fields to wait for
DEADLINE = SLA_TASK.sla_deadline_seconds
CLOSE = set_status("closed", "feature_logged")


@pytest.mark.parametrize(
    ("script", "met"),
    [
        ([(0, CLOSE), (DEADLINE, reply())], True),
        ([(0, CLOSE), (DEADLINE + 1, reply())], False),
        ([(0, reply()), (DEADLINE + 1, CLOSE)], False),
        ([(0, reply())], False),
        ([(0, CLOSE)], False),
    ],
    ids=["reply-at-the-deadline", "reply-a-second-late", "status-late", "no-gold-status",
         "no-reply"],
)
def test_sla_needs_a_reply_and_the_gold_status_by_the_deadline(
    script: list[tuple[int, dict[str, Any]]], met: bool
) -> None:
    # One operation per turn at the given second; one more turn an hour past the deadline.
    items: list[tuple[Any, ...]] = []
    for turn, (t, op) in enumerate(script, start=1):
        items += [(t, "turn", {"turn": turn}), op_event(t, op)]
    items.append((DEADLINE + 3600, "turn", {"turn": len(script) + 1}))
    report = grade_events(SLA_TASK, events_of(*items))
    sla = report.criterion("sla")
    assert sla.value == (1.0 if met else 0.0)
    assert report.sla_breached is not met
    if met:
        assert sla.reason == "met"
    else:
        assert "deadline" in sla.reason


def test_the_results_sla_breached_says_whether_the_sla_was_met() -> None:
    _, met = play(API, [], agent=OracleAgent(), privileged=True)
    assert met.sla_breached is False and met.score == 1.0
    _, missed = play(API, [[FINISH]])
    assert missed.sla_breached is True
