"""Plain-text views of an episode: who said what, when, and the grade report."""

from __future__ import annotations

from typing import Any

from sim.grading import GradeReport
from sim.trace import Trace

__all__ = ["describe_event", "render_report", "render_transcript"]


def _clock(seconds: int) -> str:
    return f"T+{seconds // 60:3d}m{seconds % 60:02d}s"


def describe_event(kind: str, payload: dict[str, Any]) -> str:
    if kind == "turn":
        return f"--- turn {payload.get('turn')} ---"
    if kind == "operation":
        op = dict(payload.get("op", {}))
        name = op.pop("op", "?")
        if name == "reply":
            asked = op.get("request_fields") or []
            asks = f"  [asks: {', '.join(asked)}]" if asked else ""
            return f"reply: {op.get('message')!s}{asks}"
        if name == "note":
            return f"note (internal): {op.get('text')!s}"
        details = ", ".join(f"{k}={v}" for k, v in op.items() if v not in (None, [], ""))
        return f"{name}({details})"
    if kind == "invalid_operation":
        return f"INVALID operation {payload.get('index')}: {payload.get('error')}"
    if kind == "invalid_turn":
        return f"INVALID turn: {payload.get('error')}"
    if kind == "customer_answer":
        fields = payload.get("fields", {})
        parts = [f"{name}={answer.get('value')!r} ({answer.get('status')})"
                 for name, answer in fields.items()]
        return "answers: " + "; ".join(parts)
    if kind == "kb_results":
        return f"kb results: {', '.join(payload.get('article_ids', [])) or 'none'}"
    if kind in ("agent_error", "agent_timeout"):
        detail = payload.get("message") or f"limit {payload.get('limit_seconds')} s"
        return f"{kind.upper()}: {payload.get('type', '')} {detail}".strip()
    if kind == "sla_breach":
        return f"SLA BREACHED (deadline {payload.get('deadline_minutes')} min)"
    if kind == "end":
        return f"episode ends: {payload.get('reason')} after turn {payload.get('turn')}"
    if "text" in payload:
        return f"{kind}: {payload['text']}"
    return kind + (f" {payload}" if payload else "")


def render_transcript(trace: Trace, sla_deadline_seconds: int | None = None) -> str:
    """One line per event, on the simulated clock, with the SLA countdown at each turn."""
    header = trace.header
    lines = [f"task {header.task_id}  seed {header.seed}  agent {header.agent}  "
             f"persona {header.persona}  faults {', '.join(header.faults) or 'none'}"]
    for event in trace.events:
        text = describe_event(event.kind, event.payload)
        if event.kind == "turn" and sla_deadline_seconds is not None:
            left = (sla_deadline_seconds - event.t) // 60
            text += f"  (SLA in {left} min)" if left >= 0 else f"  (SLA passed {-left} min ago)"
        lines.append(f"{_clock(event.t)}  {event.actor:<26} {text}")
    return "\n".join(lines)


def render_report(report: GradeReport) -> str:
    """The grade report as an aligned table, penalties and dropped criteria below it."""
    lines = [f"{'criterion':<20} {'weight':>6} {'value':>6}  reason"]
    for c in report.criteria:
        value = "n/a" if c.value is None else f"{c.value:.2f}"
        lines.append(f"{c.name:<20} {c.effective_weight:>6.3f} {value:>6}  {c.reason}")
    for p in report.penalties:
        lines.append(f"{'penalty ' + p.name:<27} -{p.amount:.2f}  {p.reason}")
    if report.dropped:
        lines.append(f"not applicable (weights renormalised): {', '.join(report.dropped)}")
    lines.append(f"SCORE {report.score:.3f}   SLA {'breached' if report.sla_breached else 'met'}")
    return "\n".join(lines)
