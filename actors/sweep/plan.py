"""A sweep's plan (what to run) and its rows: which row of a results file is which episode.

Episode ``i`` of a plan is found by arithmetic over tasks × personas × seeds, in that
order, and a row's episode the same way back (:class:`PlanIndex`), so a plan of a
million episodes is never held as a list. A plan of the ``llm`` agent carries its
:class:`~actors.agents.llm.LLMConfig`, whose bound on requests in flight is the whole
sweep's (:meth:`SweepPlan.split` shares it out between the worker processes).
:func:`episode_rows` is the one pass over a results file that both the resume scan and
the summary make: each episode's first row, rows of other plans left out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from actors.agents.loading import PRIVILEGED_AGENTS, resolve_agent
from actors.world import StandardWorld
from sim.kernel.executors import Executor
from sim.results import ReadCounts
from tasks.registry import discover_families

if TYPE_CHECKING:
    from actors.agents.llm import LLMConfig

__all__ = ["EpisodeBits", "PlanIndex", "SweepError", "SweepPlan", "episode_rows"]


class SweepError(ValueError):
    """A sweep that cannot run as asked (its plan, its folder); ``str(error)`` is one
    line for the user, naming what is wrong and what is allowed."""


def _once_each(names: Sequence[str]) -> tuple[str, ...]:
    """``names`` in order, each once: an episode named twice runs once."""
    return tuple(dict.fromkeys(names))


@attrs.frozen
class SweepPlan:
    """What to run. ``tasks`` and ``personas`` are explicit lists (the CLI expands ``all``)."""

    tasks: tuple[str, ...] = attrs.field(converter=_once_each)
    agent: str
    seeds: int
    personas: tuple[str, ...] = attrs.field(converter=_once_each)
    faults: tuple[str, ...] = ()
    tasks_dirs: tuple[str, ...] = ()
    agent_timeout: float = 60.0
    agent_executor: Executor = "auto"
    #: Hand the agent the whole task (gold included) in ``reset``; see ``make_job``.
    privileged: bool = False
    #: The ``llm`` agent's configuration (with ``agent="llm"`` only). Its
    #: ``max_requests_in_flight`` bounds the whole sweep, every worker together.
    llm: LLMConfig | None = None

    def episodes(self) -> list[tuple[str, str, int]]:
        """(task, persona, seed) of every episode, in a fixed order."""
        return [(t, p, s) for t in self.tasks for p in self.personas for s in range(self.seeds)]

    def size(self) -> int:
        """How many episodes the plan runs."""
        return len(self.tasks) * len(self.personas) * self.seeds

    def episode(self, index: int) -> tuple[str, str, int]:
        """(task, persona, seed) of episode ``index`` of :meth:`episodes`, without the list."""
        rest, seed = divmod(index, self.seeds)
        task, persona = divmod(rest, len(self.personas))
        return self.tasks[task], self.personas[persona], seed

    def validate(self) -> None:
        """Raise :class:`SweepError`, ``TaskLoadError`` or ``AgentLoadError`` (one line)
        if the plan cannot run."""
        if not self.tasks:
            raise SweepError("no tasks to run; allowed: all, or a comma list of task ids")
        if not self.personas:
            raise SweepError("no personas to run; allowed: all, or a comma list of personas")
        if self.seeds < 1:
            raise SweepError(f"--seeds {self.seeds}: allowed: a whole number >= 1")
        known = discover_families(self.tasks_dirs)
        for task in self.tasks:
            if task not in known:
                raise SweepError(f"task {task!r} is unknown; allowed: {', '.join(known)}")
        for persona in self.personas:
            try:
                StandardWorld(persona, self.faults)  # the world's own check of its names
            except ValueError as error:
                raise SweepError(str(error)) from None
        if self.llm is not None and self.llm.max_requests_in_flight < 1:
            raise SweepError(f"--max-requests-in-flight {self.llm.max_requests_in_flight}: "
                             "allowed: a whole number >= 1")
        resolve_agent(self.agent, llm=self.llm)

    def split(self, workers: int) -> tuple[SweepPlan, int]:
        """The plan each worker process runs, and how many workers to start (at most
        ``workers``). An LLM agent's bound on requests in flight is the whole sweep's:
        each worker gets ``bound // workers`` of it, and there are no more workers than
        the bound, so the requests in flight never exceed it together."""
        if self.llm is None:
            return self, workers
        bound = self.llm.max_requests_in_flight
        workers = max(1, min(workers, bound))
        share = self.llm.model_copy(update={"max_requests_in_flight": max(1, bound // workers)})
        return attrs.evolve(self, llm=share), workers

    def describe(self) -> dict[str, Any]:
        """The plan as JSON-ready data: what ``plan.json`` and the summary record."""
        described = {"tasks": list(self.tasks), "agent": self.agent, "seeds": self.seeds,
                     "personas": list(self.personas),
                     "faults": list(StandardWorld("cooperative", self.faults).faults),
                     "privileged": self.privileged}
        if self.llm is not None:
            described["llm"] = self._llm_identity(self.llm)
        return described

    @staticmethod
    def _llm_identity(config: LLMConfig) -> dict[str, Any]:
        """What of an LLM configuration changes the episodes' answers: the model, where it
        is served, how it is asked, and the prices that cost them; not where the cache
        is, the timeout or the bound on requests in flight, which change no answer."""
        data = config.model_dump(mode="json")
        identity = {key: data[key] for key in ("model", "base_url", "mode", "temperature",
                                               "max_tokens", "prices", "extra_body")}
        # Unset, the server is $OPENAI_BASE_URL's (or OpenAI's): a resume must find the
        # same one.
        identity["base_url"] = config.server_url()
        return identity

    def identity(self) -> dict[str, Any]:
        """What a resumed sweep must share with the one it finishes: the plan, its
        episode settings and the hash of every task it runs (of a family: of the
        variants its seeds pick)."""
        known = discover_families(self.tasks_dirs)
        seeds = range(self.seeds)
        return {**self.describe(), "agent_timeout": self.agent_timeout,
                "agent_executor": self.agent_executor,
                "task_hashes": {t: known[t].fingerprint(seeds) for t in self.tasks}}

    def row_privileged(self) -> bool:
        """Whether this plan's result rows say ``privileged`` (a built-in agent that reads
        the gold is privileged by itself)."""
        return self.privileged or resolve_agent(self.agent, llm=self.llm) in PRIVILEGED_AGENTS


class PlanIndex:
    """A row's place in :meth:`SweepPlan.episodes` by arithmetic: no table of episodes,
    so finding a million rows' places takes a few small dicts."""

    def __init__(self, plan: SweepPlan) -> None:
        self.plan = plan
        self.tasks = {task: n for n, task in enumerate(plan.tasks)}
        self.personas = {persona: n for n, persona in enumerate(plan.personas)}
        self.faults = list(StandardWorld("cooperative", plan.faults).faults)

    def of(self, row: dict[str, Any]) -> int | None:
        """The index of ``row``'s episode, or ``None`` if the plan does not run it."""
        task = self.tasks.get(row["task_id"])
        persona = self.personas.get(row["persona"])
        seed = row["seed"]
        if (task is None or persona is None or row["agent"] != self.plan.agent
                or not 0 <= seed < self.plan.seeds or row["faults"] != self.faults):
            return None
        return int((task * len(self.personas) + persona) * self.plan.seeds + seed)


class EpisodeBits:
    """One bit per episode: which episodes have a row (an eighth of a byte each)."""

    def __init__(self, size: int) -> None:
        self._bytes = bytearray((size + 7) // 8)

    def __contains__(self, index: int) -> bool:
        return bool(self._bytes[index >> 3] & (1 << (index & 7)))

    def add(self, index: int) -> None:
        self._bytes[index >> 3] |= 1 << (index & 7)


def episode_rows(plan: SweepPlan, rows: Iterable[dict[str, Any]], seen: EpisodeBits,
                 counts: ReadCounts,
                 check: Callable[[dict[str, Any], int | None], None] | None = None,
                 ) -> Iterator[dict[str, Any]]:
    """The first row of each of ``plan``'s episodes among ``rows``, each marked in
    ``seen``: rows of other plans are left out, and an episode's repeated rows are
    counted in ``counts.duplicates``. ``check(row, place)`` sees every row first."""
    index = PlanIndex(plan)
    for row in rows:
        place = index.of(row)
        if check is not None:
            check(row, place)
        if place is None:
            continue
        if place in seen:
            counts.duplicates += 1
            continue
        seen.add(place)
        yield row
