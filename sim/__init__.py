"""The simulation kernel: clock and actors, operations, episodes, traces, grading.

It knows no task and no actor by name: tasks come from :mod:`tasks`, and the
customer, teams and built-in agents from :mod:`actors`.
"""

from sim.episode import (
    CODE_VERSION,
    EpisodeConfig,
    EpisodeResult,
    EpisodeState,
    World,
    run_episode,
    stable_seed,
)
from sim.grading import GradeAccumulator, GradeReport, grade, grade_events, step_rewards
from sim.kernel.draws import Draws
from sim.kernel.environment import ActorContext, Environment, SimulationError, Timer
from sim.kernel.executors import Agent, AgentTimeout
from sim.kernel.taskpool import TaskPool, open_task_pool
from sim.observation import InboundMessage, Observation, OperationResult, TicketView
from sim.operations import (
    Escalate,
    Finish,
    FlagRisk,
    Note,
    Reply,
    SearchKB,
    SetFields,
    SetStatus,
    parse_turn,
)
from sim.runner import EpisodeJob, run_episodes
from sim.spec import TERMINATION_REASONS
from sim.trace import (
    SCHEMA_VERSION,
    DeferredPayload,
    Trace,
    TraceEvent,
    TraceFormatError,
    TraceHeader,
    TraceResult,
)

__all__ = [
    "CODE_VERSION",
    "SCHEMA_VERSION",
    "TERMINATION_REASONS",
    "ActorContext",
    "Agent",
    "AgentTimeout",
    "DeferredPayload",
    "Draws",
    "Environment",
    "EpisodeConfig",
    "EpisodeJob",
    "EpisodeResult",
    "EpisodeState",
    "Escalate",
    "Finish",
    "FlagRisk",
    "GradeAccumulator",
    "GradeReport",
    "InboundMessage",
    "Note",
    "Observation",
    "OperationResult",
    "Reply",
    "SearchKB",
    "SetFields",
    "SetStatus",
    "SimulationError",
    "TaskPool",
    "TicketView",
    "Timer",
    "Trace",
    "TraceEvent",
    "TraceFormatError",
    "TraceHeader",
    "TraceResult",
    "World",
    "grade",
    "grade_events",
    "open_task_pool",
    "parse_turn",
    "run_episode",
    "run_episodes",
    "stable_seed",
    "step_rewards",
]
