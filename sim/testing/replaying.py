"""Playing a list of turns through the real simulator.

:class:`~sim.scripted.ScriptedAgent` plays turn k of the episode from ``turn_list[k-1]``
and waits once the list runs out. The toolkit never imports :mod:`actors` (imports point
tasks <- sim <- actors), so the world around the agent is a parameter:

- ``world``: a factory called as ``world(persona, faults)`` that returns a
  :class:`~sim.episode.World` (``actors.world.StandardWorld`` is one), or a ``World``
  instance used as is for every run.

:func:`replay` runs one episode in a fresh ``trio.run``; :func:`replay_async` does it in a
running loop; :func:`scripted_job` and :func:`replay_many` run many concurrently.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import trio

from sim.episode import EpisodeConfig, EpisodeResult, World, run_episode
from sim.runner import EpisodeJob, run_episodes
from sim.scripted import ScriptedAgent
from tasks.base import SupportTaskSpec

#: Builds the world around the agent: ``world(persona, faults)``.
WorldFactory = Callable[[str, tuple[str, ...]], World]
#: A world factory, or one world used for every run.
WorldLike = World | WorldFactory


def fixed_world(world: WorldLike) -> World | None:
    """``world`` when it is one world used as is, ``None`` when it is a factory."""
    if isinstance(world, type) or not callable(getattr(world, "populate", None)):
        return None
    instance: World = world  # type: ignore[assignment]
    return instance


def resolve_world(
    world: WorldLike, persona: str | None, faults: Sequence[str], task: SupportTaskSpec
) -> World:
    """The world for one run: ``world(persona, faults)``, or ``world`` itself.

    ``persona`` defaults to the task's own. A ``World`` instance is used as is, so asking
    it for another persona or for faults it does not have is a :class:`ValueError`.
    """
    wanted = persona or task.default_persona
    instance = fixed_world(world)
    if instance is None:
        factory: WorldFactory = world  # type: ignore[assignment]
        return factory(wanted, tuple(faults))
    if (persona is not None and persona != instance.persona) or (
        faults and tuple(sorted(faults)) != tuple(sorted(instance.faults))
    ):
        raise ValueError(
            f"world {instance!r} has persona {instance.persona!r} and faults "
            f"{list(instance.faults)!r}; allowed: a world factory to run persona {wanted!r} "
            f"with faults {list(faults)!r}"
        )
    return instance


class YieldingScript:
    """:class:`ScriptedAgent` as an async agent that yields to trio before each decision."""

    def __init__(self, turns: Sequence[Any] = ()) -> None:
        self.script = ScriptedAgent(turns)

    async def act(self, observation: Any) -> Any:
        await trio.sleep(0)
        return self.script.act(observation)


def scripted_job(
    task: SupportTaskSpec,
    turn_list: Sequence[Any],
    *,
    world: WorldLike,
    seed: int = 0,
    persona: str | None = None,
    faults: Sequence[str] = (),
    config: EpisodeConfig | None = None,
    agent_name: str = "scripted",
) -> EpisodeJob:
    """An :class:`~sim.runner.EpisodeJob` in which :class:`ScriptedAgent` plays ``turn_list``."""
    turns_copy = list(turn_list)
    return EpisodeJob(
        task=task, make_agent=lambda: ScriptedAgent(turns_copy),
        world=resolve_world(world, persona, faults, task), seed=seed, agent_name=agent_name,
        config=config or EpisodeConfig(),
    )


async def replay_async(
    task: SupportTaskSpec,
    turn_list: Sequence[Any],
    *,
    world: WorldLike,
    seed: int = 0,
    persona: str | None = None,
    faults: Sequence[str] = (),
    config: EpisodeConfig | None = None,
    agent: Any = None,
    agent_name: str = "scripted",
    privileged: bool = False,
) -> EpisodeResult:
    """:func:`replay` inside a running trio loop. ``agent`` replaces the scripted agent
    (``privileged``: it is handed the whole task, as a reference agent)."""
    player = agent if agent is not None else ScriptedAgent(turn_list)
    return await run_episode(
        task, player, world=resolve_world(world, persona, faults, task), seed=seed,
        agent_name=agent_name, config=config, privileged=privileged,
    )


def replay(
    task: SupportTaskSpec,
    turn_list: Sequence[Any],
    *,
    world: WorldLike,
    seed: int = 0,
    persona: str | None = None,
    faults: Sequence[str] = (),
    config: EpisodeConfig | None = None,
    agent: Any = None,
    agent_name: str = "scripted",
    privileged: bool = False,
) -> EpisodeResult:
    """Play ``turn_list`` through the real simulator in a fresh ``trio.run``.

    Turn k of the episode is ``turn_list[k-1]``; once the list runs out the agent waits.
    The result carries the score, the breakdown and the trace (``result.trace``).
    """
    return trio.run(lambda: replay_async(
        task, turn_list, world=world, seed=seed, persona=persona, faults=faults,
        config=config, agent=agent, agent_name=agent_name, privileged=privileged,
    ))


def replay_many(jobs: Sequence[EpisodeJob], *, concurrency: int = 100) -> list[EpisodeResult]:
    """Run many :func:`scripted_job` jobs concurrently in one ``trio.run``; results in order."""
    return trio.run(lambda: run_episodes(jobs, concurrency=concurrency))
