"""The summary's peak memory: ``python -m bench.summary_memory [--episodes N ...]``.

For each N (default 20,000 and 100,000) this writes a results file of N fabricated rows
shaped like a sweep's (every shipped task × persona, 13 criteria, ~650-byte lines),
then measures the peak resident memory of a fresh child process that:

- ``imports``: imports what the summary needs and reads nothing (the floor);
- ``fold``: summarises the file as a sweep does (``actors.sweep.summarize_results``: a
  line at a time, running totals only);
- ``load``: reads every row into a list first and summarises the list, as the summary
  did before issue 14 (``--no-load`` skips it: it needs ~5 KB per row).

A flat fold shows the same peak for every N; ``fold - imports`` is what summarising costs.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from actors.sweep import SweepPlan, summarize_results
from sim.metrics import summarize
from sim.results import read_results
from sim.trace import dumps_line
from tasks.base import PERSONAS
from tasks.registry import discover_families

CRITERIA = ("queue", "priority", "issue_type", "status", "resolution_code",
            "fields_collected", "follow_up_handling", "reply_markers", "kept_informed",
            "note_markers", "risk_flags", "escalation", "sla")
MODES = ("imports", "fold", "load")


def _plan(episodes: int) -> SweepPlan:
    """Every shipped task × persona, with as many seeds as ``episodes`` needs."""
    tasks = tuple(discover_families())
    per_seed = len(tasks) * len(PERSONAS)
    return SweepPlan(tasks=tasks, agent="heuristic", seeds=-(-episodes // per_seed),
                     personas=tuple(PERSONAS))


def fabricate(path: Path, episodes: int) -> None:
    """Write ``episodes`` rows of :func:`_plan`'s episodes, with varied figures."""
    plan = _plan(episodes)
    draw = random.Random(episodes)
    with path.open("w", encoding="utf-8") as out:
        for index in range(episodes):
            task, persona, seed = plan.episode(index)
            breakdown = {name: draw.choice([0.0, 0.5, 1.0, 1.0, None]) for name in CRITERIA}
            out.write(dumps_line({
                "task_id": task, "variant_hash": f"{draw.getrandbits(64):016x}", "seed": seed,
                "agent": plan.agent, "persona": persona, "faults": [],
                "score": round(draw.random(), 12), "breakdown": breakdown,
                "termination_reason": draw.choice(["finished"] * 8 + ["max_steps",
                                                                      "agent_error"]),
                "steps": draw.randint(2, 30), "sim_minutes": draw.randint(5, 600),
                "sla_breached": draw.random() < 0.2, "invalid_operations": draw.randint(0, 3),
                "privileged": False, "error": None, "wall_seconds": draw.random() / 100,
                "agent_latency_mean": draw.random() / 1000,
                "agent_latency_max": draw.random() / 100}) + "\n")


def child(mode: str, path: str, episodes: int) -> None:
    """Run one mode and print its figures as JSON (in a fresh process: the peak is its own)."""
    plan = _plan(episodes)
    started = time.perf_counter()
    covered = 0
    if mode == "fold":
        _, covered, _ = summarize_results(plan, path)
    elif mode == "load":
        rows, _ = read_results(path)
        covered = summarize(rows)["overall"]["episodes"]
    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if sys.platform == "darwin":
        peak_kb //= 1024  # bytes there
    print(json.dumps({"peak_mb": peak_kb / 1024, "seconds": seconds, "episodes": covered}))


def measure(mode: str, path: Path, episodes: int) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-m", "bench.summary_memory", "--child", mode,
                           str(path), str(episodes)], capture_output=True, text=True,
                          check=True)
    figures: dict[str, float] = json.loads(done.stdout)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.summary_memory", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--episodes", type=int, nargs="+", default=[20_000, 100_000],
                        help="results rows to summarise (default 20000 100000)")
    parser.add_argument("--no-load", action="store_true",
                        help="skip the load-every-row comparison")
    parser.add_argument("--child", nargs=3, metavar=("MODE", "PATH", "EPISODES"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        mode, path, episodes = args.child
        child(mode, path, int(episodes))
        return 0
    modes = [m for m in MODES if not (args.no_load and m == "load")]
    print(f"{'episodes':>9} {'file MB':>8}  " + "  ".join(f"{m + ' peak MB':>16}" for m in modes)
          + f"  {'fold s':>7}")
    with tempfile.TemporaryDirectory() as folder:
        for episodes in args.episodes:
            path = Path(folder) / f"results_{episodes}.jsonl"
            fabricate(path, episodes)
            figures = {mode: measure(mode, path, episodes) for mode in modes}
            for mode in ("fold", "load"):
                if mode in figures and figures[mode]["episodes"] != episodes:
                    raise SystemExit(f"{mode} covered {figures[mode]['episodes']} episodes, "
                                     f"not {episodes}")
            print(f"{episodes:>9,} {path.stat().st_size / 2**20:>8.1f}  "
                  + "  ".join(f"{figures[m]['peak_mb']:>16.1f}" for m in modes)
                  + f"  {figures['fold']['seconds']:>7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
