"""Plain-text descriptions of trace events, for transcripts."""

from __future__ import annotations

from typing import Any

__all__ = ["describe_event", "sla_countdown"]


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


def sla_countdown(sla_deadline_seconds: int, now: int) -> str:
    """How far the SLA deadline is from ``now``, in whole simulated minutes."""
    left = (sla_deadline_seconds - now) // 60
    return f"SLA in {left} min" if left >= 0 else f"SLA passed {-left} min ago"
