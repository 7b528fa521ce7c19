"""The per-episode kernel: a simulated clock, actors and their mailboxes.

Each episode has one :class:`Environment`. Actors are trio tasks, taken from a
:class:`~sim.kernel.taskpool.TaskPool` (the runner's, shared by its episodes, or one the
environment opens for itself); each blocks only in :meth:`ActorContext.receive` (or
:meth:`ActorContext.sleep`). At most one actor of an episode runs at a time. When it
blocks, the environment pops the earliest pending delivery (ordered by simulated time,
then priority, then the order it was scheduled in), moves the clock there and hands it
to its recipient, which becomes the one running actor. So what happens next never
depends on trio's scheduling order, and an actor that takes real time (an agent calling
an LLM) costs no simulated time: the clock cannot move while it runs.

Work is kept off trio's scheduler where the outcome cannot differ:

- an actor is started only when its start is delivered, so the start is its first
  step rather than a wake-up of a waiting task; the first actor runs in the task that
  called :meth:`Environment.run`, the others in pooled tasks, which cost a wake-up
  where a new task would cost a spawn;
- a delivery to the actor that is asking for its next one is returned at once, without
  a task switch;
- an actor sleeping until a timer (:meth:`ActorContext.sleep`) is not woken for the
  messages that arrive meanwhile: the kernel keeps them and hands them over, in order,
  when it wakes;
- timed work that only records and sends (:meth:`ActorContext.call_later`, and monitors
  registered with :meth:`Environment.call_at`) runs as a plain callback.

When the episode stops, every waiting actor is woken once with a private exception that
unwinds it, and :meth:`Environment.run` returns when all of them have. Nothing an
episode builds points back at its environment once it has run, so a finished episode is
freed at once, by reference counting. Timers are deliveries to oneself. Nothing here
knows what the actors are.
"""

from __future__ import annotations

import types
from collections.abc import Awaitable, Callable, Generator
from heapq import heappop, heappush
from typing import Any

import attrs
import trio
from outcome import Error, Value
from trio.lowlevel import reschedule, wait_task_rescheduled

from sim.kernel.instants import shared_instant
from sim.kernel.taskpool import TaskPool, open_task_pool

__all__ = [
    "ActorContext",
    "Environment",
    "SimulationError",
    "Timer",
]

ActorBody = Callable[["ActorContext"], Awaitable[None]]


class SimulationError(RuntimeError):
    """The simulation itself went wrong (a world actor raised, or a deadlock)."""


class _Stopped(BaseException):
    """Unwinds a waiting actor when its episode stops (a BaseException, so that an
    actor's ``except Exception`` cannot swallow it)."""


@attrs.define(eq=False, slots=True)
class Timer:
    """A pending delivery to oneself; :meth:`cancel` drops it before it fires.

    A timer with a ``callback`` is never delivered: the kernel calls it instead (see
    :meth:`ActorContext.call_later`).
    """

    payload: Any
    cancelled: bool = False
    callback: Callable[[ActorContext], None] | None = None

    def cancel(self) -> None:
        self.cancelled = True


@attrs.define(eq=False, slots=True)
class _Actor:
    name: str
    body: ActorBody | None = None
    #: The actor's trio task once started; it waits in ``wait_task_rescheduled``.
    task: trio.lowlevel.Task | None = None
    #: Timers that fired while the actor slept until another one, kept for ``receive``
    #: (created when first needed: most actors never sleep, and thousands run at once).
    pending: list[Timer] | None = None
    #: The timer a sleeping actor waits for; other deliveries are kept in ``held``.
    wake_on: Timer | None = None
    held: list[Any] | None = None
    waiting: bool = False
    done: bool = False

    def abort(self, _: Any) -> trio.lowlevel.Abort:
        # Cancelled from outside (Ctrl-C, an enclosing scope): let trio's Cancelled through.
        self.waiting = False
        self.wake_on = None
        return trio.lowlevel.Abort.SUCCEEDED


class _Start:
    """The delivery that starts an actor's task."""


_START = _Start()


_HeapEntry = tuple[int, int, int, _Actor, Any]


