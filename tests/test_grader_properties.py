"""The invariants of SPEC §4, checked with hypothesis on every shipped task.

One test per (task, invariant): :func:`sim.testing.run_invariant` drives the real
simulator with the standard world (every persona, every set of faults) and the oracle.
Under ``CI=true`` the ``ci`` profile (tests/conftest.py) makes the runs derandomized;
``SUPPORT_SIM_PROPERTY_EXAMPLES`` sets the examples per test (default 20).

Below them, the suite itself: for every invariant, a deliberately broken grader (one
function or constant of the grading code replaced) that the invariant must catch, then a
few tests that it reports rather than raises, and that :func:`actors.checks.check_task`
runs it on a task file.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim.grading
import sim.outlook
import sim.testing
import sim.testing.checks
import sim.testing.invariants
from actors.agents.oracle import OracleAgent
from actors.checks import CheckReport, check_task, standard_world
from actors.teams import FAULTS
from sim.grading import GradeAccumulator, GradeReport
from sim.markers import group_met
from sim.operations import parse_operation
from sim.testing import INVARIANT_NAMES, run_invariant, run_property_suite
from sim.ticket import TicketState
from sim.ticket import apply_operation as real_apply_operation
from tasks import PERSONAS, SupportTaskSpec, discover_tasks

TASKS: dict[str, SupportTaskSpec] = discover_tasks()
#: Examples per task per invariant (the explicit examples of an invariant come on top).
MAX_EXAMPLES = int(os.environ.get("SUPPORT_SIM_PROPERTY_EXAMPLES", "20"))


NOT_APPLICABLE_WHEN: dict[str, Callable[[SupportTaskSpec], bool]] = {
    "extra_escalation_never_raises_score": lambda t: not [
        q for q in t.catalog.queues if q != t.gold_queue or not t.needs_escalation],
    "later_escalation_never_raises_score": lambda t: not t.needs_escalation or t.max_steps < 2,
    "escalating_to_every_queue_never_pays": lambda t: t.catalog.queues == (t.gold_queue,),
    "asking_everything_never_earns_full_credit": lambda t: (
        set(t.required_requested_fields) == set(t.catalog.fields)
        and set(t.risk_flags) == set(t.catalog.risk_flags)),
    "ending_early_scores_well_below_the_oracle": lambda t: not t.required_requested_fields,
    "relay_without_the_facts_never_informs": lambda t: not t.needs_escalation,
    "replies_of_seen_text_earn_no_markers": lambda t: not t.required_reply_markers,
    "leaking_replies_never_count": lambda t: not sim.testing.internal_terms(t),
    "markers_count_only_in_their_channel": lambda t: not (
        t.required_reply_markers or t.required_note_markers or t.forbidden_reply_markers),
}


def test_every_invariant_is_listed_once() -> None:
    assert len(set(INVARIANT_NAMES)) == len(INVARIANT_NAMES) == 19
    assert set(NOT_APPLICABLE_WHEN) <= set(INVARIANT_NAMES)
    assert set(BROKEN_GRADERS) == set(INVARIANT_NAMES)


@pytest.mark.parametrize("invariant", INVARIANT_NAMES)
@pytest.mark.parametrize("task_id", list(TASKS))
def test_invariant_holds_on_shipped_task(task_id: str, invariant: str) -> None:
    result = run_invariant(
        TASKS[task_id], invariant, world=standard_world, oracle=OracleAgent,
        max_examples=MAX_EXAMPLES, personas=PERSONAS, faults=FAULTS,
    )
    if result.status == "not_applicable":
        # Not a skip: the suite must say "not applicable" exactly where the task lacks what
        # the invariant is about, and must run it everywhere else.
        expected = NOT_APPLICABLE_WHEN.get(invariant)
        assert expected is not None and expected(TASKS[task_id]), result.reason
        assert result.reason
        return
    assert result.status == "passed", result.counterexample
    assert result.examples >= 1


# --------------------------------------------------------------------------- broken graders
#
# Each entry: the invariant, the task it is run on, the words its report must contain,
# and how the grader is broken (a function given pytest's monkeypatch). Every grader
# here scores some episode wrongly in exactly the way the invariant is about.

Breaker = Callable[[pytest.MonkeyPatch], None]


def _no_world_adjusted_gold(mp: pytest.MonkeyPatch) -> None:
    """The gold status is never adjusted to the world (a silent customer's task still
    wants 'resolved')."""
    mp.setattr(sim.outlook.WorldOutlook, "adjusted_gold_status",
               lambda self, task: task.gold_status)


def _follow_up_applies_only_after_an_answer(mp: pytest.MonkeyPatch) -> None:
    """v1's rule: follow-up handling does not apply when no answer came back."""
    real = GradeAccumulator._values

    def values(self: GradeAccumulator) -> Any:
        found, sla_met = real(self)
        if not self.received:
            found["follow_up_handling"] = None
        return found, sla_met

    mp.setattr(GradeAccumulator, "_values", values)


