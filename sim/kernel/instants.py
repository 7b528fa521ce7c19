"""One ``int`` object per simulated instant, shared by every episode in the process.

Episodes of one task meet the same instants (turns every ``step_seconds``, the SLA
deadline), and every event keeps its time in its trace: thousands of episodes in flight
holding their own int object for the same instant would each pay for it. The table is
process-wide but holds nothing but ints and is bounded (about 1 MB); it changes no
result, only which equal int object a time is.
"""

from __future__ import annotations

__all__ = ["shared_instant"]

#: Instants kept at once; the table starts afresh when full (odd-timed episodes).
INSTANTS_KEPT = 10_000
_INSTANTS: dict[int, int] = {}


def shared_instant(time: int) -> int:
    """``time``, as the one int object the process uses for that instant."""
    shared = _INSTANTS.get(time)
    if shared is None:
        if len(_INSTANTS) >= INSTANTS_KEPT:
            _INSTANTS.clear()
        _INSTANTS[time] = shared = time
    return shared
