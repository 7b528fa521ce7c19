"""What the command line shows a person: transcripts, grade reports, sweep summaries.

Rendered with rich; colour and the progress bar switch off by themselves when the
output is not a terminal, so piped output stays plain text. What an agent, a task or a
trace wrote is data: it is shown literally (as :class:`~rich.text.Text`, never parsed as
rich markup, so ``[/bold]`` in a reply neither crashes nor styles anything) and with
secrets redacted (:mod:`sim.secrets`), like every line written to a file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from sim.grading import GradeReport
from sim.secrets import redact
from sim.trace import Trace
from sim.transcript import describe_event, sla_countdown
from tasks.base import SupportTaskSpec, SupportTicket

__all__ = [
    "RedactingConsole",
    "format_usage",
    "literal",
    "print_report",
    "print_summary",
    "print_transcript",
    "sweep_progress",
]

_ACTOR_STYLE = {"agent": "cyan", "customer": "green", "sla_monitor": "red"}


def literal(text: object, style: str = "") -> Text:
    """``text`` as rich shows it verbatim: no markup, secrets redacted."""
    return Text(redact(str(text)), style=style)


class RedactingConsole(Console):
    """A console that redacts secrets from every string it is asked to print.

    Tables and texts made here are redacted cell by cell already; this catches the
    strings the command line prints itself (an error message, a scenario's outcome).
    """

    def print(self, *objects: Any, **kwargs: Any) -> None:
        markup = kwargs.get("markup")
        markup = self._markup if markup is None else markup
        super().print(*(self._redacted(o, markup) for o in objects), **kwargs)

    @staticmethod
    def _redacted(obj: Any, markup: bool) -> Any:
        if isinstance(obj, str):
            shown = redact(obj)
            if shown != obj and markup:  # "[redacted:NAME]" would read as a style tag
                shown = shown.replace("[redacted:", "\\[redacted:")
            return shown
        if isinstance(obj, Text) and redact(obj.plain) != obj.plain:
            return literal(obj.plain, str(obj.style))  # its spans' styles go with the secret
        return obj


def _ticket_text(ticket: SupportTicket) -> Text:
    """The ticket as the customer filed it, as the agent sees it before turn 1."""
    text = Text()
    text.append("TICKET ", style="bold")
    text.append(redact(ticket.subject), style="bold")
    text.append(redact(f"\nfrom {ticket.customer_name}, {ticket.company} ({ticket.customer_tier}"
                       f" tier), region {ticket.region}, {ticket.affected_users} affected "
                       f"user(s), SLA {ticket.sla_minutes_remaining} min\n{ticket.body}"))
    return text


def print_transcript(console: Console, trace: Trace, task: SupportTaskSpec) -> None:
    """The ticket ``task`` opens with, then who said what, when, on the simulated clock,
    with the SLA countdown at each turn. Every text is shown literally (see the module)."""
    h = trace.header
    head = Text()
    head.append(redact(h.task_id), style="bold")
    head.append(redact(f"  seed {h.seed}  agent {h.agent}  persona {h.persona}"
                       f"  faults {', '.join(h.faults) or 'none'}"))
    if h.privileged:
        head.append("  ")
        head.append("privileged", style="bold")
        head.append(" (the agent was handed the gold)")
    console.print(head)
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("sim time", justify="right", no_wrap=True)
    table.add_column("who", no_wrap=True)
    table.add_column("what")
    table.add_row("0m00s", literal("customer", _ACTOR_STYLE["customer"]),
                  _ticket_text(task.ticket))
    for event in trace.events:
        text = describe_event(event.kind, event.payload)
        if event.kind == "turn":
            text += "   " + sla_countdown(task.sla_deadline_seconds, event.t)
        style = _ACTOR_STYLE.get(event.actor, "magenta")
        table.add_row(f"{event.t // 60}m{event.t % 60:02d}s", literal(event.actor, style),
                      literal(text), style="bold" if event.kind == "turn" else None)
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
        table.add_row(literal(c.name), f"{c.effective_weight:.3f}", value, literal(c.reason),
                      style=style)
    for p in report.penalties:
        table.add_row(literal(f"penalty: {p.name}"), "", f"-{p.amount:.2f}", literal(p.reason),
                      style="red")
    console.print(table)
    if report.dropped:
        console.print(literal(f"not applicable, weights renormalised: "
                              f"{', '.join(report.dropped)}"))
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
        table.add_row(literal(name), str(s["episodes"]), _fmt(s["mean_score"]),
                      "±" + _fmt(s["ci95"]) if s["ci95"] is not None else "-",
                      _fmt(s["pass_rate"], 2),
                      *(_fmt(s["pass_hat_k"].get(str(k), s["pass_hat_k"].get(k)), 2)
                        for k in ks),
                      _fmt(s["sla_breach_rate"], 2), literal(terms), style=style)

    for task_id, s in summary["per_task"].items():
        row(task_id, s)
    row("overall", overall, style="bold")
    console.print(table)
    criteria = Table(title="per-criterion means (overall)", header_style="bold")
    criteria.add_column("criterion")
    criteria.add_column("mean", justify="right")
    for name, value in overall["criteria_means"].items():
        criteria.add_row(literal(name), _fmt(value))
    console.print(criteria)
    if overall.get("agent_usage"):
        console.print(format_usage(overall["agent_usage"], "all episodes"), markup=False)


def format_usage(usage: Mapping[str, float], scope: str = "") -> str:
    """One line of what an agent spent (its ``agent_usage``): an LLM agent's requests,
    cache hits, tokens, latency and cost in words; any other key as ``name value``."""
    parts = []
    known = {f"llm_{key}" for key in ("requests", "cache_hits", "prompt_tokens",
                                      "completion_tokens", "latency_seconds", "cost_usd")}
    if "llm_requests" in usage:
        parts.append(f"{usage['llm_requests']:.0f} request(s)")
    if "llm_cache_hits" in usage:
        parts.append(f"{usage['llm_cache_hits']:.0f} cache hit(s)")
    if "llm_prompt_tokens" in usage or "llm_completion_tokens" in usage:
        parts.append(f"{usage.get('llm_prompt_tokens', 0):.0f} prompt + "
                     f"{usage.get('llm_completion_tokens', 0):.0f} completion tokens")
    if "llm_latency_seconds" in usage:
        parts.append(f"{usage['llm_latency_seconds']:.2f} s waiting for the model")
    if "llm_cost_usd" in usage:
        parts.append(f"cost ${usage['llm_cost_usd']:.4f}")
    parts += [f"{name} {value:g}" for name, value in usage.items() if name not in known]
    head = "LLM usage" if known & set(usage) else "agent usage"
    return f"{head}{f' ({scope})' if scope else ''}: {', '.join(parts) or 'nothing reported'}"


def sweep_progress(console: Console) -> Progress:
    """A progress bar for a sweep, on stderr (invisible when that is not a terminal), so
    stdout holds the results alone: ``sweep --json | jq`` reads JSON only."""
    stderr = console if console.stderr else Console(stderr=True, highlight=False)
    return Progress(TextColumn("[bold]sweep"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=stderr, transient=False)