def _queue_weighs_more(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(sim.grading, "CRITERIA_WEIGHTS", {**sim.grading.CRITERIA_WEIGHTS, "queue": 0.12})


def _rewards_from_a_discounted_score(mp: pytest.MonkeyPatch) -> None:
    """The step rewards come from another score than the report's."""
    real = GradeAccumulator.summary

    def summary(self: GradeAccumulator) -> Any:
        score, values, breached = real(self)
        return round(score * 0.9, 12), values, breached

    mp.setattr(GradeAccumulator, "summary", summary)


def _grader_with_hidden_state(mp: pytest.MonkeyPatch) -> None:
    """Each report says how many were made before it in the process."""
    real = GradeAccumulator.report_data
    calls = itertools.count()

    def report_data(self: GradeAccumulator) -> Any:
        data = real(self)
        data["criteria"][0]["reason"] += f" (report {next(calls)})"
        return data

    mp.setattr(GradeAccumulator, "report_data", report_data)


def _stored_trace_graded_in_the_default_world(mp: pytest.MonkeyPatch) -> None:
    """Re-grading ignores the world written in the trace header."""
    mp.setattr(sim.grading, "_outlook_of",
               lambda task, trace: sim.grading._default_outlook(task))


def _end_event_ignored(mp: pytest.MonkeyPatch) -> None:
    """The grader keeps folding events after the episode's end."""
    real = GradeAccumulator.fold

    def fold(self: GradeAccumulator, t: int, seq: int, actor: str, kind: str,
             payload: dict[str, Any], operation: Any = None) -> None:
        real(self, t, seq, actor, "end (ignored)" if kind == "end" else kind, payload, operation)

    mp.setattr(GradeAccumulator, "fold", fold)


def _no_wrong_queue_penalty(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(sim.grading, "WRONG_QUEUE_PENALTY", 0.0)


def _late_escalation_pays_more(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(sim.grading, "LATE_ESCALATION_CREDIT", 1.5)


def _spraying_is_free(mp: pytest.MonkeyPatch) -> None:
    """No penalty for other queues, and no halving when the gold one was not first."""
    mp.setattr(sim.grading, "WRONG_QUEUE_PENALTY", 0.0)
    mp.setattr(sim.grading, "OVER_ESCALATION_PENALTY", 0.0)
    mp.setattr(sim.grading, "WRONG_QUEUE_FIRST_SHARE", 1.0)


def _flags_replaced_not_added(mp: pytest.MonkeyPatch) -> None:
    """flag_risk replaces the flags raised so far: two of them in one turn depend on order."""

    def apply(state: TicketState, operation: Any) -> None:
        if operation.op == "flag_risk":
            state.risk_flags = list(operation.flags)
        else:
            real_apply_operation(state, operation)

    mp.setattr(sim.grading, "apply_operation", apply)


def _recall_instead_of_f1(mp: pytest.MonkeyPatch) -> None:
    """Fields and flags scored by recall: asking for everything costs nothing."""

    def recall(given: Iterable[str], gold: Iterable[str]) -> float:
        wanted = set(gold)
        return len(set(given) & wanted) / len(wanted) if wanted else 1.0

    mp.setattr(sim.grading, "_f1", recall)


def _premature_ending_costs_nothing(mp: pytest.MonkeyPatch) -> None:
    """v1's rule: a premature resolve or finish does not zero status, code and SLA."""
    mp.setattr(GradeAccumulator, "_check_premature", lambda self, what: None)


def _any_reply_relays(mp: pytest.MonkeyPatch) -> None:
    """An update has no facts to carry: "." relays it."""
    mp.setattr(sim.grading, "update_facts", lambda text: ())


def _no_copy_rule(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(GradeAccumulator, "_copied", lambda self, text: False)


def _no_spam_penalty(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(sim.grading, "SPAM_PENALTY", 0.0)


def _no_leak_rule(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(sim.grading, "leaked_terms", lambda text, internal: ())


def _notes_meet_reply_markers(mp: pytest.MonkeyPatch) -> None:
    """A note's words count for the reply markers too."""
    real = GradeAccumulator._operation

    def operation(self: GradeAccumulator, t: int, seq: int, payload: dict[str, Any],
                  parsed: Any) -> None:
        real(self, t, seq, payload, parsed)
        op = parsed if parsed is not None else parse_operation(payload.get("op"))[0]
        if op is not None and op.op == "note":
            for index in sim.grading.groups_met(op.text, self.task.required_reply_markers):
                self.reply_groups.setdefault(index, seq)

    mp.setattr(GradeAccumulator, "_operation", operation)


def _answers_read_carelessly(mp: pytest.MonkeyPatch) -> None:
    """A customer's answer is read as if it always had the shape the simulator writes."""

    def answer(self: GradeAccumulator, payload: dict[str, Any]) -> None:
        for name, answered in payload["fields"].items():
            if answered["status"] == "correct" and name in self.requested:
                self.received[name] = None

    mp.setattr(GradeAccumulator, "_answer", answer)


def _impossible_events_skipped(mp: pytest.MonkeyPatch) -> None:
    """An event no episode could write is skipped instead of rejecting the trace."""
    real = GradeAccumulator.fold

    def fold(self: GradeAccumulator, *args: Any, **kwargs: Any) -> None:
        try:
            real(self, *args, **kwargs)
        except sim.grading.ImpossibleTraceError:
            pass

    mp.setattr(GradeAccumulator, "fold", fold)


#: invariant -> [(task id, what the report must say, broken grader, examples)]
BROKEN_GRADERS: dict[str, list[tuple[str, str, Breaker, int]]] = {
    "oracle_scores_one": [
        ("duplicate_charge_easy", "under persona 'silent'", _no_world_adjusted_gold, 3)],
    "applicable_criteria_depend_only_on_the_world": [
        ("api_incident_hard", "follow_up_handling", _follow_up_applies_only_after_an_answer, 3)],
    "score_is_weighted_criteria_minus_penalties": [
        ("api_incident_hard", "queue weighs 0.12", _queue_weighs_more, 3)],
    "step_rewards_sum_to_score": [
        ("api_incident_hard", "sum to", _rewards_from_a_discounted_score, 5)],
    "deterministic": [
        ("api_incident_hard", "different", _grader_with_hidden_state, 3)],
    "stored_trace_regrades_the_same": [
        ("api_incident_hard", "stored in the trace differs",
         _stored_trace_graded_in_the_default_world, 15)],
    "nothing_after_the_end": [
        ("api_incident_hard", "after the end changed", _end_event_ignored, 5)],
    "extra_escalation_never_raises_score": [
        ("api_incident_hard", "wrong_queue penalties, not 0.03", _no_wrong_queue_penalty, 5)],
    "later_escalation_never_raises_score": [
        ("api_incident_hard", "raised the score", _late_escalation_pays_more, 10)],
    "escalating_to_every_queue_never_pays": [
        ("api_incident_hard", "the spec says 7", _no_wrong_queue_penalty, 3),
        ("cross_tenant_exposure_hard", "escalating to every queue", _spraying_is_free, 3)],
    "reordering_independent_operations_keeps_score": [
        ("api_incident_hard", "risk_flags", _flags_replaced_not_added, 3)],
    "asking_everything_never_earns_full_credit": [
        ("api_incident_hard", "earned full credit", _recall_instead_of_f1, 5)],
    "ending_early_scores_well_below_the_oracle": [
        ("duplicate_charge_easy", "within 0.2 of the oracle", _premature_ending_costs_nothing, 3),
        ("password_reset_easy", "within 0.2 of the oracle", _premature_ending_costs_nothing, 3)],
    "relay_without_the_facts_never_informs": [
        ("api_incident_hard", "carried its facts ['20 minutes']", _any_reply_relays, 3)],
    "replies_of_seen_text_earn_no_markers": [
        ("duplicate_charge_easy", "changed reply_markers", _no_copy_rule, 3)],
    "filler_never_pays": [
        ("api_incident_hard", "the spam penalty is 0", _no_spam_penalty, 3)],
    "leaking_replies_never_count": [
        ("api_incident_hard", "changed reply_markers", _no_leak_rule, 3)],
    "markers_count_only_in_their_channel": [
        ("api_incident_hard", "reply_terms_in_note", _notes_meet_reply_markers, 3)],
    "grader_never_raises_and_rejects_impossible_traces": [
        ("api_incident_hard", "raised AttributeError", _answers_read_carelessly, 3),
        ("api_incident_hard", "instead of raising ImpossibleTraceError",
         _impossible_events_skipped, 3)],
}


@pytest.mark.parametrize(
    ("invariant", "task_id", "says", "breaker", "examples"),
    [(name, *case) for name, cases in BROKEN_GRADERS.items() for case in cases],
    ids=[f"{name}-{case[2].__name__.strip('_')}"
         for name, cases in BROKEN_GRADERS.items() for case in cases],
)
def test_the_suite_catches_a_broken_grader(
    monkeypatch: pytest.MonkeyPatch, invariant: str, task_id: str, says: str,
    breaker: Breaker, examples: int,
) -> None:
    task = TASKS[task_id]
    # Unbroken, the invariant holds on these very examples...
    sound = run_invariant(task, invariant, world=standard_world, oracle=OracleAgent,
                          max_examples=examples, personas=PERSONAS, faults=FAULTS,
                          derandomize=True)
    assert sound.status == "passed", sound.counterexample
    # ...and broken, it fails and says how.
    breaker(monkeypatch)
    result = run_invariant(task, invariant, world=standard_world, oracle=OracleAgent,
                           max_examples=examples, personas=PERSONAS, faults=FAULTS,
                           derandomize=True)
    assert result.status == "failed", f"{breaker.__doc__ or breaker.__name__} went unnoticed"
    assert result.counterexample is not None
    assert says in result.counterexample, result.counterexample
    assert "example: seed=" in result.counterexample


# --------------------------------------------------------------------------- gaming policies


@settings(max_examples=8, deadline=None, database=None, derandomize=True)
@given(st.data())
def test_gaming_policies_do_what_they_say(data: st.DataObject) -> None:
    task = data.draw(st.sampled_from(list(TASKS.values())), label="task")
    world = standard_world("cooperative", ())
    catalog = task.catalog

    def play(turns: list[Any]) -> tuple[GradeReport, Any]:
        result = sim.testing.replay(task, turns, world=world)
        return sim.grading.grade(task, result.trace), result

    # A quitter ends the episode in its first turn.
    report, result = play(data.draw(sim.testing.quitter_turns(task), label="quitter"))
    assert result.steps == 1 and result.termination_reason == "finished"
    if task.required_requested_fields:
        assert report.premature_status and 1.0 - report.score >= sim.testing.EARLY_END_MARGIN
    # A sprayer pages every queue of the catalog, and pays for each other one.
    report, result = play(data.draw(sim.testing.escalation_spray_turns(task), label="spray"))
    paged = [e.payload["op"]["queue"] for e in result.trace.events
             if e.kind == "operation" and e.payload["op"]["op"] == "escalate"]
    if result.steps == task.max_steps:  # it did not end before the spray
        assert set(catalog.queues) <= set(paged)
        assert sum(p.name in ("wrong_queue", "over_escalation") for p in report.penalties) >= (
            len(catalog.queues) - 1)
    # An empty relay never keeps the customer informed (every shipped update has facts).
    report, _ = play(data.draw(sim.testing.empty_relay_turns(task), label="relay"))
    assert report.criterion("kept_informed").value in (0.0, None)
    # A leaker's replies leak; where every reply leaks, no reply marker counts.
    report, result = play(data.draw(sim.testing.leaker_turns(task), label="leaker"))
    replies = [e.payload["op"]["message"] for e in result.trace.events
               if e.kind == "operation" and e.payload["op"]["op"] == "reply"]
    terms = sim.testing.internal_terms(task)
    leaking = [m for m in replies if any(group_met(m, (term,)) for term in terms)]
    assert sum(p.name == "leak" for p in report.penalties) == min(3, len(leaking))
    if replies and len(leaking) == len(replies):
        assert report.criterion("reply_markers").value in (0.0, None)
    # A filler fills turns to the limit with 1,000-character messages.
    turns = data.draw(sim.testing.filler_turns(task), label="filler")
    assert any(len(turn) == 8 and {"op": "reply", "message": sim.testing.FILLER_TEXT} in turn
               for turn in turns)
    # A stuffer's replies are made of the brief and earn no reply marker.
    report, _ = play(data.draw(sim.testing.stuffed_turns(task), label="stuffer"))
    assert report.criterion("reply_markers").value in (0.0, None)


def test_stuffed_replies_hold_all_the_text_within_the_limit() -> None:
    texts = sim.testing.brief_texts(SEED) * 3
    whole = " ".join(dict.fromkeys(texts))
    one = sim.testing.stuffed_replies(texts)
    assert one == [{"op": "reply", "message": whole[:1000]}]
    split = sim.testing.stuffed_replies(texts, pieces=2)
    assert "".join(r["message"] for r in split) == whole
    assert all(len(r["message"]) <= 1000 for r in split)
    shuffled = sim.testing.stuffed_replies(texts, pieces=2, order=7)
    assert sorted("".join(r["message"] for r in shuffled)) == sorted(whole)


def test_impossible_traces_are_named() -> None:
    events = list(sim.testing.replay(SEED, [], world=standard_world).trace.events)
    assert sim.testing.impossible_trace_reason(events) is None
    assert "sequence number" in (sim.testing.impossible_trace_reason(events[1:]) or "")
    late = [events[0]._replace(t=10**9), *events[1:]]
    assert "comes after" in (sim.testing.impossible_trace_reason(late) or "")
    skipped = [e._replace(payload={"turn": 3}) if e.kind == "turn" and e.payload["turn"] == 2
               else e for e in events]
    assert "turn 3 after turn 1" in (sim.testing.impossible_trace_reason(skipped) or "")


def test_an_ending_is_judged_when_its_turn_is_over() -> None:
    """Found by reordering_independent_operations_keeps_score: a ``finish`` before the chase
    in the same turn was premature, after it not. Every operation of a turn happens at the
    same instant and the episode ends after the turn, so both orders grade the same."""
    task = TASKS["cross_tenant_exposure_hard"]
    fields = list(task.required_requested_fields)
    ask = {"op": "reply", "message": "Could you send these?", "request_fields": fields}
    escalate = {"op": "escalate", "queue": task.gold_queue, "summary": "Exposure."}
    for ending in ({"op": "finish"}, {"op": "set_status", "status": "resolved"}):
        reports = [
            sim.grading.grade(task, sim.testing.replay(
                task, [[ask, escalate], turn], world=standard_world, persona="silent").trace)
            for turn in ([ask, ending], [ending, ask])
        ]
        assert reports[0] == reports[1]
        assert not reports[0].premature_status  # the chase settles what never arrives
    # Without the chase it is premature, whatever else comes after the ending.
    report = sim.grading.grade(task, sim.testing.replay(
        task, [[ask, escalate], [{"op": "finish"}, {"op": "note", "text": "Done."}]],
        world=standard_world, persona="silent").trace)
    assert report.premature_status
    assert "the episode was finished at turn 2" in report.criterion("status").reason


# --------------------------------------------------------------------------- the suite itself

SEED = TASKS["api_incident_hard"]


def test_the_suite_catches_rewards_that_do_not_sum_to_the_score(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sim.testing.checks, "step_rewards", lambda task, trace: [0.5])
    result = run_invariant(SEED, "step_rewards_sum_to_score", world=standard_world,
                           max_examples=10)
    assert result.status == "failed"
    assert result.counterexample is not None
    assert "sum to" in result.counterexample and "example: seed=" in result.counterexample


def test_the_suite_catches_a_score_that_is_not_the_weighted_sum(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_grade = sim.grading.grade

    def inflated(task: SupportTaskSpec, trace: object) -> GradeReport:
        report = real_grade(task, trace)  # type: ignore[arg-type]
        return report.model_copy(update={"score": min(1.0, report.score + 0.01)})

    monkeypatch.setattr(sim.testing.invariants, "grade", inflated)
    result = run_invariant(SEED, "score_is_weighted_criteria_minus_penalties",
                           world=standard_world, max_examples=10)
    assert result.status == "failed"
    assert "minus penalties" in (result.counterexample or "")


def test_the_suite_catches_an_oracle_that_is_not_perfect() -> None:
    class Idle:
        def act(self, observation: object) -> list[object]:
            return []

    result = run_invariant(SEED, "oracle_scores_one", world=standard_world, oracle=Idle,
                           max_examples=3)
    assert result.status == "failed"
    assert "the oracle scored" in (result.counterexample or "")


def test_the_oracle_is_played_in_every_world_first() -> None:
    result = run_invariant(SEED, "oracle_scores_one", world=standard_world,
                           oracle=OracleAgent, max_examples=1, personas=PERSONAS, faults=FAULTS)
    assert result.status == "passed"
    # Every persona with every subset of the faults, before any drawn example.
    assert result.examples >= len(PERSONAS) * 2 ** len(FAULTS)


def test_oracle_invariant_is_not_applicable_without_an_oracle() -> None:
    result = run_invariant(SEED, "oracle_scores_one", world=standard_world)
    assert result.status == "not_applicable"
    assert result.reason == "no oracle agent was given"


def test_a_world_instance_is_used_as_is() -> None:
    results = run_property_suite(
        SEED, world=standard_world("slow", ("eta_slips",)), oracle=OracleAgent, max_examples=3,
        invariants=["oracle_scores_one", "score_is_weighted_criteria_minus_penalties",
                    "ending_early_scores_well_below_the_oracle"],
    )
    assert [r.status for r in results] == ["passed", "passed", "passed"]


def test_unknown_invariant_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="allowed: oracle_scores_one"):
        run_invariant(SEED, "no_such_invariant", world=standard_world)


def test_check_task_on_a_file_reports_every_invariant() -> None:
    path = Path(__file__).parents[1] / "tasks" / "password_reset_easy.py"
    report = check_task(path, max_examples=3)
    assert isinstance(report, CheckReport)
    assert report.task_id == "password_reset_easy" and report.source == str(path)
    assert [r.name for r in report.results] == list(INVARIANT_NAMES)
    assert report.ok and report.exit_code == 0, report.render()
    for name in ("later_escalation_never_raises_score", "relay_without_the_facts_never_informs"):
        assert report.result(name).status == "not_applicable"
    text = report.render()
    assert "PASS oracle_scores_one" in text and "N/A  later_escalation" in text
    assert "PASS ending_early_scores_well_below_the_oracle" in text


def test_check_task_reports_a_failure_instead_of_raising(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sim.testing.checks, "step_rewards", lambda task, trace: [])
    report = check_task(SEED, max_examples=5, invariants=["step_rewards_sum_to_score",
                                                          "oracle_scores_one"])
    assert not report.ok and report.exit_code == 1
    assert [r.name for r in report.failures] == ["step_rewards_sum_to_score"]
    assert "FAIL step_rewards_sum_to_score" in report.render()
    assert "example: seed=" in report.render()
