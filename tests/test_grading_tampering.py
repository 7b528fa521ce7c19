"""Tampering with the task: an agent writing to the copy it was handed changes nothing; a
write to the grader's own task, by the agent or the world, voids the episode.

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
    API_STATUS,
    API_TRIAGE,
    ASK,
    CHASE,
    FINISH,
    escalate,
    play,
    value,
    variant,
)

from actors.world import StandardWorld
from sim.testing import replay


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
