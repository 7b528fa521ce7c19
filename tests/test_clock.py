"""The simulated clock of an episode (SPEC §3): turns, delays and the SLA deadline.

An agent's real thinking time costs no simulated time; turns come every ``step_seconds``;
a message due at a turn's instant is in that turn's observation; at one instant turns come
before checks, so an SLA breach is seen at the next turn.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import trio
from episode_helpers import SEED_TASK, STEP, Recorder, events, play, times, variant

from actors import ScriptedAgent
from sim.observation import Observation

# -- turns -----------------------------------------------------------------------------


async def test_agent_real_thinking_time_costs_no_simulated_time() -> None:
    class SlowThinker:
        async def act(self, observation: Observation) -> list[Any]:
            await trio.sleep(0.05)
            return []

    started = time.perf_counter()
    result = await play(SlowThinker())
    assert time.perf_counter() - started >= 0.05 * SEED_TASK.max_steps
    assert result.agent_latency_max >= 0.05
    turns = events(result, "turn")
    assert [e.payload["turn"] for e in turns] == list(range(1, SEED_TASK.max_steps + 1))
    assert [e.t for e in turns] == [
        (k - 1) * SEED_TASK.sla_step_cost * 60 for k in range(1, SEED_TASK.max_steps + 1)
    ]
    assert result.sim_minutes == (SEED_TASK.max_steps - 1) * SEED_TASK.sla_step_cost


async def test_observation_clock_fields_follow_the_turns() -> None:
    agent = Recorder()
    await play(agent)
    for obs in agent.observations:
        assert obs.time_seconds == (obs.turn - 1) * STEP
        assert obs.sim_minutes == (obs.turn - 1) * SEED_TASK.sla_step_cost
        assert obs.turns_left == SEED_TASK.max_steps - obs.turn
        assert obs.minutes_to_sla == SEED_TASK.ticket.sla_minutes_remaining - obs.sim_minutes


@pytest.mark.parametrize("delay_minutes", [10, 3])
async def test_customer_answers_after_the_reply_delay(delay_minutes: int) -> None:
    task = variant(SEED_TASK, customer_reply_delay_minutes=delay_minutes)
    ask = {"op": "reply", "message": "Please send the request ids.",
           "request_fields": ["request_ids"]}
    result = await play(ScriptedAgent([[], [ask]]), task)
    (answer,) = events(result, "customer_answer")
    assert answer.payload["request_turn"] == 2
    assert answer.t == STEP + delay_minutes * 60


async def test_message_arriving_exactly_at_a_turn_is_in_that_turns_observation() -> None:
    # The answer to a turn-1 request and the team's ack land exactly at turn 2 (t=1200).
    task = variant(SEED_TASK, customer_reply_delay_minutes=20, team_ack_delay_minutes=20)
    agent = Recorder([[
        {"op": "reply", "message": "Please send the request ids.",
         "request_fields": ["request_ids"]},
        {"op": "escalate", "queue": "platform_engineering", "summary": "API incident"},
    ]])
    result = await play(agent, task)
    assert times(result, "customer_answer") == [STEP]
    assert times(result, "team_ack") == [STEP]
    turn2 = agent.at(2)
    kinds = {(m.kind, m.time_seconds) for m in turn2.messages}
    assert ("customer_answer", STEP) in kinds
    assert ("team_ack", STEP) in kinds
    # In the trace, both messages come before the turn they are shown in.
    seq_turn2 = next(e.seq for e in events(result, "turn") if e.payload["turn"] == 2)
    assert all(e.seq < seq_turn2 for e in events(result, "customer_answer"))
    assert not any(m.kind == "customer_answer" for m in agent.at(3).messages)


# -- the SLA deadline ------------------------------------------------------------------


async def test_turn_at_the_sla_deadline_counts_before_the_check() -> None:
    task = variant(SEED_TASK, ticket={**SEED_TASK.ticket.model_dump(),
                                      "sla_minutes_remaining": 40})
    agent = Recorder([[], [], [
        {"op": "reply", "message": "We are on it."},
        {"op": "escalate", "queue": "platform_engineering", "summary": "API incident"},
    ]])
    result = await play(agent, task)
    assert times(result, "sla_met") == [2 * STEP]
    assert events(result, "sla_breach") == []
    assert result.sla_breached is False


async def test_sla_breach_is_seen_at_the_next_turn() -> None:
    task = variant(SEED_TASK, ticket={**SEED_TASK.ticket.model_dump(),
                                      "sla_minutes_remaining": 40})
    agent = Recorder()
    result = await play(agent, task)
    (breach,) = events(result, "sla_breach")
    assert breach.t == 2 * STEP
    turn3_seq = next(e.seq for e in events(result, "turn") if e.payload["turn"] == 3)
    assert breach.seq > turn3_seq  # turns before checks at one instant
    assert agent.at(3).sla_breached is False
    assert not any(m.kind == "sla_breach" for m in agent.at(3).messages)
    assert agent.at(4).sla_breached is True
    assert [(m.sender, m.kind, m.time_seconds) for m in agent.at(4).messages] == [
        ("system", "sla_breach", 2 * STEP)
    ]
    assert result.sla_breached is True


async def test_sla_events_agree_with_the_result() -> None:
    # A ticket left escalated to the wrong team at the deadline: the grader says the SLA is
    # breached (the ticket never reached gold status "escalated" to its gold queue), so the
    # trace must hold the sla_breach event the agent and the customer are told about.
    task = variant(SEED_TASK, team_bounce_delay_minutes=200)
    agent = ScriptedAgent([[
        {"op": "reply", "message": "We have passed this on."},
        {"op": "escalate", "queue": "billing", "summary": "API incident"},
    ]])
    result = await play(agent, task, persona="impatient")
    assert result.sla_breached is True
    assert times(result, "sla_breach") == [task.sla_deadline_seconds]
    assert events(result, "sla_met") == []
    assert len(events(result, "customer_complaint")) == 1
