"""The same sweep through the local backend and the ray backend, in one run: ``python -m
bench.ray_sweep [--episodes 20000] [--cpus 2] [--dir DIR] [--nodes 100] [--node-cpus 32]
[--project 10000000]``.

One plan: the oracle on every shipped task × persona, seeds to make up ``--episodes``
(the oracle is the fastest built-in agent, so the backends' own costs show most). It
runs three times as whole processes (``run_sim.py sweep``, start-up and summary
included), each into a fresh folder: local with 1 worker, local with ``--cpus``
workers, and ray on a local Ray instance of ``--cpus`` CPUs (its default batch size).
For each it prints the wall time, the time to the first row (the parent watches the
results file), episodes per second and the ratio to local with 1 worker.

A probe process then measures Ray's own costs, in-process: importing ray, ``ray.init``
alone, ``ray.init`` to the first row, and shutting down; and per batch, from a sweep of
three batches per CPU: episodes, seconds, bytes of rows, and the driver's CPU time per
row (reading items, writing rows: what bounds how fast one driver can take rows in) and
the summary's, at the end.

Last, on paper: what ``--nodes`` nodes of ``--node-cpus`` CPUs would do with
``--project`` episodes, from those figures (a node's CPU taken to be as fast as one of
this machine's; the driver's CPU per row as measured here).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RUN_SIM = ROOT / "run_sim.py"
#: Batches per CPU in the probe's sweep.
PROBE_BATCHES = 3


def plan_args(episodes: int) -> tuple[list[str], int]:
    """The sweep's options for at least ``episodes`` oracle episodes, and how many."""
    from tasks.base import PERSONAS
    from tasks.registry import discover_families

    per_seed = len(discover_families()) * len(PERSONAS)
    seeds = -(-episodes // per_seed)
    return (["--tasks", "all", "--personas", "all", "--agent", "oracle", "--seeds",
             str(seeds)], seeds * per_seed)


def whole_process(args: list[str], out: Path) -> dict[str, float]:
    """Run ``run_sim.py sweep *args --out out`` to its end: its wall time and the time its
    first row reached the results file."""
    results = out / "results.jsonl"
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, str(RUN_SIM), "sweep", *args, "--out", str(out),
                             "--json"], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    first = math.nan
    while proc.poll() is None:
        if math.isnan(first) and results.exists() and results.stat().st_size:
            first = time.perf_counter() - started
        time.sleep(0.01)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"the sweep into {out} failed ({proc.returncode}): "
                         f"{proc.stderr.read()[-2000:] if proc.stderr else ''}")
    return {"wall": wall, "first_row": first}


