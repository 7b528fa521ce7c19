"""The grader (version 2), rule by rule, on hand-written turns and hand-built traces.

Each test plays a short script through the real simulator (standard world, the task's own
persona unless it says otherwise) or grades a trace built event by event, and checks one
rule of SPEC §4: the value, the reason, the penalty, what is dropped. The property suite
(test_grader_properties.py) checks the invariants on random sequences; these pin the
exact numbers. What a world makes reachable (sim.outlook) is tested in test_outlook.py,
the text rules (facts, leaks, copies) in test_text_checks.py.

Timelines used below (minutes):
- api_incident_hard: turns at 0, 20, 40, 60, ... 140 (8 turns); the customer answers 10
  minutes after a request (partial: request_ids and time_window right, regions missing,
  payload_sample wrong; a second request is answered right); the platform team
  acknowledges 5 minutes after the escalation and sends its update ("ETA 20 minutes")
  30 minutes after it (the eta_slips fault: a second update 20 minutes later); the
  escalation deadline is turn 3; the SLA deadline minute 90.
- duplicate_charge_easy, password_reset_easy: turns every 15 minutes, answers (complete)
  10 minutes after a request; gold status resolved, no escalation.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from actors.agents.oracle import OracleAgent
from actors.world import StandardWorld
from sim.episode import EpisodeResult
from sim.grading import GradeReport, ImpossibleTraceError, grade, grade_events, step_rewards
from sim.operations import MAX_NOTE_CHARS, MAX_REPLY_CHARS
from sim.testing import check_report_arithmetic, replay
from sim.trace import Trace, TraceEvent
from tasks import SupportTaskSpec, discover_tasks

ROOT = Path(__file__).resolve().parents[1]
TASKS = discover_tasks()
API = "api_incident_hard"  # partial follow-up: request_ids, time_window ok; payload_sample wrong


def play(task_id: str | SupportTaskSpec, turns: list[Any], **options: Any
         ) -> tuple[GradeReport, EpisodeResult]:
    task = task_id if isinstance(task_id, SupportTaskSpec) else TASKS[task_id]
    result = replay(task, turns, world=StandardWorld, **options)
    report = grade(task, result.trace)
    check_report_arithmetic(report)  # every example is also a check of the arithmetic
    assert report.score == result.score
    return report, result


def value(report: GradeReport, name: str) -> float | None:
    return report.criterion(name).value


def penalties(report: GradeReport, name: str | None = None) -> list[tuple[str, float]]:
    return [(p.name, p.amount) for p in report.penalties if name is None or p.name == name]


def reply(message: str = "Thanks for the report.", fields: list[str] | None = None
          ) -> dict[str, Any]:
    return {"op": "reply", "message": message, "request_fields": fields or []}


def note(text: str) -> dict[str, Any]:
    return {"op": "note", "text": text}


def escalate(queue: str) -> dict[str, Any]:
    return {"op": "escalate", "queue": queue, "summary": "please take this"}


def set_status(status: str, code: str | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {"op": "set_status", "status": status}
    if code is not None:
        op["resolution_code"] = code
    return op


FINISH = {"op": "finish"}
API_FIELDS = ["request_ids", "time_window", "regions", "payload_sample"]
API_BAD = ["regions", "payload_sample"]  # missing or wrong after the first answer
API_TRIAGE = {"op": "set_fields", "queue": "platform_engineering", "priority": "urgent",
              "issue_type": "production_incident"}
API_STATUS = set_status("escalated", "runbook_investigation")
ASK = reply("Please send these.", API_FIELDS)
CHASE = reply("Could you send these again?", API_BAD)
DUP = "duplicate_charge_easy"
DUP_FIELDS = ["invoice_id", "last4_digits", "transaction_date"]
DUP_RESOLVE = set_status("resolved", "refund_issued")


def event(t: int, seq: int, kind: str, payload: dict[str, Any], actor: str = "agent"
          ) -> TraceEvent:
    return TraceEvent(t=t, seq=seq, actor=actor, kind=kind, payload=payload)


def events_of(*items: tuple[Any, ...]) -> list[TraceEvent]:
    """A hand-built trace: (t, kind, payload[, actor]) per event, numbered in order."""
    return [event(item[0], seq, item[1], item[2], *item[3:]) for seq, item in enumerate(items)]


def op_event(t: int, op: dict[str, Any]) -> tuple[int, str, dict[str, Any]]:
    return (t, "operation", {"op": op})


def variant(task_id: str, **changes: Any) -> SupportTaskSpec:
    """A shipped task with some fields changed, validated like any task file."""
    return SupportTaskSpec.model_validate({**TASKS[task_id].model_dump(), **changes})


def seq_of(result: EpisodeResult, kind: str, **payload: Any) -> list[int]:
    """The sequence numbers of the trace's events of ``kind`` (whose op has ``payload``)."""
    found = []
    for e in result.trace.events:
        if e.kind != kind:
            continue
        op = e.payload.get("op", {})
        if all(op.get(k) == v for k, v in payload.items()):
            found.append(e.seq)
    return found


