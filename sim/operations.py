"""Operations: what an agent may do in a turn, as validated models.

An agent returns a list of operations, either these models or plain dicts of the
same shape keyed by ``op`` (the form LLM tool calls produce, and the form traces
store). :func:`parse_turn` turns whatever came back into valid operations and
one-line errors for the rest; it never raises.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from typing import Annotated, Any, Literal

import attrs
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from sim.secrets import redact

__all__ = [
    "MAX_NOTE_CHARS",
    "MAX_OPERATIONS_PER_TURN",
    "MAX_REPLY_CHARS",
    "Escalate",
    "Finish",
    "FlagRisk",
    "Note",
    "Operation",
    "ParsedTurn",
    "Reply",
    "SearchKB",
    "SetFields",
    "SetStatus",
    "bounded",
    "operation_to_dict",
    "parse_operation",
    "parse_turn",
    "parse_turn_entries",
]

MAX_REPLY_CHARS = 1_000
MAX_NOTE_CHARS = 2_000
MAX_OPERATIONS_PER_TURN = 8
#: Longest text kept of a rejected operation in traces and error messages.
_SHOWN_CHARS = 200
_SHOWN_DEPTH = 4


class _Op(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class SetFields(_Op):
    """Set the ticket's queue, priority and/or issue type."""

    op: Literal["set_fields"] = "set_fields"
    queue: str | None = None
    priority: str | None = None
    issue_type: str | None = None

    @model_validator(mode="after")
    def _something(self) -> SetFields:
        if self.queue is None and self.priority is None and self.issue_type is None:
            raise ValueError("set_fields needs at least one of queue, priority, issue_type")
        return self


class Reply(_Op):
    """A public reply to the customer, optionally asking for catalog fields."""

    op: Literal["reply"] = "reply"
    message: str = Field(min_length=1, max_length=MAX_REPLY_CHARS)
    request_fields: tuple[str, ...] = ()


class Note(_Op):
    """An internal note: never shown to the customer."""

    op: Literal["note"] = "note"
    text: str = Field(min_length=1, max_length=MAX_NOTE_CHARS)


class SearchKB(_Op):
    """Search the knowledge base; results come in the next observation."""

    op: Literal["search_kb"] = "search_kb"
    query: str = Field(min_length=1, max_length=MAX_REPLY_CHARS)


class FlagRisk(_Op):
    """Raise one or more risk flags."""

    op: Literal["flag_risk"] = "flag_risk"
    flags: tuple[str, ...] = Field(min_length=1)


class Escalate(_Op):
    """Hand the ticket to a team's queue; sets the status to ``escalated``."""

    op: Literal["escalate"] = "escalate"
    queue: str
    summary: str = Field(default="", max_length=MAX_NOTE_CHARS)


class SetStatus(_Op):
    """Set the ticket's status, and optionally its resolution code."""

    op: Literal["set_status"] = "set_status"
    status: str
    resolution_code: str | None = None


class Finish(_Op):
    """End the episode after this turn."""

    op: Literal["finish"] = "finish"


Operation = Annotated[
    SetFields | Reply | Note | SearchKB | FlagRisk | Escalate | SetStatus | Finish,
    Field(discriminator="op"),
]
_OPERATION: TypeAdapter[Any] = TypeAdapter(Operation)
_MODELS: dict[str, type[BaseModel]] = {
    model.model_fields["op"].default: model
    for model in (SetFields, Reply, Note, SearchKB, FlagRisk, Escalate, SetStatus, Finish)
}
_OP_NAMES = tuple(_MODELS)
_TUPLE_FIELDS = {"reply": ("request_fields",), "flag_risk": ("flags",)}


@attrs.frozen
class ParsedTurn:
    """The outcome of parsing one turn: what is valid, and one error per rejection.

    ``operations[i]`` is ``None`` where ``errors[i]`` says why entry *i* was rejected.
    ``extra_rejected`` counts entries past the per-turn limit, rejected as a block.
    """

    operations: tuple[Any, ...]
    errors: tuple[str | None, ...]
    raw: tuple[dict[str, Any], ...]
    extra_rejected: int = 0
    #: Why the turn as a whole was rejected or cut short, if it was.
    turn_error: str | None = None



def bounded(value: Any, depth: int = 0) -> Any:
    """A JSON-safe, bounded copy of what an agent sent, for traces and error messages.

    Strings are cut to a few hundred characters (after secrets are redacted, so no part of
    one survives the cut), collections to 16 items and 4 levels, and anything else — a
    huge int, NaN, an object whose ``repr`` raises — becomes a short description. Never raises.
    """
    try:
        if isinstance(value, str):
            value = redact(value)
            return value if len(value) <= _SHOWN_CHARS else value[:_SHOWN_CHARS] + "…"
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, int):  # a huge int cannot even be printed
            return value if abs(value) < 10**18 else f"<int of {value.bit_length()} bits>"
        if isinstance(value, float):
            return value if math.isfinite(value) else repr(value)
        if depth >= _SHOWN_DEPTH:
            return f"<{type(value).__name__} nested too deep>"
        if isinstance(value, Mapping):
            items = list(itertools.islice(value.items(), 16))
            return {str(bounded(k if isinstance(k, str) else repr(k)))[:64]:
                    bounded(v, depth + 1) for k, v in items}
        if isinstance(value, list | tuple):
            return [bounded(v, depth + 1) for v in value[:16]]
        return bounded(repr(value))
    except Exception:  # a hostile object: its repr, items or keys raise
        return f"<unreadable {type(value).__name__}>"


