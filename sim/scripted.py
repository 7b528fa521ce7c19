"""The scripted agent: plays a fixed list of turns, then waits; and the turns of a trace."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sim.trace import Trace

__all__ = ["ScriptedAgent", "turns_of"]


class ScriptedAgent:
    """An agent that plays ``turns[k-1]`` at turn k and waits (an empty turn) afterwards.

    Turns are returned exactly as given (dicts, models, garbage), so what the simulator
    does with a malformed turn is what gets tested.
    """

    inline_safe = True

    def __init__(self, turns: Sequence[Any] = ()) -> None:
        self.turns = list(turns)

    def act(self, observation: Any) -> Any:
        index = int(observation.turn) - 1
        return self.turns[index] if 0 <= index < len(self.turns) else []


def turns_of(trace: Trace) -> list[list[dict[str, Any]]]:
    """The operations the agent of ``trace`` made, turn by turn, as a script for
    :class:`ScriptedAgent`: replaying an episode's decisions in another world."""
    turns: list[list[dict[str, Any]]] = []
    for event in trace.events:
        if event.actor != "agent":
            continue
        if event.kind == "turn":
            turns.append([])
        elif event.kind == "operation" and turns:
            turns[-1].append(dict(event.payload["op"]))
    return turns
