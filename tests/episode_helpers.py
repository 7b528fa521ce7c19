"""Helpers shared by the episode tests: play an episode in the standard world, record what
the agent saw, read the trace back by kind, and agents that decide like the oracle but take
real time to do it (real time must never show in a trace).
"""

from __future__ import annotations

import random
import time
from typing import Any

import trio

from actors import OracleAgent, ScriptedAgent, StandardWorld
from sim.episode import EpisodeConfig, EpisodeResult, run_episode
from sim.observation import Observation
from tasks import SupportTaskSpec, get_task

#: The seed task: partial follow-up (request_ids and time_window right, regions missing,
#: payload_sample wrong), escalation to platform_engineering by turn 3.
API = "api_incident_hard"
SEED_TASK = get_task(API)
STEP = SEED_TASK.step_seconds  # 20 simulated minutes


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


class SleepyAsyncOracle:
    """The oracle, after a real (wall-clock) pause of 0-``max_delay`` s before each decision."""

    def __init__(self, max_delay: float = 0.02) -> None:
        self.oracle = OracleAgent()
        self.rng = random.Random()  # real randomness on purpose: latency must not matter
        self.max_delay = max_delay

    def reset(self, task: SupportTaskSpec, seed: int) -> None:
        self.oracle.reset(task, seed)

    async def act(self, observation: Observation) -> Any:
        await trio.sleep(self.rng.uniform(0, self.max_delay))
        return self.oracle.act(observation)


class SleepyThreadOracle:
    """A sync agent (run in a worker thread) that blocks 0-20 ms before each decision."""

    def __init__(self) -> None:
        self.oracle = OracleAgent()
        self.rng = random.Random()

    def reset(self, task: SupportTaskSpec, seed: int) -> None:
        self.oracle.reset(task, seed)

    def act(self, observation: Observation) -> Any:
        time.sleep(self.rng.uniform(0, 0.02))
        return self.oracle.act(observation)
