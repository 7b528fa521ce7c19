"""The benchmark suite: ``python -m bench [--quick]`` prints one table.

Every figure is whole-process wall time; ratios compare figures measured in the same
run. Rows that need their own peak memory run in a fresh child process.

- floor: a raw-trio program with the same tasks and messages as one seed-task oracle
  episode, without validation, tracing or grading. ``engine / floor`` is the headline:
  the median of 15 short floor/oracle pairs run back to back in this process.
- oracle on the seed task: episodes per second one after another and with 100, 1,000
  and 10,000 at once, with each run's peak memory.
- grader: grades per second of a stored seed-task trace; step rewards' share of the
  cost of an episode.
- property suite: examples per second (hypothesis, one invariant, the seed task).
- growth: time per episode as max_steps (and so messages) grow, on a long task.

A second table checks the figures against the performance goals of issue 7.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import trio

import sim.episode as episode_module
from actors.episodes import make_job
from sim.episode import EpisodeResult
from sim.grading import grade, step_rewards
from sim.kernel.environment import Environment
from sim.runner import run_episodes as library_run_episodes
from sim.runner import tuned_collector
from tasks import get_task


async def run_episodes(*args: Any, **kwargs: Any) -> Any:
    """:func:`sim.runner.run_episodes` with the collector tuned, as the CLI runs it."""
    with tuned_collector():
        return await library_run_episodes(*args, **kwargs)

SEED_TASK = "api_incident_hard"
#: Floor/oracle pairs behind the headline ratio.
PAIRS = 15


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def episode_shape() -> tuple[int, int]:
    """(actors, deliveries) of one seed-task oracle episode, counted by the kernel."""
    seen: list[Environment] = []

    class Counting(Environment):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            seen.append(self)

    original = getattr(episode_module, "Environment")  # noqa: B009
    setattr(episode_module, "Environment", Counting)  # noqa: B010
    try:
        trio.run(lambda: run_episodes([make_job(get_task(SEED_TASK), "oracle")]))
    finally:
        setattr(episode_module, "Environment", original)  # noqa: B010
    return seen[0].actor_count, seen[0].deliveries


async def _floor_episode(actors: int, messages: int) -> None:
    channels = [trio.open_memory_channel[int](math.inf) for _ in range(actors)]

    async def actor(index: int) -> None:
        async for message in channels[index][1]:
            if message >= messages:
                for send, _ in channels:
                    send.close()
                return
            channels[(index + 1) % actors][0].send_nowait(message + 1)

    async with trio.open_nursery() as nursery:
        for index in range(actors):
            nursery.start_soon(actor, index)
        channels[0][0].send_nowait(1)


def floor_rate(actors: int, messages: int, episodes: int) -> float:
    async def main() -> None:
        for _ in range(episodes):
            await _floor_episode(actors, messages)

    started = time.perf_counter()
    trio.run(main)
    return episodes / (time.perf_counter() - started)


def oracle_rate(episodes: int, concurrency: int, task_id: str = SEED_TASK,
                read_traces: bool = False) -> float:
    """Oracle episodes per second; results are checked as they come, then dropped.

    A trace makes its parts when first read, so a run that only wants scores never lays
    them out; ``read_traces`` reads every part of every trace (what writing it needs,
    short of the JSON itself). A few untimed episodes first fill the caches a long run
    would have filled anyway.
    """
    task = get_task(task_id)
    trio.run(lambda: run_episodes([make_job(task, "oracle", seed=10**9 + s) for s in range(20)],
                                  collect=False))
    jobs = [make_job(task, "oracle", seed=seed) for seed in range(episodes)]
    imperfect: list[int] = []

    def check(index: int, result: EpisodeResult) -> None:
        if result.score != 1.0:
            imperfect.append(index)
        if read_traces:
            trace = result.trace
            if trace.result is None or not trace.events or trace.header.seed != index:
                imperfect.append(index)

    started = time.perf_counter()
    trio.run(lambda: run_episodes(jobs, concurrency=concurrency, on_result=check,
                                  collect=False))
    elapsed = time.perf_counter() - started
    if imperfect:
        raise SystemExit("the oracle did not score 1.0: the benchmark is void")
    return episodes / elapsed


def floor_ratio(actors: int, messages: int, episodes: int, pairs: int) -> tuple[float, float]:
    """(median, best) of floor rate / sequential oracle rate, each pair run back to back.

    Both run in this process, alternately, in many short pairs: a machine that is slower
    for a moment slows both figures of a pair alike, and the median of the pairs is the
    headline ratio.
    """
    ratios = [floor_rate(actors, messages, episodes) / oracle_rate(episodes, 1)
              for _ in range(pairs)]
    return statistics.median(ratios), min(ratios)


def _oracle_child(episodes: int, concurrency: int) -> dict[str, float]:
    """The oracle's rate and this process's peak memory; with ``concurrency`` above 1,
    also the one-after-another rate measured just before and just after in this process
    (their mean), the baseline of the row's ratio."""
    if concurrency == 1:
        return {"rate": oracle_rate(episodes, 1), "peak_mb": _peak_mb()}
    reference = min(episodes, 1_000)
    before = oracle_rate(reference, 1)
    rate = oracle_rate(episodes, concurrency)
    after = oracle_rate(reference, 1)
    return {"rate": rate, "sequential": (before + after) / 2, "peak_mb": _peak_mb()}


