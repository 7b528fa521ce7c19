"""The RL adapters' cost: ``python -m bench.adapters [--seeds N] [--sessions K]``.

The same decisions (the oracle's turns on every shipped task x ``--seeds`` seeds,
replayed as scripts) played four ways, in one run:

- ``run_episodes``, all at once (concurrency 100) and one at a time: the baseline;
- the Gymnasium environment, one episode after another (``reset``/``step`` with JSON
  text actions, as a learner's loop does);
- the OpenEnv server (``run_sim.py serve`` in a subprocess, on a free loopback port),
  through openenv's WebSocket client with ``--sessions`` sessions at once, each playing
  its share of the episodes.

Each prints steps (turns) per second and its ratio to the one-at-a-time baseline, and
every adapter's scores are checked against the baseline's, episode by episode (exit
status 1 on a mismatch).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

import trio

from actors.episodes import make_job
from sim.runner import run_episodes, tuned_collector
from sim.scripted import ScriptedAgent, turns_of
from tasks import get_task, list_task_ids

ROOT = Path(__file__).resolve().parent.parent
Episode = tuple[str, int, list[list[dict[str, Any]]]]


def oracle_episodes(seeds: int) -> list[Episode]:
    """(task, seed, the oracle's turns) for every shipped task x seeds 0..N-1."""
    plan = [(task_id, seed) for task_id in list_task_ids() for seed in range(seeds)]
    jobs = [make_job(get_task(t, seed=s), "oracle", seed=s) for t, s in plan]
    results = trio.run(lambda: run_episodes(jobs, concurrency=100))
    return [(t, s, turns_of(r.trace)) for (t, s), r in zip(plan, results, strict=True)]


def direct(episodes: list[Episode], concurrency: int) -> tuple[float, list[float], int]:
    """(seconds, scores, steps) of ``run_episodes`` over scripted replays."""
    jobs = [make_job(get_task(t, seed=s), partial(ScriptedAgent, turns), seed=s,
                     agent_name="bench") for t, s, turns in episodes]
    started = time.perf_counter()
    results = trio.run(lambda: run_episodes(jobs, concurrency=concurrency))
    return (time.perf_counter() - started, [r.score for r in results],
            sum(r.steps for r in results))


def through_gym(episodes: list[Episode]) -> tuple[float, list[float], int]:
    import gymnasium as gym

    import actors.gym_env  # noqa: F401  (registers the id)

    scores, steps = [], 0
    started = time.perf_counter()
    envs: dict[str, Any] = {}
    for task_id, seed, turns in episodes:
        env = envs.get(task_id) or envs.setdefault(
            task_id, gym.make("SupportSim/Incident-v0", task=task_id))
        env.reset(seed=seed)
        for k in range(1000):
            action = json.dumps(turns[k]) if k < len(turns) else "[]"
            _, _, terminated, truncated, info = env.step(action)
            steps += 1
            if terminated or truncated:
                scores.append(info["score"])
                break
    elapsed = time.perf_counter() - started
    for env in envs.values():
        env.close()
    return elapsed, scores, steps


def through_openenv(episodes: list[Episode], sessions: int) -> tuple[float, list[float], int]:
    from actors.openenv_env import SupportAction, SupportSimClient

    server = subprocess.Popen([sys.executable, str(ROOT / "run_sim.py"), "serve", "--port",
                               "0", "--max-sessions", str(sessions)],
                              stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert server.stdout is not None
        url = server.stdout.readline().split(" on ", 1)[1].split()[0]
        scores: list[float] = [0.0] * len(episodes)
        steps = 0

        async def session(share: list[int]) -> None:
            nonlocal steps
            async with SupportSimClient(base_url=url, message_timeout_s=600) as env:
                for index in share:
                    task_id, seed, turns = episodes[index]
                    await env.reset(task=task_id, seed=seed)
                    for k in range(1000):
                        result = await env.step(SupportAction(
                            ops=turns[k] if k < len(turns) else []))
                        steps += 1
                        if result.done:
                            scores[index] = result.metadata["score"]
                            break

        async def everything() -> None:
            shares = [list(range(i, len(episodes), sessions)) for i in range(sessions)]
            await asyncio.gather(*(session(share) for share in shares if share))

        started = time.perf_counter()
        asyncio.run(everything())
        return time.perf_counter() - started, scores, steps
    finally:
        os.killpg(server.pid, signal.SIGINT)
        server.wait(timeout=60)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.adapters",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20, help="seeds per shipped task")
    parser.add_argument("--sessions", type=int, default=64,
                        help="OpenEnv WebSocket sessions at once")
    args = parser.parse_args(argv)
    episodes = oracle_episodes(args.seeds)
    print(f"{len(episodes)} episodes (the oracle's turns on {len(list_task_ids())} tasks x "
          f"{args.seeds} seeds), replayed:")
    with tuned_collector():
        runs = {
            "run_episodes, concurrency 100": direct(episodes, 100),
            "run_episodes, one at a time (baseline)": direct(episodes, 1),
            "Gymnasium env, one episode after another": through_gym(episodes),
        }
    runs[f"OpenEnv server, {args.sessions} WebSocket sessions"] = through_openenv(
        episodes, args.sessions)
    baseline_seconds, baseline_scores, baseline_steps = runs[
        "run_episodes, one at a time (baseline)"]
    baseline = baseline_steps / baseline_seconds
    failed = False
    print(f"{'way':<48} {'steps':>7} {'seconds':>8} {'steps/s':>9} {'x baseline':>10}  scores")
    for name, (seconds, scores, steps) in runs.items():
        same = scores == baseline_scores
        failed |= not same
        rate = steps / seconds
        print(f"{name:<48} {steps:>7} {seconds:>8.2f} {rate:>9.0f} {rate / baseline:>10.2f}"
              f"  {'same as baseline' if same else 'DIFFER'}")
    print(f"mean score {sum(baseline_scores) / len(baseline_scores):.3f}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
