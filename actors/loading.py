"""Naming agents: the built-ins by name, anyone else's as ``module.path:attribute``."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from actors.heuristic import HeuristicAgent
from actors.oracle import OracleAgent
from actors.random_agent import RandomAgent
from actors.scripted import ScriptedAgent

__all__ = ["BUILTIN_AGENTS", "PRIVILEGED_AGENTS", "AgentLoadError", "resolve_agent"]

BUILTIN_AGENTS: dict[str, Callable[[], Any]] = {
    "oracle": OracleAgent,
    "heuristic": HeuristicAgent,
    "random": RandomAgent,
    "scripted": ScriptedAgent,
}
#: Built-in agents that read the gold: their runs are privileged by themselves.
PRIVILEGED_AGENTS: frozenset[Callable[[], Any]] = frozenset({OracleAgent})


class AgentLoadError(ValueError):
    """An agent name that does not resolve; ``str(error)`` is one line for the user."""


def resolve_agent(name: str) -> Callable[[], Any]:
    """A zero-argument factory for the agent ``name``; call it once per episode.

    ``name`` is a built-in (``oracle``, ``heuristic``, ``random``, ``scripted``) or
    ``module.path:attribute`` naming a class or a zero-argument callable that returns
    an object with ``act(observation)``.
    """
    if name in BUILTIN_AGENTS:
        return BUILTIN_AGENTS[name]
    allowed = f"allowed: {', '.join(BUILTIN_AGENTS)} or module.path:attribute"
    module_name, sep, attribute = name.partition(":")
    if not sep or not module_name or not attribute:
        raise AgentLoadError(f"agent {name!r} is unknown; {allowed}")
    try:
        module = importlib.import_module(module_name)
    except Exception as error:
        raise AgentLoadError(
            f"agent {name!r}: cannot import {module_name!r} ({type(error).__name__}: {error}); "
            f"{allowed}"
        ) from None
    target: Any = module
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise AgentLoadError(
                f"agent {name!r}: {module_name!r} has no attribute {attribute!r}; {allowed}"
            )
        target = getattr(target, part)
    if not callable(target):
        raise AgentLoadError(
            f"agent {name!r}: {attribute!r} is a {type(target).__name__}, not a class or "
            f"callable; {allowed}"
        )

    def make() -> Any:
        agent = target()
        if not callable(getattr(agent, "act", None)):
            raise AgentLoadError(
                f"agent {name!r}: {attribute}() returned a {type(agent).__name__} without "
                "act(observation); allowed: an object with act(observation)"
            )
        return agent

    make()  # fail now, with the name, rather than inside the first episode
    return make
