"""Summaries of many episodes: means with confidence intervals, pass rates, pass^k.

Every episode counts, whatever its termination reason: an episode that ended in
``agent_error`` or ``sim_error`` scores what its trace earned, and stays in every
denominator.

A summary is a fold (:class:`SummaryFold`): rows are added one at a time and only running
totals are kept, so summarising a million-episode results file needs no more memory than
summarising ten. The totals are exact (integers in units of the smallest float), so a
summary does not depend on the order of the rows: a sweep's results arrive in whatever
order its episodes end, and the same sweep must give the same summary.

Rows whose agent reported what it spent (``agent_usage``: an LLM agent's requests,
tokens, latency, cost) have those figures summed, key by key, exactly as well.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = ["DEFAULT_PASS_THRESHOLD", "Summary", "SummaryFold", "mean_ci95", "pass_hat_k",
           "summarize"]

DEFAULT_PASS_THRESHOLD = 0.9
_Z95 = 1.959963984540054
#: Every finite float is a whole multiple of 2**-1074: sums in those units are exact.
_SCALE = 1074
_ONE = 1 << _SCALE
_CACHE_LIMIT = 1024
_exact_cache: dict[float, int] = {}


def _exact(value: float) -> int:
    """``value`` * 2**1074, exactly (scores and criteria take few distinct values: cached)."""
    cached = _exact_cache.get(value)
    if cached is None:
        cached = _exact_uncached(value)
        if len(_exact_cache) < _CACHE_LIMIT:
            _exact_cache[value] = cached
    return cached


def _exact_uncached(value: float) -> int:
    """``value`` * 2**1074, exactly; for values that rarely repeat (latencies, costs),
    which would only fill the cache."""
    numerator, denominator = float(value).as_integer_ratio()
    return numerator << (_SCALE + 1 - denominator.bit_length())


class _Mean:
    """An exact running sum (and sum of squares) of floats."""

    __slots__ = ("count", "squares", "total")

    def __init__(self) -> None:
        self.count = 0
        self.total = 0
        self.squares = 0

    def add(self, exact: int, squares: bool = False) -> None:
        self.count += 1
        self.total += exact
        if squares:
            self.squares += exact * exact

    def mean(self) -> float | None:
        """The mean, rounded once from the correctly rounded sum (as ``math.fsum``)."""
        if not self.count:
            return None
        return (self.total / _ONE) / self.count

    def ci95(self) -> float | None:
        """The half-width of the mean's 95% confidence interval (normal approximation)."""
        n = self.count
        if n < 2:
            return None
        # The sample variance, exactly: (n Σx² − (Σx)²) / (n (n − 1)), rounded once.
        variance = (n * self.squares - self.total * self.total) / ((n * (n - 1)) << 2 * _SCALE)
        return _Z95 * math.sqrt(variance / n)


def mean_ci95(values: Sequence[float]) -> tuple[float, float | None]:
    """The mean and the half-width of its 95% confidence interval (normal approximation).

    The half-width is ``None`` with fewer than two values.
    """
    totals = _Mean()
    for value in values:
        totals.add(_exact(value), squares=True)
    mean = totals.mean()
    return (0.0 if mean is None else mean), totals.ci95()


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
    #: Each ``agent_usage`` key summed over the rows that report it (sorted by key);
    #: ``None`` when no row does.
    agent_usage: dict[str, float] | None = None


