"""Helpers shared by the kernel and actor tests: play an episode, record what it saw."""

from __future__ import annotations

from typing import Any

from actors import ScriptedAgent, StandardWorld
from sim.episode import EpisodeConfig, EpisodeResult, run_episode
from sim.observation import Observation
from tasks import SupportTaskSpec, get_task

SEED_TASK = get_task("api_incident_hard")


def variant(task: SupportTaskSpec, **changes: Any) -> SupportTaskSpec:
    """A validated copy of ``task`` with some fields changed."""
    return SupportTaskSpec.model_validate({**task.model_dump(), **changes})


class Recorder(ScriptedAgent):
    """A scripted agent that keeps every observation it was shown."""

    def __init__(self, turns: Any = ()) -> None:
        super().__init__(turns)
        self.observations: list[Observation] = []

    def act(self, observation: Any) -> Any:
        self.observations.append(observation)
        return super().act(observation)

    def at(self, turn: int) -> Observation:
        return next(o for o in self.observations if o.turn == turn)


async def play(
    agent: Any,
    task: SupportTaskSpec = SEED_TASK,
    *,
    persona: str = "cooperative",
    faults: tuple[str, ...] = (),
    seed: int = 0,
    config: EpisodeConfig | None = None,
) -> EpisodeResult:
    """One episode of ``agent`` in the standard world."""
    return await run_episode(
        task, agent, world=StandardWorld(persona=persona, faults=faults), seed=seed,
        agent_name="test", config=config,
    )


def events(result: EpisodeResult, kind: str | None = None) -> list[Any]:
    return [e for e in result.trace.events if kind is None or e.kind == kind]


def times(result: EpisodeResult, kind: str) -> list[int]:
    return [e.t for e in events(result, kind)]