class Environment:
    """The clock and scheduler of one episode.

    ``spawn`` actors (in a fixed order), then ``await run()``: it returns when the
    episode has been stopped with :meth:`stop`, or raises :class:`SimulationError`
    if an actor raised, or if every actor waits and nothing is scheduled.
    """

    # Slotted: thousands of episodes in flight each hold one.
    __slots__ = ("_actors", "_ended", "_factories", "_failure", "_heap", "_hosted", "_joiner",
                 "_pool", "_record", "_seq", "_stopped", "deliveries", "now")

    def __init__(self, *, trace: Callable[[int, str, str, Any], None] | None = None):
        self.now: int = 0
        self._heap: list[_HeapEntry] = []
        self._seq = 0
        self._actors: dict[str, _Actor] = {}
        self._factories: tuple[tuple[str, Callable[[str], ActorBody | None]], ...] = ()
        self._pool: TaskPool | None = None
        #: Actors running in pooled tasks; ``_joiner`` (the task in ``run``) waits for them.
        self._hosted = 0
        self._joiner: trio.lowlevel.Task | None = None
        self._stopped = False
        #: Stopped, failed or deadlocked: no delivery happens any more.
        self._ended = False
        self._failure: BaseException | None = None
        self._record = trace
        #: Deliveries so far (starts, messages, timers, callbacks): a measure of an episode's work.
        self.deliveries = 0

    # -- building an episode -------------------------------------------------------
    def spawn(self, name: str, body: ActorBody) -> None:
        """Add an actor; it starts at the current simulated time, after those before it."""
        if name in self._actors:
            raise ValueError(f"actor {name!r} already exists")
        actor = _Actor(name, body)
        self._actors[name] = actor
        self._schedule(actor, 0, _START, 0)

    def call_at(self, time: int, name: str, callback: Callable[[ActorContext], None],
                priority: int = 0) -> None:
        """Run ``callback`` at simulated ``time``, as the actor ``name``, without a task.

        For a check that only looks and sends (a monitor): it runs synchronously when
        its turn comes, so it costs no task and no task switch.
        """
        if time < self.now:
            raise ValueError(f"time {time} is in the past (now {self.now})")
        actor = _Actor(name)
        self._schedule(actor, time - self.now, Timer(None, callback=callback), priority)

    def add_factory(self, prefix: str, factory: Callable[[str], ActorBody | None]) -> None:
        """Create actors on demand: a message to ``prefix + x`` spawns ``factory(prefix + x)``."""
        self._factories += ((prefix, factory),)

    @property
    def actor_count(self) -> int:
        return len(self._actors)

    # -- what actors call (through ActorContext) ----------------------------------
    def send(self, recipient: str, message: Any, delay: int = 0,
             priority: int = 0) -> None:
        actor = self._actors.get(recipient) or self._from_factory(recipient)
        self._schedule(actor, delay, message, priority)

    def record(self, actor: str, kind: str, payload: Any) -> None:
        if self._record is not None and not self._ended:
            self._record(self.now, actor, kind, payload)

    def stop(self) -> None:
        """End the episode now: no further delivery happens and every actor is unwound."""
        self._stopped = self._ended = True
        # Nothing pending will be delivered: free it now, not after the actors unwind.
        self._heap.clear()

    @property
    def stopped(self) -> bool:
        return self._stopped

    # -- running -------------------------------------------------------------------
    async def run(self, pool: TaskPool | None = None) -> None:
        """Run the episode to its end in the calling task.

        The calling task is not idle meanwhile: it serves as the task of the first actor
        to start, so an episode of n actors needs only n - 1 more. They come from ``pool``
        (a runner of many episodes shares one), else from a pool of this run's own.
        """
        if pool is None:
            failed: SimulationError | None = None
            async with open_task_pool() as own:
                try:
                    await self.run(own)
                except SimulationError as error:  # raised outside the pool's nursery,
                    failed = error  # not wrapped in an ExceptionGroup by it
            if failed is not None:
                raise failed
            return
        self._pool = pool
        try:
            heap = self._heap
            if heap and heap[0][4] is _START:
                _, _, _, first, _ = heappop(heap)
                self.deliveries += 1
                # Run here, not in _run_actor: thousands of waiting episodes would each
                # hold one coroutine frame more.
                try:
                    await self._begin(first)
                except (_Stopped, Exception) as error:
                    self._end(first, error)
                else:
                    self._end(first, None)
            else:
                self._resume_next(None)
            if self._hosted:
                # Return only once every actor has: none outlives its episode.
                self._joiner = trio.lowlevel.current_task()
                await wait_task_rescheduled(self._abort_join)
        finally:
            # Undelivered timers, messages and starts may hold closures that reach back
            # here (a callback that kept its context): dropping them keeps a finished
            # episode free of cycles, so it is freed at once rather than by the cyclic GC.
            self._heap.clear()
            self._pool = None
            self._joiner = None
        if self._failure is not None:
            raise SimulationError(
                f"{type(self._failure).__name__}: {self._failure}"
            ) from self._failure
        if not self._stopped:
            raise SimulationError("every actor is waiting and nothing is scheduled")

    def _abort_join(self, _: Any) -> trio.lowlevel.Abort:
        self._joiner = None
        return trio.lowlevel.Abort.SUCCEEDED

    # -- internals -------------------------------------------------------------------
    def _from_factory(self, name: str) -> _Actor:
        for prefix, factory in self._factories:
            if name.startswith(prefix):
                body = factory(name)
                if body is not None:
                    self.spawn(name, body)
                    return self._actors[name]
        raise SimulationError(f"no actor named {name!r}")

    def _schedule(self, actor: _Actor, delay: int, payload: Any, priority: int) -> None:
        if delay < 0:
            raise ValueError(f"delay {delay} is negative")
        self._seq += 1
        time = self.now + delay
        heappush(self._heap, (shared_instant(time), priority, self._seq, actor, payload))

    def _fail(self, error: BaseException) -> None:
        if not self._ended:
            self._failure = error
        self.stop()

    def _resume_next(self, asking: _Actor | None) -> Any:
        """Hand the next delivery to its actor; ``asking`` is the actor about to wait.

        Returns the delivery itself when it is for ``asking`` (it goes on running, no
        task switch), else ``_PARK``: another actor now runs, or the episode is over.
        """
        heap = self._heap
        while heap and not self._ended:
            time, _, _, actor, payload = heappop(heap)
            if actor.done:
                continue
            if type(payload) is Timer:
                if payload.cancelled:
                    continue
                if payload.callback is not None:
                    self.now = time
                    self.deliveries += 1
                    try:
                        # A fresh context: one kept on the actor would be a reference
                        # cycle, freeing a finished episode only at the next full GC.
                        payload.callback(ActorContext(self, actor))
                    except Exception as error:
                        self._fail(error)
                    continue
            self.now = time
            self.deliveries += 1
            if payload is _START:
                assert self._pool is not None
                self._hosted += 1
                self._pool.start_soon(self._run_actor, actor)
                return _PARK
            wake_on = actor.wake_on
            if wake_on is not None:
                if payload is not wake_on:
                    # A sleeping actor: keep the message (or a timer, for a later receive).
                    if type(payload) is Timer:
                        if actor.pending is None:
                            actor.pending = []
                        actor.pending.append(payload)
                    else:
                        if actor.held is None:
                            actor.held = []
                        actor.held.append(payload)
                    continue
                # Its wake-up: what ``sleep`` returns is what arrived meanwhile.
                payload = actor.held or []
                actor.held = actor.wake_on = None
            if actor is asking:
                return payload
            assert actor.waiting and actor.task is not None
            actor.waiting = False
            reschedule(actor.task, Value(payload))
            return _PARK
        self._ended = True  # stopped, or a deadlock: run() tells which
        self._unwind(asking)
        return _PARK

    def _unwind(self, asking: _Actor | None) -> None:
        """The episode is over: wake every waiting actor (but ``asking``) to unwind it."""
        for actor in self._actors.values():
            if actor.waiting and actor is not asking:
                actor.waiting = False
                assert actor.task is not None
                reschedule(actor.task, Error(_Stopped()))

    def _next(self, actor: _Actor) -> Awaitable[Any]:
        """An awaitable of ``actor``'s next delivery: done at once if the delivery is for
        it, else a wait (after handing the delivery to its own actor). Raises
        :class:`_Stopped` once the episode is over.

        The awaitable is returned rather than awaited here, so that a waiting actor holds
        one coroutine frame fewer (thousands of episodes in flight add up).
        """
        if not self._ended:
            item = self._resume_next(actor)
            if item is not _PARK:
                return _ready(item)
        if self._ended:
            raise _Stopped
        actor.waiting = True
        return wait_task_rescheduled(actor.abort)

    def _begin(self, actor: _Actor) -> Awaitable[None]:
        """The coroutine of an actor's body, to run in the current task."""
        actor.task = trio.lowlevel.current_task()
        body, actor.body = actor.body, None
        assert body is not None
        return body(ActorContext(self, actor))

    def _end(self, actor: _Actor, error: BaseException | None) -> None:
        """An actor's body returned (``error`` None), was unwound, or raised."""
        actor.done = True
        if error is None:
            self._resume_next(None)
            return
        if not isinstance(error, _Stopped):
            self._fail(error)
        self._unwind(actor)  # it may have been the one that stopped the episode

    async def _run_actor(self, actor: _Actor) -> None:
        """Run an actor in a pooled task, which ``run`` waits for."""
        try:
            await self._begin(actor)
        except (_Stopped, Exception) as error:
            self._end(actor, error)
        else:
            self._end(actor, None)
        finally:
            self._hosted -= 1
            if not self._hosted and self._joiner is not None:
                reschedule(self._joiner)
                self._joiner = None


