"""Naming agents: the built-ins by name, anyone else's as ``module.path:attribute``.

One built-in needs a configuration as well as its name: ``llm``, the LLM agent, is
resolved with an :class:`~actors.agents.llm.LLMConfig` (``resolve_agent("llm",
llm=config)``); its package, and the ``openai`` package under it, load only then.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from actors.agents.heuristic import HeuristicAgent
from actors.agents.oracle import OracleAgent
from actors.agents.random_agent import RandomAgent
from sim.kernel.executors import describe_exception
from sim.scripted import ScriptedAgent

if TYPE_CHECKING:
    from actors.agents.llm import LLMConfig

__all__ = [
    "BUILTIN_AGENTS",
    "CONFIGURED_AGENTS",
    "PRIVILEGED_AGENTS",
    "AgentLoadError",
    "did_you_mean",
    "resolve_agent",
]

BUILTIN_AGENTS: dict[str, Callable[[], Any]] = {
    "oracle": OracleAgent,
    "heuristic": HeuristicAgent,
    "random": RandomAgent,
    "scripted": ScriptedAgent,
}
#: Built-in agents that read the gold: their runs are privileged by themselves.
PRIVILEGED_AGENTS: frozenset[Callable[[], Any]] = frozenset({OracleAgent})
#: Built-in agents that need a configuration besides their name (not in
#: :data:`BUILTIN_AGENTS`, whose agents run as they are): ``llm`` needs an ``LLMConfig``.
CONFIGURED_AGENTS: tuple[str, ...] = ("llm",)
#: What ``allowed:`` lists for an agent name.
_NAMES = f"{', '.join([*BUILTIN_AGENTS, *CONFIGURED_AGENTS])} or module.path:attribute"


class AgentLoadError(ValueError):
    """An agent name that does not resolve; ``str(error)`` is one line for the user."""


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """``"did you mean 'x'? "`` for the known name closest to a mistyped ``name`` (a
    case-only difference first), or ``""`` when none is close: the start of the
    ``allowed:`` part of a one-line error, so a typo costs one read, not a list scan."""
    names = list(known)
    same = [n for n in names if n.lower() == name.lower()]
    close = same or difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}? " if close else ""


def resolve_agent(name: str, *, llm: LLMConfig | None = None) -> Callable[[], Any]:
    """A zero-argument factory for the agent ``name``; call it once per episode.

    ``name`` is a built-in (``oracle``, ``heuristic``, ``random``, ``scripted``; ``llm``
    with its configuration ``llm``) or ``module.path:attribute`` naming a class or a
    zero-argument callable that returns an object with ``act(observation)``. A
    configuration for any other agent, or ``llm`` without one, is an
    :class:`AgentLoadError`.
    """
    if name == "llm":
        if llm is None:
            raise AgentLoadError("agent 'llm' needs --model NAME; allowed: --agent llm --model "
                                 "NAME [--base-url URL], or llm=LLMConfig(model=NAME) in Python")
        from actors.agents.llm import llm_agent  # openai's import cost only for LLM runs

        return llm_agent(llm)
    if llm is not None:
        raise AgentLoadError(f"agent {name!r}: an LLM configuration (--model NAME) is given; "
                             "allowed: it with --agent llm only")
    if name in BUILTIN_AGENTS:
        return BUILTIN_AGENTS[name]
    allowed = f"allowed: {_NAMES}"
    module_name, sep, attribute = name.partition(":")
    if not sep or not module_name or not attribute:
        known = [*BUILTIN_AGENTS, *CONFIGURED_AGENTS]
        raise AgentLoadError(f"agent {name!r} is unknown; {did_you_mean(name, known)}"
                             f"{allowed}")
    try:
        module = importlib.import_module(module_name)
    except (Exception, SystemExit) as error:  # a module that exits is bad input too
        kind, message, _ = describe_exception(error)
        raise AgentLoadError(
            f"agent {name!r}: cannot import {module_name!r} ({kind}: {_one_line(message)}); "
            f"{allowed}"
        ) from None
    target: Any = module
    for part in attribute.split("."):
        if not hasattr(target, part):
            public = [n for n in dir(target) if not n.startswith("_")]
            raise AgentLoadError(
                f"agent {name!r}: {module_name!r} has no attribute {attribute!r}; "
                f"{did_you_mean(part, public)}{allowed}"
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

    try:  # fail now, with the name, rather than inside every episode
        make()
    except AgentLoadError:
        raise
    except (Exception, SystemExit) as error:
        kind, message, _ = describe_exception(error)
        raise AgentLoadError(
            f"agent {name!r}: {attribute}() raised {kind}: {_one_line(message)}; allowed: a "
            "class or callable that builds an agent with no arguments"
        ) from None
    return make


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]
