"""The per-episode kernel: a simulated clock, actors and their mailboxes.

Each episode has one :class:`Environment`. Actors are trio tasks; each owns a trio
memory channel as its mailbox and blocks only in :meth:`ActorContext.receive`. The
environment counts the actors that are running; when the count reaches zero, every
actor is waiting, so it may advance the clock: it pops the earliest pending delivery
(ordered by simulated time, then priority, then the order it was scheduled in) and
wakes exactly one actor with it. Because at most one actor of an episode runs at a
time, what happens next never depends on trio's scheduling order, and an actor that
takes real time (an agent calling an LLM) costs no simulated time: the clock cannot
move while it runs.

Timers are deliveries to oneself. Nothing here knows what the actors are.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
import trio

__all__ = [
    "PRIORITY_CHECK",
    "PRIORITY_MESSAGE",
    "PRIORITY_TURN",
    "ActorContext",
    "Environment",
    "SimulationError",
    "Timer",
]

ActorBody = Callable[["ActorContext"], Awaitable[None]]
#: Deliveries at one instant go in this order of priority: messages, then turns, then checks.
PRIORITY_MESSAGE = 0
PRIORITY_TURN = 1
PRIORITY_CHECK = 2


class SimulationError(RuntimeError):
    """The simulation itself went wrong (a world actor raised, or a deadlock)."""


@attrs.define(eq=False, slots=True)
class Timer:
    """A pending delivery to oneself; :meth:`cancel` drops it before it fires."""

    payload: Any
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True


@attrs.define(eq=False, slots=True)
class _Actor:
    name: str
    send: trio.MemorySendChannel[Any]
    receive: trio.MemoryReceiveChannel[Any]
    pending: deque[Any] = attrs.field(factory=deque)
    done: bool = False


class Environment:
    """The clock and scheduler of one episode.

    ``spawn`` actors (in a fixed order), then ``await run()``: it returns when the
    episode has been stopped with :meth:`stop`, or raises :class:`SimulationError`
    if every actor waits and nothing is scheduled.
    """

    def __init__(self, *, trace: Callable[[int, str, str, dict[str, Any]], None] | None = None):
        self.now: int = 0
        self._heap: list[tuple[int, int, int, _Actor, Any]] = []
        self._seq = 0
        self._running = 0
        self._actors: dict[str, _Actor] = {}
        self._bodies: list[tuple[_Actor, ActorBody]] = []
        self._factories: list[tuple[str, Callable[[str], ActorBody | None]]] = []
        self._nursery: trio.Nursery | None = None
        self._stopped = False
        self._failure: BaseException | None = None
        self._quiet = trio.Event()
        self._record = trace
        #: Deliveries made so far (messages and timers): a measure of an episode's work.
        self.deliveries = 0

    # -- building an episode -------------------------------------------------------
    def spawn(self, name: str, body: ActorBody) -> None:
        """Add an actor; it starts at the current simulated time, after those before it."""
        if name in self._actors:
            raise ValueError(f"actor {name!r} already exists")
        send, receive = trio.open_memory_channel[Any](math.inf)
        actor = _Actor(name, send, receive)
        self._actors[name] = actor
        self._schedule(actor, 0, _START, PRIORITY_MESSAGE)
        if self._nursery is None:
            self._bodies.append((actor, body))
        else:
            self._running += 1
            self._nursery.start_soon(self._run_actor, actor, body)

    def call_at(self, time: int, name: str, callback: Callable[[ActorContext], None],
                priority: int = PRIORITY_MESSAGE) -> None:
        """Run ``callback`` at simulated ``time``, as the actor ``name``, without a task.

        For a check that only looks and sends (a monitor): it runs synchronously when
        its turn comes, so it costs no task and no task switch.
        """
        if time < self.now:
            raise ValueError(f"time {time} is in the past (now {self.now})")
        actor = _Actor(name, *trio.open_memory_channel[Any](0), done=False)
        self._seq += 1
        heapq.heappush(self._heap, (time, priority, self._seq, actor,
                                    _Callback(callback, ActorContext(self, actor))))

    def add_factory(self, prefix: str, factory: Callable[[str], ActorBody | None]) -> None:
        """Create actors on demand: a message to ``prefix + x`` spawns ``factory(prefix + x)``."""
        self._factories.append((prefix, factory))

    def has_actor(self, name: str) -> bool:
        return name in self._actors

    @property
    def actor_count(self) -> int:
        return len(self._actors)

    # -- what actors call (through ActorContext) ----------------------------------
    def send(self, recipient: str, message: Any, delay: int = 0,
             priority: int = PRIORITY_MESSAGE) -> None:
        actor = self._actors.get(recipient) or self._from_factory(recipient)
        self._schedule(actor, delay, message, priority)

    def record(self, actor: str, kind: str, payload: dict[str, Any]) -> None:
        if self._record is not None and not self._stopped:
            self._record(self.now, actor, kind, payload)

    def stop(self) -> None:
        """End the episode now: no further delivery happens and every actor is cancelled."""
        self._stopped = True
        self._quiet.set()

    @property
    def stopped(self) -> bool:
        return self._stopped

    # -- running -------------------------------------------------------------------
    async def run(self) -> None:
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            self._running = len(self._bodies)
            for actor, body in self._bodies:
                nursery.start_soon(self._run_actor, actor, body)
            self._bodies.clear()
            await self._quiet.wait()
            nursery.cancel_scope.cancel()
        if self._failure is not None:
            raise SimulationError(
                f"{type(self._failure).__name__}: {self._failure}"
            ) from self._failure
        if not self._stopped:
            raise SimulationError("every actor is waiting and nothing is scheduled")

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
        heapq.heappush(self._heap, (self.now + delay, priority, self._seq, actor, payload))

    def _idle(self) -> None:
        """One actor started waiting; if it was the last running one, wake the next."""
        self._running -= 1
        if self._running:
            return
        heap = self._heap
        while heap and not self._stopped:
            time, _, _, actor, payload = heapq.heappop(heap)
            if actor.done or (isinstance(payload, Timer) and payload.cancelled):
                continue
            self.now = time
            if isinstance(payload, _Callback):
                try:
                    payload.callback(payload.context)
                except Exception as error:
                    if self._failure is None:
                        self._failure = error
                    self.stop()
                continue
            self._running = 1
            self.deliveries += 1
            actor.send.send_nowait(payload)
            return
        self._quiet.set()

    async def _receive(self, actor: _Actor) -> Any:
        while actor.pending:
            item = actor.pending.popleft()
            if not (isinstance(item, Timer) and item.cancelled):
                return item
        self._idle()
        return await actor.receive.receive()

    async def _run_actor(self, actor: _Actor, body: ActorBody) -> None:
        context = ActorContext(self, actor)
        try:
            first = await self._receive(actor)
            assert first is _START
            await body(context)
        except Exception as error:
            actor.done = True
            if self._failure is None and not self._stopped:
                self._failure = error
            self.stop()
            return
        actor.done = True
        self._idle()


_START = object()


@attrs.frozen
class _Callback:
    callback: Callable[[ActorContext], None]
    context: ActorContext


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

    async def receive(self) -> Any:
        """Wait for the next delivery: a message or one of one's own timers."""
        return await self._env._receive(self._actor)

    async def sleep(self, delay: int, *, priority: int = 0) -> list[Any]:
        """Wait ``delay`` seconds; return the messages that arrived meanwhile, in order."""
        timer = self.set_timer(delay, priority=priority)
        arrived: list[Any] = []
        other_timers: list[Timer] = []
        while True:
            item = await self.receive()
            if item is timer:
                self._actor.pending.extend(other_timers)
                return arrived
            if isinstance(item, Timer):
                other_timers.append(item)
            else:
                arrived.append(item)

    def record(self, kind: str, payload: dict[str, Any]) -> None:
        """Append an event to the episode's trace, stamped with the time and this actor."""
        self._env.record(self.name, kind, payload)

    def stop(self) -> None:
        """End the episode."""
        self._env.stop()
