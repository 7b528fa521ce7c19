"""Calling the agent under test: sync or async, inline, in a thread, or in a process.

An agent is any object with ``act(observation) -> turn`` (sync or ``async``), and
optionally ``reset(brief, seed)``. A decision that takes longer than the real-time
limit raises :class:`AgentTimeout`. How a decision runs is the executor:

``inline``
    In the episode's own trio task: the fastest. An ``async`` agent is interrupted at
    its next checkpoint when the limit passes; a sync agent cannot be interrupted.
``thread``
    A sync agent runs in a worker thread. When the limit passes the episode ends at
    once and the thread is abandoned: it may go on running (its answer is discarded),
    but it can no longer change anything. A CPU-bound thread still holds the GIL while
    it runs, which slows every other episode in the process.
``process``
    Each decision runs in a worker process (trio-parallel), which is killed when the
    limit passes, so even a CPU-bound agent that never yields is stopped. The agent is
    pickled there and back with every decision (its state travels with it), which costs
    about a millisecond or more per decision and needs a picklable, importable agent.
``auto`` (the default)
    ``inline`` for ``async`` agents and agents marked ``inline_safe`` (the built-ins),
    ``thread`` for any other sync agent.
"""

from __future__ import annotations

import inspect
import traceback
from typing import Any, Literal, Protocol, runtime_checkable

import trio

__all__ = [
    "Agent",
    "AgentTimeout",
    "Executor",
    "decide",
    "describe_exception",
    "pick_executor",
    "reset_agent",
]

#: Longest exception message and traceback kept in results and traces.
MAX_ERROR_CHARS = 2_000
MAX_TRACEBACK_CHARS = 20_000

Executor = Literal["auto", "inline", "thread", "process"]
ResolvedExecutor = Literal["inline", "thread", "process"]


@runtime_checkable
class Agent(Protocol):
    """The support agent under test."""

    def act(self, observation: Any) -> Any: ...


class AgentTimeout(Exception):
    """The agent took longer than the per-decision real-time limit."""


def describe_exception(error: BaseException) -> tuple[str, str, str]:
    """(type name, message, traceback) of an agent's exception, bounded; never raises.

    Agent code can raise anything, including exceptions whose ``str`` raises.
    """
    name = type(error).__name__
    try:
        message = str(error)
    except Exception:
        message = f"<unprintable {name}>"
    try:
        trace = "".join(traceback.format_exception(error))
    except Exception:
        trace = f"<traceback of {name} unavailable>"
    return (name, message[:MAX_ERROR_CHARS], trace[-MAX_TRACEBACK_CHARS:])


def pick_executor(agent: Any, executor: Executor) -> ResolvedExecutor:
    """Resolve ``auto``: async agents and agents marked ``inline_safe`` run inline."""
    if executor != "auto":
        return executor
    if inspect.iscoroutinefunction(agent.act) or getattr(agent, "inline_safe", False):
        return "inline"
    return "thread"


def _act_in_process(agent: Any, observation: Any) -> tuple[Any, Any]:
    result = agent.act(observation)
    if inspect.isawaitable(result):
        async def wait() -> Any:
            return await result
        result = trio.run(wait)
    return agent, result


def _reset_in_process(agent: Any, view: Any, seed: int) -> Any:
    agent.reset(view, seed)
    return agent


async def reset_agent(agent: Any, view: Any, seed: int, *, timeout: float,
                      executor: ResolvedExecutor) -> Any:
    """``agent.reset(view, seed)`` where its decisions will run, within ``timeout``; the
    agent back (a copy, from a worker process). Under ``process`` the reset runs in the
    worker too, so an untrusted agent's code never runs in the simulator's process."""
    if executor == "inline":
        agent.reset(view, seed)
        return agent
    try:
        with trio.fail_after(timeout):
            if executor == "process":
                import trio_parallel

                return await trio_parallel.run_sync(
                    _reset_in_process, agent, view, seed, kill_on_cancel=True
                )
            await trio.to_thread.run_sync(agent.reset, view, seed, abandon_on_cancel=True)
            return agent
    except trio.TooSlowError:
        raise AgentTimeout(f"reset took longer than {timeout:g} s") from None


async def decide(
    agent: Any, observation: Any, *, timeout: float, executor: ResolvedExecutor
) -> tuple[Any, Any]:
    """One decision of ``agent`` within ``timeout`` real seconds: ``(agent, turn)``.

    The agent comes back too because in a worker process it is a copy, whose state
    after the decision is the one to keep.
    """
    if executor == "inline":
        result = agent.act(observation)
        # A sync call cannot be interrupted: no timer to set. (A list, the usual answer,
        # is checked first: isawaitable's ABC check costs more than the call.)
        if type(result) is list or not inspect.isawaitable(result):
            return agent, result
    try:
        with trio.fail_after(timeout):
            if executor == "inline":
                return agent, await result
            if executor == "process":
                import trio_parallel  # only here: it brings multiprocessing with it

                agent, result = await trio_parallel.run_sync(
                    _act_in_process, agent, observation, kill_on_cancel=True
                )
                return agent, result
            result = await trio.to_thread.run_sync(
                agent.act, observation, abandon_on_cancel=True
            )
            if inspect.isawaitable(result):
                result = await result
            return agent, result
    except trio.TooSlowError:
        raise AgentTimeout(f"no decision within {timeout:g} s") from None