class _Group:
    """Running totals of one group of episodes; a few hundred bytes, however many."""

    def __init__(self) -> None:
        self.scores = _Mean()
        self.passed = 0
        self.breached = 0
        #: Criteria in the order they first appear, as the rows list them.
        self.criteria: dict[str, _Mean] = {}
        self.terminations: Counter[str] = Counter()
        #: task -> [successes, trials], for pass^k.
        self.by_task: dict[str, list[int]] = {}
        #: agent_usage key -> its exact sum.
        self.usage: dict[str, int] = {}

    def add(self, task: str, score: int, ok: bool, breached: bool, reason: str,
            breakdown: Iterable[tuple[str, int | None]]) -> None:
        self.scores.add(score, squares=True)
        self.passed += ok
        self.breached += breached
        self.terminations[reason] += 1
        counts = self.by_task.setdefault(task, [0, 0])
        counts[0] += ok
        counts[1] += 1
        for name, value in breakdown:
            totals = self.criteria.get(name)
            if totals is None:
                totals = self.criteria[name] = _Mean()
            if value is not None:
                totals.add(value)

    def add_usage(self, usage: Iterable[tuple[str, int]]) -> None:
        for name, value in usage:
            self.usage[name] = self.usage.get(name, 0) + value

    def summary(self, threshold: float, ks: Sequence[int]) -> Summary:
        n = self.scores.count
        by_task = {task: (c, t) for task, (c, t) in self.by_task.items()}
        return Summary(
            episodes=n,
            mean_score=self.scores.mean() or 0.0,
            ci95=self.scores.ci95(),
            pass_rate=self.passed / n if n else 0.0,
            pass_threshold=threshold,
            pass_hat_k={k: pass_hat_k(by_task, k) for k in ks},
            sla_breach_rate=self.breached / n if n else 0.0,
            criteria_means={name: totals.mean() for name, totals in self.criteria.items()},
            terminations=dict(sorted(self.terminations.items())),
            agent_usage={name: self.usage[name] / _ONE for name in sorted(self.usage)}
            if self.usage else None,
        )


class SummaryFold:
    """:func:`summarize`, a row at a time: ``add`` each row, then ``result()``.

    Memory grows with the number of tasks and criteria, never with the number of rows.
    """

    def __init__(self, *, threshold: float = DEFAULT_PASS_THRESHOLD,
                 ks: Iterable[int] = (1, 2, 3, 4)) -> None:
        self.threshold = threshold
        self.ks = list(ks)
        self._overall = _Group()
        self._per_task: dict[str, _Group] = {}

    @property
    def episodes(self) -> int:
        return self._overall.scores.count

    def add(self, row: Mapping[str, Any]) -> None:
        """Count one row (``task_id``, ``score``, ``breakdown``, ``sla_breached``,
        ``termination_reason``, and ``agent_usage`` if it has one)."""
        task = str(row["task_id"])
        score = float(row["score"])
        breakdown = [(name, None if value is None else _exact(value))
                     for name, value in row["breakdown"].items()]
        facts = (task, _exact(score), score >= self.threshold, bool(row["sla_breached"]),
                 str(row["termination_reason"]), breakdown)
        self._overall.add(*facts)
        group = self._per_task.get(task)
        if group is None:
            group = self._per_task[task] = _Group()
        group.add(*facts)
        usage = row.get("agent_usage")
        if usage:
            exact = [(str(name), _exact_uncached(value)) for name, value in usage.items()]
            self._overall.add_usage(exact)
            group.add_usage(exact)

    def result(self) -> dict[str, Any]:
        """Per-task (sorted by task id) and overall summaries, as JSON-ready data."""
        return {
            "overall": self._overall.summary(self.threshold, self.ks).model_dump(mode="json"),
            "per_task": {task: self._per_task[task].summary(self.threshold, self.ks)
                         .model_dump(mode="json") for task in sorted(self._per_task)},
        }


def summarize(
    rows: Iterable[Mapping[str, Any]],
    *,
    threshold: float = DEFAULT_PASS_THRESHOLD,
    ks: Iterable[int] = (1, 2, 3, 4),
) -> dict[str, Any]:
    """Per-task and overall summaries of result rows (dicts as results files hold them).

    Rows need ``task_id``, ``score``, ``breakdown``, ``sla_breached`` and
    ``termination_reason`` (``agent_usage`` is summed where given); any iterable will do
    (it is read once). pass^k is reported
    for each k in ``ks`` that some task has enough episodes for.
    """
    fold = SummaryFold(threshold=threshold, ks=ks)
    for row in rows:
        fold.add(row)
    return fold.result()
