"""Episode throughput of the oracle on the seed task, and each run's peak memory.

    python -m bench.episodes [--episodes N]

Each configuration runs in a fresh child process, so its peak resident memory is
its own; the parent prints one table. Figures are whole-process wall time.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import trio

from actors.episodes import make_job
from sim.runner import run_episodes
from tasks import get_task

SEED_TASK = "api_incident_hard"


def measure(episodes: int, concurrency: int) -> dict[str, float]:
    """Run ``episodes`` oracle episodes, ``concurrency`` at once, in this process."""
    task = get_task(SEED_TASK)
    jobs = [make_job(task, "oracle", seed=seed) for seed in range(episodes)]
    started = time.perf_counter()
    results = trio.run(lambda: run_episodes(jobs, concurrency=concurrency))
    elapsed = time.perf_counter() - started
    if any(r.score != 1.0 for r in results):
        raise SystemExit("the oracle did not score 1.0: the benchmark is void")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"episodes": episodes, "concurrency": concurrency,
            "episodes_per_second": episodes / elapsed, "peak_mb": peak_mb}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=2000)
    parser.add_argument("--child", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(*args.child)))
        return
    rows = []
    for concurrency in (1, 100, 1000):
        out = subprocess.run(
            [sys.executable, "-m", "bench.episodes", "--child", str(args.episodes),
             str(concurrency)], check=True, capture_output=True, text=True,
        ).stdout
        rows.append(json.loads(out))
    base = rows[0]["episodes_per_second"]
    print(f"oracle on {SEED_TASK}, {args.episodes} episodes per row")
    print(f"{'at once':>8} {'episodes/s':>11} {'vs 1':>6} {'peak MB':>8}")
    for row in rows:
        print(f"{row['concurrency']:>8} {row['episodes_per_second']:>11.0f} "
              f"{row['episodes_per_second'] / base:>6.2f} {row['peak_mb']:>8.0f}")


if __name__ == "__main__":
    main()