# --------------------------------------------------------------------------- field criteria


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


# --------------------------------------------------------------------------- premature endings


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


# --------------------------------------------------------------------------- fields collected


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


# --------------------------------------------------------------------------- follow-up handling


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


# --------------------------------------------------------------------------- kept informed

ESCALATED = [API_TRIAGE, escalate("platform_engineering"), API_STATUS]


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


# --------------------------------------------------------------------------- SLA

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


# --------------------------------------------------------------------------- penalties


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


# --------------------------------------------------------------------------- leaks


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


# --------------------------------------------------------------------------- spam


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


def test_spam_in_a_real_episode() -> None:
    # One reply a turn for four turns: with no message from anyone, two are beyond.
    silent_world, _ = play(API, [[reply(f"Update {n}.")] for n in range(4)])
    assert penalties(silent_world) == [("spam", 0.04)]
    # Asking for fields brings the customer's answer (minute 10): one more is allowed.
    asked, _ = play(API, [[reply("Please send these.", API_FIELDS)],
                          *([reply(f"Update {n}.")] for n in range(3))])
    assert penalties(asked) == [("spam", 0.02)]


# --------------------------------------------------------------------------- markers


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


# --------------------------------------------------------------------------- copied text


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


# --------------------------------------------------------------------------- renormalising


def test_dropped_criteria_are_listed_and_the_rest_renormalised() -> None:
    # feature_request_easy: closed, so no escalation is needed (kept_informed dropped);
    # no required fields, so no answer can be missing or wrong (follow_up_handling dropped).
    task = TASKS["feature_request_easy"]
    report, _ = play(task.task_id, [[reply("Thanks, your feature request is logged.")]])
    assert report.dropped == ("follow_up_handling", "kept_informed")
    for name in report.dropped:
        criterion = report.criterion(name)
        assert not criterion.applies and criterion.value is None
        assert criterion.effective_weight == 0.0 and criterion.reason
    applying = [c for c in report.criteria if c.applies]
    total = 1.0 - 0.05 - 0.05
    assert math.isclose(math.fsum(c.effective_weight for c in applying), 1.0)
    for c in applying:
        assert math.isclose(c.effective_weight, c.weight / total)
    weighted = math.fsum(c.weight * (c.value or 0.0) for c in applying) / total
    assert math.isclose(report.score, weighted, abs_tol=1e-12)


@pytest.mark.parametrize(
    ("field", "name", "words"),
    [("required_reply_markers", "reply_markers", "reply markers"),
     ("required_note_markers", "note_markers", "note markers")],
)
def test_a_task_without_marker_groups_of_a_kind_drops_that_criterion(
    field: str, name: str, words: str
) -> None:
    task = variant("password_reset_easy", **{field: ()})
    report, _ = play(task, [[reply("Here is a manual reset link; it expires in 30 minutes."),
                             note("Identity verified by phone.")]])
    criterion = report.criterion(name)
    assert not criterion.applies and name in report.dropped
    assert words in criterion.reason


# --------------------------------------------------------------------------- impossible traces

GOOD = [(0, "turn", {"turn": 1}), op_event(0, reply("Hi.")), (600, "turn", {"turn": 2})]


def _numbered(*rows: tuple[int, int, str, dict[str, Any]]) -> list[TraceEvent]:
    return [event(t, seq, kind, payload) for t, seq, kind, payload in rows]


