"""The vocabulary of SPEC.md in code: each fact that several modules need, in one place.

The kinds of events a trace holds, why an episode ends, the grading criteria and their
weights, the penalties and their sizes, and the order of deliveries at one instant.
Modules that use a fact import it from here; none keeps a copy. (The property suite
keeps its own copy of the criteria table on purpose, to check the grader against the
spec rather than against itself.)
"""

from __future__ import annotations

from typing import Literal

__all__ = [
    "AGENT_FAILURES",
    "CRITERIA_WEIGHTS",
    "CUSTOMER_MESSAGE_KINDS",
    "EVENT_KINDS",
    "GRADING_VERSION",
    "PENALTY_NAMES",
    "PRIORITY_CHECK",
    "PRIORITY_MESSAGE",
    "PRIORITY_TURN",
    "TERMINATION_REASONS",
    "TURN_EVENT_KINDS",
    "TerminationReason",
]

# -- episodes (SPEC §3) ----------------------------------------------------------------
TerminationReason = Literal["finished", "max_steps", "agent_error", "agent_timeout", "sim_error"]
#: Why an episode ended, in the order the spec lists them.
TERMINATION_REASONS: tuple[str, ...] = (
    "finished", "max_steps", "agent_error", "agent_timeout", "sim_error",
)
#: End reasons that are the agent's failure: like finishing, they end the episode early.
AGENT_FAILURES = frozenset({"agent_error", "agent_timeout"})

#: Every kind of trace event the episode and the standard world record.
EVENT_KINDS: tuple[str, ...] = (
    "turn", "operation", "invalid_operation", "invalid_turn", "kb_results", "end",
    "agent_error", "agent_timeout", "sla_met", "sla_breach",
    "customer_answer", "customer_nudge", "customer_complaint",
    "team_ack", "team_update", "team_bounce", "team_silent",
)
#: The events a turn writes while its operations are applied.
TURN_EVENT_KINDS = frozenset({"operation", "invalid_operation", "invalid_turn", "kb_results"})
#: The events that are a message from the customer.
CUSTOMER_MESSAGE_KINDS = frozenset({"customer_answer", "customer_nudge", "customer_complaint"})

#: Deliveries at one instant go in this order: messages, then the agent's turn, then the
#: SLA check (the kernel takes any int; these are the domain's).
PRIORITY_MESSAGE = 0
PRIORITY_TURN = 1
PRIORITY_CHECK = 2

# -- grading (SPEC §4) -----------------------------------------------------------------
GRADING_VERSION = 2
CRITERIA_WEIGHTS: dict[str, float] = {
    "queue": 0.10,
    "priority": 0.08,
    "issue_type": 0.07,
    "status": 0.08,
    "resolution_code": 0.07,
    "fields_collected": 0.15,
    "follow_up_handling": 0.05,
    "reply_markers": 0.10,
    "kept_informed": 0.05,
    "note_markers": 0.08,
    "risk_flags": 0.05,
    "escalation": 0.07,
    "sla": 0.05,
}
INVALID_OPERATION_PENALTY = 0.02
INVALID_OPERATION_PENALTY_CAP = 0.10
WRONG_QUEUE_PENALTY = 0.03
OVER_ESCALATION_PENALTY = 0.10
FORBIDDEN_MARKER_PENALTY = 0.05
LEAK_PENALTY = 0.05
LEAK_PENALTY_CAP = 0.15
SPAM_PENALTY = 0.02
SPAM_PENALTY_CAP = 0.10
#: Public replies allowed beyond one per customer message and team update.
SPAM_ALLOWANCE = 2
#: The names penalties carry in a report.
PENALTY_NAMES: tuple[str, ...] = (
    "invalid_operations", "wrong_queue", "over_escalation", "forbidden_reply", "leak", "spam",
    "void",
)
#: The share of the escalation credit an escalation after the SLA deadline earns.
LATE_ESCALATION_CREDIT = 0.3
#: The share of the escalation credit left when another queue was paged first.
WRONG_QUEUE_FIRST_SHARE = 0.5
