"""The support desk on a simulated clock: episodes, operations, traces and grading.

Layers, each importing only those before it:

- :mod:`sim.kernel` — simulated time, actors and mailboxes, reproducible draws, the
  executors that run an agent's code. It knows nothing of support desks.
- :mod:`tasks` — the task spec model, the shipped tasks and families.
- :mod:`sim` (this package) — the desk: the agent's operations and observation, the
  ticket, an episode's rules (:func:`run_episode`), its trace, the grader, and
  :mod:`sim.spec`, the vocabulary of SPEC.md (event kinds, termination reasons,
  criteria, penalties). :mod:`sim.testing` is the hypothesis toolkit that checks a
  grader's invariants.
- :mod:`actors` — the world around the agent (customer, teams) and the built-in agents.

The names below are the public surface; modules not listed here (``sim.event_log``,
``sim.task_memo``, ...) are internal and may change.
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
from sim.grade_report import CriterionResult, GradeReport, Penalty
from sim.grading import GradeAccumulator, ImpossibleTraceError, grade, grade_events, step_rewards
from sim.kernel.executors import Agent, AgentTimeout
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
from sim.scripted import ScriptedAgent, turns_of
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
    "Agent",
    "AgentTimeout",
    "CriterionResult",
    "DeferredPayload",
    "EpisodeConfig",
    "EpisodeJob",
    "EpisodeResult",
    "EpisodeState",
    "Escalate",
    "Finish",
    "FlagRisk",
    "GradeAccumulator",
    "GradeReport",
    "ImpossibleTraceError",
    "InboundMessage",
    "Note",
    "Observation",
    "OperationResult",
    "Penalty",
    "Reply",
    "ScriptedAgent",
    "SearchKB",
    "SetFields",
    "SetStatus",
    "TicketView",
    "Trace",
    "TraceEvent",
    "TraceFormatError",
    "TraceHeader",
    "TraceResult",
    "World",
    "grade",
    "grade_events",
    "parse_turn",
    "run_episode",
    "run_episodes",
    "stable_seed",
    "step_rewards",
    "turns_of",
]
