"""Reusable trio tasks: waking a waiting task costs a fraction of starting a new one.

An episode's actors are trio tasks. Spawning a task, and opening the nursery that owns
it, is among the dearest things trio does; when thousands of episodes run one after
another, most of that work repeats for nothing. A :class:`TaskPool` keeps each task
once its function returns, idle in ``wait_task_rescheduled``, and hands it the next
function to run, so a long run starts only as many tasks as were ever busy at once.

:func:`sim.runner.run_episodes` shares one pool between all its episodes;
:meth:`Environment.run <sim.kernel.environment.Environment.run>` opens its own when given none.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import trio
from outcome import Value
from trio.lowlevel import Abort, Task, current_task, reschedule, wait_task_rescheduled

__all__ = ["TaskPool", "open_task_pool"]

_Job = tuple[Callable[..., Awaitable[None]], tuple[Any, ...]]


class TaskPool:
    """Runs async functions in pooled tasks of ``nursery``; see :func:`open_task_pool`.

    Like ``nursery.start_soon``, :meth:`start_soon` returns at once and the function runs
    at the next scheduling point. What a function raises is raised in the nursery, as
    from any of its tasks. A task that runs one function after another keeps its
    ``contextvars`` context, so a function must undo what it sets there.
    """

    __slots__ = ("_closed", "_idle", "_nursery")

    def __init__(self, nursery: trio.Nursery) -> None:
        self._nursery = nursery
        self._idle: list[Task] = []
        self._closed = False

    @property
    def idle(self) -> int:
        """Tasks waiting for a function to run."""
        return len(self._idle)

    def start_soon(self, fn: Callable[..., Awaitable[None]], *args: Any) -> None:
        """Run ``fn(*args)`` in an idle task of the pool, or in a new one if none is idle."""
        if self._closed:
            raise RuntimeError("the task pool is closed; allowed: start_soon before close()")
        if self._idle:
            reschedule(self._idle.pop(), Value((fn, args)))
        else:
            self._nursery.start_soon(self._serve, fn, args)

    def close(self) -> None:
        """Let every idle task end, and each busy one when its function returns."""
        self._closed = True
        idle = list(self._idle)
        self._idle.clear()
        for task in idle:
            reschedule(task, Value(None))

    async def _serve(self, fn: Callable[..., Awaitable[None]], args: tuple[Any, ...]) -> None:
        me = current_task()
        idle = self._idle

        def abort(_: Any) -> Abort:
            idle.remove(me)  # cancelled while idle (the nursery is being cancelled)
            return Abort.SUCCEEDED

        while True:
            # Neither a running nor an idle task holds more than the coroutine it runs:
            # thousands may be busy at once.
            running = fn(*args)
            del fn, args
            await running
            del running
            if self._closed:
                return
            idle.append(me)
            job: _Job | None = await wait_task_rescheduled(abort)
            if job is None:
                return
            fn, args = job
            del job


@asynccontextmanager
async def open_task_pool() -> AsyncIterator[TaskPool]:
    """A :class:`TaskPool` whose tasks live in a new nursery; on exit it is closed, and
    the block waits, as a nursery does, until every function started in it has returned."""
    async with trio.open_nursery() as nursery:
        pool = TaskPool(nursery)
        try:
            yield pool
        finally:
            pool.close()
