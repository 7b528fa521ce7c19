"""Editing a list of turns: making room in a turn, inserting operations, splicing in turns.

A turn list is what a scripted agent plays: turn k of the episode is ``turn_list[k-1]``,
and a turn may be garbage (not a list). Every function here returns a new list and leaves
its input alone, so an invariant can play the drawn turns and an edited copy side by side.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from sim.operations import MAX_OPERATIONS_PER_TURN
from tasks.base import TERMINAL_STATUSES


def as_list(turn: Any) -> list[Any]:
    """A turn as the list of entries the simulator would parse (garbage turns: none)."""
    if isinstance(turn, list | tuple):
        return list(turn)
    if isinstance(turn, Mapping | BaseModel):
        return [turn]
    return []


def with_room(turn_list: Any, index: int, room: int = 1) -> list[Any]:
    """A copy of the sequence, padded with waits to reach turn ``index`` (0-based), whose
    turn ``index`` is a list with room for ``room`` more entries, so inserting there never
    pushes an operation past the per-turn limit."""
    result = list(turn_list)
    result += [[] for _ in range(index + 1 - len(result))]
    result[index] = as_list(result[index])[: MAX_OPERATIONS_PER_TURN - room]
    return result


def inserted(turn_list: list[Any], index: int, position: int, *ops: Any) -> list[Any]:
    """``ops`` inserted into turn ``index`` at ``position`` (its end, if shorter)."""
    result = list(turn_list)
    turn = list(result[index])
    at = min(position, len(turn))
    result[index] = turn[:at] + list(ops) + turn[at:]
    return result


def spliced(turn_list: Sequence[Any], index: int, new_turns: Sequence[Any]) -> list[Any]:
    """``new_turns`` played from turn ``index`` (0-based, after waits if the list is
    shorter), the turns that were there moved after them."""
    padded = list(turn_list) + [[] for _ in range(index - len(turn_list))]
    return [*padded[:index], *new_turns, *padded[index:]]


def ends(entry: Any) -> bool:
    """Whether a turn entry ends the episode when applied (``finish``, a terminal status)."""
    return isinstance(entry, Mapping) and (
        entry.get("op") == "finish"
        or (entry.get("op") == "set_status" and entry.get("status") in TERMINAL_STATUSES))


def before_end(turn: list[Any], extra: Sequence[Any]) -> list[Any]:
    """``turn`` with ``extra`` inserted before its first entry that ends the episode."""
    at = next((i for i, entry in enumerate(turn) if ends(entry)), len(turn))
    return [*turn[:at], *extra, *turn[at:]]
