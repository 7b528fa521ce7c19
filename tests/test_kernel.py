"""The kernel: the per-episode clock, episodes, the runner and traces (SPEC §3, §5).

Every test runs real episodes (or a bare :class:`~sim.kernel.environment.Environment`) and
checks what they produce: traces, observations, results.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import attrs
import pytest
import trio
from episode_helpers import SEED_TASK, Recorder, events, play, times, variant
from hypothesis import given, settings
from hypothesis import strategies as st

from actors import OracleAgent, ScriptedAgent, StandardWorld, make_job, simulate
from sim.episode import EpisodeConfig, EpisodeResult, EpisodeState, run_episode
from sim.grading import grade, grade_events
from sim.kernel.environment import ActorContext, Environment, SimulationError
from sim.observation import Observation
from sim.outlook import WorldOutlook, outlook_as_written
from sim.runner import run_episodes
from sim.trace import SCHEMA_VERSION, DeferredPayload, Trace
from tasks import PERSONAS, SupportTaskSpec, discover_tasks

ROOT = Path(__file__).resolve().parent.parent

DET_SEED = 11
STEP = SEED_TASK.step_seconds  # 20 simulated minutes


# -- helpers -----------------------------------------------------------------------------


async def oracle_jsonl(config: EpisodeConfig | None = None) -> str:
    result = await simulate(SEED_TASK, "oracle", seed=DET_SEED, persona="cooperative",
                            config=config)
    return result.trace.to_jsonl()


class SleepyAsyncOracle:
    """The oracle, after a real (wall-clock) pause of 0-``max_delay`` s before each decision."""

    def __init__(self, max_delay: float = 0.02) -> None:
        self.oracle = OracleAgent()
        self.rng = random.Random()  # real randomness on purpose: latency must not matter
        self.max_delay = max_delay

    def reset(self, task: SupportTaskSpec, seed: int) -> None:
        self.oracle.reset(task, seed)

    async def act(self, observation: Observation) -> Any:
        await trio.sleep(self.rng.uniform(0, self.max_delay))
        return self.oracle.act(observation)


class SleepyThreadOracle:
    """A sync agent (run in a worker thread) that blocks 0-20 ms before each decision."""

    def __init__(self) -> None:
        self.oracle = OracleAgent()
        self.rng = random.Random()

    def reset(self, task: SupportTaskSpec, seed: int) -> None:
        self.oracle.reset(task, seed)

    def act(self, observation: Observation) -> Any:
        time.sleep(self.rng.uniform(0, 0.02))
        return self.oracle.act(observation)


# -- 9. the environment on its own -----------------------------------------------------


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


async def test_a_raising_callback_is_a_simulation_error() -> None:
    env = Environment()

    async def actor(ctx: ActorContext) -> None:
        ctx.call_later(3, lambda c: {}["missing"])
        await ctx.sleep(100)

    env.spawn("actor", actor)
    with pytest.raises(SimulationError, match="KeyError"):
        await env.run()
    assert env.now == 3


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


@pytest.mark.parametrize("persona", ["cooperative", "impatient"])
def test_a_finished_episode_leaves_no_cyclic_garbage(persona: str) -> None:
    """Each episode is freed by reference counting as soon as it ends. (A reference
    cycle once kept every finished episode, trace and all, until the cyclic collector
    ran, which under many episodes at once is rarely: memory grew with them. The
    impatient customer's pending nudge, which points back at it, once made another.)"""
    import gc

    jobs = [make_job(SEED_TASK, "oracle", seed=s, persona=persona, faults=("eta_slips",))
            for s in range(50)]
    trio.run(lambda: run_episodes(jobs[:2], collect=False))  # first-use caches
    gc.collect()
    gc.disable()
    try:
        trio.run(lambda: run_episodes(jobs, concurrency=10, collect=False))
        unreachable = gc.collect()
    finally:
        gc.enable()
    # trio.run leaves a few dozen objects, whatever the number of episodes; a cycle
    # through the environment leaves about a hundred per episode.
    assert unreachable < 2 * len(jobs), unreachable


# -- 1. determinism --------------------------------------------------------------------


async def test_same_seed_alone_twice_is_byte_identical() -> None:
    first, second = await oracle_jsonl(), await oracle_jsonl()
    assert first == second
    assert '"kind":"customer_answer"' in first  # a real episode, not an empty one


async def test_seed_task_among_500_concurrent_episodes_is_byte_identical() -> None:
    reference = await oracle_jsonl()
    tasks = sorted(discover_tasks().values(), key=lambda t: t.task_id)
    pick = random.Random(2024)
    jobs = []
    for i in range(500):
        task = tasks[i % len(tasks)]
        persona = PERSONAS[i % len(PERSONAS)]
        seed = pick.randrange(10_000)
        kind = i % 3
        if kind == 0:
            jobs.append(make_job(task, "oracle", seed=seed, persona=persona))
        elif kind == 1:
            jobs.append(make_job(task, "random", seed=seed, persona=persona))
        else:
            jobs.append(make_job(task, lambda: SleepyAsyncOracle(0.004), seed=seed,
                                 persona=persona, agent_name="oracle", privileged=True))
    target = 250
    jobs[target] = make_job(SEED_TASK, "oracle", seed=DET_SEED, persona="cooperative")
    results = await run_episodes(jobs, concurrency=500)
    assert len(results) == 500
    assert [r.seed for r in results] == [j.seed for j in jobs]  # job order kept
    assert results[target].trace.to_jsonl() == reference
    # A few others, re-run alone, match too (the sleepy agents decide like the oracle).
    for index in (0, 1, 2, 101, 499):
        job = jobs[index]
        alone = await run_episode(job.task, job.make_agent(), world=job.world, seed=job.seed,
                                  agent_name=job.agent_name, config=job.config,
                                  privileged=job.privileged)
        assert alone.trace.to_jsonl() == results[index].trace.to_jsonl(), index


def test_seed_task_in_another_process_is_byte_identical() -> None:
    reference = trio.run(oracle_jsonl).encode("utf-8")
    code = (
        "import sys, trio\n"
        "from tasks import get_task\n"
        "from actors import simulate\n"
        f"r = trio.run(lambda: simulate(get_task('api_incident_hard'), 'oracle', "
        f"seed={DET_SEED}, persona='cooperative'))\n"
        "sys.stdout.buffer.write(r.trace.to_jsonl().encode('utf-8'))\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "4242"}  # a different str hash than ours
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                          capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout == reference


async def test_real_agent_latency_does_not_change_the_trace() -> None:
    reference = await oracle_jsonl()
    result = await simulate(SEED_TASK, SleepyAsyncOracle, seed=DET_SEED,
                            persona="cooperative", agent_name="oracle", privileged=True)
    assert result.agent_latency_max > 0.0  # it really did take real time
    assert result.trace.to_jsonl() == reference


async def test_sync_agent_in_a_thread_sleeping_gives_the_same_trace() -> None:
    config = EpisodeConfig(agent_executor="thread")
    reference_thread = await oracle_jsonl(config)
    reference_auto = await oracle_jsonl()
    result = await simulate(SEED_TASK, SleepyThreadOracle, seed=DET_SEED,
                            persona="cooperative", agent_name="oracle", config=config,
                            privileged=True)
    text = result.trace.to_jsonl()
    assert text == reference_thread
    # Only the header's config differs from an inline run; every event is the same.
    assert text.splitlines()[1:] == reference_auto.splitlines()[1:]


async def test_different_seeds_give_different_field_values() -> None:
    def first_answer(result: EpisodeResult) -> dict[str, Any]:
        return events(result, "customer_answer")[0].payload["fields"]

    one = first_answer(await simulate(SEED_TASK, "oracle", seed=1, persona="cooperative"))
    two = first_answer(await simulate(SEED_TASK, "oracle", seed=2, persona="cooperative"))
    again = first_answer(await simulate(SEED_TASK, "oracle", seed=1, persona="cooperative"))
    assert one == again
    assert one != two
    for field in ("request_ids", "time_window"):  # correct answers, derived from the seed
        assert one[field]["status"] == two[field]["status"] == "correct"
        assert one[field]["value"] != two[field]["value"]


# -- 4. the simulated clock ------------------------------------------------------------


async def test_agent_real_thinking_time_costs_no_simulated_time() -> None:
    class SlowThinker:
        async def act(self, observation: Observation) -> list[Any]:
            await trio.sleep(0.05)
            return []

    started = time.perf_counter()
    result = await play(SlowThinker())
    assert time.perf_counter() - started >= 0.05 * SEED_TASK.max_steps
    assert result.agent_latency_max >= 0.05
    turns = events(result, "turn")
    assert [e.payload["turn"] for e in turns] == list(range(1, SEED_TASK.max_steps + 1))
    assert [e.t for e in turns] == [
        (k - 1) * SEED_TASK.sla_step_cost * 60 for k in range(1, SEED_TASK.max_steps + 1)
    ]
    assert result.sim_minutes == (SEED_TASK.max_steps - 1) * SEED_TASK.sla_step_cost


async def test_observation_clock_fields_follow_the_turns() -> None:
    agent = Recorder()
    await play(agent)
    for obs in agent.observations:
        assert obs.time_seconds == (obs.turn - 1) * STEP
        assert obs.sim_minutes == (obs.turn - 1) * SEED_TASK.sla_step_cost
        assert obs.turns_left == SEED_TASK.max_steps - obs.turn
        assert obs.minutes_to_sla == SEED_TASK.ticket.sla_minutes_remaining - obs.sim_minutes


@pytest.mark.parametrize("delay_minutes", [10, 3])
async def test_customer_answers_after_the_reply_delay(delay_minutes: int) -> None:
    task = variant(SEED_TASK, customer_reply_delay_minutes=delay_minutes)
    ask = {"op": "reply", "message": "Please send the request ids.",
           "request_fields": ["request_ids"]}
    result = await play(ScriptedAgent([[], [ask]]), task)
    (answer,) = events(result, "customer_answer")
    assert answer.payload["request_turn"] == 2
    assert answer.t == STEP + delay_minutes * 60


async def test_message_arriving_exactly_at_a_turn_is_in_that_turns_observation() -> None:
    # The answer to a turn-1 request and the team's ack land exactly at turn 2 (t=1200).
    task = variant(SEED_TASK, customer_reply_delay_minutes=20, team_ack_delay_minutes=20)
    agent = Recorder([[
        {"op": "reply", "message": "Please send the request ids.",
         "request_fields": ["request_ids"]},
        {"op": "escalate", "queue": "platform_engineering", "summary": "API incident"},
    ]])
    result = await play(agent, task)
    assert times(result, "customer_answer") == [STEP]
    assert times(result, "team_ack") == [STEP]
    turn2 = agent.at(2)
    kinds = {(m.kind, m.time_seconds) for m in turn2.messages}
    assert ("customer_answer", STEP) in kinds
    assert ("team_ack", STEP) in kinds
    # In the trace, both messages come before the turn they are shown in.
    seq_turn2 = next(e.seq for e in events(result, "turn") if e.payload["turn"] == 2)
    assert all(e.seq < seq_turn2 for e in events(result, "customer_answer"))
    assert not any(m.kind == "customer_answer" for m in agent.at(3).messages)


async def test_turn_at_the_sla_deadline_counts_before_the_check() -> None:
    task = variant(SEED_TASK, ticket={**SEED_TASK.ticket.model_dump(),
                                      "sla_minutes_remaining": 40})
    agent = Recorder([[], [], [
        {"op": "reply", "message": "We are on it."},
        {"op": "escalate", "queue": "platform_engineering", "summary": "API incident"},
    ]])
    result = await play(agent, task)
    assert times(result, "sla_met") == [2 * STEP]
    assert events(result, "sla_breach") == []
    assert result.sla_breached is False


async def test_sla_breach_is_seen_at_the_next_turn() -> None:
    task = variant(SEED_TASK, ticket={**SEED_TASK.ticket.model_dump(),
                                      "sla_minutes_remaining": 40})
    agent = Recorder()
    result = await play(agent, task)
    (breach,) = events(result, "sla_breach")
    assert breach.t == 2 * STEP
    turn3_seq = next(e.seq for e in events(result, "turn") if e.payload["turn"] == 3)
    assert breach.seq > turn3_seq  # turns before checks at one instant
    assert agent.at(3).sla_breached is False
    assert not any(m.kind == "sla_breach" for m in agent.at(3).messages)
    assert agent.at(4).sla_breached is True
    assert [(m.sender, m.kind, m.time_seconds) for m in agent.at(4).messages] == [
        ("system", "sla_breach", 2 * STEP)
    ]
    assert result.sla_breached is True


async def test_sla_events_agree_with_the_result() -> None:
    # A ticket left escalated to the wrong team at the deadline: the grader says the SLA is
    # breached (the ticket never reached gold status "escalated" to its gold queue), so the
    # trace must hold the sla_breach event the agent and the customer are told about.
    task = variant(SEED_TASK, team_bounce_delay_minutes=200)
    agent = ScriptedAgent([[
        {"op": "reply", "message": "We have passed this on."},
        {"op": "escalate", "queue": "billing", "summary": "API incident"},
    ]])
    result = await play(agent, task, persona="impatient")
    assert result.sla_breached is True
    assert times(result, "sla_breach") == [task.sla_deadline_seconds]
    assert events(result, "sla_met") == []
    assert len(events(result, "customer_complaint")) == 1


# -- 7. how episodes end ---------------------------------------------------------------


async def test_finish_ends_the_episode() -> None:
    result = await play(ScriptedAgent([[], [{"op": "note", "text": "done"}, {"op": "finish"}]]))
    assert result.termination_reason == "finished"
    assert result.steps == 2
    (end,) = events(result, "end")
    assert end.payload == {"reason": "finished", "turn": 2}
    assert result.trace.events[-1].kind == "end"
    assert result.trace.result is not None
    assert result.trace.result.termination_reason == "finished"


@pytest.mark.parametrize("status", ["resolved", "closed"])
async def test_terminal_status_ends_the_episode(status: str) -> None:
    result = await play(ScriptedAgent([
        [{"op": "set_status", "status": "pending"}],
        [],
        [{"op": "set_status", "status": status, "resolution_code": "answered"}],
    ]))
    assert result.termination_reason == "finished"
    assert result.steps == 3


async def test_running_out_of_turns_is_max_steps() -> None:
    result = await play(ScriptedAgent([[{"op": "set_status", "status": "pending"}]]))
    assert result.termination_reason == "max_steps"
    assert result.steps == SEED_TASK.max_steps
    assert result.error is None
    (end,) = events(result, "end")
    assert end.payload == {"reason": "max_steps", "turn": SEED_TASK.max_steps}
    assert len(events(result, "turn")) == SEED_TASK.max_steps


class _Boom(Exception):
    pass


class RaisingSync:
    inline_safe = True

    def act(self, observation: Observation) -> list[Any]:
        if observation.turn == 2:
            raise _Boom("cannot decide at turn 2")
        return []


class RaisingThread:
    def act(self, observation: Observation) -> list[Any]:
        if observation.turn == 2:
            raise _Boom("cannot decide at turn 2")
        return []


class RaisingAsync:
    async def act(self, observation: Observation) -> list[Any]:
        await trio.sleep(0)
        if observation.turn == 2:
            raise _Boom("cannot decide at turn 2")
        return []


@pytest.mark.parametrize("make", [RaisingSync, RaisingThread, RaisingAsync])
async def test_agent_exception_is_agent_error(make: Any) -> None:
    result = await play(make())
    assert result.termination_reason == "agent_error"
    assert result.steps == 2
    assert result.error is not None
    assert "_Boom" in result.error
    assert "cannot decide at turn 2" in result.error
    (event,) = events(result, "agent_error")
    assert event.payload["turn"] == 2
    assert event.payload["type"] == "_Boom"
    assert event.payload["message"] == "cannot decide at turn 2"
    tb = event.payload["traceback"]
    assert tb.startswith("Traceback (most recent call last)")
    assert "raise _Boom(" in tb
    assert "in act" in tb
    assert events(result, "end")[0].payload["reason"] == "agent_error"


async def test_agent_reset_raising_is_agent_error() -> None:
    class BadReset(ScriptedAgent):
        def reset(self, task: SupportTaskSpec, seed: int) -> None:
            raise RuntimeError("reset failed")

    result = await play(BadReset())
    assert result.termination_reason == "agent_error"
    assert result.error == "RuntimeError: reset failed"


async def test_async_agent_too_slow_is_agent_timeout() -> None:
    class Stuck:
        async def act(self, observation: Observation) -> list[Any]:
            if observation.turn == 2:
                await trio.sleep(30)
            return []

    started = time.perf_counter()
    result = await play(Stuck(), config=EpisodeConfig(agent_timeout=0.2))
    assert time.perf_counter() - started < 5
    assert result.termination_reason == "agent_timeout"
    assert result.steps == 2
    assert result.error
    (event,) = events(result, "agent_timeout")
    assert event.payload["turn"] == 2
    assert event.t == STEP


async def test_sync_agent_in_a_thread_too_slow_is_agent_timeout() -> None:
    class Blocking:
        def act(self, observation: Observation) -> list[Any]:
            time.sleep(0.5)
            return []

    result = await play(Blocking(), config=EpisodeConfig(agent_timeout=0.1))
    assert result.termination_reason == "agent_timeout"
    assert result.steps == 1


@attrs.frozen
class ExplodingWorld:
    """A world with one actor that raises 30 simulated minutes in."""

    persona: str = "cooperative"
    faults: tuple[str, ...] = ()

    def outlook(self, task: SupportTaskSpec) -> WorldOutlook:
        return outlook_as_written(task)

    def populate(self, env: Environment, state: EpisodeState) -> None:
        async def bomb(ctx: ActorContext) -> None:
            await ctx.sleep(30 * 60)
            raise RuntimeError("world actor exploded")

        env.spawn("bomb", bomb)


async def test_world_actor_raising_is_sim_error() -> None:
    result = await run_episode(SEED_TASK, ScriptedAgent(), world=ExplodingWorld(), seed=0)
    assert result.termination_reason == "sim_error"
    assert result.error is not None
    assert "RuntimeError" in result.error and "world actor exploded" in result.error
    assert result.steps == 2  # turns at 0 and 20 minutes; the bomb goes off at 30
    assert result.sim_minutes == 30
    assert result.trace.result is not None
    assert result.trace.result.termination_reason == "sim_error"
    assert all(e.t <= 30 * 60 for e in result.trace.events)


# -- 7. invalid operations -------------------------------------------------------------

INVALID_CASES = {
    "unknown_op": [{"op": "dance", "style": "tango"}],
    "queue_not_in_catalog": [{"op": "escalate", "queue": "nowhere", "summary": "x"}],
    "reply_too_long": [{"op": "reply", "message": "x" * 1001}],
    "nine_operations": [{"op": "note", "text": f"note {i}"} for i in range(9)],
    "turn_not_a_list": "finish",
}


@pytest.mark.parametrize("case", list(INVALID_CASES))
async def test_invalid_operation_is_reported_and_counted(case: str) -> None:
    agent = Recorder([INVALID_CASES[case], [], [{"op": "finish"}]])
    result = await play(agent)
    assert result.termination_reason == "finished"
    assert result.steps == 3
    assert result.invalid_operations == 1
    assert result.trace.result is not None
    assert result.trace.result.report is not None
    assert result.trace.result.report["invalid_operations"] == 1
    results = agent.at(2).results
    bad = [r for r in results if not r.ok]
    assert len(bad) == 1
    error = bad[0].error
    assert error and "\n" not in error
    assert len(error) < 1000
    assert agent.at(3).results == ()  # reported once, in the next observation only
    if case == "nine_operations":
        assert sum(r.ok for r in results) == 8
    assert [e for e in events(result) if e.kind in ("invalid_operation", "invalid_turn")]


async def test_invalid_operations_in_one_turn_are_each_reported_in_order() -> None:
    agent = Recorder([[
        {"op": "dance"},
        {"op": "escalate", "queue": "nowhere", "summary": "x"},
        {"op": "reply", "message": "y" * 1001},
        {"op": "set_fields", "priority": "urgent"},
    ], [{"op": "finish"}]])
    result = await play(agent)
    results = agent.at(2).results
    assert [(r.index, r.op, r.ok) for r in results] == [
        (0, "dance", False), (1, "escalate", False), (2, "reply", False),
        (3, "set_fields", True),
    ]
    assert "dance" in (results[0].error or "")
    assert "nowhere" in (results[1].error or "")
    assert "1000" in (results[2].error or "")
    assert agent.at(2).ticket.priority == "urgent"  # the valid one still applied
    assert agent.at(2).ticket.status == "open"  # the rejected escalation did nothing
    assert result.invalid_operations == 3
    assert events(result, "customer_answer") == []


# -- 8. trace format -------------------------------------------------------------------


async def test_trace_format_and_round_trip() -> None:
    result = await simulate(SEED_TASK, SleepyAsyncOracle, seed=5, persona="impatient",
                            faults=("eta_slips",), agent_name="oracle", privileged=True)
    text = result.trace.to_jsonl()
    assert text.endswith("\n")
    lines = [json.loads(line) for line in text.splitlines()]
    header, body, last = lines[0], lines[1:-1], lines[-1]
    assert header["type"] == "header"
    for key in ("schema_version", "task_id", "task_hash", "seed", "agent", "persona", "faults",
                "code_version", "privileged", "world"):
        assert key in header, key
    assert header["schema_version"] == SCHEMA_VERSION
    assert header["task_id"] == SEED_TASK.task_id
    assert header["task_hash"] == SEED_TASK.content_hash
    assert header["seed"] == 5
    assert header["agent"] == "oracle"
    assert header["persona"] == "impatient"
    assert header["faults"] == ["eta_slips"]
    assert header["privileged"] is True
    assert header["world"] == StandardWorld("impatient", ("eta_slips",)).outlook(
        SEED_TASK).model_dump(mode="json")
    assert body
    for event in body:
        assert event["type"] == "event"
        assert set(event) == {"type", "t", "seq", "actor", "kind", "payload"}
        assert isinstance(event["t"], int) and isinstance(event["payload"], dict)
    ts = [e["t"] for e in body]
    seqs = [e["seq"] for e in body]
    assert ts == sorted(ts)
    assert all(a < b for a, b in itertools.pairwise(seqs))
    assert last["type"] == "result"
    assert last["termination_reason"] == result.termination_reason
    assert last["score"] == result.score
    assert last["steps"] == result.steps
    parsed = Trace.from_jsonl(text)
    assert parsed.to_jsonl() == text
    assert parsed == result.trace
    keys = _all_keys(lines)
    assert not {k for k in keys if "latency" in k or "wall" in k or "elapsed" in k}, keys
    for word in ("wall_seconds", "agent_latency"):
        assert word not in text
    assert repr(result.agent_latency_max) not in text
    assert repr(result.wall_seconds) not in text


def _all_keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _all_keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _all_keys(v)}
    return set()


async def test_trace_of_an_error_round_trips() -> None:
    result = await play(RaisingSync())
    text = result.trace.to_jsonl()
    assert Trace.from_jsonl(text).to_jsonl() == text
    assert "agent_latency" not in text and "wall_seconds" not in text


# -- operations: forms and order -------------------------------------------------------


async def test_operation_models_and_dicts_give_the_same_trace() -> None:
    from sim.operations import Escalate, Finish, FlagRisk, Note, Reply, SetFields, SetStatus

    models = [
        [SetFields(queue="platform_engineering", priority="urgent"),
         FlagRisk(flags=("p1_incident",)),
         Reply(message="We acknowledge the incident.", request_fields=("regions",)),
         Note(text="status page"),
         Escalate(queue="platform_engineering", summary="API incident"),
         SetStatus(status="escalated", resolution_code="runbook_investigation")],
        [Finish()],
    ]
    dicts = [
        [{"op": "set_fields", "queue": "platform_engineering", "priority": "urgent"},
         {"op": "flag_risk", "flags": ["p1_incident"]},
         {"op": "reply", "message": "We acknowledge the incident.",
          "request_fields": ["regions"]},
         {"op": "note", "text": "status page"},
         {"op": "escalate", "queue": "platform_engineering", "summary": "API incident"},
         {"op": "set_status", "status": "escalated",
          "resolution_code": "runbook_investigation"}],
        [{"op": "finish"}],
    ]
    by_model = await play(ScriptedAgent(models))
    by_dict = await play(ScriptedAgent(dicts))
    assert by_model.invalid_operations == 0
    assert by_model.trace.to_jsonl() == by_dict.trace.to_jsonl()
    assert len(events(by_model, "operation")) == 7


async def test_operations_after_finish_in_the_same_turn_still_apply() -> None:
    agent = ScriptedAgent([[{"op": "finish"}, {"op": "set_fields", "priority": "urgent"}]])
    result = await play(agent)
    assert result.termination_reason == "finished"
    assert result.steps == 1
    ops = [e.payload["op"]["op"] for e in events(result, "operation")]
    assert ops == ["finish", "set_fields"]
    assert result.breakdown["priority"] == 1.0


@pytest.mark.parametrize("turn", [
    [{"op": 10**5000}],
    [{"op": "dance", "n": 10**5000}],
], ids=["huge_int_op_name", "huge_int_in_unknown_op"])
async def test_hostile_operation_values_are_invalid_operations_not_sim_errors(turn: Any) -> None:
    agent = Recorder([turn, [{"op": "finish"}]])
    result = await play(agent)
    assert result.termination_reason == "finished", result.error
    assert result.invalid_operations == 1
    assert [r.ok for r in agent.at(2).results] == [False]
    text = result.trace.to_jsonl()  # the trace can still be written
    assert Trace.from_jsonl(text).to_jsonl() == text


# -- the runner ------------------------------------------------------------------------


async def test_runner_reports_each_result_once_in_job_order() -> None:
    tasks = sorted(discover_tasks().values(), key=lambda t: t.task_id)
    jobs = [make_job(task, "oracle", seed=i) for i, task in enumerate(tasks)]
    seen: list[int] = []
    results = await run_episodes(jobs, concurrency=3, on_result=lambda i, r: seen.append(i))
    assert sorted(seen) == list(range(len(jobs)))
    assert [r.task_id for r in results] == [t.task_id for t in tasks]
    with pytest.raises(ValueError):
        await run_episodes(jobs, concurrency=0)


async def test_an_agent_factory_raising_fails_only_its_own_episode() -> None:
    def broken() -> Any:
        raise RuntimeError("cannot build the agent")

    jobs = [make_job(SEED_TASK, "oracle", seed=1),
            make_job(SEED_TASK, broken, seed=2, agent_name="broken"),
            make_job(SEED_TASK, "oracle", seed=3)]
    results = await run_episodes(jobs)
    assert [r.seed for r in results] == [1, 2, 3]  # none dropped
    assert [r.termination_reason for r in results] == ["finished", "agent_error", "finished"]
    assert "cannot build the agent" in (results[1].error or "")


class DeferringWorld:
    """One actor that records a customer answer as a DeferredPayload, 10 minutes in."""

    persona: str = "cooperative"
    faults: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.made = 0

    def make(self, field: str, value: str) -> dict[str, Any]:
        self.made += 1
        return {"request_turn": 1, "fields": {field: {"value": value, "status": "correct"}}}

    def outlook(self, task: SupportTaskSpec) -> WorldOutlook:
        return outlook_as_written(task)

    def populate(self, env: Environment, state: EpisodeState) -> None:
        async def answerer(ctx: ActorContext) -> None:
            await ctx.sleep(10 * 60)
            ctx.record("customer_answer", DeferredPayload(self.make, "regions", "eu-west-1"))

        env.spawn("answerer", answerer)


async def test_a_deferred_payload_is_graded_at_once_and_made_again_for_the_trace() -> None:
    world = DeferringWorld()
    result = await run_episode(SEED_TASK, ScriptedAgent(), world=world, seed=0)
    answers = [e for e in result.trace.events if e.kind == "customer_answer"]
    assert [(e.actor, e.t, e.payload) for e in answers] == [
        ("answerer", 600, world.make("regions", "eu-west-1"))]
    assert world.made == 3  # the grader's, the trace's, and the one just above
    # The live grade (made as the episode ran) is the stored trace's grade.
    assert result.trace.result is not None
    stored = grade_events(SEED_TASK, result.trace.events)
    assert result.trace.result.report == stored.model_dump(mode="json")
    assert "eu-west-1" in result.trace.to_jsonl()


@settings(max_examples=40, deadline=None)
@given(
    task_id=st.sampled_from(sorted(discover_tasks())),
    agent=st.sampled_from(["random", "heuristic", "oracle"]),
    persona=st.sampled_from(PERSONAS),
    faults=st.lists(st.sampled_from(["slow_eta", "eta_slips", "team_silent"]), unique=True),
    seed=st.integers(0, 2**32),
)
def test_a_results_figures_are_its_traces_report(
    task_id: str, agent: str, persona: str, faults: list[str], seed: int
) -> None:
    """The result's figures come from the grader's summary; the trace's report is made
    later, when first read. Both, and a re-grade of the stored trace, agree."""
    task = discover_tasks()[task_id]
    job = make_job(task, agent, seed=seed, persona=persona, faults=faults)
    result = trio.run(lambda: run_episodes([job]))[0]
    line = result.trace.result
    assert line is not None and line is result.trace.result  # made once
    report = line.report
    assert report is not None
    assert (result.score, result.sla_breached, result.invalid_operations) == (
        report["score"], report["sla_breached"], report["invalid_operations"])
    assert result.breakdown == {c["name"]: c["value"] for c in report["criteria"]}
    assert report == grade(task, result.trace).model_dump(mode="json")
    assert Trace.from_jsonl(result.trace.to_jsonl()) == result.trace


def test_a_trace_makes_a_lazy_header_and_result_once_and_equals_the_eager_one() -> None:
    eager = trio.run(lambda: run_episodes([make_job(SEED_TASK, "oracle", seed=3)]))[0].trace
    made: list[str] = []

    def header() -> Any:
        made.append("header")
        return eager.header

    def result() -> Any:
        made.append("result")
        return eager.result

    lazy = Trace(header=header, events=eager.events, result=result)
    assert made == []
    assert lazy == eager and lazy.to_jsonl() == eager.to_jsonl()
    assert lazy.header is eager.header and lazy.result is eager.result
    assert made == ["header", "result"]
    assert repr(lazy) == repr(eager)
