"""The environment on its own: actors, messages, timers and callbacks on the simulated clock
(:class:`~sim.kernel.environment.Environment`, SPEC §3).

Messages are delivered in simulated-time order, ties in the order they were scheduled,
whatever the real latency of the actors; an episode in which every actor waits with
nothing scheduled, or an actor or callback raises, is a :class:`SimulationError`.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
import trio

from sim.kernel.environment import ActorContext, Environment, SimulationError

# -- delivery order --------------------------------------------------------------------


async def test_ping_pong_delivers_in_time_order_whatever_the_real_latency() -> None:
    env = Environment()
    log: list[tuple[int, str, str]] = []
    jitter = random.Random()

    async def ping(ctx: ActorContext) -> None:
        ctx.send("pong", "a1", delay=7)
        ctx.send("pong", "late", delay=100)
        ctx.send("pong", "early", delay=1)
        for n in range(2, 5):
            message = await ctx.receive()
            await trio.sleep(jitter.uniform(0, 0.003))  # real time: must not move the clock
            log.append((ctx.now, ctx.name, message))
            ctx.send("pong", f"a{n}", delay=7)
        message = await ctx.receive()
        log.append((ctx.now, ctx.name, message))
        ctx.stop()

    async def pong(ctx: ActorContext) -> None:
        while True:
            message = await ctx.receive()
            await trio.sleep(jitter.uniform(0, 0.003))
            log.append((ctx.now, ctx.name, message))
            if message.startswith("a"):
                ctx.send("ping", "b" + message[1:], delay=3)

    env.spawn("ping", ping)
    env.spawn("pong", pong)
    await env.run()
    assert log == [
        (1, "pong", "early"),
        (7, "pong", "a1"),
        (10, "ping", "b1"),
        (17, "pong", "a2"),
        (20, "ping", "b2"),
        (27, "pong", "a3"),
        (30, "ping", "b3"),
        (37, "pong", "a4"),
        (40, "ping", "b4"),
    ]
    assert env.now == 40  # stopped before "late" (t=100) was delivered
    assert env.stopped


async def test_ties_at_one_instant_are_delivered_in_scheduling_order() -> None:
    env = Environment()
    got: list[tuple[int, str]] = []

    async def first(ctx: ActorContext) -> None:
        for label, delay in (("f30", 30), ("f10a", 10), ("f20", 20), ("f10b", 10), ("f0", 0)):
            ctx.send("sink", label, delay=delay)

    async def second(ctx: ActorContext) -> None:  # spawned after ``first``
        ctx.send("sink", "s10", delay=10)
        await ctx.sleep(5)
        ctx.send("sink", "s5+5", delay=5)  # due at 10 too, scheduled later still
        ctx.send("sink", "s5+15", delay=15)  # due at 20, scheduled after f20

    async def sink(ctx: ActorContext) -> None:
        while len(got) < 8:
            item = await ctx.receive()
            got.append((ctx.now, item))
        ctx.stop()

    env.spawn("first", first)
    env.spawn("second", second)
    env.spawn("sink", sink)
    await env.run()
    assert got == [
        (0, "f0"), (10, "f10a"), (10, "f10b"), (10, "s10"), (10, "s5+5"),
        (20, "f20"), (20, "s5+15"), (30, "f30"),
    ]


async def test_a_sleeping_actor_gets_what_arrived_in_order_and_keeps_its_timers() -> None:
    env = Environment()
    got: list[Any] = []

    async def sleeper(ctx: ActorContext) -> None:
        ctx.set_timer(4, "own timer")
        got.append(await ctx.sleep(10))
        got.append((await ctx.receive()).payload)  # the timer that fired while asleep
        ctx.stop()

    async def sender(ctx: ActorContext) -> None:
        for delay in (1, 2, 3):
            ctx.send("sleeper", f"m{delay}", delay=delay - ctx.now)
            await ctx.sleep(delay - ctx.now)

    env.spawn("sleeper", sleeper)
    env.spawn("sender", sender)
    await env.run()
    assert got == [["m1", "m2", "m3"], "own timer"]


# -- timers and callbacks --------------------------------------------------------------


async def test_cancelled_timer_never_fires() -> None:
    env = Environment()
    got: list[tuple[int, Any]] = []

    async def actor(ctx: ActorContext) -> None:
        dropped = ctx.set_timer(5, "dropped")
        ctx.set_timer(10, "kept")
        dropped.cancel()
        item = await ctx.receive()
        got.append((ctx.now, item.payload))
        ctx.stop()

    env.spawn("actor", actor)
    await env.run()
    assert got == [(10, "kept")]


async def test_call_later_runs_in_timer_order_without_waking_the_actor() -> None:
    env = Environment()
    log: list[tuple[int, str]] = []
    woken: list[Any] = []

    async def actor(ctx: ActorContext) -> None:
        ctx.call_later(10, lambda c: log.append((c.now, "callback at 10")))
        dropped = ctx.call_later(5, lambda c: log.append((c.now, "dropped")))
        ctx.set_timer(10, "timer at 10")  # scheduled after the callback: delivered after it
        ctx.call_later(7, lambda c: c.send("other", "from a callback"))
        dropped.cancel()
        woken.append((await ctx.receive()).payload)
        log.append((ctx.now, "timer at 10"))
        ctx.stop()

    async def other(ctx: ActorContext) -> None:
        message = await ctx.receive()
        log.append((ctx.now, message))

    env.spawn("actor", actor)
    env.spawn("other", other)
    await env.run()
    assert log == [(7, "from a callback"), (10, "callback at 10"), (10, "timer at 10")]
    assert woken == ["timer at 10"]  # the callbacks never reached receive()


async def test_call_later_of_a_finished_actor_is_not_called() -> None:
    env = Environment()
    called: list[int] = []

    async def short(ctx: ActorContext) -> None:
        ctx.call_later(5, lambda c: called.append(c.now))  # then returns: finished

    async def long(ctx: ActorContext) -> None:
        await ctx.sleep(20)
        ctx.stop()

    env.spawn("short", short)
    env.spawn("long", long)
    await env.run()
    assert called == []
    assert env.now == 20


# -- stopping, deadlocks and errors ----------------------------------------------------


async def test_a_callback_can_stop_the_episode_and_every_actor_unwinds() -> None:
    env = Environment()
    unwound: list[str] = []

    async def waiter(ctx: ActorContext) -> None:
        try:
            await ctx.receive()
        finally:
            unwound.append(ctx.name)

    async def timekeeper(ctx: ActorContext) -> None:
        ctx.call_later(30, lambda c: c.stop())
        try:
            await ctx.sleep(1_000)
        finally:
            unwound.append(ctx.name)

    env.spawn("a", waiter)
    env.spawn("keeper", timekeeper)
    env.spawn("b", waiter)
    await env.run()
    assert env.stopped and env.now == 30
    assert sorted(unwound) == ["a", "b", "keeper"]


async def test_an_actor_that_stops_the_episode_and_waits_again_unwinds() -> None:
    env = Environment()
    reached: list[str] = []

    async def stopper(ctx: ActorContext) -> None:
        ctx.stop()
        reached.append("stopped")
        await ctx.receive()  # the episode is over: this unwinds the actor
        reached.append("never")

    async def other(ctx: ActorContext) -> None:
        await ctx.receive()

    env.spawn("other", other)
    env.spawn("stopper", stopper)
    await env.run()
    assert reached == ["stopped"]


async def test_every_actor_waiting_with_nothing_scheduled_raises() -> None:
    env = Environment()

    async def sender(ctx: ActorContext) -> None:
        ctx.send("receiver", "hello", delay=5)
        await ctx.receive()  # nobody will ever write back

    async def receiver(ctx: ActorContext) -> None:
        await ctx.receive()
        await ctx.receive()

    env.spawn("sender", sender)
    env.spawn("receiver", receiver)
    with pytest.raises(SimulationError, match="waiting"):
        await env.run()
    assert env.now == 5


async def test_deadlock_from_the_start_raises() -> None:
    env = Environment()

    async def waiter(ctx: ActorContext) -> None:
        await ctx.receive()

    env.spawn("a", waiter)
    env.spawn("b", waiter)
    with pytest.raises(SimulationError):
        await env.run()


async def test_an_actor_raising_is_a_simulation_error() -> None:
    env = Environment()

    async def bad(ctx: ActorContext) -> None:
        await ctx.sleep(3)
        raise KeyError("missing thing")

    async def idle(ctx: ActorContext) -> None:
        await ctx.sleep(1000)
        ctx.stop()

    env.spawn("bad", bad)
    env.spawn("idle", idle)
    with pytest.raises(SimulationError, match="KeyError"):
        await env.run()


async def test_a_raising_callback_is_a_simulation_error() -> None:
    env = Environment()

    async def actor(ctx: ActorContext) -> None:
        ctx.call_later(3, lambda c: {}["missing"])
        await ctx.sleep(100)

    env.spawn("actor", actor)
    with pytest.raises(SimulationError, match="KeyError"):
        await env.run()
    assert env.now == 3
