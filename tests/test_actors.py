"""The actors around the agent: the customer, the teams, the oracle (SPEC §2, §3).

Episodes are driven by the oracle or by :class:`~sim.scripted.ScriptedAgent` with
explicit dict operations, and checked through their traces and observations.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from episode_helpers import SEED_TASK, Recorder, events, play, times, variant

from actors import ScriptedAgent, simulate
from actors.customer import MISSING_TEXT, NOT_RELEVANT_TEXT
from actors.field_values import correct_value, looks_valid, wrong_value
from sim.episode import EpisodeResult
from tasks import DEFAULT_CATALOG, PERSONAS, discover_tasks

STEP = SEED_TASK.step_seconds  # 20 simulated minutes = 1200 s
REQUIRED = list(SEED_TASK.required_requested_fields)
GOLD_QUEUE = SEED_TASK.gold_queue
ALL_TASKS = discover_tasks()


# -- helpers -----------------------------------------------------------------------------


def ask(*fields: str) -> dict[str, Any]:
    return {"op": "reply", "message": "Could you send these, please?",
            "request_fields": list(fields)}


def escalate(queue: str) -> dict[str, Any]:
    return {"op": "escalate", "queue": queue, "summary": "Production API incident"}


def answers(result: EpisodeResult) -> list[dict[str, dict[str, str]]]:
    return [e.payload["fields"] for e in events(result, "customer_answer")]


# -- 2. the oracle under every persona, and on every task --------------------------------

EXPECTED_END = {
    # Every persona but silent eventually gives every field; the oracle then finishes.
    "cooperative": ("finished", 3),
    "confused": ("finished", 3),  # all wrong at first, all right when asked again
    "impatient": ("finished", 3),  # nudges do not change the answers
    "slow": ("finished", 5),  # each answer misses one more turn
    # The silent customer never answers: once even the slowest customer would have
    # answered (turn 3, 40 minutes in), the oracle chases once, relays the team's update
    # and finishes, the ticket left escalated (the world-adjusted gold).
    "silent": ("finished", 3),
}


@pytest.mark.parametrize("persona", PERSONAS)
async def test_oracle_on_the_seed_task_under_each_persona(persona: str) -> None:
    result = await simulate(SEED_TASK, "oracle", seed=3, persona=persona)
    reason, steps = EXPECTED_END[persona]
    assert result.termination_reason == reason
    assert result.steps == steps
    assert result.error is None
    if persona == "silent":
        assert events(result, "customer_answer") == []
    else:
        assert set().union(*answers(result)) == set(REQUIRED)


@pytest.mark.parametrize("task_id", sorted(ALL_TASKS))
async def test_oracle_scores_one_on_every_shipped_task(task_id: str) -> None:
    task = ALL_TASKS[task_id]
    result = await simulate(task, "oracle", seed=7, persona="cooperative", faults=())
    assert result.score == 1.0, result.breakdown
    assert result.invalid_operations == 0
    assert result.termination_reason in ("finished", "max_steps")
    assert result.trace.result is not None
    assert result.trace.result.report is not None
    assert result.trace.result.report["penalties"] == []


# -- 3. a partial follow-up on the seed task ---------------------------------------------


async def test_partial_follow_up_then_a_second_request() -> None:
    agent = Recorder([
        [ask("request_ids", "time_window", "regions", "payload_sample")],
        [ask("regions", "payload_sample")],
    ])
    result = await play(agent, seed=21)
    first, second = answers(result)
    assert times(result, "customer_answer") == [600, STEP + 600]

    assert set(first) == set(REQUIRED)
    for field in ("request_ids", "time_window"):
        assert first[field]["status"] == "correct"
        assert looks_valid(field, first[field]["value"]), first[field]
    assert first["payload_sample"]["status"] == "wrong"
    assert not looks_valid("payload_sample", first["payload_sample"]["value"])
    assert first["regions"] == {"status": "missing", "value": MISSING_TEXT}
    assert MISSING_TEXT == "I don't have that right now"

    assert set(second) == {"regions", "payload_sample"}
    for field in ("regions", "payload_sample"):
        assert second[field]["status"] == "correct"
        assert looks_valid(field, second[field]["value"]), second[field]

    # The agent sees the same values in its observations, as field -> text.
    (msg2,) = [m for m in agent.at(2).messages if m.kind == "customer_answer"]
    assert msg2.sender == "customer"
    assert msg2.fields == {f: a["value"] for f, a in first.items()}
    (msg3,) = [m for m in agent.at(3).messages if m.kind == "customer_answer"]
    assert msg3.fields == {f: a["value"] for f, a in second.items()}
    assert result.breakdown["follow_up_handling"] == 1.0


async def test_correct_values_do_not_depend_on_the_persona() -> None:
    """The truth is derived from the seed: the same seed gives the same right values."""
    cooperative = await play(ScriptedAgent([[ask(*REQUIRED)], [ask(*REQUIRED)]]), seed=8)
    confused = await play(ScriptedAgent([[ask(*REQUIRED)], [ask(*REQUIRED)]]), seed=8,
                          persona="confused")
    right_first = answers(cooperative)[0]
    right_second = answers(confused)[1]
    for field in SEED_TASK.follow_up_provided_fields:
        assert right_first[field]["value"] == right_second[field]["value"]
    assert answers(cooperative)[1] == right_second  # asked twice: right both times


# -- 5. personas ----------------------------------------------------------------------


async def test_slow_customer_answers_after_the_next_turn() -> None:
    agent = Recorder([[ask("request_ids")]])
    result = await play(agent, persona="slow")
    (t,) = times(result, "customer_answer")
    assert STEP < t <= 2 * STEP
    assert not any(m.kind == "customer_answer" for m in agent.at(2).messages)
    assert any(m.kind == "customer_answer" for m in agent.at(3).messages)
    # A cooperative customer, for contrast, is seen at the next turn.
    quick = Recorder([[ask("request_ids")]])
    await play(quick, persona="cooperative")
    assert any(m.kind == "customer_answer" for m in quick.at(2).messages)


async def test_slow_customer_with_no_reply_delay_still_misses_the_next_turn() -> None:
    task = variant(SEED_TASK, customer_reply_delay_minutes=0)
    quick = Recorder([[ask("request_ids")]])
    await play(quick, task, persona="cooperative")
    assert any(m.kind == "customer_answer" for m in quick.at(2).messages)
    slow = Recorder([[ask("request_ids")]])
    await play(slow, task, persona="slow")
    # "slow: answers after the next turn" — the turn after the request must not see it.
    assert not any(m.kind == "customer_answer" for m in slow.at(2).messages)
    assert any(m.kind == "customer_answer" for m in slow.at(3).messages)


async def test_confused_customer_is_wrong_first_then_right() -> None:
    agent = Recorder([
        [ask(*REQUIRED, "invoice_id")],
        [ask(*REQUIRED, "invoice_id")],
    ])
    result = await play(agent, persona="confused", seed=4)
    first, second = answers(result)
    for field in REQUIRED:
        assert first[field]["status"] == "wrong", field
        assert not looks_valid(field, first[field]["value"]), first[field]
        assert second[field]["status"] == "correct", field
        assert looks_valid(field, second[field]["value"]), second[field]
    for answer in (first, second):
        assert answer["invoice_id"] == {"status": "not_relevant", "value": NOT_RELEVANT_TEXT}


async def test_fields_not_required_are_not_relevant() -> None:
    result = await play(ScriptedAgent([[ask("invoice_id", "request_ids", "screenshot")]]))
    (answer,) = answers(result)
    assert list(answer) == ["invoice_id", "request_ids", "screenshot"]  # in the order asked
    assert answer["invoice_id"] == {"status": "not_relevant", "value": "not relevant"}
    assert answer["screenshot"] == {"status": "not_relevant", "value": "not relevant"}
    assert answer["request_ids"]["status"] == "correct"


async def test_impatient_customer_nudges_every_15_minutes_and_complains_after_a_breach() -> None:
    agent = Recorder()  # never replies
    result = await play(agent, persona="impatient")
    last_turn = (SEED_TASK.max_steps - 1) * STEP
    assert times(result, "customer_nudge") == list(range(900, last_turn + 1, 900))
    (breach,) = events(result, "sla_breach")
    (complaint,) = events(result, "customer_complaint")
    assert complaint.seq > breach.seq
    assert complaint.t >= breach.t
    assert complaint.actor == "customer"
    # The agent is shown the nudges and the complaint.
    seen = [(m.kind, m.time_seconds) for o in agent.observations for m in o.messages]
    assert ("customer_nudge", 900) in seen
    assert ("customer_complaint", complaint.t) in seen


async def test_a_public_reply_resets_the_impatient_clock() -> None:
    result = await play(ScriptedAgent([[], [{"op": "reply", "message": "Looking into it."}]]),
                        persona="impatient")
    nudges = times(result, "customer_nudge")
    assert nudges[:3] == [900, STEP + 900, STEP + 1800]
    assert STEP not in nudges


async def test_cooperative_customer_never_nudges_or_complains() -> None:
    result = await play(ScriptedAgent(), persona="cooperative")
    assert events(result, "sla_breach")  # breached, but this customer does not complain
    assert events(result, "customer_nudge") == []
    assert events(result, "customer_complaint") == []


async def test_silent_customer_never_answers() -> None:
    result = await play(ScriptedAgent([[ask(*REQUIRED)], [ask(*REQUIRED)], [ask("invoice_id")]]),
                        persona="silent")
    assert events(result, "customer_answer") == []
    assert events(result, "customer_nudge") == []
    assert result.termination_reason == "max_steps"


# -- 6. teams ---------------------------------------------------------------------------


@pytest.mark.parametrize(("ack", "update"), [(5, 30), (7, 25)])
async def test_gold_team_acknowledges_then_sends_its_update(ack: int, update: int) -> None:
    task = variant(SEED_TASK, team_ack_delay_minutes=ack, team_update_delay_minutes=update)
    agent = Recorder([[], [escalate(GOLD_QUEUE)]])  # escalated at turn 2, t=1200
    result = await play(agent, task)
    (ack_event,) = events(result, "team_ack")
    (update_event,) = events(result, "team_update")
    assert ack_event.t == STEP + ack * 60
    assert update_event.t == STEP + update * 60
    assert ack_event.actor == update_event.actor == f"team:{GOLD_QUEUE}"
    assert update_event.payload["text"] == task.follow_up_message
    seen = [(m.sender, m.kind, m.text) for o in agent.observations for m in o.messages]
    assert (f"team:{GOLD_QUEUE}", "team_update", task.follow_up_message) in seen
    assert agent.at(3).ticket.status == "escalated"
    assert agent.at(3).ticket.escalated_to == GOLD_QUEUE


@pytest.mark.parametrize("queue", [q for q in DEFAULT_CATALOG.queues if q != GOLD_QUEUE])
async def test_other_team_bounces_without_naming_the_gold_queue(queue: str) -> None:
    agent = Recorder([[escalate(queue)]])
    result = await play(agent)
    (bounce,) = events(result, "team_bounce")
    assert bounce.t == SEED_TASK.team_bounce_delay_minutes * 60
    assert bounce.actor == f"team:{queue}"
    assert bounce.payload["reopened"] is True
    text = bounce.payload["text"].lower()
    for name in (GOLD_QUEUE, GOLD_QUEUE.replace("_", " "), "platform", "engineering"):
        assert name not in text, name
    assert events(result, "team_ack") == [] and events(result, "team_update") == []
    turn2 = agent.at(2)
    assert turn2.ticket.status == "open"
    assert turn2.ticket.escalated_to is None
    assert [(m.sender, m.kind) for m in turn2.messages] == [(f"team:{queue}", "team_bounce")]


async def test_bounce_delay_comes_from_the_task() -> None:
    task = variant(SEED_TASK, team_bounce_delay_minutes=3)
    result = await play(ScriptedAgent([[], [escalate("billing")]]), task)
    assert times(result, "team_bounce") == [STEP + 180]


async def test_slow_eta_fault_doubles_the_update_delay() -> None:
    result = await play(ScriptedAgent([[escalate(GOLD_QUEUE)]]), faults=("slow_eta",))
    assert times(result, "team_ack") == [SEED_TASK.team_ack_delay_minutes * 60]
    assert times(result, "team_update") == [2 * SEED_TASK.team_update_delay_minutes * 60]


async def test_eta_slips_fault_sends_a_second_update_20_minutes_later() -> None:
    result = await play(ScriptedAgent([[escalate(GOLD_QUEUE)]]), faults=("eta_slips",))
    first_at = SEED_TASK.team_update_delay_minutes * 60
    assert times(result, "team_update") == [first_at, first_at + 20 * 60]
    updates = events(result, "team_update")
    assert updates[0].payload["text"] == SEED_TASK.follow_up_message
    assert updates[1].payload["text"] != SEED_TASK.follow_up_message


async def test_team_silent_fault() -> None:
    result = await simulate(SEED_TASK, "oracle", seed=2, persona="cooperative",
                            faults=("team_silent",))
    assert events(result, "team_ack") == []
    assert events(result, "team_update") == []
    (silent,) = events(result, "team_silent")
    assert silent.actor == f"team:{GOLD_QUEUE}"
    assert result.trace.result is not None and result.trace.result.report is not None
    report = result.trace.result.report
    kept = next(c for c in report["criteria"] if c["name"] == "kept_informed")
    assert kept["applies"] is False
    assert kept["value"] is None
    assert "kept_informed" in report["dropped"]
    assert result.breakdown["kept_informed"] is None


async def test_without_the_fault_kept_informed_applies() -> None:
    result = await simulate(SEED_TASK, "oracle", seed=2, persona="cooperative")
    assert result.breakdown["kept_informed"] == 1.0


# -- field values ----------------------------------------------------------------------


@pytest.mark.parametrize("field", [*DEFAULT_CATALOG.fields, "a_field_a_task_added"])
def test_right_values_look_valid_and_wrong_ones_do_not(field: str) -> None:
    rng = random.Random(99)
    for _ in range(200):
        right = correct_value(field, rng)
        wrong = wrong_value(field, right, rng)
        assert looks_valid(field, right), right
        assert not looks_valid(field, wrong), (right, wrong)
        assert wrong != right


def test_field_values_are_reproducible_from_the_rng() -> None:
    first = [correct_value(f, random.Random(5)) for f in DEFAULT_CATALOG.fields]
    again = [correct_value(f, random.Random(5)) for f in DEFAULT_CATALOG.fields]
    other = [correct_value(f, random.Random(6)) for f in DEFAULT_CATALOG.fields]
    assert first == again
    assert first != other