IMPOSSIBLE = {
    "out-of-order-seq": _numbered((0, 0, "turn", {"turn": 1}), (600, 2, "turn", {"turn": 2}),
                                  (0, 1, "operation", {"op": reply()})),
    "duplicate-seq": _numbered((0, 0, "turn", {"turn": 1}), (0, 1, "operation", {"op": reply()}),
                               (0, 1, "operation", {"op": reply()})),
    "seq-not-from-zero": _numbered((0, 1, "turn", {"turn": 1})),
    "negative-time": _numbered((-1, 0, "turn", {"turn": 1})),
    "time-going-back": _numbered((600, 0, "turn", {"turn": 1}), (0, 1, "turn", {"turn": 2})),
    "skipped-turn": _numbered((0, 0, "turn", {"turn": 1}), (600, 1, "turn", {"turn": 3})),
    "first-turn-not-1": _numbered((0, 0, "turn", {"turn": 2})),
    "repeated-turn": _numbered((0, 0, "turn", {"turn": 1}), (600, 1, "turn", {"turn": 1})),
    "turn-as-text": _numbered((0, 0, "turn", {"turn": "1"})),
    "turn-missing": _numbered((0, 0, "turn", {})),
    "turn-as-bool": _numbered((0, 0, "turn", {"turn": True})),
}


def test_a_possible_trace_is_graded() -> None:
    check_report_arithmetic(grade_events(TASKS[API], events_of(*GOOD)))


@pytest.mark.parametrize("name", list(IMPOSSIBLE))
def test_an_impossible_trace_is_rejected_not_graded(name: str) -> None:
    task = TASKS[API]
    events = IMPOSSIBLE[name]
    with pytest.raises(ImpossibleTraceError) as caught:
        grade_events(task, events)
    assert isinstance(caught.value, ValueError)
    assert "\n" not in str(caught.value) and "allowed" in str(caught.value)
    _, result = play(API, [])
    trace = Trace(header=result.trace.header, events=events, result=result.trace.result)
    with pytest.raises(ImpossibleTraceError):
        grade(task, trace)
    with pytest.raises(ImpossibleTraceError):
        step_rewards(task, trace)