def probe(out: Path, cpus: int) -> dict[str, Any]:
    """Ray's start-up and per-batch figures, in this process (see the module docstring).

    The driver's cost per row is its main thread's CPU time while the batches run
    (``RayPool.run``: waiting, reading items, writing rows), which is what one driver
    cannot spread over cores; Ray's own threads in the driver are counted apart, and so
    is the summary's pass over the results file at the end."""
    started = time.perf_counter()
    import ray  # noqa: F401  (timed: what the ray backend adds to a sweep's start)

    imported = time.perf_counter()
    from actors.sweep import SweepPlan, run_sweep, summarize_results
    from actors.sweep.ray_backend import MAX_BATCH, RayPool, ray_session
    from tasks.base import PERSONAS
    from tasks.registry import discover_families

    spent = {"main": 0.0, "process": 0.0}
    run = RayPool.run

    def timed_run(self: RayPool, *args: Any) -> dict[int, str]:
        main, process = time.thread_time(), time.process_time()
        try:
            return run(self, *args)
        finally:
            spent["main"] += time.thread_time() - main
            spent["process"] += time.process_time() - process

    setattr(RayPool, "run", timed_run)  # noqa: B010  (a measurement, like sweep_fsync's)

    tasks = tuple(discover_families())
    per_seed = len(tasks) * len(PERSONAS)
    plan = SweepPlan(tasks=tasks, agent="oracle",
                     seeds=-(-PROBE_BATCHES * cpus * MAX_BATCH // per_seed),
                     personas=tuple(PERSONAS))
    batch = -(-plan.size() // (PROBE_BATCHES * cpus))
    first: list[float] = []

    def on_row(row: dict[str, Any]) -> None:
        if not first:
            first.append(time.perf_counter())

    with ray_session(cpus=cpus):
        ready = time.perf_counter()
        run_sweep(plan, out, backend="ray", batch_size=batch, on_row=on_row)
        swept = time.perf_counter()
    ended = time.perf_counter()
    summary_cpu = time.thread_time()
    summarize_results(plan, out / "results.jsonl")
    summary_cpu = time.thread_time() - summary_cpu
    rows = plan.size()
    return {"import": imported - started, "init": ready - imported,
            "first_row": first[0] - ready, "shutdown": ended - swept,
            "batch_episodes": batch, "batches": -(-rows // batch),
            "batch_seconds": (swept - ready) * cpus / -(-rows // batch), "episodes": rows,
            "row_bytes": (out / "results.jsonl").stat().st_size / rows,
            "driver_per_row": spent["main"] / rows,
            "ray_threads_per_row": (spent["process"] - spent["main"]) / rows,
            "summary_per_row": summary_cpu / rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ray_sweep", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--episodes", type=int, default=20_000,
                        help="oracle episodes in the plan, at least (default 20000)")
    parser.add_argument("--cpus", type=int, default=2,
                        help="local workers and local Ray CPUs to compare (default 2)")
    parser.add_argument("--dir", default=None, help="where the sweeps write (default: a "
                                                    "temporary folder)")
    parser.add_argument("--nodes", type=int, default=100, help="on paper: nodes (100)")
    parser.add_argument("--node-cpus", type=int, default=32, help="on paper: CPUs a node (32)")
    parser.add_argument("--project", type=int, default=10_000_000,
                        help="on paper: episodes (10,000,000)")
    parser.add_argument("--probe", metavar="OUT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.probe:  # the child process that measures Ray's own costs
        print(json.dumps(probe(Path(args.probe), args.cpus)))
        return 0
    sweep, episodes = plan_args(args.episodes)
    with tempfile.TemporaryDirectory(prefix="bench_ray_", dir=args.dir) as folder:
        runs = [("local, 1 worker", ["--workers", "1"]),
                (f"local, {args.cpus} workers", ["--workers", str(args.cpus)]),
                (f"ray, {args.cpus} CPUs", ["--backend", "ray", "--workers", str(args.cpus)])]
        print(f"{episodes:,} oracle episodes (every task x persona), whole processes "
              f"(run_sim.py sweep), on {os.cpu_count()} cores:")
        print(f"  {'backend':<20} {'wall s':>8} {'first row s':>12} {'episodes/s':>11} "
              f"{'x local 1':>10}")
        figures: dict[str, dict[str, float]] = {}
        for n, (name, extra) in enumerate(runs):
            figures[name] = whole_process(sweep + extra, Path(folder) / f"run{n}")
            wall = figures[name]["wall"]
            base = figures[runs[0][0]]["wall"]
            print(f"  {name:<20} {wall:8.2f} {figures[name]['first_row']:12.2f} "
                  f"{episodes / wall:11,.0f} {base / wall:10.2f}", flush=True)
        done = subprocess.run([sys.executable, "-m", "bench.ray_sweep", "--probe",
                               str(Path(folder) / "probe"), "--cpus", str(args.cpus)],
                              cwd=ROOT, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"the probe failed: {done.stderr[-2000:]}")
        p = json.loads(done.stdout.strip().splitlines()[-1])
    ray_run = figures[runs[2][0]]
    us = 1e6
    print(f"Ray start-up (probe, in-process): import ray {p['import']:.2f} s; ray.init alone "
          f"{p['init']:.2f} s; ray.init to first row {p['init'] + p['first_row']:.2f} s "
          f"(first row {p['first_row']:.2f} s after init); shutdown {p['shutdown']:.2f} s")
    batch_kb = p["row_bytes"] * p["batch_episodes"] / 1e3
    print(f"Per batch (probe: {p['batches']} batches of {p['batch_episodes']:,} episodes, "
          f"{PROBE_BATCHES} a CPU, the first with the worker's imports): "
          f"{p['batch_seconds']:.2f} s a batch on its CPU, rows {batch_kb:,.0f} kB a batch "
          f"({p['row_bytes']:,.0f} B a row)")
    print(f"Driver, per row: {p['driver_per_row'] * us:,.0f} us of its main thread while the "
          f"batches run (+ {p['ray_threads_per_row'] * us:,.0f} us in Ray's threads), and "
          f"{p['summary_per_row'] * us:,.0f} us in the summary's pass at the end")
    # The ray run's pace once its first row is in: the rows after it over the time they took.
    steady = episodes / args.cpus / (ray_run["wall"] - ray_run["first_row"] - p["shutdown"])
    print(f"The ray run's rate from its first row to its last: {steady:,.0f} episodes/s a CPU")
    # On paper.
    cpus = args.nodes * args.node_cpus
    from actors.sweep.ray_backend import AHEAD, CHUNK, default_batch_size

    batch = default_batch_size(args.project, cpus)
    batches = -(-args.project // batch)
    workers_rate = cpus * steady
    driver_rate = 1 / p["driver_per_row"]
    rate = min(workers_rate, driver_rate)
    summary_hours = args.project * p["summary_per_row"] / 3600
    hours = (args.project / rate + p["init"]) / 3600
    print(f"On paper, {args.nodes} nodes x {args.node_cpus} CPUs = {cpus:,} CPUs, "
          f"{args.project:,} episodes (a CPU as fast as one here):")
    print(f"  batches: {batches:,} of {batch:,} episodes ({batches / cpus:.1f} per CPU), "
          f"each {batch / steady:.1f} s on its CPU and {p['row_bytes'] * batch / 1e3:,.0f} kB "
          "of rows")
    print(f"  the CPUs could run {workers_rate:,.0f} episodes/s; one driver takes in "
          f"{driver_rate:,.0f} rows/s: {'the driver' if driver_rate < workers_rate else 'the CPUs'}"
          f" set the pace, {rate:,.0f} episodes/s: {hours:.2f} h, then {summary_hours:.2f} h "
          "for the summary's pass")
    unread = cpus * AHEAD * CHUNK * p["row_bytes"]
    print(f"  rows: {p['row_bytes'] * args.project / 1e9:,.1f} GB into results.jsonl, "
          f"{p['row_bytes'] * rate / 1e6:,.1f} MB/s into the driver; the driver holds "
          f"{args.project / 8 / 1e6:.2f} MB of episode bits, {2 * cpus:,} batches in flight "
          f"and at most {unread / 1e6:,.0f} MB of unread rows ({AHEAD} items of {CHUNK} a "
          "running batch)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
