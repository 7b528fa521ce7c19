"""A sweep's speed with grouped fsync against per-line fsync (``--durable``), in one run:
``python -m bench.sweep_fsync [--episodes 3000] [--rounds 3] [--dir DIR]``.

Runs the same oracle sweep (every shipped task × persona, seeds to make up the
episodes; one worker, ``run_sweep`` as the command line calls it) alternately with
grouped fsync (the default: every 0.5 s and at the end) and with ``durable`` (one fsync
per line), ``rounds`` times each, each into a fresh folder, and prints every run's wall
time, how many fsyncs it made and the time they took (the parent process writes, so
they are timed here), and each mode's median. The folders go under ``--dir`` (default:
a temporary folder in the current directory): fsync costs what the disk under it costs,
and /tmp may be memory, where it costs nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sim.results
from actors.sweep import SweepPlan, run_sweep
from tasks.base import PERSONAS
from tasks.registry import discover_families


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sweep_fsync", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--episodes", type=int, default=3000,
                        help="oracle episodes per sweep, at least (default 3000)")
    parser.add_argument("--rounds", type=int, default=3, help="sweeps per mode (default 3)")
    parser.add_argument("--dir", default=".", help="where the sweeps write (default: here)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    args = parser.parse_args(argv)
    fsyncs: list[float] = []
    real_fsync = sim.results._fsync

    def timed_fsync(fd: int) -> None:
        started = time.perf_counter()
        real_fsync(fd)
        fsyncs.append(time.perf_counter() - started)

    sim.results._fsync = timed_fsync
    tasks = tuple(discover_families())
    per_seed = len(tasks) * len(PERSONAS)
    plan = SweepPlan(tasks=tasks, agent="oracle", seeds=-(-args.episodes // per_seed),
                     personas=tuple(PERSONAS))
    seconds: dict[bool, list[float]] = {False: [], True: []}
    with tempfile.TemporaryDirectory(prefix="bench_fsync_", dir=args.dir) as folder:
        print(f"{plan.size():,} oracle episodes a sweep, {args.workers} worker(s), into "
              f"{folder}")
        for round_ in range(args.rounds):
            for durable in (False, True):
                out = Path(folder) / f"{round_}_{'durable' if durable else 'grouped'}"
                fsyncs.clear()
                started = time.perf_counter()
                outcome = run_sweep(plan, out, workers=args.workers, durable=durable)
                took = time.perf_counter() - started
                if not outcome.summary["complete"]:
                    raise SystemExit(f"the sweep into {out} did not complete")
                seconds[durable].append(took)
                mode = "durable (fsync a line)" if durable else "grouped (fsync 0.5 s)"
                print(f"  round {round_ + 1}: {mode:<24} {took:6.2f} s   {len(fsyncs):>5} "
                      f"fsyncs taking {sum(fsyncs):.3f} s")
    grouped, durable_ = (statistics.median(seconds[d]) for d in (False, True))
    print(f"median: grouped {grouped:.2f} s ({plan.size() / grouped:,.0f} episodes/s), "
          f"durable {durable_:.2f} s ({plan.size() / durable_:,.0f} episodes/s); "
          f"durable takes {durable_ / grouped:.2f}x as long")
    return 0


if __name__ == "__main__":
    sys.exit(main())