def test_grading_an_impossible_stored_trace_exits_2_with_one_line(tmp_path: Path) -> None:
    _, result = play(API, [[ASK, escalate("platform_engineering")], [CHASE]])
    lines = result.trace.to_jsonl().splitlines()
    path = tmp_path / "swapped.jsonl"
    # Swap the second and third events: their sequence numbers go 0, 2, 1, ...
    lines[2], lines[3] = lines[3], lines[2]
    assert [json.loads(line)["seq"] for line in lines[1:4]] == [0, 2, 1]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, str(ROOT / "run_sim.py"), "grade", str(path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert proc.stdout == ""
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith(f"run_sim.py: error: {path}: event seq 2 "), line
    assert "Traceback" not in proc.stderr


# --------------------------------------------------------------------------- tampering


class _RewritesItsTask:
    """Rewrites whatever task it is handed (gold queue, required fields), then quits."""

    def __init__(self, turns: list[Any]) -> None:
        self.turns = turns
        self.handed: Any = None

    def reset(self, task: Any, seed: int) -> None:
        self.handed = task
        for name, new in (("gold_queue", "billing"), ("required_requested_fields", ())):
            if hasattr(task, name):
                object.__setattr__(task, name, new)
        object.__setattr__(task, "title", "rewritten")

    def act(self, observation: Any) -> Any:
        index = observation.turn - 1
        return self.turns[index] if index < len(self.turns) else []


@pytest.mark.parametrize("privileged", [True, False], ids=["private-copy", "brief"])
def test_writing_to_the_copy_an_agent_was_handed_changes_nothing(privileged: bool) -> None:
    task = variant(API, title="Tamper target: a copy the agent gets")
    before = task.model_dump()
    # Played against the rewritten copy, these turns would earn the queue and the status.
    turns = [[{"op": "set_fields", "queue": "billing", "priority": "urgent"}, ASK,
              escalate("platform_engineering"), API_STATUS, FINISH]]
    agent = _RewritesItsTask(turns)
    result = replay(task, [], world=StandardWorld, agent=agent, privileged=privileged)
    assert agent.handed is not task and agent.handed.title == "rewritten"
    assert result.termination_reason == "finished" and result.privileged is privileged
    assert task.model_dump() == before
    honest, honest_result = play(task, turns)
    assert result.score == honest_result.score > 0
    assert result.breakdown == honest_result.breakdown
    assert value(honest, "queue") == 0.0 and honest.premature_status


def test_an_agent_that_writes_to_the_graders_task_voids_the_episode() -> None:
    # Trusted in-process code can reach the grader's own task object (here through a
    # closure); the hash check at the end catches the write: sim_error, score 0.
    task = variant(API, title="Tamper target: the grader's own task")
    turns = [[API_TRIAGE, ASK, escalate("platform_engineering"), API_STATUS], [CHASE], []]

    class ReachesThrough:
        async def act(self, observation: Any) -> Any:
            if observation.turn == 3:
                object.__setattr__(task, "gold_priority", "low")
                return [FINISH]
            return turns[observation.turn - 1]

    result = replay(task, [], world=StandardWorld, agent=ReachesThrough())
    assert result.termination_reason == "sim_error"
    assert result.error is not None and "changed during the episode" in result.error
    assert result.score == 0.0
    stored = result.trace.result
    assert stored is not None and stored.score == 0.0 and stored.report is not None
    [void] = [p for p in stored.report["penalties"] if p["name"] == "void"]
    assert void["amount"] > 0.5  # the whole score the episode would have had
    assert stored.report["weighted_score"] == pytest.approx(void["amount"])


def test_a_world_that_writes_to_the_task_voids_the_episode() -> None:
    task = variant(API, title="Tamper target: written by the world")

    class Meddling(StandardWorld):
        def populate(self, env: Any, state: Any) -> None:
            object.__setattr__(state.task, "max_steps", 99)
            super().populate(env, state)

    result = replay(task, [[ASK, FINISH]], world=Meddling())
    assert result.termination_reason == "sim_error" and result.score == 0.0


# --------------------------------------------------------------------------- rewards, traces


def test_step_rewards_sum_to_the_score() -> None:
    task = TASKS[API]
    _, result = play(API, [[{"op": "set_fields", "queue": "platform_engineering"}],
                           [reply("We acknowledge the incident.", API_FIELDS)],
                           [escalate("platform_engineering")], [], [reply(), FINISH]])
    rewards = step_rewards(task, result.trace)
    assert len(rewards) == result.steps == 5
    assert math.isclose(math.fsum(rewards), result.score, abs_tol=1e-9)


def test_the_oracle_scores_one_and_its_rewards_sum_to_one() -> None:
    for task in TASKS.values():
        result = replay(task, [], world=StandardWorld, agent=OracleAgent(), agent_name="oracle",
                        privileged=True)
        assert result.score == 1.0, (task.task_id, result.breakdown)
        assert result.trace.header.privileged
        assert math.isclose(math.fsum(step_rewards(task, result.trace)), 1.0, abs_tol=1e-9)


def test_a_stored_trace_regrades_to_the_live_report(tmp_path: Path) -> None:
    task = TASKS[API]
    turns = [[{"op": "set_fields", "queue": "platform_engineering", "priority": "urgent"},
              reply("We acknowledge the incident; please collect request ids.", API_FIELDS),
              note("Status page updated. Platform escalation."),
              escalate("platform_engineering"), {"op": "refund"}],
             [reply("Could you send the payload sample again?", ["payload_sample"])],
             [reply("Update from the platform team.")], [FINISH]]
    result = replay(task, turns, world=StandardWorld, seed=7, persona="impatient",
                    faults=("eta_slips",))
    live = grade(task, result.trace)
    path = tmp_path / "episode.jsonl"
    result.trace.write(path)
    stored = Trace.read(path)
    assert stored == result.trace
    assert stored.header.world == StandardWorld("impatient", ("eta_slips",)).outlook(task)
    assert path.read_text(encoding="utf-8") == result.trace.to_jsonl()
    assert grade(task, stored) == live
    assert stored.result is not None and stored.result.report == live.model_dump(mode="json")
    assert step_rewards(task, stored) == step_rewards(task, result.trace)


def test_grading_a_trace_for_another_task_still_gives_a_report() -> None:
    _, result = play(API, [[reply("hi", API_FIELDS), escalate("platform_engineering")]])
    other: SupportTaskSpec = TASKS["feature_request_easy"]
    check_report_arithmetic(grade(other, result.trace))


def test_a_negative_rejected_count_cannot_raise_the_score() -> None:
    task = TASKS[API]
    base = [event(0, 0, "turn", {"turn": 1})]
    tampered = [*base, event(0, 1, "invalid_turn", {"rejected": -5})]
    assert grade_events(task, tampered).score <= grade_events(task, base).score
    assert grade_events(task, tampered).invalid_operations == 1


def test_an_answer_with_an_unhashable_status_is_ignored() -> None:
    task = TASKS[API]
    events = [event(0, 0, "customer_answer",
                    {"fields": {"regions": {"status": ["wrong"]},
                                "request_ids": {"status": {"a": 1}}}}, actor="customer")]
    check_report_arithmetic(grade_events(task, events))


# --------------------------------------------------------------------------- edge cases


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85"],
                         ids=["U+2028", "U+2029", "U+0085"])
