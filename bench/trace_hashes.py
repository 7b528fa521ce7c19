"""Every trace's hash: ``python -m bench.trace_hashes [--seeds N] [--out FILE]``.

Plays every shipped task (each family on the variant its seed picks) × built-in agent ×
persona × fault set (every subset of the faults) × seed, and prints one sha256 over all
the traces' JSON lines, in a fixed order. ``--out`` writes one line per episode
(``task agent persona faults seed sha256``) so two runs can be diffed to find the
episodes that moved. A refactor that keeps behaviour keeps the digest: run it before
and after, and compare.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import sys
import time

from actors import BUILTIN_AGENTS, FAULTS, make_job, simulate_many
from tasks.base import PERSONAS
from tasks.registry import discover_families


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.trace_hashes", description=__doc__)
    parser.add_argument("--seeds", type=int, default=3, help="seeds per world (default 3)")
    parser.add_argument("--out", help="write one line per episode to this file")
    args = parser.parse_args(argv)
    fault_sets = [combo for n in range(len(FAULTS) + 1)
                  for combo in itertools.combinations(FAULTS, n)]
    families = discover_families()
    jobs = [make_job(family.variant(seed), agent, seed=seed, persona=persona, faults=faults)
            for family in families.values() for agent in sorted(BUILTIN_AGENTS)
            for persona in PERSONAS for faults in fault_sets for seed in range(args.seeds)]
    started = time.perf_counter()
    results = simulate_many(jobs)
    seconds = time.perf_counter() - started
    total = hashlib.sha256()
    lines = []
    for result in results:
        digest = hashlib.sha256(result.trace.to_jsonl().encode()).hexdigest()
        total.update(digest.encode())
        lines.append(f"{result.task_id} {result.agent} {result.persona} "
                     f"{','.join(result.faults) or '-'} {result.seed} {digest}\n")
    if args.out:
        with open(args.out, "w", encoding="utf-8") as out:
            out.writelines(lines)
    print(f"{len(families)} tasks x {len(BUILTIN_AGENTS)} agents x {len(PERSONAS)} personas x "
          f"{len(fault_sets)} fault sets x {args.seeds} seeds = {len(results)} traces in "
          f"{seconds:.1f} s; sha256 of all: {total.hexdigest()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