def _traces_read_share(episodes: int) -> dict[str, float]:
    """Episodes/s one after another reading every trace, and that over not reading them
    (the median of three back-to-back pairs)."""
    pairs = [(oracle_rate(episodes, 1, read_traces=True), oracle_rate(episodes, 1))
             for _ in range(3)]
    return {"rate": statistics.median(r for r, _ in pairs),
            "share": statistics.median(r / n for r, n in pairs)}


def _child(kind: str, *args: int) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-m", "bench", "--child", kind, *map(str, args)],
                         check=True, capture_output=True, text=True).stdout
    result: dict[str, float] = json.loads(out)
    return result


def grader_figures(repeats: int) -> dict[str, float]:
    task = get_task(SEED_TASK)
    trace = trio.run(lambda: run_episodes([make_job(task, "oracle")]))[0].trace

    def rate(fn: Callable[[], object]) -> float:
        started = time.perf_counter()
        for _ in range(repeats):
            fn()
        return repeats / (time.perf_counter() - started)

    grades = rate(lambda: grade(task, trace))
    rewards = rate(lambda: step_rewards(task, trace))
    episodes = oracle_rate(repeats, 1)
    return {"grades_per_second": grades, "step_rewards_per_second": rewards,
            "step_rewards_share": episodes / rewards}


def property_rate(examples: int) -> float:
    from actors.checks import check_task

    started = time.perf_counter()
    with tuned_collector():  # (after hypothesis is imported: see sim.runner.tuned_collector)
        report = check_task(get_task(SEED_TASK), max_examples=examples,
                            invariants=["score_is_weighted_criteria_minus_penalties"])
    elapsed = time.perf_counter() - started
    ran = sum(r.examples for r in report.results)
    return ran / elapsed


