"""Fuzz the grader: random turn sequences on every shipped task, checked trace by trace.

    python -m bench.fuzz [--sequences N] [--seed S] [--determinism-every K]

The sequences come from the hypothesis strategies of :mod:`sim.testing` (valid and invalid
operations built from each task's catalog and markers, over-long messages, garbage turns),
drawn in hypothesis's generate phase under a fixed seed, so a run is reproducible. Each
is played by a scripted agent through the real simulator, under a random persona and
subset of faults, in batches of concurrent episodes. Every trace is checked for the
per-trace invariants of SPEC §4: the score is in [0, 1] and equals the weighted criteria
minus penalties, the step rewards sum to it, and the grader never raises. Every K-th
sequence is also played a second time, in another batch (another order and concurrency),
and must give the same trace bytes and score; its trace must re-grade the same after a
round trip through JSON Lines.

Prints sequences per second and the number of violations, grouped by kind; exits 1 on
any violation.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

import hypothesis
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import strategies as st

from actors.checks import standard_world
from actors.teams import FAULTS
from sim.episode import EpisodeResult
from sim.runner import EpisodeJob
from sim.testing import (
    InvariantViolation,
    check_regrade,
    check_trace,
    describe_turns,
    replay_many,
    scripted_job,
    turn_sequences,
)
from tasks import PERSONAS, SupportTaskSpec, discover_tasks

#: (task id, persona, faults, seed, turns)
Draw = tuple[str, str, tuple[str, ...], int, list[Any]]


def draw_sequences(tasks: dict[str, SupportTaskSpec], count: int, seed: int) -> list[Draw]:
    """``count`` draws (or slightly fewer, if hypothesis rejects some) across ``tasks``."""
    per_task = st.one_of([st.tuples(st.just(task_id), turn_sequences(task))
                          for task_id, task in tasks.items()])
    strategy = st.tuples(
        per_task, st.sampled_from(PERSONAS),
        st.lists(st.sampled_from(FAULTS), unique=True).map(lambda f: tuple(sorted(f))),
        st.integers(0, 2**32 - 1),
    )
    drawn: list[Draw] = []

    @hypothesis.seed(seed)
    @settings(max_examples=count, phases=[Phase.generate], database=None, deadline=None,
              verbosity=Verbosity.quiet, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(value: tuple[tuple[str, list[Any]], str, tuple[str, ...], int]) -> None:
        (task_id, turns), persona, faults, episode_seed = value
        drawn.append((task_id, persona, faults, episode_seed, turns))

    collect()
    return drawn


def _job(tasks: dict[str, SupportTaskSpec], draw: Draw) -> EpisodeJob:
    task_id, persona, faults, seed, turns = draw
    return scripted_job(tasks[task_id], turns, world=standard_world, seed=seed,
                        persona=persona, faults=faults)


def _describe(draw: Draw) -> str:
    task_id, persona, faults, seed, turns = draw
    return (f"task={task_id} persona={persona} faults={list(faults)} seed={seed} "
            f"turns={describe_turns(turns)}")


def _replay(tasks: dict[str, SupportTaskSpec], draws: Sequence[Draw], concurrency: int
            ) -> list[EpisodeResult | BaseException]:
    """Replay a batch; if the batch raises, replay one by one to find who raised."""
    try:
        return list(replay_many([_job(tasks, d) for d in draws], concurrency=concurrency))
    except Exception:
        results: list[EpisodeResult | BaseException] = []
        for draw in draws:
            try:
                results.append(replay_many([_job(tasks, draw)], concurrency=1)[0])
            except Exception as error:
                results.append(error)
        return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0, help="hypothesis seed for the draws")
    parser.add_argument("--determinism-every", type=int, default=25, metavar="K",
                        help="replay every K-th sequence a second time (default 25)")
    parser.add_argument("--batch", type=int, default=500, help="episodes per trio.run")
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--show", type=int, default=3, help="examples shown per kind")
    args = parser.parse_args(argv)
    if args.sequences < 1 or args.determinism_every < 1 or args.batch < 1:
        parser.error("--sequences, --determinism-every and --batch must be 1 or more")

    tasks = discover_tasks()
    started = time.perf_counter()
    draws = draw_sequences(tasks, args.sequences, args.seed)
    drawn_at = time.perf_counter()

    violations: list[tuple[str, Draw]] = []
    first_runs: dict[int, EpisodeResult] = {}
    sample = list(range(0, len(draws), args.determinism_every))

    def violation(message: str, draw: Draw) -> None:
        violations.append((message, draw))

    for start in range(0, len(draws), args.batch):
        batch = draws[start:start + args.batch]
        for offset, outcome in enumerate(_replay(tasks, batch, args.concurrency)):
            index, draw = start + offset, batch[offset]
            if isinstance(outcome, BaseException):
                violation(f"the episode raised {type(outcome).__name__}: {outcome}", draw)
                continue
            task = tasks[draw[0]]
            try:
                report = check_trace(task, outcome.trace, regrade=False)
                if report.score != outcome.score:
                    raise InvariantViolation(f"the episode's score {outcome.score} differs "
                                             f"from grading its trace {report.score}")
                if index % args.determinism_every == 0:
                    check_regrade(task, outcome.trace)
            except InvariantViolation as error:
                violation(str(error), draw)
            except Exception as error:
                violation(f"checking raised {type(error).__name__}: {error}", draw)
            if index % args.determinism_every == 0:
                first_runs[index] = outcome

    # Determinism: the sample again, in reverse order, at another concurrency.
    again_order = sorted(first_runs, reverse=True)
    for start in range(0, len(again_order), args.batch):
        chunk = again_order[start:start + args.batch]
        outcomes = _replay(tasks, [draws[i] for i in chunk], max(1, args.concurrency // 7))
        for index, outcome in zip(chunk, outcomes, strict=True):
            first = first_runs[index]
            if isinstance(outcome, BaseException):
                violation(f"the second run raised {type(outcome).__name__}: {outcome}",
                          draws[index])
            elif (outcome.trace.to_jsonl() != first.trace.to_jsonl()
                  or outcome.score != first.score):
                violation("two runs of the same inputs gave different traces", draws[index])
    finished = time.perf_counter()

    replay_seconds = finished - drawn_at
    print(f"fuzz: {len(draws)} sequences over {len(tasks)} tasks, drawn with the hypothesis "
          f"strategies of sim.testing (generate phase, seed {args.seed}); "
          f"{len(sample)} replayed twice for determinism")
    print(f"  drawing   {drawn_at - started:7.1f} s  {len(draws) / (drawn_at - started):7.0f} "
          "sequences/s")
    print(f"  replaying {replay_seconds:7.1f} s  {len(draws) / replay_seconds:7.0f} sequences/s "
          "(episodes and checks)")
    print(f"  overall   {finished - started:7.1f} s  {len(draws) / (finished - started):7.0f} "
          "sequences/s")
    print(f"violations: {len(violations)}")

    def kind_of(message: str) -> str:  # numbers vary between examples of one kind
        return re.sub(r"-?\d+(\.\d+)?", "N", message.splitlines()[0])[:120]

    kinds = Counter(kind_of(message) for message, _ in violations)
    for kind, count in kinds.most_common():
        print(f"  {count:6d} x {kind}")
        shown = [d for m, d in violations if kind_of(m) == kind][: args.show]
        for draw in shown:
            print(f"           {_describe(draw)[:600]}")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
