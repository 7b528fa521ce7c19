"""A sweep's folder, read for its report: the rows folded per task × persona cell.

The report reads what ``run_sim.py sweep --out`` wrote: ``results.jsonl`` (required), and
``plan.json`` and ``summary.json`` when they are there. Rows are read a line at a time
and folded (:class:`SweepFold`), so a million-episode sweep needs no more memory than a
small one, and the page holds per-cell figures, never every row.

Which rows count is what the sweep's own summary counts: with a ``plan.json``, each
episode of the plan once (its first row; rows of other plans left out, as
:func:`actors.sweep.plan.episode_rows` decides), so the overall figures equal
``summary.json``'s. Without one (a folder from before plans were recorded), each
episode once by its key.

Every figure is a fold whose result does not depend on the order of the rows (exact
sums from :class:`sim.metrics.SummaryFold`, integer counts, the lowest-scoring episodes
chosen by (score, seed, faults)): a sweep's rows land in whatever order its episodes
end, and the same sweep must give the same page.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import attrs

from actors.sweep.folder import PLAN_FILE, RESULTS_FILE, SUMMARY_FILE
from actors.sweep.plan import EpisodeBits, SweepError, SweepPlan, episode_rows
from actors.sweep.worker import trace_name
from sim.metrics import DEFAULT_PASS_THRESHOLD, SummaryFold
from sim.results import EpisodeKey, ReadCounts, episode_key, iter_results
from tasks.base import PERSONAS

__all__ = ["BINS", "Episode", "SweepData", "SweepFold", "bin_of", "read_sweep"]

#: The score histogram's bins: [0, 0.05), [0.05, 0.1), ..., [0.95, 1.0].
BINS = 20
#: The lowest-scoring episodes each cell keeps, to link to.
WORST_KEPT = 3


def bin_of(score: float) -> int:
    """The histogram bin of ``score`` (1.0 goes in the last bin)."""
    return min(BINS - 1, max(0, int(score * BINS)))


@attrs.frozen(order=True)
class Episode:
    """One episode a cell names (ordered worst first: score, seed, faults, agent)."""

    score: float
    seed: int
    faults: tuple[str, ...]
    agent: str
    termination: str = attrs.field(order=False)
    sla_breached: bool = attrs.field(order=False)
    #: The file name its trace has in a sweep's trace folder.
    trace_file: str = attrs.field(order=False)


class SweepFold:
    """Rows added one at a time; figures per task × persona cell, per task, overall.

    One :class:`~sim.metrics.SummaryFold` for the whole sweep (its per-task groups are
    the rows of the page) and one per persona (whose per-task groups are the cells), a
    score histogram per cell, and each cell's few lowest-scoring episodes.
    """

    def __init__(self, threshold: float = DEFAULT_PASS_THRESHOLD) -> None:
        self.threshold = threshold
        self.overall = SummaryFold(threshold=threshold)
        self.by_persona: dict[str, SummaryFold] = {}
        self.histograms: dict[tuple[str, str], list[int]] = {}
        self.worst: dict[tuple[str, str], list[Episode]] = {}
        self.agents: set[str] = set()
        self.faults: set[tuple[str, ...]] = set()

    def add(self, row: dict[str, Any]) -> None:
        task, persona = str(row["task_id"]), str(row["persona"])
        self.overall.add(row)
        fold = self.by_persona.get(persona)
        if fold is None:
            fold = self.by_persona[persona] = SummaryFold(threshold=self.threshold)
        fold.add(row)
        cell = (task, persona)
        score = float(row["score"])
        self.histograms.setdefault(cell, [0] * BINS)[bin_of(score)] += 1
        kept = self.worst.setdefault(cell, [])
        episode = Episode(score=score, seed=int(row["seed"]), faults=tuple(row["faults"]),
                          agent=str(row["agent"]),
                          termination=str(row["termination_reason"]),
                          sla_breached=bool(row["sla_breached"]), trace_file=trace_name(row))
        if len(kept) < WORST_KEPT or episode < kept[-1]:
            bisect.insort(kept, episode)
            del kept[WORST_KEPT:]
        self.agents.add(str(row["agent"]))
        self.faults.add(tuple(row["faults"]))


@attrs.frozen
class SweepData:
    """A sweep folder's figures, ready for the page."""

    folder: str
    tasks: tuple[str, ...]
    personas: tuple[str, ...]
    #: ``plan.json`` as recorded, or ``None``.
    plan: dict[str, Any] | None
    #: ``complete``, ``missing`` and ``lost`` from ``summary.json``, when it has them.
    status: dict[str, Any]
    threshold: float
    #: :meth:`sim.metrics.SummaryFold.result` of every counted row: overall, per task.
    summary: dict[str, Any]
    #: (task, persona) -> that cell's summary (as a per-task summary is).
    cells: dict[tuple[str, str], dict[str, Any]]
    #: persona -> its summary over every task.
    persona_summaries: dict[str, dict[str, Any]]
    histograms: dict[tuple[str, str], list[int]]
    worst: dict[tuple[str, str], list[Episode]]
    agents: tuple[str, ...]
    faults: tuple[tuple[str, ...], ...]
    counts: ReadCounts


