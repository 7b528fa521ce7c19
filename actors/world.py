"""The standard world: one customer with a persona, and a team per queue with faults."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Any

import attrs

from actors.customer import customer_actor, customer_plan
from actors.teams import check_fault, team_actor, update_after_seconds
from sim.episode import EpisodeState
from sim.kernel.environment import Environment
from sim.messages import CUSTOMER, TEAM_PREFIX
from sim.outlook import WorldOutlook, derive_outlook
from sim.task_memo import per_task
from tasks.base import SupportTaskSpec, check_persona

__all__ = ["StandardWorld"]


def _canonical_faults(faults: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(faults)))


@attrs.frozen
class StandardWorld:
    """The customer and the internal teams around the agent under test."""

    persona: str = "cooperative"
    faults: tuple[str, ...] = attrs.field(default=(), converter=_canonical_faults)

    def __attrs_post_init__(self) -> None:
        check_persona(self.persona)
        for fault in self.faults:
            check_fault(fault)

    def outlook(self, task: SupportTaskSpec) -> WorldOutlook:
        """What this persona and these faults let any agent reach on ``task``."""
        return _outlook(task, self.persona, self.faults)

    def populate(self, env: Environment, state: EpisodeState) -> None:
        env.spawn(CUSTOMER, customer_actor(state, self.persona))
        env.add_factory(TEAM_PREFIX, partial(self._team, state))

    def _team(self, state: EpisodeState, name: str) -> Any:
        queue = name.removeprefix(TEAM_PREFIX)
        return team_actor(state, queue, self.faults) if queue in state.task.catalog.queues else None


@per_task
def _outlook(task: SupportTaskSpec, persona: str, faults: tuple[str, ...]) -> WorldOutlook:
    """The outlook of a world: the same for every episode of (task, persona, faults)."""
    plan = customer_plan(task, persona)
    return derive_outlook(
        task, answers=plan.answers, answer_delay_seconds=plan.delay_seconds,
        first_answer_bad=plan.first_answer_bad, patience_seconds=plan.patience_seconds,
        update_after_seconds=update_after_seconds(task, faults),
    )
