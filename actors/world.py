"""The standard world: one customer with a persona, and a team per queue with faults."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Any

import attrs

from actors.customer import customer_actor
from actors.teams import FAULTS, team_actor
from sim.environment import Environment
from sim.episode import EpisodeState
from sim.messages import CUSTOMER, TEAM_PREFIX
from tasks.base import PERSONAS

__all__ = ["StandardWorld"]


def _canonical_faults(faults: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(faults)))


@attrs.frozen
class StandardWorld:
    """The customer and the internal teams around the agent under test."""

    persona: str = "cooperative"
    faults: tuple[str, ...] = attrs.field(default=(), converter=_canonical_faults)

    def __attrs_post_init__(self) -> None:
        if self.persona not in PERSONAS:
            raise ValueError(
                f"persona {self.persona!r} is unknown; allowed: {', '.join(PERSONAS)}"
            )
        for fault in self.faults:
            if fault not in FAULTS:
                raise ValueError(f"fault {fault!r} is unknown; allowed: {', '.join(FAULTS)}")

    def populate(self, env: Environment, state: EpisodeState) -> None:
        env.spawn(CUSTOMER, customer_actor(state, self.persona))
        env.add_factory(TEAM_PREFIX, partial(self._team, state))

    def _team(self, state: EpisodeState, name: str) -> Any:
        queue = name.removeprefix(TEAM_PREFIX)
        return team_actor(state, queue, self.faults) if queue in state.task.catalog.queues else None
