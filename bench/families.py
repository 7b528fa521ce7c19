"""Task families measured: ``python -m bench.families [FILE_OR_ID ...] [--seeds N]``.

For each family (every shipped one by default, or the files/ids named):

- the distinct gold tuples over seeds 0–19 (queue, priority, issue type, status,
  resolution code, risk flags, required fields), with the seeds that give each;
- the oracle in every world (each persona × every fault set) on seeds 0–19: how many
  episodes scored 1.0, and why any did not;
- the **replay** agent: the operations the oracle chose on seed 0, replayed on seeds
  1–20 (default persona, no fault): what memorising an episode is worth;
- the heuristic's and the random agent's mean over seeds 0–49 × every persona.

Exit status 1 if the oracle missed 1.0 anywhere, a family has fewer than 3 gold tuples,
or the replay mean exceeds 0.6 (the goals of issue 13).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
from pathlib import Path

from actors.episodes import make_job, simulate_many
from actors.teams import FAULTS
from sim.grading import grade
from sim.scripted import ScriptedAgent, turns_of
from tasks.base import PERSONAS, SupportTaskSpec
from tasks.family import TaskFamily
from tasks.registry import discover_families, get_family, load_task_source

GOLD_SEEDS = range(20)
REPLAY_SEEDS = range(1, 21)
MIN_GOLD_TUPLES = 3
MAX_REPLAY_MEAN = 0.6
FAULT_SETS = [c for n in range(len(FAULTS) + 1) for c in itertools.combinations(FAULTS, n)]


def gold_tuple(task: SupportTaskSpec) -> tuple[object, ...]:
    """The gold a variant asks for: what must vary between variants."""
    return (task.gold_queue, task.gold_priority, task.gold_issue_type, task.gold_status,
            task.gold_resolution_code, tuple(sorted(task.risk_flags)),
            tuple(task.required_requested_fields))


Gold = tuple[object, ...]


def gold_table(family: TaskFamily, seeds: range = GOLD_SEEDS) -> dict[Gold, list[int]]:
    """Each distinct gold tuple of ``seeds``, with the seeds that give it."""
    table: dict[Gold, list[int]] = {}
    for seed in seeds:
        table.setdefault(gold_tuple(family.variant(seed)), []).append(seed)
    return table


def replay_scores(family: TaskFamily, seeds: range = REPLAY_SEEDS) -> list[float]:
    """Scores of the oracle's seed-0 operations replayed on ``seeds``."""
    first = family.variant(0)
    [oracle] = simulate_many([make_job(first, "oracle", seed=0)])
    script = turns_of(oracle.trace)
    jobs = [make_job(family.variant(seed), lambda: ScriptedAgent(script), seed=seed,
                     agent_name="replay") for seed in seeds]
    return [result.score for result in simulate_many(jobs)]


def agent_mean(family: TaskFamily, agent: str, seeds: int) -> float:
    jobs = [make_job(family.variant(seed), agent, seed=seed, persona=persona)
            for seed in range(seeds) for persona in PERSONAS]
    return statistics.fmean(result.score for result in simulate_many(jobs))


def oracle_shortfalls(family: TaskFamily, seeds: range = GOLD_SEEDS) -> tuple[int, list[str]]:
    """(episodes run, one line per episode below 1.0) for the oracle in every world."""
    jobs = [make_job(family.variant(seed), "oracle", seed=seed, persona=persona, faults=faults)
            for seed in seeds for persona in PERSONAS for faults in FAULT_SETS]
    short = []
    for result in simulate_many(jobs):
        if result.score != 1.0:
            why = grade(family.variant(result.seed), result.trace).shortfall()
            short.append(f"seed {result.seed} {result.persona} {list(result.faults)}: "
                         f"{result.score:.3f} {result.termination_reason}: {'; '.join(why)}")
    return len(jobs), short


def _families(names: list[str]) -> list[TaskFamily]:
    if not names:
        return [f for f in discover_families().values() if f.kind == "family"]
    return [load_task_source(name) if name.endswith(".py") or Path(name).exists()
            else get_family(name) for name in names]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.families", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("families", nargs="*", help="family files or ids (default: shipped)")
    parser.add_argument("--agent-seeds", type=int, default=50,
                        help="seeds for the heuristic and random means (default 50)")
    args = parser.parse_args(argv)
    failed = False
    rows = []
    for family in _families(args.families):
        table = gold_table(family)
        print(f"## {family.family_id} ({family.difficulty}): {len(table)} distinct gold tuples "
              f"over seeds {GOLD_SEEDS.start}-{GOLD_SEEDS.stop - 1}")
        print("| queue | priority | issue type | status | resolution | risk flags | "
              "required fields | seeds |")
        print("|---|---|---|---|---|---|---|---|")
        for gold, seeds in table.items():
            *single, flags, fields = gold
            print("| " + " | ".join(str(v) for v in single) + f" | {', '.join(flags) or '-'} | "  # type: ignore[arg-type]
                  f"{', '.join(fields) or '-'} | {', '.join(map(str, seeds))} |")  # type: ignore[arg-type]
        ran, short = oracle_shortfalls(family)
        replay = replay_scores(family)
        heuristic = agent_mean(family, "heuristic", args.agent_seeds)
        random_mean = agent_mean(family, "random", args.agent_seeds)
        replay_mean = statistics.fmean(replay)
        print(f"oracle: {ran - len(short)}/{ran} episodes at 1.0")
        for line in short[:10]:
            print(f"  {line}")
        print(f"replay of seed 0 on seeds 1-20: mean {replay_mean:.3f} "
              f"(min {min(replay):.2f}, max {max(replay):.2f})")
        print(f"heuristic {heuristic:.3f}, random {random_mean:.3f} "
              f"(seeds 0-{args.agent_seeds - 1} x {len(PERSONAS)} personas)\n")
        rows.append((family.family_id, len(table), ran - len(short), ran, replay_mean,
                     heuristic, random_mean))
        failed |= bool(short) or len(table) < MIN_GOLD_TUPLES or replay_mean > MAX_REPLAY_MEAN
    if len(rows) > 1:
        print("| family | gold tuples | oracle at 1.0 | replay | heuristic | random |")
        print("|---|---|---|---|---|---|")
        for fid, tuples, good, ran, replay_mean, heuristic, random_mean in rows:
            print(f"| {fid} | {tuples} | {good}/{ran} | {replay_mean:.3f} | {heuristic:.3f} | "
                  f"{random_mean:.3f} |")
        print(f"| mean | | | {statistics.fmean(r[4] for r in rows):.3f} | "
              f"{statistics.fmean(r[5] for r in rows):.3f} | "
              f"{statistics.fmean(r[6] for r in rows):.3f} |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