def growth(max_steps_values: list[int], episodes: int) -> list[tuple[int, float]]:
    """Seconds per episode of a scripted agent that replies every turn, by max_steps."""
    base = get_task(SEED_TASK)
    rows = []
    for steps in max_steps_values:
        task = base.model_copy(update={"max_steps": steps, "sla_step_cost": 1,
                                       "under_escalation_deadline_step": 1})
        turn = [{"op": "reply", "message": "Still investigating, more soon.",
                 "request_fields": ["regions"]}]

        def agent(turns: list[Any] = [turn] * steps) -> Any:
            from sim.scripted import ScriptedAgent
            return ScriptedAgent(turns)

        jobs = [make_job(task, agent, seed=s, agent_name="scripted") for s in range(episodes)]
        started = time.perf_counter()
        trio.run(partial(run_episodes, jobs, concurrency=1))
        rows.append((steps, (time.perf_counter() - started) / episodes))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts (a smoke run)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *numbers = args.child
        n = [int(x) for x in numbers]
        if kind == "oracle":
            print(json.dumps(_oracle_child(n[0], n[1])))
        elif kind == "floor":
            print(json.dumps({"rate": floor_rate(n[0], n[1], n[2]), "peak_mb": _peak_mb()}))
        return
    scale = 10 if args.quick else 1
    actors, deliveries = episode_shape()
    floor = _child("floor", actors, deliveries, 20_000 // scale)
    sequential = _child("oracle", 2_000 // scale, 1)
    ratio, best_ratio = floor_ratio(actors, deliveries, 200 if args.quick else 400, PAIRS)
    read = _traces_read_share(2_000 // scale)
    rows: list[tuple[str, str, str, str]] = [
        ("floor: raw trio, same tasks and messages", f"{floor['rate']:.0f} ep/s",
         f"{floor['peak_mb']:.0f} MB", f"{actors} tasks, {deliveries} messages"),
        ("oracle, seed task, one after another", f"{sequential['rate']:.0f} ep/s",
         f"{sequential['peak_mb']:.0f} MB",
         f"engine/floor cost {ratio:.2f}x (median of {PAIRS} pairs; best {best_ratio:.2f}x)"),
        ("  the same, reading every trace", f"{read['rate']:.0f} ep/s", "",
         f"{read['share']:.2f}x not reading them (same process)"),
    ]
    at_once: dict[int, dict[str, float]] = {}
    for concurrency in (100, 1_000, 10_000):
        episodes = max(concurrency, 2_000 // scale)
        if args.quick and concurrency == 10_000:
            continue
        figure = at_once[concurrency] = _child("oracle", episodes, concurrency)
        rows.append((f"oracle, {concurrency:,} at once", f"{figure['rate']:.0f} ep/s",
                     f"{figure['peak_mb']:.0f} MB",
                     f"{figure['rate'] / figure['sequential']:.2f}x one-after-another "
                     "(same process)"))
    graded = grader_figures(1_000 // scale)
    rows.append(("grader alone, stored seed trace", f"{graded['grades_per_second']:.0f} /s", "",
                 f"step rewards = {graded['step_rewards_share']:.0%} of an episode's cost"))
    rows.append(("property suite (seed task)", f"{property_rate(200 // scale):.0f} ex/s", "",
                 "one invariant, examples replayed through the simulator"))
    for steps, seconds in growth([8, 32, 128], 200 // scale):
        rows.append((f"growth: max_steps {steps}", f"{seconds * 1e3:.2f} ms/ep", "",
                     f"{seconds * 1e3 / steps:.3f} ms per turn"))
    width = max(len(r[0]) for r in rows)
    print(f"{'benchmark':<{width}}  {'figure':>12}  {'peak':>7}  note")
    for name, figure_text, peak, note in rows:
        print(f"{name:<{width}}  {figure_text:>12}  {peak:>7}  {note}")
    best_rate = max([sequential["rate"], *(f["rate"] for f in at_once.values())])
    goals = [
        ("oracle episodes/s on one core (best row)", ">= 2000", f"{best_rate:.0f}",
         best_rate >= 2_000),
        ("engine/floor cost", "<= 2.00x", f"{ratio:.2f}x", ratio <= 2.0),
    ]
    if 10_000 in at_once:
        big = at_once[10_000]
        share = big["rate"] / big["sequential"]
        goals += [("10,000 at once / one after another", ">= 0.80", f"{share:.2f}",
                   share >= 0.8),
                  ("10,000 at once, peak memory", "<= 250 MB", f"{big['peak_mb']:.0f} MB",
                   big["peak_mb"] <= 250)]
    print()
    gwidth = max(len(g[0]) for g in goals)
    print(f"{'goal':<{gwidth}}  {'target':>9}  {'measured':>9}")
    for name, target, measured, met in goals:
        print(f"{name:<{gwidth}}  {target:>9}  {measured:>9}  {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