def operation_to_dict(operation: BaseModel) -> dict[str, Any]:
    """The dict form of a valid operation, as stored in traces (``model_dump(mode="json")``
    without the wrapper's overhead: this runs for every operation of every episode)."""
    data: dict[str, Any] = operation.__pydantic_serializer__.to_python(operation, mode="json")
    return data


def _first_error(error: ValidationError) -> str:
    first = error.errors()[0]
    loc = ".".join(str(bounded(str(p))) for p in first["loc"][1:] or first["loc"])
    message = str(bounded(first["msg"].removeprefix("Value error, ")))
    return f"{loc}: {message}" if loc else message


def parse_operation(item: Any) -> tuple[Any | None, str | None, dict[str, Any]]:
    """Validate one entry of a turn: ``(operation, None, dict)`` or ``(None, error, shown)``.

    Never raises: whatever an agent returns is at worst an invalid operation.
    """
    try:
        return _parse_operation(item)
    except Exception as error:  # a hostile mapping, a recursion bomb, a raising __eq__
        return (None, f"operation could not be read ({type(error).__name__}); allowed: an "
                "operation model or a dict with an 'op' key", {"value": bounded(item)})


def _parse_operation(item: Any) -> tuple[Any | None, str | None, dict[str, Any]]:
    if type(item) is not dict:  # a plain dict, the common case, needs no check
        if isinstance(item, BaseModel):
            try:
                item = item.model_dump(mode="python")
            except Exception as error:  # a hostile model subclass
                return None, f"operation could not be read: {type(error).__name__}", {}
        if not isinstance(item, Mapping):
            return (
                None,
                f"operation is a {type(item).__name__}; allowed: an operation model or a "
                "dict with an 'op' key",
                {"value": bounded(item)},
            )
    name = item.get("op")
    model = _MODELS.get(name) if isinstance(name, str) else None
    if model is None:
        return (None, f"op: {bounded(name)!r} is unknown; allowed: {', '.join(_OP_NAMES)}",
                bounded(item))
    # Validation only reads its input, so a plain dict is copied only to be changed.
    data = item if type(item) is dict else dict(item)
    for key in _TUPLE_FIELDS.get(name, ()):  # JSON has no tuples
        value = data.get(key)
        if isinstance(value, list):
            data = {**data, key: tuple(value)}
    try:
        # The model the tag names, validated directly: what the tagged union would do.
        operation = model.__pydantic_validator__.validate_python(data)
    except ValidationError:
        try:  # the union's error names the place the way agents see it documented
            _OPERATION.validate_python(data)
        except ValidationError as error:
            return None, f"{name}: {_first_error(error)}", bounded(item)
        raise
    return operation, None, operation_to_dict(operation)


def parse_turn(turn: Any) -> ParsedTurn:
    """Parse an agent's turn. Never raises; see :class:`ParsedTurn`."""
    parsed, extra, turn_error = parse_turn_entries(turn)
    operations, errors, raw = zip(*parsed, strict=True) if parsed else ((), (), ())
    return ParsedTurn(operations=operations, errors=errors, raw=raw, extra_rejected=extra,
                      turn_error=turn_error)


def parse_turn_entries(
    turn: Any,
) -> tuple[list[tuple[Any, str | None, dict[str, Any]]], int, str | None]:
    """:func:`parse_turn` as ``(entries, extra_rejected, turn_error)``, each entry what
    :func:`parse_operation` gives: the form a live episode applies, built without the
    :class:`ParsedTurn` record."""
    if type(turn) is list:  # the common case, spared the checks below
        pass
    elif turn is None:
        turn = []
    elif isinstance(turn, BaseModel | Mapping):
        turn = [turn]
    elif not isinstance(turn, list | tuple):
        return [], 0, (f"turn is a {type(turn).__name__}; allowed: a list of operations "
                       "(an empty list waits)")
    entries = list(turn)
    extra = max(0, len(entries) - MAX_OPERATIONS_PER_TURN)
    parsed = [parse_operation(item) for item in entries[:MAX_OPERATIONS_PER_TURN]]
    turn_error = (f"turn has {len(entries)} operations; allowed: at most "
                  f"{MAX_OPERATIONS_PER_TURN}, so {extra} were ignored") if extra else None
    return parsed, extra, turn_error
