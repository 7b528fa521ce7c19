"""A sweep's summary: a fold over its results file, so memory stays flat however many
episodes there are, plus what the file cannot say (complete? what was lost, and why)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from actors.sweep.plan import EpisodeBits, SweepPlan, episode_rows
from sim.metrics import DEFAULT_PASS_THRESHOLD, SummaryFold
from sim.results import ReadCounts, iter_results

__all__ = ["LOST_SHOWN", "summarize_results", "sweep_summary"]

#: Lost episodes the summary names (all of them are counted).
LOST_SHOWN = 20


def summarize_results(plan: SweepPlan, results_path: str | Path, *,
                      threshold: float = DEFAULT_PASS_THRESHOLD
                      ) -> tuple[dict[str, Any], int, ReadCounts]:
    """The summary of ``plan``'s rows in a results file, a line at a time: memory stays
    flat however many episodes there are. Rows of other plans are left out, and an
    episode's repeated rows count once. Returns the summary, how many episodes it
    covers, and what reading left out."""
    fold = SummaryFold(threshold=threshold)
    counts = ReadCounts()
    for row in episode_rows(plan, iter_results(results_path, counts),
                            EpisodeBits(plan.size()), counts):
        fold.add(row)
    return fold.result(), fold.episodes, counts


def sweep_summary(plan: SweepPlan, results_path: Path, *, threshold: float, stopped: bool,
                  lost: dict[int, str]) -> tuple[dict[str, Any], int, list[dict[str, Any]]]:
    """What ``summary.json`` holds after a sweep: the fold of the results file (the file
    is the truth: a stop may land between writing a row and counting it), the plan,
    whether every episode has a row, how many do not, and the ``lost`` episodes (index
    -> why). Returns the summary, the episodes recorded, and every lost episode."""
    summary, recorded, _ = summarize_results(plan, results_path, threshold=threshold)
    summary["plan"] = plan.describe()
    summary["complete"] = not stopped and recorded == plan.size()
    summary["missing"] = plan.size() - recorded
    lost_rows = [_describe_lost(plan, i, why) for i, why in sorted(lost.items())]
    if lost_rows:
        summary["lost"] = {"episodes": len(lost_rows), "first": lost_rows[:LOST_SHOWN]}
    return summary, recorded, lost_rows


def _describe_lost(plan: SweepPlan, index: int, why: str) -> dict[str, Any]:
    task, persona, seed = plan.episode(index)
    return {"task_id": task, "persona": persona, "seed": seed, "why": why}
