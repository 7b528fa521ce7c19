"""A sweep's page: where the agent fails, by task × persona, from the sweep's folder.

:func:`sweep_view` turns a folded sweep (:func:`actors.report.sweep_fold.read_sweep`)
into what the page shows: the mean score by task × persona (a heatmap, each cell with
its count), the SLA breach rate the same way, a row per task (pass rate, pass^k, breach
rate, termination reasons, the score distribution), the per-criterion means by task,
the overall score histogram, and a row per cell naming its lowest-scoring episodes.
:func:`sweep_page` renders it.

The page's size grows with tasks × personas, never with episodes: a cell is a few
figures, not its rows. With the sweep's trace folder (``--trace-dir``), a cell's row
links to its lowest-scoring episodes' traces and to the folder that holds the rest, by
paths relative to the page, so the page and the folders can move together.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import attrs

from actors.report.charts import (
    CellFigure,
    Heatmap,
    Histogram,
    Segment,
    heatmap,
    histogram,
    stacked_bar,
    termination_colour,
)
from actors.report.palette import BREACH_SCALE, SCORE_SCALE, ink_for, scale_colour
from actors.report.render import render
from actors.report.sweep_fold import BINS, Episode, SweepData, read_sweep
from sim.secrets import redact
from sim.spec import CRITERIA_WEIGHTS

__all__ = ["CellRow", "SweepView", "TaskRow", "sweep_page", "sweep_view"]

#: The widths of the small pictures in the per-task table.
SPARK_WIDTH = 120.0
BAR_WIDTH = 160.0


@attrs.frozen
class Figures:
    """A group's summary figures, as shown (``None``: not enough episodes)."""

    episodes: int
    mean: float | None
    ci95: float | None
    pass_rate: float | None
    pass_hat_k: tuple[tuple[int, float | None], ...]
    breach_rate: float | None
    breaches: int
    terminations: tuple[tuple[str, int], ...]


#: The k of pass^k the page shows (a summary's own, as :class:`sim.metrics.SummaryFold`).
KS = (1, 2, 3, 4)


def _figures(summary: Mapping[str, Any] | None) -> Figures:
    """The figures of a group's summary (``None``: a group without episodes)."""
    summary = summary or _EMPTY
    n = int(summary["episodes"])
    by_k = {int(k): v for k, v in summary["pass_hat_k"].items()}
    return Figures(
        episodes=n, mean=summary["mean_score"] if n else None, ci95=summary["ci95"],
        pass_rate=summary["pass_rate"] if n else None,
        pass_hat_k=tuple((k, by_k.get(k)) for k in KS),
        breach_rate=summary["sla_breach_rate"] if n else None,
        breaches=round(summary["sla_breach_rate"] * n),
        terminations=tuple((redact(k), int(v)) for k, v in summary["terminations"].items()))


@attrs.frozen
class TaskRow:
    name: str
    figures: Figures
    bar: tuple[Segment, ...]
    spark: Histogram


@attrs.frozen
class EpisodeLink:
    seed: int
    score: float
    termination: str
    sla_breached: bool
    faults: str
    file: str
    #: The trace's path relative to the page, or ``None`` (no trace folder, or no file).
    href: str | None


@attrs.frozen
class CellRow:
    anchor: str
    task: str
    persona: str
    figures: Figures
    worst: tuple[EpisodeLink, ...]
    #: Where the cell's other traces are: the folder (relative to the page) and a glob.
    folder_href: str | None
    pattern: str | None


@attrs.frozen
class CriteriaCell:
    value: float | None
    fill: str
    ink: str


@attrs.frozen
class SweepView:
    """Everything the sweep page shows, computed; the template only lays it out."""

    folder: str
    agents: tuple[str, ...]
    plan: tuple[tuple[str, str], ...]
    status: tuple[tuple[str, str], ...]
    threshold: float
    overall: Figures
    score_map: Heatmap
    breach_map: Heatmap
    tasks: tuple[TaskRow, ...]
    personas: tuple[tuple[str, Figures], ...]
    criteria: tuple[str, ...]
    criteria_rows: tuple[tuple[str, tuple[CriteriaCell, ...]], ...]
    histogram: Histogram
    termination_bar: tuple[Segment, ...]
    termination_legend: tuple[tuple[str, str], ...]
    cells: tuple[CellRow, ...]
    trace_dir: str | None
    reading: tuple[str, ...]


def _relative(path: Path, page_dir: Path) -> str:
    """``path`` as a link from a page in ``page_dir``: relative, ``/``-separated, quoted."""
    relative = os.path.relpath(path.resolve(), page_dir.resolve())
    return quote(Path(relative).as_posix())


