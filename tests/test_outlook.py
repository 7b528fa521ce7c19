"""What a world lets any agent reach (sim.outlook), and what the grader makes of it.

``derive_outlook`` turns a world's few facts (does the customer answer, after how long,
what is bad in the first answer, when does the owning team's update come) and the task's
clock into: the fields no agent can receive in time (``undelivered``), whether a turn
comes late enough to chase (``chase_possible``), whether the update can be relayed
(``update_relayable``), whether the SLA can be met (``sla_reachable``), and the
world-adjusted gold. Every expected value below is worked out by hand from the timeline
in its comment; the grading tests at the end play episodes in such worlds.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from actors.agents.oracle import OracleAgent
from actors.world import StandardWorld
from sim.grading import grade, grade_events
from sim.outlook import WorldOutlook, derive_outlook, outlook_as_written
from sim.testing import check_report_arithmetic, replay
from sim.trace import Trace, TraceEvent
from tasks import SupportTaskSpec, discover_tasks

TASKS = discover_tasks()
API = TASKS["api_incident_hard"]
API_FIELDS = ("request_ids", "time_window", "regions", "payload_sample")
API_BAD = ("regions", "payload_sample")  # regions missing, payload_sample wrong
DUP = TASKS["duplicate_charge_easy"]
DUP_FIELDS = ("invoice_id", "last4_digits", "transaction_date")
VAGUE = TASKS["vague_bug_report_easy"]
SIG = TASKS["webhook_signature_bug_medium"]
SIG_BAD = ("sdk_version", "payload_sample")  # error_message is the one answered right
MINUTE = 60


def variant(task: SupportTaskSpec, **changes: Any) -> SupportTaskSpec:
    return SupportTaskSpec.model_validate({**task.model_dump(), **changes})


def outlook(task: SupportTaskSpec, persona: str = "cooperative",
            faults: tuple[str, ...] = ()) -> WorldOutlook:
    return StandardWorld(persona, faults).outlook(task)


def reply(message: str, fields: tuple[str, ...] | list[str] = ()) -> dict[str, Any]:
    return {"op": "reply", "message": message, "request_fields": list(fields)}


FINISH = {"op": "finish"}


# --------------------------------------------------------------------------- the model


def test_an_outlook_is_frozen_and_strict() -> None:
    world = WorldOutlook()
    assert world.chase_possible and world.update_relayable and world.sla_reachable
    assert world.undelivered == () and world.first_answer_bad == ()
    with pytest.raises(ValidationError):
        world.chase_possible = False  # type: ignore[misc]
    with pytest.raises(ValidationError):
        WorldOutlook.model_validate({"chase_possible": True, "gold": "escalated"})


def test_the_adjusted_gold_status() -> None:
    nothing_missing = WorldOutlook()
    missing = WorldOutlook(undelivered=("invoice_id",))
    # resolved / closed wait on the customer where a field never arrives ...
    assert nothing_missing.adjusted_gold_status(DUP) == "resolved"
    assert missing.adjusted_gold_status(DUP) == "pending"
    assert missing.adjusted_gold_status(TASKS["feature_request_easy"]) == "pending"
    assert nothing_missing.resolution_code_applies(DUP)
    assert not missing.resolution_code_applies(DUP)
    # ... any other gold status stays as it is, and so does its resolution code.
    assert missing.adjusted_gold_status(API) == "escalated"
    assert missing.resolution_code_applies(API)
    assert missing.adjusted_gold_status(VAGUE) == "pending"
    assert missing.resolution_code_applies(VAGUE)


# --------------------------------------------------------------------------- derive_outlook


def derive(task: SupportTaskSpec, **facts: Any) -> WorldOutlook:
    world: dict[str, Any] = {"answers": True, "answer_delay_seconds": 10 * MINUTE,
                             "first_answer_bad": (), "patience_seconds": 30 * MINUTE,
                             "update_after_seconds": 30 * MINUTE}
    return derive_outlook(task, **{**world, **facts})


def test_derive_the_seed_tasks_own_world() -> None:
    # Turns every 20 minutes, the last (turn 8) at minute 140. The first answer comes at
    # minute 10, seen at turn 2 (minute 20), which chases; the chased fields come at
    # minute 30. The update (minute 30) is seen at turn 3 (minute 40).
    world = derive(API, first_answer_bad=("payload_sample", "regions", "screenshot"))
    assert world == WorldOutlook(answer_delay_seconds=600, first_answer_bad=API_BAD,
                                 undelivered=(), chase_possible=True, update_relayable=True,
                                 sla_reachable=True)


def test_a_task_too_short_for_the_re_asked_fields_to_come_back() -> None:
    # Two turns, at minutes 0 and 20: turn 2 sees the first answer (minute 10) and can
    # chase, but the chased fields would come at minute 30, after the last turn. The
    # team's update (minute 30) comes after it too.
    short = variant(API, max_steps=2, under_escalation_deadline_step=2)
    world = derive(short, first_answer_bad=API_BAD)
    assert world.first_answer_bad == API_BAD
    assert world.undelivered == API_BAD
    assert world.chase_possible
    assert not world.update_relayable
    assert world.sla_reachable  # escalated: no field is needed for the status
    # One turn more (minute 40) and both come back in time.
    longer = derive(variant(API, max_steps=3), first_answer_bad=API_BAD)
    assert longer.undelivered == () and longer.update_relayable


def test_a_task_with_no_turn_after_the_first() -> None:
    # One turn, at minute 0: no answer is ever seen, no chase is possible.
    single = variant(API, max_steps=1, under_escalation_deadline_step=1)
    world = derive(single, first_answer_bad=API_BAD)
    assert not world.chase_possible
    assert world.undelivered == API_FIELDS
    assert not world.update_relayable


def test_what_a_turn_sets_off_at_once_is_seen_at_the_next_turn() -> None:
    # An answer (or update) due the instant it was set off comes after that turn's
    # operations: with a single turn, nobody ever sees it.
    single = variant(API, max_steps=1, under_escalation_deadline_step=1)
    world = derive(single, answer_delay_seconds=0, update_after_seconds=0)
    assert world.undelivered == API_FIELDS
    assert not world.chase_possible and not world.update_relayable
    # With two turns (minute 20 the last), the answer is seen there, not chased back.
    two = variant(API, max_steps=2, under_escalation_deadline_step=2)
    world = derive(two, answer_delay_seconds=0, first_answer_bad=API_BAD,
                   update_after_seconds=0)
    assert world.chase_possible and world.update_relayable
    assert world.undelivered == API_BAD


def test_the_update_is_relayable_when_a_turn_comes_at_or_after_it() -> None:
    three = variant(API, max_steps=3)  # the last turn at minute 40
    assert derive(three, update_after_seconds=40 * MINUTE).update_relayable
    assert not derive(three, update_after_seconds=40 * MINUTE + 1).update_relayable
    assert not derive(three, update_after_seconds=None).update_relayable


def test_a_customer_who_never_answers() -> None:
    # Every required field is bad and undelivered; a chase is possible once the patience
    # has run out (minute 30, seen at turn 3, minute 40) before the last turn.
    world = derive(API, answers=False, first_answer_bad=())
    assert world.first_answer_bad == API_FIELDS == world.undelivered
    assert world.chase_possible
    three = variant(API, max_steps=3)
    assert derive(three, answers=False, patience_seconds=40 * MINUTE).chase_possible
    assert not derive(three, answers=False, patience_seconds=40 * MINUTE + 1).chase_possible


def test_an_answer_slower_than_the_episode_delivers_nothing() -> None:
    # The answer would come at minute 150, after the last turn (minute 140).
    world = derive(API, answer_delay_seconds=150 * MINUTE, first_answer_bad=API_BAD)
    assert world.undelivered == API_FIELDS
    assert world.first_answer_bad == API_BAD
    assert not world.chase_possible


@pytest.mark.parametrize(
    ("sla_minutes", "reachable"),
    [(10, False), (14, False), (15, True), (240, True)],
)
def test_the_sla_of_a_resolved_task_needs_the_fields_seen_by_the_deadline(
    sla_minutes: int, reachable: bool
) -> None:
    # duplicate_charge_easy: turns every 15 minutes; the answers come at minute 10 and are
    # seen at turn 2 (minute 15): a deadline before minute 15 cannot be met by anyone.
    task = variant(DUP, ticket=DUP.ticket.model_copy(update={"sla_minutes_remaining": sla_minutes}))
    assert derive(task).sla_reachable is reachable
    assert outlook(task).sla_reachable is reachable


def test_the_sla_of_a_resolved_task_in_a_world_that_never_delivers() -> None:
    # The gold becomes pending, which needs no field: the SLA stays reachable.
    world = derive(DUP, answers=False)
    assert world.undelivered == DUP_FIELDS
    assert world.adjusted_gold_status(DUP) == "pending" and world.sla_reachable


def test_a_task_that_requires_no_fields() -> None:
    task = TASKS["feature_request_easy"]  # closed; the customer never answers
    world = derive(task, answers=False)
    assert world.first_answer_bad == () == world.undelivered
    assert not world.chase_possible  # nothing to chase
    assert world.sla_reachable and world.adjusted_gold_status(task) == "closed"


def test_a_resolved_task_too_short_for_the_chased_fields() -> None:
    # webhook_signature_bug_medium: turns every 15 minutes. With two turns (minute 15 the
    # last), the chased fields (asked again at minute 15, answered at minute 25) never
    # come: resolved becomes pending and the resolution code does not apply.
    two = variant(SIG, max_steps=2)
    world = outlook(two)
    assert world.first_answer_bad == SIG_BAD == world.undelivered
    assert world.chase_possible
    assert world.adjusted_gold_status(two) == "pending"
    assert not world.resolution_code_applies(two)
    # With three (minute 30 the last) they come in time and are seen at the last turn.
    three = variant(SIG, max_steps=3)
    assert outlook(three).undelivered == () and outlook(three).sla_reachable
    assert outlook(three).adjusted_gold_status(three) == "resolved"


# --------------------------------------------------------------------------- the standard world


def test_outlook_as_written_is_the_cooperative_standard_world() -> None:
    for task in TASKS.values():
        assert outlook_as_written(task) == outlook(task), task.task_id
    # Also where the two differed (patience): an outcome-none task with two turns, whose
    # customer might still answer (the slowest persona) at minute 40, after the last turn.
    short = variant(VAGUE, max_steps=2)
    assert outlook_as_written(short) == outlook(short)
    assert not outlook(short).chase_possible


@pytest.mark.parametrize(
    ("persona", "delay_minutes", "bad", "undelivered"),
    [
        ("cooperative", 10, API_BAD, ()),
        ("impatient", 10, API_BAD, ()),
        ("slow", 30, API_BAD, ()),  # 10 minutes + one turn; chased at 40, back at 70
        ("confused", 10, API_FIELDS, ()),
        ("silent", 10, API_FIELDS, API_FIELDS),
    ],
)
def test_the_seed_task_under_each_persona(
    persona: str, delay_minutes: int, bad: tuple[str, ...], undelivered: tuple[str, ...]
) -> None:
    world = outlook(API, persona)
    assert world.answer_delay_seconds == delay_minutes * MINUTE
    assert world.first_answer_bad == bad
    assert world.undelivered == undelivered
    assert world.chase_possible and world.update_relayable and world.sla_reachable
    assert world.adjusted_gold_status(API) == "escalated"


@pytest.mark.parametrize(
    ("persona", "bad", "gold"),
    [
        ("cooperative", (), "resolved"),
        ("slow", (), "resolved"),
        ("confused", DUP_FIELDS, "resolved"),  # wrong at minute 10, chased at 15, back at 25
        ("silent", DUP_FIELDS, "pending"),
    ],
)
def test_a_resolved_task_under_each_persona(persona: str, bad: tuple[str, ...], gold: str
                                            ) -> None:
    world = outlook(DUP, persona)
    assert world.first_answer_bad == bad
    assert world.adjusted_gold_status(DUP) == gold
    assert world.resolution_code_applies(DUP) is (gold == "resolved")
    assert world.sla_reachable


def test_a_slow_customer_can_make_the_sla_unreachable() -> None:
    # SLA at minute 25: a cooperative answer (minute 10) is seen at minute 15, a slow one
    # (10 + 15 = minute 25) only at minute 30.
    task = variant(DUP, ticket=DUP.ticket.model_copy(update={"sla_minutes_remaining": 25}))
    assert outlook(task, "cooperative").sla_reachable
    assert not outlook(task, "slow").sla_reachable


@pytest.mark.parametrize(
    ("faults", "relayable"),
    [((), True), (("eta_slips",), True), (("slow_eta",), False), (("team_silent",), False)],
)
def test_faults_decide_whether_the_update_can_be_relayed(
    faults: tuple[str, ...], relayable: bool
) -> None:
    # api_incident_hard with three turns (minute 40 the last): the update comes at minute
    # 30, 60 under slow_eta, never under team_silent.
    three = variant(API, max_steps=3)
    assert outlook(three, faults=faults).update_relayable is relayable
    assert outlook(API, faults=faults).update_relayable is (faults != ("team_silent",))


def test_faults_do_not_touch_the_customer() -> None:
    base = outlook(API, "confused")
    for fault in ("slow_eta", "eta_slips", "team_silent"):
        other = outlook(API, "confused", (fault,))
        assert other.model_dump(exclude={"update_relayable"}) == base.model_dump(
            exclude={"update_relayable"})


def test_a_customer_that_never_answers_leaves_a_chase_only_after_patience() -> None:
    # vague_bug_report_easy: outcome none, turns every 30 minutes, the last at minute 90;
    # the slowest customer would answer at minute 40, so the chase comes at minute 60.
    world = outlook(VAGUE)
    assert world.undelivered == VAGUE.required_requested_fields == world.first_answer_bad
    assert world.chase_possible
    assert world.adjusted_gold_status(VAGUE) == "pending"
    three = variant(VAGUE, max_steps=3)  # the last turn at minute 60
    assert outlook(three).chase_possible


# --------------------------------------------------------------------------- grading in a world


def play(task: SupportTaskSpec, turns: list[Any], persona: str = "cooperative",
         faults: tuple[str, ...] = ()) -> Any:
    result = replay(task, turns, world=StandardWorld, persona=persona, faults=faults)
    report = grade(task, result.trace)
    check_report_arithmetic(report)
    assert report.score == result.score
    assert result.trace.header.world == outlook(task, persona, faults)
    return report


def test_fields_that_cannot_come_back_in_time_count_once_chased() -> None:
    short = variant(API, max_steps=2, under_escalation_deadline_step=2)
    ask = reply("Please send these.", API_FIELDS)
    chase = reply("Could you send these again?", API_BAD)
    chased = play(short, [[ask], [chase, FINISH]])
    assert chased.breakdown()["fields_collected"] == 1.0
    assert chased.breakdown()["follow_up_handling"] == 1.0
    assert not chased.premature_status
    assert "kept_informed" in chased.dropped  # the update comes after the last turn
    not_chased = play(short, [[ask], [FINISH]])
    assert not_chased.breakdown()["fields_collected"] == pytest.approx(2 / 3)
    assert not_chased.premature_status


def test_where_no_chase_is_possible_asking_is_enough() -> None:
    single = variant(API, max_steps=1, under_escalation_deadline_step=1)
    asked = play(single, [[reply("Please send these.", API_FIELDS), FINISH]])
    assert asked.breakdown()["fields_collected"] == 1.0
    assert not asked.premature_status
    follow_up = asked.criterion("follow_up_handling")
    assert not follow_up.applies and follow_up.reason == "no turn comes late enough to chase"
    never = play(single, [[FINISH]])
    assert never.breakdown()["fields_collected"] == 0.0 and never.premature_status


def test_an_unreachable_sla_is_dropped() -> None:
    task = variant(DUP, ticket=DUP.ticket.model_copy(update={"sla_minutes_remaining": 10}))
    report = play(task, [[reply("Please send these.", DUP_FIELDS)],
                         [{"op": "set_status", "status": "resolved",
                           "resolution_code": "refund_issued"}]])
    sla = report.criterion("sla")
    assert not sla.applies and sla.reason == "no agent can meet the SLA in this world"
    assert report.breakdown()["status"] == 1.0


def test_the_same_events_grade_by_the_world_in_the_header() -> None:
    # A silent customer's episode: asked and chased, never answered. In its own world
    # the fields count; re-graded as if the customer had been cooperative, they do not.
    turns = [[reply("Please send these.", API_FIELDS)], [reply("Any news?", API_FIELDS)]]
    result = replay(API, turns, world=StandardWorld, persona="silent")
    in_its_world = grade(API, result.trace)
    assert in_its_world.breakdown()["fields_collected"] == 1.0
    as_written = grade_events(API, result.trace.events)
    assert as_written.breakdown()["fields_collected"] == 0.0
    header = result.trace.header.model_copy(update={"world": None})
    headerless = Trace(header=header, events=result.trace.events)
    assert grade(API, headerless) == as_written
    regraded = Trace.from_jsonl(result.trace.to_jsonl())
    assert regraded.header.world == outlook(API, "silent")
    assert grade(API, regraded) == in_its_world


def test_applicability_is_the_same_whatever_the_agent_does() -> None:
    scripts: list[list[Any]] = [
        [],
        [[FINISH]],
        [[reply("Please send these.", API_FIELDS),
          {"op": "escalate", "queue": "platform_engineering", "summary": "s"}], [], []],
        [[{"op": "escalate", "queue": "security", "summary": "s"}, reply("x", ["screenshot"])]],
    ]
    for persona, faults in (("cooperative", ()), ("silent", ("team_silent",)),
                            ("confused", ("slow_eta",))):
        dropped = {play(API, turns, persona, faults).dropped for turns in scripts}
        assert len(dropped) == 1, (persona, faults, dropped)


@pytest.mark.parametrize(
    "task",
    [variant(API, max_steps=2, under_escalation_deadline_step=2),
     variant(API, max_steps=1, under_escalation_deadline_step=1),
     variant(SIG, max_steps=2),
     variant(VAGUE, max_steps=2),
     variant(DUP, ticket=DUP.ticket.model_copy(update={"sla_minutes_remaining": 10}))],
    ids=["api-2-turns", "api-1-turn", "signature-2-turns", "vague-2-turns", "dup-sla-10"],
)
@pytest.mark.parametrize("persona", ["cooperative", "silent", "slow", "confused"])
def test_the_oracle_scores_one_in_hand_made_worlds(task: SupportTaskSpec, persona: str) -> None:
    for faults in ((), ("eta_slips",), ("team_silent",)):
        result = replay(task, [], world=StandardWorld, persona=persona, faults=faults,
                        agent=OracleAgent(), agent_name="oracle", privileged=True)
        assert result.score == 1.0, (persona, faults, result.breakdown)


def test_a_hand_built_trace_is_graded_in_the_world_as_written() -> None:
    # No header, no world: the task's own (partial follow-up) world applies.
    events = [TraceEvent(t=0, seq=0, actor="agent", kind="turn", payload={"turn": 1})]
    report = grade_events(API, events)
    assert report.criterion("follow_up_handling").applies
    assert report.criterion("kept_informed").applies
    silent = grade_events(API, events, outlook(API, "silent", ("team_silent",)))
    assert not silent.criterion("kept_informed").applies
