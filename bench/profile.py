"""Where an episode's time goes: ``python -m bench.profile``.

Runs episodes under pyinstrument and prints the call tree, trimmed to the frames that
take at least ``--min-share`` of the total. pyinstrument samples the stack rather than
tracing every call, so its proportions are close to an unprofiled run's (cProfile's
per-call overhead inflates small functions several times over).

    python -m bench.profile                          # the oracle on the seed task
    python -m bench.profile --concurrency 100 --episodes 5000
    python -m bench.profile --agent heuristic --task password_reset_easy
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import trio
from pyinstrument import Profiler

from actors.episodes import make_job
from sim.runner import run_episodes as library_run_episodes
from sim.runner import tuned_collector
from tasks import TaskLoadError, get_task


async def run_episodes(*args: Any, **kwargs: Any) -> Any:
    """:func:`sim.runner.run_episodes` with the collector tuned, as the CLI runs it."""
    with tuned_collector():
        return await library_run_episodes(*args, **kwargs)

SEED_TASK = "api_incident_hard"


def profile(task_id: str, agent: str, episodes: int, concurrency: int,
            min_share: float) -> str:
    """The call tree of ``episodes`` episodes as text (after a few untimed ones)."""
    task = get_task(task_id)
    jobs = [make_job(task, agent, seed=seed) for seed in range(episodes)]
    trio.run(lambda: run_episodes(jobs[:10], collect=False))  # first-use caches
    profiler = Profiler(interval=0.0002)
    profiler.start()
    trio.run(lambda: run_episodes(jobs, concurrency=concurrency, collect=False))
    profiler.stop()
    text: str = profiler.output_text(
        unicode=False, color=False, processor_options={"filter_threshold": min_share}
    )
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default=SEED_TASK)
    parser.add_argument("--agent", default="oracle")
    parser.add_argument("--episodes", type=int, default=2_000)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--min-share", type=float, default=0.01,
                        help="hide frames below this share of the total (default 0.01)")
    args = parser.parse_args(argv)
    for name in ("episodes", "concurrency"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} {getattr(args, name)}; allowed: 1 or more")
    if not 0 <= args.min_share < 1:
        parser.error(f"--min-share {args.min_share}; allowed: 0 to less than 1")
    try:
        print(profile(args.task, args.agent, args.episodes, args.concurrency, args.min_share))
    except (TaskLoadError, ValueError) as error:
        print(f"bench.profile: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
