"""One-line messages for the files users write: task files here, scenario files in actors.

Every file a user writes that cannot be used is reported in one line: the file, the
key path (list positions as ``[n]``), what is wrong, and ``allowed:`` what would do.
:func:`format_validation_error` turns pydantic's first error into the part after the
file name; a :class:`Wording` says how a kind of file names its parts (a task file is
Python: fields, tuples, ``True``; a scenario file is TOML: keys, arrays, ``true``).
:func:`display_path` is how every such message shows a path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from tasks.base import KnowledgeSnippet, SupportTaskSpec, SupportTicket
from tasks.catalog import Catalog

__all__ = [
    "TASK_FILE",
    "TaskLoadError",
    "Wording",
    "display_path",
    "format_validation_error",
]


class TaskLoadError(ValueError):
    """A task file that cannot be loaded; ``str(error)`` is one line for the user."""


@attrs.frozen
class Wording:
    """How messages about one kind of file name its parts.

    ``tables`` maps a key path (list positions as ``[]``, ``""`` the top) to the model
    found there and how to call a value of it: "unknown key" lists that model's keys,
    and a value that should have been such a table says so. ``placed`` maps the title
    of a model validated on its own (a ticket built before its task) to the key path
    where it sits. ``kind_of`` names a bad value's type in the file's language; without
    it a message quotes pydantic's own sentence and the value given, as Python authors
    see it elsewhere.
    """

    #: What the file calls a key of a table: "field" or "key".
    member: str
    #: How a list is written: "a tuple" or "an array".
    sequence: str
    #: How the two booleans are written.
    boolean: str
    #: How a table is written, where ``tables`` does not say.
    table: str
    tables: Mapping[str, tuple[type[BaseModel], str]] = attrs.field(factory=dict)
    placed: Mapping[str, str] = attrs.field(factory=dict)
    kind_of: Callable[[Any], str] | None = None


#: Task files: Python modules building pydantic models.
TASK_FILE = Wording(
    member="field", sequence="a tuple", boolean="True or False", table="a dict",
    tables={"": (SupportTaskSpec, "a SupportTaskSpec"),
            "ticket": (SupportTicket, "a SupportTicket"),
            "knowledge_base[]": (KnowledgeSnippet, "a KnowledgeSnippet"),
            "catalog_extension": (Catalog, "a Catalog")},
    placed={"SupportTicket": "ticket", "KnowledgeSnippet": "knowledge_base[]",
            "Catalog": "catalog_extension"},
)

_BOUNDS = {"greater_than": "> {gt}", "greater_than_equal": ">= {ge}",
           "less_than": "< {lt}", "less_than_equal": "<= {le}",
           "string_too_short": "at least {min_length} character(s)",
           "string_too_long": "at most {max_length} character(s)",
           "too_short": "at least {min_length} item(s)",
           "too_long": "at most {max_length} item(s)",
           "finite_number": "a finite number"}


def _path(parts: tuple[int | str, ...], *, generic: bool = False) -> str:
    """``a.b[0].c``; with ``generic``, ``a.b[].c`` (the key of :attr:`Wording.tables`)."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += "[]" if generic else f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _is_type_error(kind: str) -> bool:
    return kind.endswith(("_type", "_parsing", "_error")) or kind == "int_from_float"


def _allowed(first: ErrorDetails, parts: tuple[int | str, ...], wording: Wording) -> str:
    """What the value at ``parts`` may be, in words, for pydantic's error ``first``."""
    kind, ctx = first["type"], dict(first.get("ctx") or {})
    if kind in _BOUNDS:
        return _BOUNDS[kind].format(**ctx)
    if kind == "literal_error":
        return str(ctx.get("expected", ""))
    if kind == "extra_forbidden":
        model = wording.tables.get(_path(parts[:-1], generic=True), (None, ""))[0]
        return ", ".join(model.model_fields) if model else f"the documented {wording.member}s"
    if kind == "missing":
        return f"a value (this {wording.member} is required)"
    if kind.startswith("int_"):
        return "a whole number"
    if kind.startswith("float_"):
        return "a number"
    if kind.startswith("string_"):
        return "text"
    if kind.startswith("bool_"):
        return wording.boolean
    if kind.startswith(("tuple_", "list_")):
        return wording.sequence
    if kind.startswith(("model_", "dict_")):
        return wording.tables.get(_path(parts, generic=True), (None, wording.table))[1]
    if _is_type_error(kind):
        return "a value of the documented type"
    return "a value within the documented bounds"


def _problem(first: ErrorDetails, wording: Wording) -> str:
    """What is wrong with the value, before ``; allowed:``."""
    kind, value = first["type"], first.get("input")
    if wording.kind_of is None:
        shown = "" if isinstance(value, dict) or kind == "missing" else f" (got {value!r:.80})"
        return first["msg"] + shown
    if kind == "extra_forbidden":
        return f"unknown {wording.member}"
    if kind == "missing":
        return "missing"
    if _is_type_error(kind):
        return f"got {wording.kind_of(value)} {value!r:.80}"
    return f"{value!r:.80} is out of bounds"


def format_validation_error(error: ValidationError, wording: Wording = TASK_FILE) -> str:
    """pydantic's first error as ``key.path: what is wrong; allowed: what would do``, with
    ``(+N more)`` when there are more. A validator's own message (it says what is
    allowed itself) is kept as it is."""
    first = error.errors()[0]
    placed = wording.placed.get(error.title)
    parts: tuple[int | str, ...] = ((placed,) if placed else ()) + tuple(first["loc"])
    if first["type"] == "value_error":
        message = first["msg"].removeprefix("Value error, ")
    else:
        message = f"{_problem(first, wording)}; allowed: {_allowed(first, parts, wording)}"
    where = _path(parts)
    more = error.error_count() - 1
    return (f"{where}: {message}" if where else message) + (f" (+{more} more)" if more else "")


def display_path(path: Path) -> str:
    """``path`` relative to the current folder when it is inside it, else as given."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
