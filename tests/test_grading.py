"""The grader, criterion by criterion, on hand-written turns and hand-built traces.

Each test plays a short script through the real simulator (standard world, the task's own
persona) or grades a trace built event by event, and checks one rule of SPEC §4: the value,
the reason, the penalty, what is dropped. The property suite (test_grader_properties.py)
checks the invariants on random sequences; these pin the exact numbers.

Timelines used below (minutes): api_incident_hard turns at 0, 20, 40, 60...; the customer
answers 10 minutes after a request; the owning team's update comes 30 minutes after the
escalation; the escalation deadline is turn 3.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from actors.oracle import OracleAgent
from actors.world import StandardWorld
from sim.episode import EpisodeResult
from sim.grading import GradeReport, grade, grade_events, step_rewards
from sim.operations import MAX_NOTE_CHARS, MAX_REPLY_CHARS
from sim.testing import check_report_arithmetic, replay
from sim.trace import Trace, TraceEvent
from tasks import SupportTaskSpec, discover_tasks

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


def reply(message: str = "Thanks for the report.", fields: list[str] | None = None
          ) -> dict[str, Any]:
    return {"op": "reply", "message": message, "request_fields": fields or []}


def escalate(queue: str) -> dict[str, Any]:
    return {"op": "escalate", "queue": queue, "summary": "please take this"}


FINISH = {"op": "finish"}
API_FIELDS = ["request_ids", "time_window", "regions", "payload_sample"]


def event(t: int, seq: int, kind: str, payload: dict[str, Any], actor: str = "agent"
          ) -> TraceEvent:
    return TraceEvent(t=t, seq=seq, actor=actor, kind=kind, payload=payload)


def events_of(*items: tuple[int, str, dict[str, Any]]) -> list[TraceEvent]:
    """A hand-built trace: (t, kind, payload) per agent event, numbered in order."""
    return [event(t, seq, kind, payload) for seq, (t, kind, payload) in enumerate(items)]


def variant(task_id: str, **changes: Any) -> SupportTaskSpec:
    """A shipped task with some fields changed, validated like any task file."""
    return SupportTaskSpec.model_validate({**TASKS[task_id].model_dump(), **changes})


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


def test_premature_resolve_scores_status_zero() -> None:
    fields = ["invoice_id", "last4_digits", "transaction_date"]
    resolve = {"op": "set_status", "status": "resolved", "resolution_code": "refund_issued"}
    early, result = play("duplicate_charge_easy", [[reply("Checking.", fields), resolve]])
    assert result.termination_reason == "finished" and result.steps == 1
    assert early.premature_status
    assert value(early, "status") == 0.0
    assert "premature" in early.criterion("status").reason
    assert value(early, "resolution_code") == 1.0  # the code itself is right
    # The customer (complete outcome) answers at minute 10; turn 2 is at minute 15.
    later, _ = play("duplicate_charge_easy", [[reply("Checking.", fields)], [resolve]])
    assert not later.premature_status
    assert value(later, "status") == 1.0


def test_a_ticket_bounced_by_the_wrong_team_is_open_again() -> None:
    # password_reset_easy belongs to account_management; billing bounces the ticket at
    # minute 10, which reopens it (turn 2 is at minute 15).
    task = TASKS["password_reset_easy"]
    report, result = play(task.task_id, [[escalate("billing")], [], [FINISH]])
    assert "'open'" in report.criterion("status").reason
    bounce = next(n for n, e in enumerate(result.trace.events) if e.kind == "team_bounce")
    before = grade_events(task, result.trace.events[:bounce])
    assert "'escalated_elsewhere'" in before.criterion("status").reason
    # Where the gold status is 'open', the bounce is what earns the status credit.
    reopened, _ = play(variant(task.task_id, gold_status="open"),
                       [[escalate("billing")], [], [FINISH]])
    assert value(reopened, "status") == 1.0


# --------------------------------------------------------------------------- fields and follow-up


def test_fields_requested_is_f1_against_the_required_fields() -> None:
    half, _ = play(API, [[reply("Please send these.", ["request_ids", "time_window"])]])
    assert math.isclose(value(half, "fields_requested") or 0, 2 * 1 * 0.5 / 1.5)
    extra, _ = play(API, [[reply("Please send these.", [*API_FIELDS, "screenshot"])]])
    assert math.isclose(value(extra, "fields_requested") or 0, 2 * 0.8 * 1 / 1.8)
    exact, _ = play(API, [[reply("Please send these.", API_FIELDS)]])
    assert value(exact, "fields_requested") == 1.0


def test_f1_against_an_empty_gold_set() -> None:
    # feature_request_easy requires no fields and no risk flags.
    nothing, _ = play("feature_request_easy", [[reply("Thanks, noted.")]])
    assert value(nothing, "fields_requested") == 1.0
    assert value(nothing, "risk_flags") == 1.0
    something, _ = play("feature_request_easy", [[reply("Which browser?", ["browser_version"]),
                                                  {"op": "flag_risk", "flags": ["churn_risk"]}]])
    assert value(something, "fields_requested") == 0.0
    assert value(something, "risk_flags") == 0.0


@pytest.mark.parametrize(
    ("rerequested", "expected"),
    [
        ([], 0.0),
        (["payload_sample"], 2 * 1 * 0.5 / 1.5),  # regions (missing) not asked again
        (["payload_sample", "regions"], 1.0),
        (API_FIELDS, 2 * 0.5 * 1 / 1.5),  # asked again for fields that came back right
    ],
)
def test_follow_up_is_f1_of_rerequested_against_missing_or_wrong(
    rerequested: list[str], expected: float
) -> None:
    # Turn 1 asks for all four; the partial answer arrives at minute 10 (regions missing,
    # payload_sample wrong); turn 2 (minute 20) asks again.
    turns = [[reply("Please send these.", API_FIELDS)],
             [reply("Could you send these again?", rerequested)] if rerequested else []]
    report, _ = play(API, turns)
    criterion = report.criterion("follow_up_handling")
    assert criterion.applies
    assert math.isclose(criterion.value or 0, expected)
    assert "missing or wrong payload_sample, regions" in criterion.reason


def test_follow_up_does_not_apply_when_every_answer_was_right() -> None:
    report, _ = play("duplicate_charge_easy",
                     [[reply("Please send these.", ["invoice_id", "last4_digits",
                                                    "transaction_date"])], []])
    assert value(report, "follow_up_handling") is None
    assert "follow_up_handling" in report.dropped


def test_only_required_fields_answered_missing_or_wrong_need_a_follow_up() -> None:
    # The customer answers "not relevant" for a field the task does not require.
    fields = ["invoice_id", "last4_digits", "transaction_date", "screenshot"]
    extra, _ = play("duplicate_charge_easy", [[reply("Please send these.", fields)], []])
    assert value(extra, "follow_up_handling") is None
    # A stored trace: a field the task does not require, a status that is neither right nor
    # missing or wrong, and a required field that came back wrong after it came back right.
    answers = [
        {"screenshot": {"status": "missing"}, "regions": {"status": "not_relevant"},
         "request_ids": {"status": "correct"}},
        {"request_ids": {"status": "wrong"}},
    ]
    events = [event(600 * n, n, "customer_answer", {"fields": answer}, actor="customer")
              for n, answer in enumerate(answers)]
    assert value(grade_events(TASKS[API], events), "follow_up_handling") is None
    events.append(event(1800, 2, "customer_answer", {"fields": {"regions": {"status": "missing"}}},
                        actor="customer"))
    criterion = grade_events(TASKS[API], events).criterion("follow_up_handling")
    assert criterion.applies and "missing or wrong regions" in criterion.reason


# --------------------------------------------------------------------------- kept informed


def test_kept_informed_is_zero_when_the_episode_ends_before_the_update() -> None:
    # Escalated at minute 0, the update would come at minute 30; finished at minute 20.
    report, result = play(API, [[escalate("platform_engineering"), reply()], [reply(), FINISH]])
    assert result.sim_minutes == 20
    criterion = report.criterion("kept_informed")
    assert criterion.applies and criterion.value == 0.0
    assert criterion.reason == "no update from platform_engineering arrived"


def test_kept_informed_needs_a_reply_after_the_update() -> None:
    turns: list[Any] = [[escalate("platform_engineering")], [], [reply("Update: on it.")]]
    informed, _ = play(API, turns)  # update at minute 30, reply at minute 40
    assert value(informed, "kept_informed") == 1.0
    silent, _ = play(API, [[escalate("platform_engineering")], [reply()], [], [FINISH]])
    assert value(silent, "kept_informed") == 0.0
    assert "no public reply after" in silent.criterion("kept_informed").reason


def test_kept_informed_is_dropped_when_a_fault_silences_the_team() -> None:
    report, _ = play(API, [[escalate("platform_engineering")], [], [reply()]],
                     faults=("team_silent",))
    assert value(report, "kept_informed") is None
    assert "kept_informed" in report.dropped


def test_an_update_that_is_the_first_event_of_a_trace_counts() -> None:
    events = [event(0, 0, "team_update", {"text": "Fixed."}, actor="team:platform_engineering"),
              event(0, 1, "turn", {"turn": 1}),
              event(0, 2, "operation", {"op": reply("The fix is live.")})]
    assert value(grade_events(TASKS[API], events), "kept_informed") == 1.0


# --------------------------------------------------------------------------- escalation


@pytest.mark.parametrize(
    ("turns", "expected"),
    [
        ([[], [], [escalate("platform_engineering")]], 1.0),  # turn 3: the deadline
        ([[], [], [], [escalate("platform_engineering")]], 0.3),  # turn 4: late
        ([[escalate("security")]], 0.5),  # the wrong queue
        ([[reply()]], 0.0),  # none, though needed
    ],
)
def test_escalation_credit(turns: list[Any], expected: float) -> None:
    report, _ = play(API, turns)
    assert value(report, "escalation") == expected


def test_escalation_when_none_is_needed() -> None:
    none, _ = play("password_reset_easy", [[reply()]])
    assert value(none, "escalation") == 1.0
    some, _ = play("password_reset_easy", [[escalate("account_management")]])
    assert value(some, "escalation") == 0.0


def test_escalations_made_when_none_is_needed_are_counted() -> None:
    report, _ = play("password_reset_easy", [[escalate("account_management"),
                                              escalate("billing"), escalate("general_support")]])
    criterion = report.criterion("escalation")
    assert criterion.value == 0.0
    assert "3 escalation" in criterion.reason


# --------------------------------------------------------------------------- SLA

SLA_TASK = TASKS["password_reset_easy"]  # gold status: resolved
DEADLINE = SLA_TASK.sla_deadline_seconds
RESOLVE = {"op": "set_status", "status": "resolved", "resolution_code": "credential_reset"}


@pytest.mark.parametrize(
    ("script", "met"),
    [
        ([(0, RESOLVE), (DEADLINE, reply())], True),
        ([(0, RESOLVE), (DEADLINE + 1, reply())], False),
        ([(0, reply()), (DEADLINE + 1, RESOLVE)], False),
        ([(0, reply())], False),
        ([(0, RESOLVE)], False),
    ],
    ids=["reply-at-the-deadline", "reply-a-second-late", "status-late", "no-gold-status",
         "no-reply"],
)
def test_sla_needs_a_reply_and_the_gold_status_by_the_deadline(
    script: list[tuple[int, dict[str, Any]]], met: bool
) -> None:
    # One operation per turn at the given second; one more turn an hour past the deadline.
    items: list[tuple[int, str, dict[str, Any]]] = []
    for turn, (t, op) in enumerate(script, start=1):
        items += [(t, "turn", {"turn": turn}), (t, "operation", {"op": op})]
    items.append((DEADLINE + 3600, "turn", {"turn": len(script) + 1}))
    report = grade_events(SLA_TASK, events_of(*items))
    sla = report.criterion("sla")
    assert sla.value == (1.0 if met else 0.0)
    assert report.sla_breached is not met
    if met:
        assert "not" not in sla.reason.split()  # the reason must not contradict the value
    else:
        assert "deadline" in sla.reason


# --------------------------------------------------------------------------- penalties


def test_invalid_operation_penalty_is_two_points_each_capped_at_ten() -> None:
    two, _ = play(API, [[{"op": "refund"}, {"op": "set_fields", "queue": "nowhere"}]])
    assert two.invalid_operations == 2
    assert [(p.name, p.amount) for p in two.penalties] == [("invalid_operations", 0.04)]
    many, _ = play(API, [[{"op": "refund"}] * 11])  # 8 rejected entries + 3 past the limit
    assert many.invalid_operations == 11
    assert [(p.name, p.amount) for p in many.penalties] == [("invalid_operations", 0.10)]


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


def test_forbidden_reply_marker_costs_five_points_per_group() -> None:
    task_id = "contract_overbilling_medium"  # forbids ("guarantee",)
    once, _ = play(task_id, [[reply("We guarantee a correction."), reply("I guarantee it.")]])
    assert [(p.name, p.amount) for p in once.penalties] == [("forbidden_reply", 0.05)]
    in_a_note, _ = play(task_id, [[{"op": "note", "text": "We cannot guarantee anything."}]])
    assert in_a_note.penalties == ()
    # cross_tenant_exposure_hard forbids four single-word groups.
    four, _ = play("cross_tenant_exposure_hard",
                   [[reply("Maybe a breach, a bug, a cache or a misconfiguration.")]])
    assert [p.amount for p in four.penalties] == [0.05] * 4


def test_over_escalation_costs_ten_points() -> None:
    report, _ = play("account_takeover_charges_hard", [[escalate("billing")]])
    assert [(p.name, p.amount) for p in report.penalties] == [("over_escalation", 0.10)]
    assert "billing" in report.penalties[0].reason
    assert math.isclose(report.score, max(0.0, report.weighted_score - 0.10), abs_tol=1e-12)


def test_score_is_floored_at_zero() -> None:
    report, _ = play("cross_tenant_exposure_hard",
                     [[reply("breach bug cache misconfiguration"), escalate("data_privacy"),
                       escalate("platform_engineering"), {"op": "refund"}]])
    assert report.weighted_score < math.fsum(p.amount for p in report.penalties)
    assert report.score == 0.0


# --------------------------------------------------------------------------- markers


def test_markers_count_only_in_their_own_channel() -> None:
    task_id = "password_reset_easy"  # reply: manual reset link / expires 30 minutes
    in_reply, _ = play(task_id, [[reply("Here is a manual reset link; it expires in 30 minutes."),
                                  {"op": "note", "text": "Identity verified by phone."}]])
    assert value(in_reply, "reply_markers") == 1.0 and value(in_reply, "note_markers") == 1.0
    swapped, _ = play(task_id, [[{"op": "note", "text": "manual reset link expires 30 minutes"},
                                 reply("identity verified")]])
    assert value(swapped, "reply_markers") == 0.0 and value(swapped, "note_markers") == 0.0


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
    ok_note, _ = play("password_reset_easy", [[{"op": "note", "text": note_at_limit}]])
    assert value(ok_note, "note_markers") == 1.0 and ok_note.invalid_operations == 0
    note = ("identity verified " * 200)[: MAX_NOTE_CHARS + 1]
    long_note, _ = play("password_reset_easy", [[{"op": "note", "text": note}]])
    assert value(long_note, "note_markers") == 0.0 and long_note.invalid_operations == 1


def test_an_over_long_reply_written_straight_into_a_trace_never_counts() -> None:
    task = TASKS["password_reset_easy"]
    message = ("manual reset link expires in 30 minutes " * 30)[: MAX_REPLY_CHARS + 1]
    events = [TraceEvent(t=0, seq=0, actor="agent", kind="turn", payload={"turn": 1}),
              TraceEvent(t=0, seq=1, actor="agent", kind="operation",
                         payload={"turn": 1, "index": 0,
                                  "op": {"op": "reply", "message": message}})]
    report = grade_events(task, events)
    assert value(report, "reply_markers") == 0.0
    assert report.invalid_operations == 1


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
                             {"op": "note", "text": "Identity verified by phone."}]])
    criterion = report.criterion(name)
    assert not criterion.applies and name in report.dropped
    assert words in criterion.reason


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
        result = replay(task, [], world=StandardWorld, agent=OracleAgent(), agent_name="oracle")
        assert result.score == 1.0, (task.task_id, result.breakdown)
        assert math.isclose(math.fsum(step_rewards(task, result.trace)), 1.0, abs_tol=1e-9)


def test_a_stored_trace_regrades_to_the_live_report(tmp_path: Path) -> None:
    task = TASKS[API]
    turns = [[{"op": "set_fields", "queue": "platform_engineering", "priority": "urgent"},
              reply("We acknowledge the incident; please collect request ids.", API_FIELDS),
              {"op": "note", "text": "Status page updated. Platform escalation."},
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
    assert path.read_text(encoding="utf-8") == result.trace.to_jsonl()
    assert grade(task, stored) == live
    assert stored.result is not None and stored.result.report == live.model_dump(mode="json")
    assert step_rewards(task, stored) == step_rewards(task, result.trace)


def test_grading_a_trace_for_another_task_still_gives_a_report() -> None:
    _, result = play(API, [[reply("hi", API_FIELDS), escalate("platform_engineering")]])
    other: SupportTaskSpec = TASKS["feature_request_easy"]
    check_report_arithmetic(grade(other, result.trace))


@pytest.mark.parametrize(
    "payload",
    [{"turn": "x"}, {"turn": None}, {"turn": [1]}],
    ids=["text", "null", "list"],
)
def test_a_malformed_turn_number_neither_crashes_nor_changes_the_count(
    payload: dict[str, Any],
) -> None:
    task = TASKS[API]
    events = [TraceEvent(t=0, seq=0, actor="agent", kind="turn", payload=payload),
              TraceEvent(t=0, seq=1, actor="agent", kind="operation",
                         payload={"op": escalate("platform_engineering")})]
    assert value(grade_events(task, events), "escalation") == 1.0  # counted as turn 1


@pytest.mark.parametrize(("turns", "expected"), [(3, 1.0), (4, 0.3)])
def test_turns_with_malformed_numbers_count_one_each(turns: int, expected: float) -> None:
    # The escalation deadline of api_incident_hard is turn 3.
    events = [event(0, n, "turn", {"turn": "x"}) for n in range(turns)]
    events.append(event(0, turns, "operation", {"op": escalate("platform_engineering")}))
    assert value(grade_events(TASKS[API], events), "escalation") == expected


def test_a_negative_rejected_count_cannot_raise_the_score() -> None:
    task = TASKS[API]
    base = [TraceEvent(t=0, seq=0, actor="agent", kind="turn", payload={"turn": 1})]
    tampered = [*base, TraceEvent(t=0, seq=1, actor="agent", kind="invalid_turn",
                                  payload={"rejected": -5})]
    assert grade_events(task, tampered).score <= grade_events(task, base).score
    assert grade_events(task, tampered).invalid_operations == 1


def test_an_answer_with_an_unhashable_status_is_ignored() -> None:
    task = TASKS[API]
    events = [TraceEvent(t=0, seq=0, actor="customer", kind="customer_answer",
                         payload={"fields": {"regions": {"status": ["wrong"]},
                                             "request_ids": {"status": {"a": 1}}}})]
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
        def reset(self, task: SupportTaskSpec, seed: int) -> None:
            raise RuntimeError("cannot start")

        def act(self, observation: object) -> list[object]:
            return []

    task = TASKS["known_incident_duplicate_medium"]  # gold queue general_support: the default
    result = replay(task, [], world=StandardWorld, agent=FailsOnReset())
    assert result.termination_reason == "agent_error" and result.steps == 0
    assert math.isclose(math.fsum(step_rewards(task, result.trace)), result.score,
                        abs_tol=1e-9)