class _Park:
    """The kernel's answer when the asking actor must wait."""


_PARK = _Park()


@types.coroutine
def _ready(value: Any) -> Generator[Any, Any, Any]:
    """An awaitable that gives ``value`` at once, without a trip through trio."""
    return value
    yield  # a generator: awaitable, and done at its first step


class ActorContext:
    """What an actor's code sees of the kernel: the clock, sending, receiving, timers."""

    __slots__ = ("_actor", "_env", "name")

    def __init__(self, env: Environment, actor: _Actor) -> None:
        self._env = env
        self._actor = actor
        self.name = actor.name

    @property
    def now(self) -> int:
        """Simulated seconds since the episode started."""
        return self._env.now

    def send(self, recipient: str, message: Any, delay: int = 0) -> None:
        """Deliver ``message`` to ``recipient`` ``delay`` simulated seconds from now."""
        self._env.send(recipient, message, delay)

    def set_timer(self, delay: int, payload: Any = None, *, priority: int = 0) -> Timer:
        """Deliver a :class:`Timer` to oneself after ``delay`` seconds."""
        timer = Timer(payload)
        self._env._schedule(self._actor, delay, timer, priority)
        return timer

    def call_later(self, delay: int, callback: Callable[[ActorContext], None], *,
                   priority: int = 0) -> Timer:
        """Run ``callback(context)`` ``delay`` seconds from now, as this actor, without
        waking it; ``cancel()`` the returned timer to drop it.

        For timer work that only looks, records and sends (a reply due in ten minutes):
        the kernel calls it when its time comes, in the order a timer would have been
        delivered, and it costs no task switch. A callback must not block. If the actor
        has finished by then, it is not called.
        """
        timer = Timer(None, callback=callback)
        self._env._schedule(self._actor, delay, timer, priority)
        return timer

    def receive(self) -> Awaitable[Any]:
        """Wait for the next delivery: a message or one of one's own timers.

        ``await ctx.receive()``. (It is not itself a coroutine function: an actor waiting
        in it then holds one coroutine frame fewer, and thousands wait at once.)
        """
        actor = self._actor
        pending = actor.pending
        while pending:  # timers that fired while this actor slept
            item = pending.pop(0)
            if not item.cancelled:
                return _ready(item)
        return self._env._next(actor)

    def sleep(self, delay: int, *, priority: int = 0) -> Awaitable[list[Any]]:
        """Wait ``delay`` seconds; the result is the messages that arrived meanwhile, in
        order: ``arrived = await ctx.sleep(60)``.

        Timers of one's own that fire meanwhile are kept for later :meth:`receive` calls.
        """
        actor = self._actor
        timer = Timer(None)
        self._env._schedule(actor, delay, timer, priority)
        actor.wake_on = timer
        # Only ``timer`` comes back, as the list of what else arrived meanwhile.
        return self._env._next(actor)

    def record(self, kind: str, payload: Any) -> None:
        """Append an event to the episode's trace, stamped with the time and this actor.

        ``payload`` is whatever the recorder given to :class:`Environment` accepts; the
        kernel passes it on untouched.
        """
        self._env.record(self.name, kind, payload)

    def stop(self) -> None:
        """End the episode."""
        self._env.stop()
