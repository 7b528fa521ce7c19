"""Calling the agent under test: sync or async, in this thread or a worker thread.

An agent is any object with ``act(observation) -> turn`` (sync or ``async``), and
optionally ``reset(task, seed)``. A decision that takes longer than the real-time
limit raises :class:`AgentTimeout`. A sync agent run ``inline`` cannot be
interrupted, so unknown sync agents run in a worker thread by default.
"""

from __future__ import annotations

import inspect
from typing import Any, Literal, Protocol, runtime_checkable

import trio

__all__ = ["Agent", "AgentTimeout", "Executor", "decide", "pick_executor"]

Executor = Literal["auto", "inline", "thread"]


@runtime_checkable
class Agent(Protocol):
    """The support agent under test."""

    def act(self, observation: Any) -> Any: ...


class AgentTimeout(Exception):
    """The agent took longer than the per-decision real-time limit."""


def pick_executor(agent: Any, executor: Executor) -> Literal["inline", "thread"]:
    """Resolve ``auto``: async agents and agents marked ``inline_safe`` run inline."""
    if executor != "auto":
        return executor
    if inspect.iscoroutinefunction(agent.act) or getattr(agent, "inline_safe", False):
        return "inline"
    return "thread"


async def decide(
    agent: Any, observation: Any, *, timeout: float, executor: Literal["inline", "thread"]
) -> Any:
    """One decision of ``agent``, limited to ``timeout`` real seconds."""
    try:
        with trio.fail_after(timeout):
            if executor == "thread":
                result = await trio.to_thread.run_sync(
                    agent.act, observation, abandon_on_cancel=True
                )
            else:
                result = agent.act(observation)
            if inspect.isawaitable(result):
                result = await result
            return result
    except trio.TooSlowError:
        raise AgentTimeout(f"no decision within {timeout:g} s") from None
