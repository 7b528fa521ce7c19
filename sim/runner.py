"""Running many episodes concurrently in one ``trio.run``, under a concurrency limit.

Each episode has its own environment and clock, so running it among thousands of
others changes nothing in its trace. Results come back in job order.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import attrs
import trio

from sim.episode import DEFAULT_CONFIG, EpisodeConfig, EpisodeResult, World, run_episode
from sim.kernel.executors import AgentFailure, as_agent_failure
from sim.kernel.taskpool import open_task_pool
from tasks.base import SupportTaskSpec

__all__ = ["EpisodeJob", "build_agent", "run_episodes", "tuned_collector"]


@attrs.frozen
class EpisodeJob:
    """One episode to run. ``make_agent`` is called once, so agents never share state."""

    task: SupportTaskSpec
    make_agent: Callable[[], Any]
    world: World
    seed: int = 0
    agent_name: str = "custom"
    config: EpisodeConfig = DEFAULT_CONFIG
    #: Hand the agent the whole task, gold included (SPEC §3: reference agents only).
    privileged: bool = False


class _Unbuildable:
    """Stands in for an agent whose factory raised: its episode ends as ``agent_error``."""

    inline_safe = True

    def __init__(self, error: AgentFailure) -> None:
        self.error = error

    def reset(self, task: SupportTaskSpec, seed: int) -> None:
        raise self.error

    def act(self, observation: Any) -> Any:
        raise self.error


def build_agent(make_agent: Callable[[], Any]) -> Any:
    """``make_agent()``; if it raises (anything: ``SystemExit`` too), a stand-in whose
    episode ends as ``agent_error`` with that error. A constructor is agent code: it fails
    its own episode only. (A cancellation or a real Ctrl-C is raised again.)"""
    try:
        return make_agent()
    except BaseException as error:
        return _Unbuildable(as_agent_failure(error))


@contextmanager
def tuned_collector() -> Iterator[None]:
    """Collect cyclic garbage rarely while many episodes run; for a process's entry point.

    Episodes make many short-lived objects; with the default thresholds the cyclic
    collector runs every few hundred allocations and rescans every live episode, which
    costs more the more episodes run at once. Inside this block the collector skips
    what existed before it (``gc.freeze``) and runs rarely (``gc.set_threshold(50000,
    20, 20)``), still freeing the cycles (tracebacks, trio internals) that do occur;
    leaving it restores the thresholds and unfreezes.

    Warning: this changes the whole process's collector, so only a process's entry
    point may enter it (the CLI, a sweep's worker process, a benchmark), once, around
    all its episodes: :func:`run_episodes` never does. Entered twice at once (nested, or
    from two threads), the inner exit restores the thresholds and unfreezes under the
    outer block. Import hypothesis, if it is used, before entering: as it loads it checks
    that registered randoms (trio's) are referenced, and frozen referrers are not seen.
    """
    old = gc.get_threshold()
    gc.freeze()  # what existed before the run is not rescanned
    gc.set_threshold(50_000, 20, 20)
    try:
        yield
    finally:
        gc.set_threshold(*old)
        gc.unfreeze()


async def run_episodes(
    jobs: Sequence[EpisodeJob],
    *,
    concurrency: int = 100,
    on_result: Callable[[int, EpisodeResult], None] | None = None,
    collect: bool = True,
) -> list[EpisodeResult]:
    """Run ``jobs`` with at most ``concurrency`` at once, and return their results in order.

    ``on_result(index, result)`` sees each result as its episode ends. With
    ``collect=False`` results are not kept (the list returned is empty): a long sweep
    that writes each result as it comes then holds only the episodes in flight. It
    leaves the garbage collector alone: an entry point that runs many episodes enters
    :func:`tuned_collector` around it.
    """
    if concurrency < 1:
        raise ValueError(f"concurrency {concurrency} is below 1; allowed: 1 or more")
    results: list[EpisodeResult | None] = [None] * len(jobs) if collect else []
    pending = iter(enumerate(jobs))

    async def worker() -> None:
        # Workers share one iterator: each takes the next job when its episode ends.
        for index, job in pending:
            # Awaited here, not in a helper: each of thousands of waiting episodes would
            # hold one coroutine frame more.
            result = await run_episode(job.task, build_agent(job.make_agent), world=job.world,
                                       seed=job.seed, agent_name=job.agent_name,
                                       config=job.config, pool=pool, privileged=job.privileged)
            if collect:
                results[index] = result
            if on_result is not None:
                on_result(index, result)

    # One pool lends every episode its actors' tasks: a spawn per actor would cost more.
    async with open_task_pool() as pool, trio.open_nursery() as nursery:
        for _ in range(min(concurrency, len(jobs))):
            nursery.start_soon(worker)
    return [r for r in results if r is not None]
