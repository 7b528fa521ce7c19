"""The one-call API: run an episode, or many, by names (agent, persona, faults)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import trio

from actors.agents.loading import PRIVILEGED_AGENTS, AgentLoadError, resolve_agent
from actors.world import StandardWorld
from sim.episode import DEFAULT_CONFIG, EpisodeConfig, EpisodeResult, run_episode
from sim.runner import EpisodeJob, build_agent, run_episodes
from tasks.base import SupportTaskSpec

if TYPE_CHECKING:
    from actors.agents.llm import LLMConfig

__all__ = [
    "DEFAULT_AGENT_TIMEOUT",
    "LLM_AGENT_TIMEOUT",
    "default_agent_timeout",
    "make_job",
    "simulate",
    "simulate_many",
]

#: Real seconds a decision (or reset) may take before its episode ends as agent_timeout.
DEFAULT_AGENT_TIMEOUT = 60.0
#: The same for the LLM agent. Its requests have their own timeout and retries, and a
#: decision may first wait for a request slot behind other episodes (the in-flight
#: bound), so the episode's limit is there only to catch a hang.
LLM_AGENT_TIMEOUT = 3600.0
_LLM_CONFIG = EpisodeConfig(agent_timeout=LLM_AGENT_TIMEOUT)


def default_agent_timeout(llm: LLMConfig | None) -> float:
    """The agent timeout when none is given: :data:`LLM_AGENT_TIMEOUT` for the LLM agent."""
    return DEFAULT_AGENT_TIMEOUT if llm is None else LLM_AGENT_TIMEOUT


def make_job(
    task: SupportTaskSpec,
    agent: str | Callable[[], Any] = "oracle",
    *,
    seed: int = 0,
    persona: str | None = None,
    faults: Iterable[str] = (),
    config: EpisodeConfig | None = None,
    agent_name: str | None = None,
    privileged: bool = False,
    llm: LLMConfig | None = None,
) -> EpisodeJob:
    """An :class:`~sim.runner.EpisodeJob` for the standard world.

    ``agent`` is a name (see :func:`actors.agents.loading.resolve_agent`) or a factory;
    ``persona`` defaults to the task's own. ``privileged`` hands the agent a private
    copy of the whole task, gold included, in ``reset`` (for reference agents); the
    built-in ``oracle`` is privileged by itself. ``llm`` configures the agent named
    ``"llm"`` (and only it): ``make_job(task, "llm", llm=LLMConfig(model="gpt-4o-mini"))``.
    """
    if isinstance(agent, str):
        factory = resolve_agent(agent, llm=llm)
    elif llm is not None:
        raise AgentLoadError("llm=LLMConfig(...) is given with an agent factory; allowed: "
                             "it with the agent name 'llm' only")
    else:
        factory = agent
    name: str = agent_name or (
        agent if isinstance(agent, str) else str(getattr(agent, "__qualname__", "custom"))
    )
    world = _world(persona or task.default_persona, tuple(faults))
    return EpisodeJob(task=task, make_agent=factory, world=world, seed=seed,
                      agent_name=name,
                      config=config or (DEFAULT_CONFIG if llm is None else _LLM_CONFIG),
                      privileged=privileged or factory in PRIVILEGED_AGENTS)


@lru_cache(maxsize=256)
def _world(persona: str, faults: tuple[str, ...]) -> StandardWorld:
    # Shared between jobs (a world is frozen): a sweep of a million jobs holds a few.
    return StandardWorld(persona=persona, faults=faults)


async def simulate(task: SupportTaskSpec, agent: str | Callable[[], Any] = "oracle",
                   **options: Any) -> EpisodeResult:
    """Run one episode in the current trio run (see :func:`make_job` for the options,
    ``llm=LLMConfig(...)`` with the agent ``"llm"`` among them)."""
    job = make_job(task, agent, **options)
    return await run_episode(job.task, build_agent(job.make_agent), world=job.world,
                             seed=job.seed, agent_name=job.agent_name, config=job.config,
                             privileged=job.privileged)


def simulate_many(jobs: Sequence[EpisodeJob], *, concurrency: int = 100) -> list[EpisodeResult]:
    """Run ``jobs`` concurrently in a fresh ``trio.run``; results in job order."""
    return trio.run(lambda: run_episodes(jobs, concurrency=concurrency))
