"""Traces: one episode as JSON Lines — a header, the events, the result.

The same inputs give the same bytes: events carry simulated time and a sequence
number, payloads are built in a fixed key order, and nothing real-time (latency,
wall clock) is written here — those figures live in the results.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Literal, NamedTuple

import attrs
from pydantic import BaseModel, ConfigDict, ValidationError

from sim.outlook import WorldOutlook
from sim.secrets import may_hold_secret, redact_strings

__all__ = [
    "MAX_DEPTH",
    "SCHEMA_VERSION",
    "DeferredPayload",
    "Trace",
    "TraceEvent",
    "TraceFormatError",
    "TraceHeader",
    "TraceResult",
    "dumps_line",
]

SCHEMA_VERSION = 2


class TraceFormatError(ValueError):
    """A trace file that cannot be read; ``str(error)`` is one line naming the place."""


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def dumps_line(obj: Any) -> str:
    """One canonical JSON line (no spaces, key order as built, UTF-8 kept), secrets redacted.

    Redaction runs on the decoded strings, not on the line: a secret holding ``"`` or
    ``\\`` is escaped in the line, and only the strings show it whole.
    """
    line = _dumps(obj)
    return _dumps(redact_strings(obj)) if may_hold_secret(line) else line


#: The deepest nesting a trace line may have. What the simulator writes stays far below
#: it (agent payloads are cut at a few levels); anything deeper would make the code that
#: walks a payload (the grader, the transcript, a re-dump) recurse past Python's limit.
MAX_DEPTH = 64


def _too_deep(obj: Any) -> bool:
    """Whether ``obj`` (parsed JSON) nests more than :data:`MAX_DEPTH` levels; no recursion."""
    level: list[Any] = [obj]
    for _ in range(MAX_DEPTH + 1):
        level = [child for item in level
                 for child in (item.values() if isinstance(item, dict)
                               else item if isinstance(item, list) else ())]
        if not level:
            return False
    return True


class _Line(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TraceHeader(_Line):
    type: Literal["header"] = "header"
    schema_version: int = SCHEMA_VERSION
    task_id: str
    #: The content hash of the task the episode ran (a family's variant: SPEC §7).
    task_hash: str
    seed: int
    agent: str
    persona: str
    faults: tuple[str, ...] = ()
    config: dict[str, Any] = {}
    code_version: str
    #: Whether the agent was handed the full task, gold included (SPEC §3).
    privileged: bool = False
    #: What the episode's world lets any agent reach: the grader reads it from here.
    world: WorldOutlook | None = None
    #: The family the task is a variant of (``None``: a fixed task), and the variant's
    #: hash (``task_hash`` again, under the name results rows use).
    family: str | None = None
    variant_hash: str | None = None


class TraceEvent(NamedTuple):
    """One event: simulated time ``t``, sequence number, the actor, its kind and payload.

    A named tuple rather than a model: episodes make many of these (it is the cheapest
    immutable record to create), and they are validated (by :class:`_EventLine`) where
    they cross a boundary — when a trace is read.
    """

    t: int
    seq: int
    actor: str
    kind: str
    payload: dict[str, Any]

    def as_line(self) -> dict[str, Any]:
        return {"type": "event", "t": self.t, "seq": self.seq, "actor": self.actor,
                "kind": self.kind, "payload": self.payload}


class DeferredPayload:
    """An event payload that is made when needed instead of kept made.

    ``ctx.record(kind, DeferredPayload(make, *args))`` records the dict ``make(*args)``
    returns. The live grader gets it made at once; the trace makes it again when the
    episode ends; in between, the episode keeps only ``args``. It is for big, nested
    payloads made from data the actor holds anyway, in runs of thousands of episodes at
    once. ``make`` must be pure: both calls must return equal dicts.
    """

    __slots__ = ("args", "make")

    def __init__(self, make: Callable[..., dict[str, Any]], *args: Any) -> None:
        self.make = make
        self.args = args

    def __call__(self) -> dict[str, Any]:
        return self.make(*self.args)


class _EventLine(_Line):
    type: Literal["event"] = "event"
    t: int
    seq: int
    actor: str
    kind: str
    payload: dict[str, Any]


class TraceResult(_Line):
    type: Literal["result"] = "result"
    termination_reason: str
    steps: int
    sim_minutes: int
    sla_breached: bool
    score: float | None = None
    report: dict[str, Any] | None = None
    error: str | None = None


def _event_tuple(
    events: Iterable[TraceEvent] | Callable[[], tuple[TraceEvent, ...]],
) -> tuple[TraceEvent, ...] | Callable[[], tuple[TraceEvent, ...]]:
    return events if callable(events) else tuple(events)


@attrs.frozen(eq=False, repr=False)
class Trace:
    """A whole episode: its header, its events in the order they happened, its result.

    Each part may also be given as a function of no arguments that makes it, called when
    the part is first read. A live episode does so: a run that only wants scores then
    never lays out records and a full grade report it would throw away.
    """

    _header: TraceHeader | Callable[[], TraceHeader] = attrs.field(alias="header")
    _events: tuple[TraceEvent, ...] | Callable[[], tuple[TraceEvent, ...]] = attrs.field(
        converter=_event_tuple, alias="events"
    )
    _result: TraceResult | Callable[[], TraceResult] | None = attrs.field(
        default=None, alias="result"
    )

    def _made(self, slot: str) -> Any:
        """The part in ``slot``, made (and kept) if it was given as a function."""
        part = getattr(self, slot)
        if callable(part):  # records, models and None are not
            part = part()
            object.__setattr__(self, slot, part)
        return part

    @property
    def events(self) -> tuple[TraceEvent, ...]:
        events: tuple[TraceEvent, ...] = self._made("_events")
        return events

    @property
    def header(self) -> TraceHeader:
        header: TraceHeader = self._made("_header")
        return header

    @property
    def result(self) -> TraceResult | None:
        result: TraceResult | None = self._made("_result")
        return result

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Trace):
            return NotImplemented
        return (self.header, self.events, self.result) == (other.header, other.events,
                                                           other.result)

    __hash__ = None  # type: ignore[assignment]  # events hold dicts: never hashable

    def __repr__(self) -> str:
        return f"Trace(header={self.header!r}, events={self.events!r}, result={self.result!r})"

    def to_jsonl(self) -> str:
        lines = [dumps_line(self.header.model_dump(mode="json"))]
        lines.extend(dumps_line(e.as_line()) for e in self.events)
        if self.result is not None:
            lines.append(dumps_line(self.result.model_dump(mode="json")))
        return "\n".join(lines) + "\n"

    def write(self, path: str | Path) -> str:
        """Write the trace atomically (a killed process leaves the whole file or none);
        the text written, :meth:`to_jsonl`'s."""
        path = Path(path)
        partial = path.with_name(path.name + ".partial")
        text = self.to_jsonl()
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
        return text

    @classmethod
    def from_jsonl(cls, text: str, *, source: str = "trace") -> Trace:
        """Parse a trace; :class:`TraceFormatError` names the line and what is wrong."""
        # Split on "\n" only: str.splitlines() would also break at U+2028 and friends,
        # which JSON strings may hold unescaped.
        lines = [(n, line) for n, line in enumerate(text.split("\n"), 1) if line.strip()]
        if not lines:
            raise TraceFormatError(f"{source}: empty; allowed: a JSON Lines trace")
        parsed: list[tuple[int, dict[str, Any]]] = []
        for number, line in lines:
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as error:
                raise TraceFormatError(
                    f"{source}:{number}: not JSON ({error.msg}); allowed: one JSON object a line"
                ) from None
            except RecursionError:  # the decoder recurses once per level of nesting
                raise TraceFormatError(
                    f"{source}:{number}: JSON nested too deep to read; allowed: at most "
                    f"{MAX_DEPTH} levels of nesting"
                ) from None
            # Fewer brackets than the limit cannot nest past it: most lines skip the walk.
            if line.count("[") + line.count("{") > MAX_DEPTH and _too_deep(obj):
                raise TraceFormatError(
                    f"{source}:{number}: JSON nested more than {MAX_DEPTH} levels; allowed: "
                    f"at most {MAX_DEPTH}"
                )
            if not isinstance(obj, dict):
                raise TraceFormatError(
                    f"{source}:{number}: a JSON {type(obj).__name__}; allowed: a JSON object"
                )
            parsed.append((number, obj))
        number, first = parsed[0]
        if first.get("type") != "header":
            raise TraceFormatError(
                f"{source}:{number}: first line is not a header; allowed: a trace written "
                "by this simulator"
            )
        version = first.get("schema_version")
        if version != SCHEMA_VERSION:
            raise TraceFormatError(
                f"{source}:{number}: schema_version {version!r}; allowed: {SCHEMA_VERSION}"
            )
        models = ("event", "result")
        try:
            header = TraceHeader.model_validate(first)
            events: list[TraceEvent] = []
            result: TraceResult | None = None
            for number, obj in parsed[1:]:
                kind = obj.get("type")
                if kind not in models or result is not None:
                    where = "after the result" if result is not None else f"type {kind!r}"
                    raise TraceFormatError(
                        f"{source}:{number}: unexpected line ({where}); allowed: events, "
                        "then one result"
                    )
                if kind == "event":
                    checked = _EventLine.model_validate(obj)
                    events.append(TraceEvent(t=checked.t, seq=checked.seq, actor=checked.actor,
                                             kind=checked.kind, payload=checked.payload))
                else:
                    result = TraceResult.model_validate(obj)
        except ValidationError as error:
            first_error = error.errors()[0]
            loc = ".".join(str(p) for p in first_error["loc"])
            raise TraceFormatError(
                f"{source}:{number}: {loc}: {first_error['msg']}; allowed: the trace schema "
                f"version {SCHEMA_VERSION}"
            ) from None
        return cls(header=header, events=tuple(events), result=result)

    @classmethod
    def read(cls, path: str | Path) -> Trace:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise TraceFormatError(f"{path}: no such file; allowed: a trace file") from None
        except (UnicodeDecodeError, IsADirectoryError) as error:
            raise TraceFormatError(
                f"{path}: unreadable ({type(error).__name__}); allowed: a UTF-8 JSON Lines trace"
            ) from None
        return cls.from_jsonl(text, source=str(path))
