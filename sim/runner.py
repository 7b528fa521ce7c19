"""Running many episodes concurrently in one ``trio.run``, under a concurrency limit.

Each episode has its own environment and clock, so running it among thousands of
others changes nothing in its trace. Results come back in job order.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import trio

from sim.episode import EpisodeConfig, EpisodeResult, World, run_episode
from tasks.base import SupportTaskSpec

__all__ = ["EpisodeJob", "run_episodes"]


@attrs.frozen
class EpisodeJob:
    """One episode to run. ``make_agent`` is called once, so agents never share state."""

    task: SupportTaskSpec
    make_agent: Callable[[], Any]
    world: World
    seed: int = 0
    agent_name: str = "custom"
    config: EpisodeConfig = attrs.field(factory=EpisodeConfig)


class _Unbuildable:
    """Stands in for an agent whose factory raised: its episode ends as ``agent_error``."""

    inline_safe = True

    def __init__(self, error: Exception) -> None:
        self.error = error

    def reset(self, task: SupportTaskSpec, seed: int) -> None:
        raise self.error

    def act(self, observation: Any) -> Any:
        raise self.error


async def run_episodes(
    jobs: Sequence[EpisodeJob],
    *,
    concurrency: int = 100,
    on_result: Callable[[int, EpisodeResult], None] | None = None,
) -> list[EpisodeResult]:
    """Run ``jobs`` with at most ``concurrency`` at once; ``on_result`` sees each as it ends."""
    if concurrency < 1:
        raise ValueError(f"concurrency {concurrency} is below 1; allowed: 1 or more")
    results: list[EpisodeResult | None] = [None] * len(jobs)
    limiter = trio.CapacityLimiter(concurrency)

    async def one(index: int, job: EpisodeJob) -> None:
        async with limiter:
            try:
                agent = job.make_agent()
            except Exception as error:  # agent code: fails its own episode only
                agent = _Unbuildable(error)
            result = await run_episode(
                job.task, agent, world=job.world, seed=job.seed,
                agent_name=job.agent_name, config=job.config,
            )
        results[index] = result
        if on_result is not None:
            on_result(index, result)

    # Episodes allocate many short-lived objects in reference cycles-free structures;
    # the cyclic collector only costs time here, so it is paused while they run.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        async with trio.open_nursery() as nursery:
            for index, job in enumerate(jobs):
                nursery.start_soon(one, index, job)
    finally:
        if was_enabled:
            gc.enable()
    return [r for r in results if r is not None]
