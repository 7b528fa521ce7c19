"""The heuristic agent itself: the thin wiring between the episode and the policy.

``reset`` starts a fresh :class:`~actors.agents.heuristic.memory.Memory` from what it is
handed: a brief (or the whole task, in a privileged run: only a brief's fields are
read), or anything else, such as ``None``, in which case the agent plays from the
observations alone. ``act`` hands each observation to
:func:`~actors.agents.heuristic.policy.decide`. Nothing is caught: a bug raises, and the
episode records it as an ``agent_error``.
"""

from __future__ import annotations

from typing import Any, TypeGuard

from actors.agents.heuristic.memory import BRIEF_FIELDS, Brief, Memory
from actors.agents.heuristic.policy import decide
from sim.observation import Observation


def is_brief(handed: object) -> TypeGuard[Brief]:
    """Whether ``handed`` has every field of a brief the agent reads."""
    return all(hasattr(handed, name) for name in BRIEF_FIELDS)


class HeuristicAgent:
    """A runbook-following baseline that reads only what an agent sees (see the package
    doc)."""

    inline_safe = True

    def __init__(self) -> None:
        self.memory = Memory()

    def reset(self, brief: object, seed: int) -> None:
        """Start a new episode with what a new support agent is handed: the brief.

        Only the brief's fields are read (its knowledge base, ticket texts, title,
        objective and turn length), never a gold value, even when the run hands the
        whole task. Handed no brief, the agent plays from the observations alone.
        """
        del seed
        self.memory = Memory.from_brief(brief) if is_brief(brief) else Memory()

    def act(self, observation: Observation) -> list[dict[str, Any]]:
        return decide(self.memory, observation)