def _fmt(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _no_episodes(where: str) -> CellFigure:
    return CellFigure(value=None, label="–", sub="no episodes", title=f"{where}: no episodes")


def _score_figure(summary: Mapping[str, Any] | None, href: str | None,
                  where: str) -> CellFigure:
    if not summary or not summary["episodes"]:
        return _no_episodes(where)
    f = _figures(summary)
    return CellFigure(
        value=f.mean, label=_fmt(f.mean), sub=f"n={f.episodes}",
        title=(f"{where}: mean score {_fmt(f.mean, 3)} over {f.episodes} episode(s); "
               f"pass rate {_fmt(f.pass_rate)}; SLA breached {f.breaches}"),
        href=href)


def _breach_figure(summary: Mapping[str, Any] | None, href: str | None,
                   where: str) -> CellFigure:
    if not summary or not summary["episodes"]:
        return _no_episodes(where)
    f = _figures(summary)
    return CellFigure(
        value=f.breach_rate, label=f"{f.breach_rate:.0%}" if f.breach_rate is not None
        else "–", sub=f"{f.breaches}/{f.episodes}",
        title=f"{where}: SLA breached in {f.breaches} of {f.episodes} episode(s)", href=href)


def _plan_lines(data: SweepData) -> tuple[tuple[str, str], ...]:
    plan = data.plan or {}
    lines = [("agent", ", ".join(data.agents) or str(plan.get("agent", "–")))]
    if plan:
        lines.append(("seeds per cell", str(plan.get("seeds"))))
        lines.append(("personas", ", ".join(map(str, plan.get("personas", [])))))
        faults = plan.get("faults") or []
        lines.append(("faults", ", ".join(map(str, faults)) or "none"))
        if plan.get("privileged"):
            lines.append(("privileged", "yes: the agent was handed the gold"))
        llm = plan.get("llm")
        if isinstance(llm, dict) and llm.get("model"):
            lines.append(("model", str(llm["model"])))
    else:
        faults = {"+".join(f) or "none" for f in data.faults}
        lines.append(("faults", ", ".join(sorted(faults)) or "none"))
        lines.append(("plan", "no plan.json: every episode found counts once"))
    return tuple((k, redact(v)) for k, v in lines)


def _status_lines(data: SweepData) -> tuple[tuple[str, str], ...]:
    lines = []
    status = data.status
    if "complete" in status:
        lines.append(("complete", "yes" if status["complete"] else
                      f"no: {status.get('missing', '?')} episode(s) of the plan have no row"))
    lost = status.get("lost")
    if isinstance(lost, dict) and lost.get("episodes"):
        lines.append(("lost", f"{lost['episodes']} episode(s) lost to dying worker processes"))
    counts = data.counts
    if counts.dropped:
        lines.append(("dropped", f"{counts.dropped} torn or unreadable line(s) left out"))
    if counts.duplicates:
        lines.append(("repeated", f"{counts.duplicates} repeated row(s) counted once"))
    return tuple((k, redact(v)) for k, v in lines)


def _links(episodes: list[Episode], trace_dir: Path | None,
           page_dir: Path) -> tuple[EpisodeLink, ...]:
    links = []
    for e in episodes:
        href = None
        if trace_dir is not None and (trace_dir / e.trace_file).is_file():
            href = _relative(trace_dir / e.trace_file, page_dir)
        links.append(EpisodeLink(seed=e.seed, score=e.score, termination=redact(e.termination),
                                 sla_breached=e.sla_breached,
                                 faults=redact("+".join(e.faults) or "none"),
                                 file=redact(e.trace_file), href=href))
    return tuple(links)


def sweep_view(data: SweepData, *, page_dir: str | Path = ".",
               trace_dir: str | Path | None = None) -> SweepView:
    """What the page shows of the folded sweep ``data``, for a page written in
    ``page_dir`` (links are relative to it), its cells linked to the traces in
    ``trace_dir`` when given."""
    page = Path(page_dir)
    traces = Path(trace_dir) if trace_dir is not None else None
    summary = data.summary
    tasks, personas = data.tasks, data.personas
    anchors = {(t, p): f"cell-{i}-{j}" for i, t in enumerate(tasks)
               for j, p in enumerate(personas)}
    per_task = summary["per_task"]
    shown_tasks = [redact(t) for t in tasks]
    shown_personas = [redact(p) for p in personas]
    shown = dict(zip(tasks, shown_tasks, strict=True)) | dict(
        zip(personas, shown_personas, strict=True))

    def grid(figure: Callable[[Mapping[str, Any] | None, str | None, str], CellFigure],
             scale: Sequence[str], title: str) -> Heatmap:
        return heatmap(
            shown_tasks, shown_personas,
            {(shown[t], shown[p]): figure(data.cells.get((t, p)), f"#{anchors[t, p]}",
                                          f"{shown[t]} × {shown[p]}")
             for t in tasks for p in personas},
            scale=scale, legend_title=title,
            row_totals={shown[t]: figure(per_task.get(t), f"#task-{i}",
                                         f"{shown[t]}, all personas")
                        for i, t in enumerate(tasks)},
            column_totals={shown[p]: figure(data.persona_summaries.get(p), None,
                                            f"{shown[p]}, all tasks") for p in personas},
            corner=figure(summary["overall"], None, "all episodes"))

    task_rows = []
    for task in tasks:
        s = per_task.get(task)
        bins = [sum(column) for column in zip(*(data.histograms.get((task, p), [0] * BINS)
                                                 for p in personas), strict=True)]
        figures = _figures(s)
        task_rows.append(TaskRow(name=shown[task], figures=figures,
                                 bar=stacked_bar(dict(figures.terminations), width=BAR_WIDTH),
                                 spark=histogram(bins, width=SPARK_WIDTH, height=22,
                                                 axes=False)))
    overall = _figures(summary["overall"])
    # The spec's order (rows list criteria in it), then any other name: never the order
    # in which rows happened to arrive.
    seen = summary["overall"]["criteria_means"]
    criteria = (*(name for name in CRITERIA_WEIGHTS if name in seen),
                *sorted(name for name in seen if name not in CRITERIA_WEIGHTS))

    def criteria_cells(means: Mapping[str, float | None]) -> tuple[CriteriaCell, ...]:
        cells = []
        for name in criteria:
            value = means.get(name)
            fill = "#f0f0f0" if value is None else scale_colour(value, SCORE_SCALE)
            cells.append(CriteriaCell(value=value, fill=fill, ink=ink_for(fill)))
        return tuple(cells)

    criteria_rows = [(shown[t], criteria_cells(per_task[t]["criteria_means"]))
                     for t in tasks if t in per_task]
    criteria_rows.append(("all tasks", criteria_cells(summary["overall"]["criteria_means"])))
    all_bins = [sum(column) for column in zip(*data.histograms.values(), strict=True)] \
        if data.histograms else [0] * BINS
    cells = []
    for task in tasks:
        for persona in personas:
            cell = data.cells.get((task, persona))
            worst = data.worst.get((task, persona), [])
            pattern = None
            if traces is not None and worst:
                faults = "+".join(worst[0].faults) or "nofault"
                pattern = redact(f"{task}__{persona}__{faults}__seed*.jsonl")
            cells.append(CellRow(
                anchor=anchors[task, persona], task=shown[task], persona=shown[persona],
                figures=_figures(cell), worst=_links(worst, traces, page),
                folder_href=_relative(traces, page) + "/" if traces is not None else None,
                pattern=pattern))
    reasons = [reason for reason, _ in overall.terminations]
    return SweepView(
        folder=redact(Path(data.folder).name or data.folder),
        agents=tuple(redact(agent) for agent in data.agents),
        plan=_plan_lines(data), status=_status_lines(data), threshold=data.threshold,
        overall=overall, score_map=grid(_score_figure, SCORE_SCALE, "mean score"),
        breach_map=grid(_breach_figure, BREACH_SCALE, "SLA breach rate"),
        tasks=tuple(task_rows),
        personas=tuple((shown[p], _figures(data.persona_summaries[p])) for p in personas
                       if p in data.persona_summaries),
        criteria=tuple(redact(c) for c in criteria), criteria_rows=tuple(criteria_rows),
        histogram=histogram(all_bins, width=620, height=220, scale=SCORE_SCALE,
                            threshold=data.threshold),
        termination_bar=stacked_bar(dict(overall.terminations), width=620),
        termination_legend=tuple((r, termination_colour(r)) for r in reasons),
        cells=tuple(cells),
        trace_dir=None if traces is None else _relative(traces, page) + "/",
        reading=_reading(data))


_EMPTY: dict[str, Any] = {"episodes": 0, "mean_score": 0.0, "ci95": None, "pass_rate": 0.0,
                          "pass_hat_k": {}, "sla_breach_rate": 0.0, "terminations": {},
                          "criteria_means": {}}


def _reading(data: SweepData) -> tuple[str, ...]:
    """How the figures were made, in words, for the page's notes."""
    which = ("each episode of the plan in plan.json once (its first row; rows of other "
             "plans left out), as summary.json counts them" if data.plan is not None
             else "each episode (task, agent, seed, persona, faults) once, its first row")
    return (
        f"Rows counted: {which}.",
        f"Pass: a score of at least {data.threshold:g}. pass^k (tau-bench): the mean over "
        "tasks of C(c, k) / C(n, k), c passes out of n episodes; a task with fewer than k "
        "episodes is left out, and a cell's pass^k is its own task's.",
        "Every episode counts in every denominator, whatever ended it (agent_error and "
        "agent_timeout included).",
        "Colours: mean scores on viridis (dark is low, yellow is high), breach rates from "
        "white (none) to dark red (all); each cell prints its figure and its count.",
    )


def sweep_page(folder: str | Path, *, page_dir: str | Path = ".",
               trace_dir: str | Path | None = None) -> str:
    """The page of the sweep in ``folder``: one self-contained HTML document (see
    :func:`sweep_view`; errors as :func:`~actors.report.sweep_fold.read_sweep`'s)."""
    return render("sweep.html", view=sweep_view(read_sweep(folder), page_dir=page_dir,
                                                trace_dir=trace_dir))
