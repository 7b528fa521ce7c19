"""Agents that fail, and how the tests run them.

Each agent fails one way: it raises (``SystemExit``, ``KeyboardInterrupt``, a
``BaseException`` of its own, an ordinary exception), hangs, blocks, spins, or fails in its
constructor or ``reset``. An episode must end as ``agent_error`` or ``agent_timeout`` and
leave every other episode alone.

They live in a module of their own, importable by module path (``failing_agents:Name`` with
``tests/`` on ``sys.path``, as pytest puts it there): the process executor pickles its
agent by reference, and the command line and the Ctrl-C subprocess load them by name.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import trio
from episode_helpers import API
from hostile_agents import TRIAGE

from actors import make_job, simulate
from actors.world import StandardWorld
from sim.episode import EpisodeConfig, EpisodeResult
from sim.observation import Observation
from sim.runner import EpisodeJob, run_episodes
from tasks import get_task

#: Seconds a subprocess may take before the test gives up on it (a hang, not a timing).
HANG = 60
FINISH: list[dict[str, Any]] = [{"op": "finish"}]


# ========================================================== failing while deciding


class Triager:
    """A plain sync agent (``auto`` threads it): triage at turn 1, finish at turn 2."""

    def act(self, observation: Any) -> Any:
        return TRIAGE if observation.turn == 1 else FINISH


#: Set when a test is over: the hung agents' threads then return.
RELEASE = threading.Event()


class Hanging:
    """A sync agent whose first decision blocks until :data:`RELEASE` is set."""

    def act(self, observation: Any) -> Any:
        RELEASE.wait(HANG)
        return FINISH


class Counting:
    """A sync agent that sleeps a little and records how many decisions run at once."""

    lock = threading.Lock()
    running = 0
    most = 0

    def act(self, observation: Any) -> Any:
        with Counting.lock:
            Counting.running += 1
            Counting.most = max(Counting.most, Counting.running)
        time.sleep(0.05)
        with Counting.lock:
            Counting.running -= 1
        return FINISH


SLOW_SECONDS = 0.2


class Slow:
    """Takes ``SLOW_SECONDS`` per decision, then finishes (for the process executor)."""

    def act(self, observation: Any) -> Any:
        time.sleep(SLOW_SECONDS)
        return FINISH


class Abort(BaseException):
    """A BaseException of the agent's own."""


RAISES: dict[str, Callable[[], BaseException]] = {
    "SystemExit": lambda: SystemExit(0),
    "KeyboardInterrupt": KeyboardInterrupt,
    "BaseException": lambda: Abort("agent gave up"),
}


class Raiser:
    """Triages at turn 1; at turn 2 raises ``RAISES[kind]`` (sync, so any executor)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def act(self, observation: Any) -> Any:
        if observation.turn == 2:
            raise RAISES[self.kind]()
        return TRIAGE


class AsyncRaiser:
    """The async twin of :class:`Raiser`: raises after awaiting."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    async def act(self, observation: Any) -> Any:
        await trio.sleep(0)
        if observation.turn == 2:
            raise RAISES[self.kind]()
        return TRIAGE


class ExitingAgent(Raiser):
    """``Raiser("SystemExit")`` by a name the command line can load."""

    def __init__(self) -> None:
        super().__init__("SystemExit")


class _Boom(Exception):
    pass


class RaisingSync:
    """Raises at turn 2, inline (it declares itself safe to run in trio's thread)."""

    inline_safe = True

    def act(self, observation: Observation) -> list[Any]:
        if observation.turn == 2:
            raise _Boom("cannot decide at turn 2")
        return []


class RaisingThread:
    """Raises at turn 2, in a worker thread (the default for a sync agent)."""

    def act(self, observation: Observation) -> list[Any]:
        if observation.turn == 2:
            raise _Boom("cannot decide at turn 2")
        return []


class RaisingAsync:
    """Raises at turn 2, after awaiting."""

    async def act(self, observation: Observation) -> list[Any]:
        await trio.sleep(0)
        if observation.turn == 2:
            raise _Boom("cannot decide at turn 2")
        return []


class SignalWaiter:
    """Writes ``READY`` at turn 1, then waits in its own code for 30 s (sync or async)."""

    def __init__(self, ready: str, how: str) -> None:
        self.ready, self.how = ready, how
        if how == "async":
            self.act = self._act_async

    def act(self, observation: Any) -> Any:
        Path(self.ready).write_text("ready")
        time.sleep(30)
        return FINISH

    async def _act_async(self, observation: Any) -> Any:
        Path(self.ready).write_text("ready")
        await trio.sleep(30)
        return FINISH


# ======================================= failing to start, or leaving a thread behind


class ExitsInReset(Triager):
    def reset(self, brief: Any, seed: int) -> None:
        sys.exit(3)


class SpinsInReset(Triager):
    """Its ``reset`` never returns and never yields."""

    def reset(self, brief: Any, seed: int) -> None:
        while True:
            pass


class AsyncReset:
    """An async ``reset`` that must be awaited for ``act`` to work."""

    def __init__(self) -> None:
        self.ready = False

    async def reset(self, brief: Any, seed: int) -> None:
        await trio.sleep(0)
        self.ready = True

    async def act(self, observation: Any) -> Any:
        if not self.ready:
            raise RuntimeError("reset was never awaited")
        return TRIAGE if observation.turn == 1 else FINISH


class NoModel:
    """Every construction fails, as an agent without its API key configured."""

    def __init__(self) -> None:
        raise RuntimeError("no model configured\nset MODEL_KEY")

    def act(self, observation: Any) -> Any:
        return FINISH


class ExitingConstructor:
    def __init__(self) -> None:
        sys.exit("no config")

    def act(self, observation: Any) -> Any:
        return FINISH


class FailsAfterFirst(Triager):
    """Builds once (when its name is resolved), then fails every episode."""

    built = 0

    def __init__(self) -> None:
        FailsAfterFirst.built += 1
        if FailsAfterFirst.built > 1:
            raise RuntimeError(f"construction {FailsAfterFirst.built} failed")


class StrayThread(Triager):
    """Starts a non-daemon thread that never ends."""

    def __init__(self) -> None:
        threading.Thread(target=threading.Event().wait, name="stray agent thread").start()


# ========================================================== running them


def warm_up() -> int:
    """Run in a worker process: imports this module there, before any timed decision."""
    return os.getpid()


def job(make: Any, *, task: str = API, seed: int = 0, timeout: float = 10.0,
        executor: str = "auto", world: StandardWorld | None = None) -> EpisodeJob:
    made = make_job(get_task(task), make, seed=seed, persona="cooperative",
                    agent_name=getattr(make, "__name__", "agent"),
                    config=EpisodeConfig(agent_timeout=timeout, agent_executor=executor))
    return made if world is None else attrs.evolve(made, world=world)


def reasons(results: list[EpisodeResult]) -> list[str]:
    return [r.termination_reason for r in results]


def interrupted_run(mode: str, how: str, executor: str, ready: str) -> list[str]:
    """What the Ctrl-C subprocess runs: episodes whose agents wait for the signal."""
    config = EpisodeConfig(agent_timeout=60, agent_executor=executor)

    def make() -> SignalWaiter:
        return SignalWaiter(ready, how)

    if mode == "run":  # one episode, its agent in trio's main task (the run command)
        result = trio.run(lambda: simulate(get_task(API), make, config=config))
        return [result.termination_reason]
    jobs = [make_job(get_task(API), make, seed=s, config=config) for s in range(3)]
    return reasons(trio.run(run_episodes, jobs))
