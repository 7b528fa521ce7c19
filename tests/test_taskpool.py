"""The task pool (sim.kernel.taskpool) and how episodes use it."""

from __future__ import annotations

from typing import Any

import pytest
import trio
from episode_helpers import SEED_TASK

from actors import make_job
from sim.kernel.environment import ActorContext, Environment, SimulationError
from sim.kernel.taskpool import TaskPool, open_task_pool
from sim.runner import run_episodes


async def test_a_pool_reuses_a_task_once_its_function_returned() -> None:
    seen: list[trio.lowlevel.Task] = []

    async def note() -> None:
        seen.append(trio.lowlevel.current_task())

    async with open_task_pool() as pool:
        for _ in range(5):
            pool.start_soon(note)
            await trio.testing.wait_all_tasks_blocked()
        assert pool.idle == 1
    assert len(seen) == 5
    assert len(set(map(id, seen))) == 1


async def test_busy_tasks_are_not_lent_and_the_pool_grows() -> None:
    started: list[trio.lowlevel.Task] = []
    release = trio.Event()

    async def hold() -> None:
        started.append(trio.lowlevel.current_task())
        await release.wait()

    async with open_task_pool() as pool:
        for _ in range(3):
            pool.start_soon(hold)
        await trio.testing.wait_all_tasks_blocked()
        assert len(set(map(id, started))) == 3
        assert pool.idle == 0
        release.set()
        await trio.testing.wait_all_tasks_blocked()
        assert pool.idle == 3


async def test_the_block_waits_for_functions_still_running() -> None:
    finished: list[str] = []

    async def slow() -> None:
        await trio.sleep(0.01)
        finished.append("slow")

    async with open_task_pool() as pool:
        pool.start_soon(slow)
    assert finished == ["slow"]


async def test_an_error_in_a_pooled_function_reaches_the_nursery() -> None:
    async def boom() -> None:
        raise KeyError("x")

    with pytest.RaisesGroup(KeyError):
        async with open_task_pool() as pool:
            pool.start_soon(boom)
            await trio.sleep_forever()


async def test_cancelling_the_nursery_ends_idle_tasks() -> None:
    async def nothing() -> None:
        return None

    with trio.move_on_after(0.05) as scope:
        async with trio.open_nursery() as nursery:
            pool = TaskPool(nursery)
            pool.start_soon(nothing)
            await trio.testing.wait_all_tasks_blocked()
            assert pool.idle == 1
            await trio.sleep_forever()
    assert scope.cancelled_caught
    assert pool.idle == 0


async def test_start_after_close_is_an_error() -> None:
    async with open_task_pool() as pool:
        pool.close()
        with pytest.raises(RuntimeError, match="closed"):
            pool.start_soon(trio.sleep, 0)


async def test_run_returns_only_after_every_pooled_actor_has_unwound() -> None:
    order: list[str] = []

    async def stopper(ctx: ActorContext) -> None:
        ctx.send("listener", "hello")
        await ctx.receive()  # the listener's answer
        ctx.stop()

    async def listener(ctx: ActorContext) -> None:
        try:
            await ctx.receive()
            ctx.send("stopper", "hi")
            await ctx.receive()  # never comes: the episode stops
        finally:
            order.append("listener unwound")

    async with open_task_pool() as pool:
        env = Environment()
        env.spawn("stopper", stopper)
        env.spawn("listener", listener)
        await env.run(pool)
        order.append("run returned")
        assert pool.idle == 1  # the listener's task, lent back
    assert order == ["listener unwound", "run returned"]


async def test_an_actor_failing_in_a_pooled_task_fails_only_its_episode() -> None:
    async def bad(ctx: ActorContext) -> None:
        raise ValueError("nope")

    async def good(ctx: ActorContext) -> None:
        ctx.send("bad", "go")
        await ctx.receive()

    async with open_task_pool() as pool:
        env = Environment()
        env.spawn("good", good)
        env.spawn("bad", bad)
        with pytest.raises(SimulationError, match="ValueError: nope"):
            await env.run(pool)
        assert pool.idle == 1


def test_a_shared_pool_changes_no_trace() -> None:
    jobs = [make_job(SEED_TASK, agent, seed=seed, persona=persona)
            for agent in ("oracle", "random") for seed in range(3)
            for persona in ("cooperative", "impatient")]

    async def alone() -> list[Any]:
        from sim.episode import run_episode
        return [await run_episode(j.task, j.make_agent(), world=j.world, seed=j.seed,
                                  agent_name=j.agent_name, privileged=j.privileged)
                for j in jobs]

    pooled = trio.run(lambda: run_episodes(jobs, concurrency=4))
    separate = trio.run(alone)
    assert [r.trace.to_jsonl() for r in pooled] == [r.trace.to_jsonl() for r in separate]
