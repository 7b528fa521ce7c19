"""The actors around the kernel: the customer, the teams, the built-in agents.

Run an episode by names::

    import trio
    from tasks import get_task
    from actors import simulate

    result = trio.run(lambda: simulate(get_task("api_incident_hard"), "heuristic", seed=3))
    print(result.score, result.breakdown)
"""

from actors.agents.heuristic import HeuristicAgent
from actors.agents.loading import BUILTIN_AGENTS, AgentLoadError, resolve_agent
from actors.agents.oracle import OracleAgent
from actors.agents.random_agent import RandomAgent
from actors.customer import customer_actor
from actors.episodes import make_job, simulate, simulate_many
from actors.field_values import correct_value, looks_valid, wrong_value
from actors.teams import FAULTS, team_actor
from actors.world import StandardWorld
from sim.scripted import ScriptedAgent

__all__ = [
    "BUILTIN_AGENTS",
    "FAULTS",
    "AgentLoadError",
    "HeuristicAgent",
    "OracleAgent",
    "RandomAgent",
    "ScriptedAgent",
    "StandardWorld",
    "correct_value",
    "customer_actor",
    "looks_valid",
    "make_job",
    "resolve_agent",
    "simulate",
    "simulate_many",
    "team_actor",
    "wrong_value",
]
