"""The rules of a turn and of an episode's end (SPEC §3).

An episode ends when the agent finishes, sets a terminal status, or runs out of turns.
Operations apply in order, as models or as dicts alike, even after a ``finish`` in the same
turn; an invalid operation is rejected on its own, counted, and reported once, in the next
observation.
"""

from __future__ import annotations

from typing import Any

import pytest
from episode_helpers import SEED_TASK, Recorder, events, play

from actors import ScriptedAgent
from sim.trace import Trace

# -- how episodes end ------------------------------------------------------------------


async def test_finish_ends_the_episode() -> None:
    result = await play(ScriptedAgent([[], [{"op": "note", "text": "done"}, {"op": "finish"}]]))
    assert result.termination_reason == "finished"
    assert result.steps == 2
    (end,) = events(result, "end")
    assert end.payload == {"reason": "finished", "turn": 2}
    assert result.trace.events[-1].kind == "end"
    assert result.trace.result is not None
    assert result.trace.result.termination_reason == "finished"


@pytest.mark.parametrize("status", ["resolved", "closed"])
async def test_terminal_status_ends_the_episode(status: str) -> None:
    result = await play(ScriptedAgent([
        [{"op": "set_status", "status": "pending"}],
        [],
        [{"op": "set_status", "status": status, "resolution_code": "answered"}],
    ]))
    assert result.termination_reason == "finished"
    assert result.steps == 3


async def test_running_out_of_turns_is_max_steps() -> None:
    result = await play(ScriptedAgent([[{"op": "set_status", "status": "pending"}]]))
    assert result.termination_reason == "max_steps"
    assert result.steps == SEED_TASK.max_steps
    assert result.error is None
    (end,) = events(result, "end")
    assert end.payload == {"reason": "max_steps", "turn": SEED_TASK.max_steps}
    assert len(events(result, "turn")) == SEED_TASK.max_steps


# -- operations: forms and order -------------------------------------------------------


async def test_operation_models_and_dicts_give_the_same_trace() -> None:
    from sim.operations import Escalate, Finish, FlagRisk, Note, Reply, SetFields, SetStatus

    models = [
        [SetFields(queue="platform_engineering", priority="urgent"),
         FlagRisk(flags=("p1_incident",)),
         Reply(message="We acknowledge the incident.", request_fields=("regions",)),
         Note(text="status page"),
         Escalate(queue="platform_engineering", summary="API incident"),
         SetStatus(status="escalated", resolution_code="runbook_investigation")],
        [Finish()],
    ]
    dicts = [
        [{"op": "set_fields", "queue": "platform_engineering", "priority": "urgent"},
         {"op": "flag_risk", "flags": ["p1_incident"]},
         {"op": "reply", "message": "We acknowledge the incident.",
          "request_fields": ["regions"]},
         {"op": "note", "text": "status page"},
         {"op": "escalate", "queue": "platform_engineering", "summary": "API incident"},
         {"op": "set_status", "status": "escalated",
          "resolution_code": "runbook_investigation"}],
        [{"op": "finish"}],
    ]
    by_model = await play(ScriptedAgent(models))
    by_dict = await play(ScriptedAgent(dicts))
    assert by_model.invalid_operations == 0
    assert by_model.trace.to_jsonl() == by_dict.trace.to_jsonl()
    assert len(events(by_model, "operation")) == 7


async def test_operations_after_finish_in_the_same_turn_still_apply() -> None:
    agent = ScriptedAgent([[{"op": "finish"}, {"op": "set_fields", "priority": "urgent"}]])
    result = await play(agent)
    assert result.termination_reason == "finished"
    assert result.steps == 1
    ops = [e.payload["op"]["op"] for e in events(result, "operation")]
    assert ops == ["finish", "set_fields"]
    assert result.breakdown["priority"] == 1.0


# -- invalid operations ----------------------------------------------------------------


INVALID_CASES = {
    "unknown_op": [{"op": "dance", "style": "tango"}],
    "queue_not_in_catalog": [{"op": "escalate", "queue": "nowhere", "summary": "x"}],
    "reply_too_long": [{"op": "reply", "message": "x" * 1001}],
    "nine_operations": [{"op": "note", "text": f"note {i}"} for i in range(9)],
    "turn_not_a_list": "finish",
}


@pytest.mark.parametrize("case", list(INVALID_CASES))
async def test_invalid_operation_is_reported_and_counted(case: str) -> None:
    agent = Recorder([INVALID_CASES[case], [], [{"op": "finish"}]])
    result = await play(agent)
    assert result.termination_reason == "finished"
    assert result.steps == 3
    assert result.invalid_operations == 1
    assert result.trace.result is not None
    assert result.trace.result.report is not None
    assert result.trace.result.report["invalid_operations"] == 1
    results = agent.at(2).results
    bad = [r for r in results if not r.ok]
    assert len(bad) == 1
    error = bad[0].error
    assert error and "\n" not in error
    assert len(error) < 1000
    assert agent.at(3).results == ()  # reported once, in the next observation only
    if case == "nine_operations":
        assert sum(r.ok for r in results) == 8
    assert [e for e in events(result) if e.kind in ("invalid_operation", "invalid_turn")]


async def test_invalid_operations_in_one_turn_are_each_reported_in_order() -> None:
    agent = Recorder([[
        {"op": "dance"},
        {"op": "escalate", "queue": "nowhere", "summary": "x"},
        {"op": "reply", "message": "y" * 1001},
        {"op": "set_fields", "priority": "urgent"},
    ], [{"op": "finish"}]])
    result = await play(agent)
    results = agent.at(2).results
    assert [(r.index, r.op, r.ok) for r in results] == [
        (0, "dance", False), (1, "escalate", False), (2, "reply", False),
        (3, "set_fields", True),
    ]
    assert "dance" in (results[0].error or "")
    assert "nowhere" in (results[1].error or "")
    assert "1000" in (results[2].error or "")
    assert agent.at(2).ticket.priority == "urgent"  # the valid one still applied
    assert agent.at(2).ticket.status == "open"  # the rejected escalation did nothing
    assert result.invalid_operations == 3
    assert events(result, "customer_answer") == []


@pytest.mark.parametrize("turn", [
    [{"op": 10**5000}],
    [{"op": "dance", "n": 10**5000}],
], ids=["huge_int_op_name", "huge_int_in_unknown_op"])
async def test_hostile_operation_values_are_invalid_operations_not_sim_errors(turn: Any) -> None:
    agent = Recorder([turn, [{"op": "finish"}]])
    result = await play(agent)
    assert result.termination_reason == "finished", result.error
    assert result.invalid_operations == 1
    assert [r.ok for r in agent.at(2).results] == [False]
    text = result.trace.to_jsonl()  # the trace can still be written
    assert Trace.from_jsonl(text).to_jsonl() == text
