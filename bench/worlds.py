"""The oracle in every world: ``python -m bench.worlds [--seeds N]``.

Runs the built-in oracle on every shipped task × persona × fault set (every subset of
the faults) × seeds (each family on the variant its seed picks), and prints how many
episodes scored 1.0; any that did not are listed with the criteria and penalties that
cost them. Grading version 2 promises 1.0 in every
world (SPEC §4); the property suite checks it on random worlds, this checks all of them.
Exit status 1 if any episode scored below 1.0.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time

from actors.episodes import make_job, simulate_many
from actors.teams import FAULTS
from sim.grading import grade
from tasks.base import PERSONAS
from tasks.registry import discover_families


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.worlds", description=__doc__)
    parser.add_argument("--seeds", type=int, default=3, help="seeds per world (default 3)")
    args = parser.parse_args(argv)
    fault_sets = [combo for n in range(len(FAULTS) + 1)
                  for combo in itertools.combinations(FAULTS, n)]
    tasks = discover_families()
    jobs = [make_job(family.variant(seed), "oracle", seed=seed, persona=persona, faults=faults)
            for family in tasks.values() for persona in PERSONAS for faults in fault_sets
            for seed in range(args.seeds)]
    started = time.perf_counter()
    results = simulate_many(jobs)
    seconds = time.perf_counter() - started
    short = [r for r in results if r.score != 1.0]
    print(f"{len(tasks)} tasks x {len(PERSONAS)} personas x {len(fault_sets)} fault sets x "
          f"{args.seeds} seeds = {len(results)} oracle episodes in {seconds:.1f} s: "
          f"{len(results) - len(short)} scored 1.0, {len(short)} did not")
    for result in short:
        why = grade(tasks[result.task_id].variant(result.seed), result.trace).shortfall()
        print(f"  {result.task_id} {result.persona} {list(result.faults)} seed "
              f"{result.seed}: {result.score:.3f}, {result.termination_reason}: "
              f"{'; '.join(why)}")
    return 1 if short else 0


if __name__ == "__main__":
    sys.exit(main())
