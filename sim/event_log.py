"""The event log of a live episode: its events, kept compact until the trace is made.

Thousands of episodes in flight each hold every event they have recorded, so the log
keeps them flat — ``t, actor, kind, payload`` after one another in one list, no record
per event — and packs the agent's own ``turn`` and ``operation`` events, the most
common ones: their actor slot holds the number ``turn * SLOTS + index`` (a small int,
which CPython shares) in place of ``"agent"``, a turn's payload slot holds nothing and
an operation's holds the operation's dict alone. A dict or a tuple each would cost
thousands of episodes in flight dearly.

This module owns that format: the ``append*`` methods write it and
:meth:`EventLog.trace_events` turns it into :class:`~sim.trace.TraceEvent` records once
the episode has ended. Nothing else reads the list.
"""

from __future__ import annotations

from typing import Any

from sim.messages import AGENT
from sim.operations import MAX_OPERATIONS_PER_TURN
from sim.trace import DeferredPayload, TraceEvent

__all__ = ["EventLog"]

#: Entries a turn may have, and so the packing of (turn, index) into one number.
SLOTS = MAX_OPERATIONS_PER_TURN
# Skips the named tuple's Python-level constructor: the same record, made faster.
_new_tuple = tuple.__new__


class EventLog(list[Any]):
    """The events of one episode so far, in the packed form of this module.

    A list subclass with no slots of its own: an episode holds no object more than the
    list it needs anyway. Each ``append*`` returns the event's sequence number.
    """

    __slots__ = ()

    def append_event(self, now: int, actor: str, kind: str,
                     payload: dict[str, Any] | DeferredPayload) -> int:
        """Any event; a :class:`DeferredPayload` is kept unmade until the trace is made."""
        seq = len(self) >> 2
        self += (now, actor, kind, payload)
        return seq

    def append_turn(self, now: int, turn: int) -> int:
        """The agent's ``turn`` event (payload ``{"turn": turn}``)."""
        seq = len(self) >> 2
        self += (now, turn * SLOTS, "turn", None)
        return seq

    def append_operation(self, now: int, turn: int, index: int, op: dict[str, Any]) -> int:
        """The agent's ``operation`` event (payload ``{"turn", "index", "op"}``)."""
        seq = len(self) >> 2
        self += (now, turn * SLOTS + index, "operation", op)
        return seq

    def trace_events(self) -> tuple[TraceEvent, ...]:
        """Every event, as the trace keeps them (deferred payloads made now)."""
        parts = iter(self)
        events = []
        four = zip(parts, parts, parts, parts, strict=True)  # (t, actor, kind, payload)
        for seq, (t, actor, kind, payload) in enumerate(four):
            if type(actor) is int:  # packed
                turn, index = divmod(actor, SLOTS)
                actor = AGENT
                payload = ({"turn": turn} if kind == "turn"
                           else {"turn": turn, "index": index, "op": payload})
            elif type(payload) is DeferredPayload:
                payload = payload()
            events.append(_new_tuple(TraceEvent, (t, seq, actor, kind, payload)))
        return tuple(events)
