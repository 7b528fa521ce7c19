"""The typed messages actors exchange over their mailboxes.

Addresses are roles, not implementations: ``agent``, ``customer`` and
``team:<queue>``. Messages are frozen, so one actor can never change what another
received.
"""

from __future__ import annotations

import attrs

__all__ = [
    "AGENT",
    "CUSTOMER",
    "TEAM_PREFIX",
    "EscalationRequest",
    "Inbound",
    "PublicReply",
    "SlaBreached",
    "team_address",
]

AGENT = "agent"
CUSTOMER = "customer"
TEAM_PREFIX = "team:"


def team_address(queue: str) -> str:
    return TEAM_PREFIX + queue


@attrs.frozen
class PublicReply:
    """The agent's public reply, as the customer receives it."""

    message: str
    request_fields: tuple[str, ...]
    turn: int


@attrs.frozen
class EscalationRequest:
    """The agent handing the ticket to a team."""

    queue: str
    summary: str
    turn: int


@attrs.frozen
class SlaBreached:
    """The SLA deadline passed without being met."""


@attrs.frozen
class Inbound:
    """A message for the agent: shown in its next observation.

    ``fields`` holds field values a customer sent, as text, in the order asked.
    """

    sender: str
    kind: str
    text: str
    fields: tuple[tuple[str, str], ...] = ()
    time: int = 0
