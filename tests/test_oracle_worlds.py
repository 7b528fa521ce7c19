"""The oracle scores 1.0 in every world, including worlds whose clock makes things
unreachable: grading version 2's applicability and world-adjusted gold (sim.outlook)
must agree with what the simulator lets an ideal agent do.

The shipped tasks are tested in every world by ``python -m bench.worlds`` and by the
property suite; here hypothesis also bends their clocks (turns, step cost, customer and
team delays, SLA), where off-by-one-turn mistakes in the outlook would show.
"""

from __future__ import annotations

import itertools
from typing import Any

import trio
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.episodes import simulate
from actors.teams import FAULTS
from sim.grading import grade
from tasks.base import PERSONAS, SupportTaskSpec
from tasks.registry import get_task, list_task_ids

FAULT_SETS = [c for n in range(len(FAULTS) + 1) for c in itertools.combinations(FAULTS, n)]


def _why(task: SupportTaskSpec, result: Any) -> str:
    return "; ".join(grade(task, result.trace).shortfall())


@st.composite
def bent_tasks(draw: st.DrawFn) -> SupportTaskSpec:
    data = get_task(draw(st.sampled_from(list_task_ids()))).model_dump()
    data["max_steps"] = draw(st.integers(1, 10))
    data["sla_step_cost"] = draw(st.sampled_from([1, 5, 10, 15, 30, 60]))
    data["customer_reply_delay_minutes"] = draw(st.sampled_from([0, 1, 10, 25, 60]))
    data["team_update_delay_minutes"] = draw(st.sampled_from([0, 5, 30, 90]))
    data["team_ack_delay_minutes"] = draw(st.sampled_from([0, 5]))
    data["ticket"]["sla_minutes_remaining"] = draw(st.sampled_from([1, 15, 30, 60, 240]))
    if data["under_escalation_deadline_step"] is not None:
        data["under_escalation_deadline_step"] = draw(st.integers(1, data["max_steps"]))
    return SupportTaskSpec.model_validate(data)


@settings(max_examples=60)
@given(task=bent_tasks(), persona=st.sampled_from(PERSONAS),
       faults=st.sampled_from(FAULT_SETS), seed=st.integers(0, 2**16))
def test_the_oracle_scores_one_in_every_world_of_bent_clocks(
    task: SupportTaskSpec, persona: str, faults: tuple[str, ...], seed: int
) -> None:
    result = trio.run(lambda: simulate(task, "oracle", seed=seed, persona=persona,
                                       faults=faults))
    assert result.score == 1.0, _why(task, result)


def test_the_oracle_scores_one_on_every_shipped_task_in_every_world() -> None:
    async def all_worlds() -> list[tuple[SupportTaskSpec, Any]]:
        out = []
        for task_id in list_task_ids():
            task = get_task(task_id)
            for persona, faults in itertools.product(PERSONAS, FAULT_SETS):
                out.append((task, await simulate(task, "oracle", seed=1, persona=persona,
                                                 faults=faults)))
        return out

    played = trio.run(all_worlds)
    assert len(played) == len(list_task_ids()) * len(PERSONAS) * len(FAULT_SETS)
    for task, result in played:
        assert result.score == 1.0, (task.task_id, result.persona, result.faults,
                                     _why(task, result))
