"""The scripted agent: plays a fixed list of turns, then waits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["ScriptedAgent"]


class ScriptedAgent:
    """Returns ``turns[k-1]`` at turn k, and an empty turn (wait) after the script ends."""

    inline_safe = True

    def __init__(self, turns: Sequence[Any] = ()) -> None:
        self.turns = list(turns)

    def act(self, observation: Any) -> Any:
        index = observation.turn - 1
        return self.turns[index] if index < len(self.turns) else []
