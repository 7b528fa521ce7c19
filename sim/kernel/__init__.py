"""The kernel: simulated time, actors and their mailboxes, reproducible draws, and the
executors that run an agent's code.

It knows nothing of support desks: what a message means, which deliveries come first
at one instant (the caller's priorities) and what an episode records are the domain's,
in :mod:`sim` above it. Nothing here imports :mod:`sim`'s other modules, :mod:`tasks`
or :mod:`actors`; ``tests/test_layers.py`` checks it.
"""

from sim.kernel.draws import Draws
from sim.kernel.environment import ActorContext, Environment, SimulationError, Timer
from sim.kernel.executors import Agent, AgentFailure, AgentTimeout
from sim.kernel.taskpool import TaskPool, open_task_pool

__all__ = [
    "ActorContext",
    "Agent",
    "AgentFailure",
    "AgentTimeout",
    "Draws",
    "Environment",
    "SimulationError",
    "TaskPool",
    "Timer",
    "open_task_pool",
]
