"""Summaries of many episodes: means with confidence intervals, pass rates, pass^k.

Every episode counts, whatever its termination reason: an episode that ended in
``agent_error`` or ``sim_error`` scores what its trace earned, and stays in every
denominator.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = ["DEFAULT_PASS_THRESHOLD", "Summary", "mean_ci95", "pass_hat_k", "summarize"]

DEFAULT_PASS_THRESHOLD = 0.9
_Z95 = 1.959963984540054


def mean_ci95(values: Sequence[float]) -> tuple[float, float | None]:
    """The mean and the half-width of its 95% confidence interval (normal approximation).

    The half-width is ``None`` with fewer than two values.
    """
    n = len(values)
    if n == 0:
        return 0.0, None
    mean = math.fsum(values) / n
    if n < 2:
        return mean, None
    variance = math.fsum((v - mean) ** 2 for v in values) / (n - 1)
    return mean, _Z95 * math.sqrt(variance / n)


def pass_hat_k(successes_by_task: Mapping[str, tuple[int, int]], k: int) -> float | None:
    """pass^k as in the tau-bench papers: the mean over tasks of C(c, k) / C(n, k).

    ``successes_by_task`` maps a task to (c successes, n trials). Tasks with fewer than
    ``k`` trials are left out; ``None`` when none has enough.
    """
    ratios = [math.comb(c, k) / math.comb(n, k)
              for c, n in successes_by_task.values() if n >= k]
    return math.fsum(ratios) / len(ratios) if ratios else None


class Summary(BaseModel):
    """The figures of §5 for one group of episodes (one task, or all of them)."""

    model_config = ConfigDict(frozen=True)

    episodes: int
    mean_score: float
    ci95: float | None
    pass_rate: float
    pass_threshold: float
    pass_hat_k: dict[int, float | None]
    sla_breach_rate: float
    criteria_means: dict[str, float | None]
    terminations: dict[str, int]


def _summary(rows: Sequence[Mapping[str, Any]], threshold: float, ks: Iterable[int]) -> Summary:
    scores = [float(r["score"]) for r in rows]
    mean, ci = mean_ci95(scores)
    passed = [s >= threshold for s in scores]
    by_task: dict[str, tuple[int, int]] = {}
    for row, ok in zip(rows, passed, strict=True):
        c, n = by_task.get(row["task_id"], (0, 0))
        by_task[row["task_id"]] = (c + ok, n + 1)
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row["breakdown"]))
    criteria: dict[str, float | None] = {}
    for name in names:
        values = [row["breakdown"][name] for row in rows
                  if row["breakdown"].get(name) is not None]
        criteria[name] = math.fsum(values) / len(values) if values else None
    n = len(rows)
    return Summary(
        episodes=n,
        mean_score=mean,
        ci95=ci,
        pass_rate=sum(passed) / n if n else 0.0,
        pass_threshold=threshold,
        pass_hat_k={k: pass_hat_k(by_task, k) for k in ks},
        sla_breach_rate=sum(bool(r["sla_breached"]) for r in rows) / n if n else 0.0,
        criteria_means=criteria,
        terminations=dict(sorted(Counter(str(r["termination_reason"]) for r in rows).items())),
    )


def summarize(
    rows: Sequence[Mapping[str, Any]],
    *,
    threshold: float = DEFAULT_PASS_THRESHOLD,
    ks: Iterable[int] = (1, 2, 3, 4),
) -> dict[str, Any]:
    """Per-task and overall summaries of result rows (dicts as results files hold them).

    Rows need ``task_id``, ``score``, ``breakdown``, ``sla_breached`` and
    ``termination_reason``. pass^k is reported for each k in ``ks`` that some task
    has enough episodes for.
    """
    ks = list(ks)
    tasks = sorted({str(r["task_id"]) for r in rows})
    per_task = {t: _summary([r for r in rows if r["task_id"] == t], threshold, ks)
                for t in tasks}
    return {
        "overall": _summary(rows, threshold, ks).model_dump(mode="json"),
        "per_task": {t: s.model_dump(mode="json") for t, s in per_task.items()},
    }
