"""Values derived from a task alone, made once per task and shared by its episodes.

A run of thousands of episodes of one task would otherwise rebuild the same texts,
shingles, constant observation fields and world outlooks in every episode.
:func:`per_task` memoises such a function by the task's content hash (so an edited task
is a new key) and its other arguments, and keeps at most :data:`ENTRIES_REMEMBERED`
values: a run over many generated tasks (a family's variants) starts afresh when the
memo is full rather than growing without bound. The values are shared between
episodes: their users must never change them.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from tasks.base import SupportTaskSpec

__all__ = ["ENTRIES_REMEMBERED", "TaskMemo", "per_task"]

#: Values each memo keeps at once.
ENTRIES_REMEMBERED = 1024
_V = TypeVar("_V")


class TaskMemo(Generic[_V]):
    """``make(task, *args)``, memoised (see the module's docstring)."""

    __slots__ = ("__name__", "_made", "make")

    def __init__(self, make: Callable[..., _V]) -> None:
        self.make = make
        self._made: dict[tuple[Hashable, ...], _V] = {}
        self.__name__ = make.__name__

    def __call__(self, task: SupportTaskSpec, *args: Hashable) -> _V:
        key = (task.content_hash, *args)
        made = self._made
        try:
            return made[key]
        except KeyError:
            if len(made) >= ENTRIES_REMEMBERED:
                made.clear()
            value = made[key] = self.make(task, *args)
            return value

    def cache_clear(self) -> None:
        """Forget every value (tests start from an empty memo)."""
        self._made.clear()


def per_task(make: Callable[..., _V]) -> TaskMemo[_V]:
    """Decorator: memoise ``make(task, *hashable_args)`` per task (see :class:`TaskMemo`)."""
    return TaskMemo(make)

