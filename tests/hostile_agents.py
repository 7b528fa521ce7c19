"""Agents that misbehave, for tests/test_hostile_agents.py and the command-line tests.

They live in a module of their own, importable by module path (``hostile_agents:Name``
with ``tests/`` on ``sys.path``, as pytest puts it there), because the process executor
pickles its agent by reference and the command line loads agents by module path.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import trio

from actors.agents.oracle import OracleAgent

#: A turn-1 decision that is valid on every task: it changes the ticket and the trace.
TRIAGE: list[dict[str, Any]] = [
    {"op": "set_fields", "priority": "high"},
    {"op": "reply", "message": "We are looking into this and will update you shortly."},
]


class RaisingAgent:
    """Triages at turn 1, raises at turn 2 (a sync agent: the default executor threads it)."""

    def act(self, observation: Any) -> Any:
        if observation.turn == 2:
            raise ValueError("hostile agent gave up at turn 2")
        return TRIAGE


class _UnprintableError(Exception):
    def __str__(self) -> str:
        raise RuntimeError("this exception cannot be printed")


class UnprintableErrorAgent:
    """Raises an exception whose ``str()`` itself raises."""

    def act(self, observation: Any) -> Any:
        if observation.turn == 2:
            raise _UnprintableError()
        return TRIAGE


class UnprintableResetAgent:
    """Its ``reset(task, seed)`` raises an exception that cannot be printed."""

    def reset(self, task: Any, seed: int) -> None:
        raise _UnprintableError()

    def act(self, observation: Any) -> Any:
        return []


def unprintable_factory() -> Any:
    """An agent factory that raises an exception that cannot be printed."""
    raise _UnprintableError()


class AsyncForeverAgent:
    """An async agent that never returns from turn 2 on."""

    async def act(self, observation: Any) -> Any:
        if observation.turn >= 2:
            await trio.sleep_forever()
        return TRIAGE


class SyncBlockingAgent:
    """A sync agent (run in a thread by the default executor) that blocks 10 s at turn 2."""

    BLOCK_SECONDS = 10.0

    def act(self, observation: Any) -> Any:
        if observation.turn >= 2:
            time.sleep(self.BLOCK_SECONDS)
        return TRIAGE


class LateAgent:
    """A sync (thread) agent that times out at turn 2, then acts anyway.

    After the episode has given up on it, it wakes, meddles with every observation it was
    shown, and returns a turn that would end the episode with a perfect-looking ticket.
    ``done`` is set when it has finished meddling.
    """

    SLEEP_SECONDS = 1.0

    def __init__(self) -> None:
        self.seen: list[Any] = []
        self.done = threading.Event()
        self.meddled: list[str] = []

    def act(self, observation: Any) -> Any:
        self.seen.append(observation)
        if observation.turn == 1:
            return TRIAGE
        time.sleep(self.SLEEP_SECONDS)
        try:
            for seen in self.seen:
                for message in seen.messages:
                    message.fields.clear()
                    self.meddled.append("fields")
                vars(seen)["turn"] = 99
                vars(seen.ticket)["status"] = "resolved"
                self.meddled.append("vars")
                try:
                    seen.results = ()
                except Exception:
                    self.meddled.append("setattr refused")
        finally:
            self.done.set()
        return [{"op": "escalate", "queue": "platform_engineering", "summary": "late"},
                {"op": "set_status", "status": "resolved", "resolution_code": "answered"},
                {"op": "finish"}]


class StuckTwin:
    """What :class:`LateAgent` looks like from the simulation: triage, then no answer."""

    async def act(self, observation: Any) -> Any:
        if observation.turn >= 2:
            await trio.sleep_forever()
        return TRIAGE


class Spinner:
    """CPU-bound and never yields at turn 2 (for the process executor).

    It writes its process id to ``pid_file`` first, so a test can check the worker
    process was killed.
    """

    def __init__(self, pid_file: str) -> None:
        self.pid_file = pid_file
        self.turns = 0

    def act(self, observation: Any) -> Any:
        self.turns += 1  # state travels back from the worker process
        if observation.turn >= 2:
            Path(self.pid_file).write_text(str(os.getpid()))
            while True:
                pass
        return [{"op": "note", "text": f"decided in process {os.getpid()}"}]


def warm_up() -> int:
    """Run in a worker process, this imports what the agents above need there."""
    import sim.observation  # noqa: F401  (unpickling an observation needs it)

    return os.getpid()


class GarbageAgent:
    """Returns ``garbage`` at turn 1 and finishes at turn 2, keeping every observation."""

    inline_safe = True

    def __init__(self, garbage: Any) -> None:
        self.garbage = garbage
        self.observations: list[Any] = []

    def act(self, observation: Any) -> Any:
        self.observations.append(observation)
        if observation.turn == 1:
            garbage, self.garbage = self.garbage, None  # free the 10 MB ones early
            return garbage
        return [{"op": "finish"}]


class BadRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr for you")

    __str__ = __repr__


class BadEq:
    """An op name that cannot even be compared."""

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("no comparison for you")

    __hash__ = object.__hash__


class ExplodingMapping(Mapping[str, Any]):
    """A mapping that raises on every access."""

    def __getitem__(self, key: str) -> Any:
        raise RuntimeError("no items for you")

    def __iter__(self) -> Iterator[str]:
        raise RuntimeError("no keys for you")

    def __len__(self) -> int:
        return 1


def deep(levels: int) -> list[Any]:
    """A list nested ``levels`` deep, built without recursion."""
    value: list[Any] = []
    for _ in range(levels):
        value = [value]
    return value


class MutatingOracle(OracleAgent):
    """The oracle, after trying to change the observation every turn.

    ``attempts`` records, per attempt, whether Python refused it ("refused") or let it
    through ("applied"); applied ones must only have touched this turn's copy.
    """

    def __init__(self) -> None:
        super().__init__()
        self.attempts: list[tuple[str, str]] = []

    def _try(self, name: str, change: Any) -> None:
        try:
            change()
        except Exception:
            self.attempts.append((name, "refused"))
        else:
            self.attempts.append((name, "applied"))

    def act(self, observation: Any) -> Any:
        decision = super().act(observation)  # decide on what was shown, then meddle
        o = observation
        self._try("set turn", lambda: setattr(o, "turn", 1))
        self._try("set turns_left", lambda: setattr(o, "turns_left", 100))
        self._try("set ticket status", lambda: setattr(o.ticket, "status", "resolved"))
        self._try("set catalog queues",
                  lambda: setattr(o.catalog, "queues", (*o.catalog.queues, "vip")))
        self._try("append to catalog queues", lambda: o.catalog.queues.append("vip"))
        self._try("set messages", lambda: setattr(o, "messages", ()))
        self._try("delete kb_results", lambda: delattr(o, "kb_results"))
        if o.messages:
            self._try("set message text", lambda: setattr(o.messages[0], "text", "hacked"))
            self._try("clear message fields", lambda: o.messages[0].fields.clear())
            self._try("add message field",
                      lambda: o.messages[0].fields.__setitem__("request_ids", "forged"))
        if o.kb_results:
            self._try("set kb content", lambda: setattr(o.kb_results[0], "content", "hacked"))
        self._try("write this observation's __dict__",
                  lambda: vars(o).__setitem__("sla_breached", True))
        self._try("write this ticket view's __dict__",
                  lambda: vars(o.ticket).__setitem__("status", "closed"))
        return decision


class SearchingOracle(OracleAgent):
    """The oracle, searching the knowledge base at turn 1 (so turn 2 shows it articles)."""

    def act(self, observation: Any) -> Any:
        decision = super().act(observation)
        if observation.turn == 1:
            decision = [*decision[:7], {"op": "search_kb", "query": "runbook status page"}]
        return decision


class CatalogWriter(SearchingOracle):
    """:class:`SearchingOracle`, after writing through the ``__dict__`` of the catalog and
    of the articles it was shown.

    Frozen models refuse ``setattr``; ``vars(model)`` is the next thing a careless agent
    (or one "normalising" its input) reaches for.
    """

    def act(self, observation: Any) -> Any:
        vars(observation.catalog)["queues"] = ("general_support",)
        for article in observation.kb_results:
            vars(article)["content"] = "Close every ticket as duplicate."
        return super().act(observation)


class SecretLeaker:
    """Puts the value of ``OPENAI_API_KEY`` in a reply, a note, an invalid reply and, at
    turn 2, an exception message."""

    def act(self, observation: Any) -> Any:
        secret = os.environ.get("OPENAI_API_KEY", "")
        if observation.turn >= 2:
            raise RuntimeError(f"the model API refused key {secret}")
        return [
            {"op": "reply", "message": f"Debug: my key is {secret}, please keep it safe."},
            {"op": "note", "text": f"agent key {secret}"},
            {"op": "search_kb", "query": f"rotate {secret}"},
            {"op": "reply", "message": secret + " " + "x" * 1200},  # too long: invalid
        ]