def _read_json(path: Path) -> dict[str, Any] | None:
    """A small JSON object file of the folder, or ``None`` when it is not there."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SweepError(f"{path}: unreadable ({type(error).__name__}); allowed: the file as "
                         "run_sim.py sweep writes it") from None
    if not isinstance(data, dict):
        raise SweepError(f"{path}: a JSON {type(data).__name__}; allowed: the JSON object "
                         "run_sim.py sweep writes")
    return data


def _plan_of(recorded: dict[str, Any], path: Path) -> SweepPlan:
    """The plan ``plan.json`` records, as far as telling its rows apart needs."""
    try:
        tasks, personas = recorded["tasks"], recorded["personas"]
        agent, seeds, faults = recorded["agent"], recorded["seeds"], recorded.get("faults", [])
        if not (isinstance(tasks, list) and all(isinstance(t, str) for t in tasks)
                and isinstance(personas, list) and all(isinstance(p, str) for p in personas)
                and isinstance(faults, list) and all(isinstance(f, str) for f in faults)
                and isinstance(agent, str) and isinstance(seeds, int)
                and not isinstance(seeds, bool) and seeds >= 1):
            raise TypeError
    except (KeyError, TypeError):
        raise SweepError(f"{path}: not a sweep plan (tasks, personas, agent, seeds, faults); "
                         "allowed: the plan.json run_sim.py sweep writes") from None
    return SweepPlan(tasks=tuple(tasks), agent=agent, seeds=seeds, personas=tuple(personas),
                     faults=tuple(faults))


def _each_once(rows: Iterable[dict[str, Any]], counts: ReadCounts
               ) -> Iterator[dict[str, Any]]:
    """Each episode's first row, by its key (without a plan to place rows by)."""
    seen: set[EpisodeKey] = set()
    for row in rows:
        key = episode_key(row)
        if key in seen:
            counts.duplicates += 1
            continue
        seen.add(key)
        yield row


def _order(seen: Iterable[str], known: Iterable[str]) -> tuple[str, ...]:
    """``known`` names first, in their order, then the others ``seen``, sorted."""
    known = list(known)
    return (*known, *sorted(set(seen) - set(known)))


def read_sweep(folder: str | Path) -> SweepData:
    """Fold the sweep in ``folder``. :class:`~actors.sweep.plan.SweepError` (one line)
    for a folder without ``results.jsonl`` or with an unreadable plan or summary;
    :class:`~sim.results.ResultsFormatError` for a line that is not a results row."""
    out = Path(folder)
    results = out / RESULTS_FILE
    if not results.is_file():
        raise SweepError(f"{out}: no {RESULTS_FILE} in this folder; allowed: a sweep's folder "
                         "(run_sim.py sweep --out) or a trace file")
    recorded = _read_json(out / PLAN_FILE)
    summary_file = _read_json(out / SUMMARY_FILE) or {}
    overall = summary_file.get("overall")
    threshold = (overall.get("pass_threshold") if isinstance(overall, dict) else None)
    if not isinstance(threshold, int | float) or isinstance(threshold, bool):
        threshold = DEFAULT_PASS_THRESHOLD
    counts = ReadCounts()
    rows: Iterable[dict[str, Any]] = iter_results(results, counts)
    plan = _plan_of(recorded, out / PLAN_FILE) if recorded is not None else None
    if plan is not None:
        try:
            rows = episode_rows(plan, rows, EpisodeBits(plan.size()), counts)
        except ValueError as error:  # a fault the world does not know
            raise SweepError(f"{out / PLAN_FILE}: {error}") from None
    else:
        rows = _each_once(rows, counts)
    fold = SweepFold(float(threshold))
    for row in rows:
        fold.add(row)
    summary = fold.overall.result()
    tasks = _order(summary["per_task"], plan.tasks if plan else ())
    personas = _order(fold.by_persona, plan.personas if plan else
                      (p for p in PERSONAS if p in fold.by_persona))
    persona_results = {p: fold.by_persona[p].result() for p in sorted(fold.by_persona)}
    cells = {(task, persona): result["per_task"][task]
             for persona, result in persona_results.items()
             for task in result["per_task"]}
    status: dict[str, Any] = {key: summary_file[key] for key in ("complete", "missing", "lost")
              if key in summary_file}
    return SweepData(
        folder=str(out), tasks=tasks, personas=personas, plan=recorded, status=status,
        threshold=float(threshold), summary=summary, cells=cells,
        persona_summaries={p: r["overall"] for p, r in persona_results.items()},
        histograms=fold.histograms, worst=fold.worst, agents=tuple(sorted(fold.agents)),
        faults=tuple(sorted(fold.faults)), counts=counts)
