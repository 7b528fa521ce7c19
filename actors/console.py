"""What the command line shows a person: transcripts, grade reports, sweep summaries.

Rendered with rich; colour and the progress bar switch off by themselves when the
output is not a terminal, so piped output stays plain text.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from sim.grading import GradeReport
from sim.trace import Trace
from sim.transcript import describe_event, sla_countdown

__all__ = ["print_report", "print_summary", "print_transcript", "sweep_progress"]

_ACTOR_STYLE = {"agent": "cyan", "customer": "green", "sla_monitor": "red"}


def print_transcript(console: Console, trace: Trace, sla_deadline_seconds: int) -> None:
    """Who said what, when, on the simulated clock, with the SLA countdown at each turn."""
    h = trace.header
    console.print(f"[bold]{h.task_id}[/]  seed {h.seed}  agent {h.agent}  persona {h.persona}"
                  f"  faults {', '.join(h.faults) or 'none'}"
                  + ("  [bold]privileged[/] (the agent was handed the gold)" if h.privileged
                     else ""))
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("sim time", justify="right", no_wrap=True)
    table.add_column("who", no_wrap=True)
    table.add_column("what")
    for event in trace.events:
        text = describe_event(event.kind, event.payload)
        if event.kind == "turn":
            text += "   " + sla_countdown(sla_deadline_seconds, event.t)
        style = _ACTOR_STYLE.get(event.actor, "magenta")
        table.add_row(f"{event.t // 60}m{event.t % 60:02d}s", f"[{style}]{event.actor}[/]",
                      text, style="bold" if event.kind == "turn" else None)
    console.print(table)


def print_report(console: Console, report: GradeReport) -> None:
    """The grade report as a table: criterion, weight, value, why; then penalties."""
    table = Table(title="grade report", header_style="bold")
    table.add_column("criterion")
    table.add_column("weight", justify="right")
    table.add_column("value", justify="right")
    table.add_column("why")
    for c in report.criteria:
        value = "n/a" if c.value is None else f"{c.value:.2f}"
        style = None if c.value is None or c.value >= 1 else "yellow"
        table.add_row(c.name, f"{c.effective_weight:.3f}", value, c.reason, style=style)
    for p in report.penalties:
        table.add_row(f"penalty: {p.name}", "", f"-{p.amount:.2f}", p.reason, style="red")
    console.print(table)
    if report.dropped:
        console.print(f"not applicable, weights renormalised: {', '.join(report.dropped)}")
    sla = "[red]breached[/]" if report.sla_breached else "[green]met[/]"
    console.print(f"[bold]score {report.score:.3f}[/]   SLA {sla}")


def _fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def print_summary(console: Console, summary: dict[str, Any]) -> None:
    """Per-task and overall figures of a sweep, then per-criterion means."""
    overall = summary["overall"]
    ks = sorted(int(k) for k in overall["pass_hat_k"])
    table = Table(title=f"sweep summary (pass = score >= {overall['pass_threshold']})",
                  header_style="bold")
    for name in ("task", "episodes", "mean score", "95% CI", "pass rate",
                 *(f"pass^{k}" for k in ks), "SLA breach", "terminations"):
        table.add_column(name, justify="left" if name in ("task", "terminations") else "right")

    def row(name: str, s: dict[str, Any], style: str | None = None) -> None:
        terms = ", ".join(f"{k} {v}" for k, v in s["terminations"].items())
        table.add_row(name, str(s["episodes"]), _fmt(s["mean_score"]),
                      "±" + _fmt(s["ci95"]) if s["ci95"] is not None else "-",
                      _fmt(s["pass_rate"], 2),
                      *(_fmt(s["pass_hat_k"].get(str(k), s["pass_hat_k"].get(k)), 2)
                        for k in ks),
                      _fmt(s["sla_breach_rate"], 2), terms, style=style)

    for task_id, s in summary["per_task"].items():
        row(task_id, s)
    row("overall", overall, style="bold")
    console.print(table)
    criteria = Table(title="per-criterion means (overall)", header_style="bold")
    criteria.add_column("criterion")
    criteria.add_column("mean", justify="right")
    for name, value in overall["criteria_means"].items():
        criteria.add_row(name, _fmt(value))
    console.print(criteria)


def sweep_progress(console: Console) -> Progress:
    """A progress bar for a sweep (invisible when the output is not a terminal)."""
    return Progress(TextColumn("[bold]sweep"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=False)
