"""The built-in agents under test, apart from the world's actors (customer, teams):
``oracle`` (reads the gold), ``heuristic`` (reads the ticket), ``random`` and
``scripted``; ``llm``, any OpenAI-compatible model, which needs a configuration (see
:mod:`actors.agents.llm`, loaded only when used), and :func:`resolve_agent`, which finds
an agent by name or import path.
"""

from actors.agents.heuristic import HeuristicAgent
from actors.agents.loading import (
    BUILTIN_AGENTS,
    CONFIGURED_AGENTS,
    PRIVILEGED_AGENTS,
    AgentLoadError,
    resolve_agent,
)
from actors.agents.oracle import OracleAgent
from actors.agents.random_agent import RandomAgent
from sim.scripted import ScriptedAgent

__all__ = [
    "BUILTIN_AGENTS",
    "CONFIGURED_AGENTS",
    "PRIVILEGED_AGENTS",
    "AgentLoadError",
    "HeuristicAgent",
    "OracleAgent",
    "RandomAgent",
    "ScriptedAgent",
    "resolve_agent",
]