def test_reply_with_a_unicode_line_separator_round_trips(separator: str) -> None:
    task = TASKS[API]
    result = replay(task, [[reply(f"We acknowledge the incident.{separator}More soon.")]],
                    world=StandardWorld)
    assert grade(task, Trace.from_jsonl(result.trace.to_jsonl())) == grade(task, result.trace)


def test_rewards_sum_to_score_when_no_turn_is_played() -> None:
    class FailsOnReset:
        def reset(self, brief: object, seed: int) -> None:
            raise RuntimeError("cannot start")

        def act(self, observation: object) -> list[object]:
            return []

    task = TASKS["known_incident_duplicate_medium"]  # gold queue general_support: the default
    result = replay(task, [], world=StandardWorld, agent=FailsOnReset())
    assert result.termination_reason == "agent_error" and result.steps == 0
    assert math.isclose(math.fsum(step_rewards(task, result.trace)), result.score,
                        abs_tol=1e-9)


# --------------------------------------------------------------------------- mutation gaps
# Tests written against mutants of sim/grading.py that survived the suite (bench/mutation.sh).


def test_an_operation_after_the_end_changes_nothing() -> None:
    gold = {"op": "set_fields", "queue": "platform_engineering"}
    ended = grade_events(TASKS[API], events_of(
        (0, "turn", {"turn": 1}), (0, "end", {"reason": "finished", "turn": 1}),
        op_event(0, gold)))
    assert value(ended, "queue") == 0.0


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


def test_an_update_whose_text_is_not_text_is_graded_without_raising() -> None:
    report = grade_events(TASKS[API], events_of(
        (0, "turn", {"turn": 1}), op_event(0, escalate("platform_engineering")),
        (1800, "team_update", {"text": 20}, "team:platform_engineering"),
        (2400, "turn", {"turn": 2}), op_event(2400, reply("The team is on it.")),
    ))
    assert value(report, "kept_informed") == 1.0  # an update with no facts: any reply


def test_a_wrong_issue_type_scores_zero() -> None:
    report, _ = play(API, [[{"op": "set_fields", "issue_type": "bug"}], [FINISH]])
    assert value(report, "issue_type") == 0.0


def test_the_results_sla_breached_says_whether_the_sla_was_met() -> None:
    _, met = play(API, [], agent=OracleAgent(), privileged=True)
    assert met.sla_breached is False and met.score == 1.0
    _, missed = play(API, [[FINISH]])
    assert missed.sla_breached is True


def test_a_trace_whose_header_names_no_world_is_graded_as_the_task_is_written() -> None:
    _, result = play(API, [], agent=OracleAgent(), privileged=True)
    bare = Trace(header=result.trace.header.model_copy(update={"world": None}),
                 events=result.trace.events, result=result.trace.result)
    assert grade(TASKS[API], bare).score == 1.0
    assert math.isclose(sum(step_rewards(TASKS[API], bare)), 1.0)


def test_step_rewards_are_graded_in_the_world_of_the_header() -> None:
    # A silent customer: the world drops nothing the task as written would keep, and the
    # oracle's chase counts only in that world.
    task = TASKS["duplicate_charge_easy"]
    _, result = play(task.task_id, [], agent=OracleAgent(), privileged=True, persona="silent")
    assert result.score == 1.0
    assert math.isclose(sum(step_rewards(task, result.trace)), 1.0)


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


def test_a_malformed_answer_entry_does_not_hide_the_fields_after_it() -> None:
    report = grade_events(TASKS["password_reset_easy"], events_of(
        (0, "turn", {"turn": 1}), op_event(0, reply("Please confirm.", ["account_email"])),
        (600, "customer_answer", {"fields": {"screenshot": "oops",
                                             "account_email": {"value": "a@b.example",
                                                               "status": "correct"}}},
         "customer"),
    ))
    assert value(report, "fields_collected") == 1.0


def test_a_trace_cut_right_after_an_early_finish_already_counts_it_premature() -> None:
    _, result = play(API, [[reply("Please send these.", API_FIELDS), FINISH]])
    events = result.trace.events
    cut = next(e.seq for e in events if e.kind == "operation" and e.payload["op"]["op"] == "finish")
    prefix = grade_events(TASKS[API], events[:cut + 1])
    assert prefix.premature_status is True
    assert prefix.score == grade(TASKS[API], result.trace).score
