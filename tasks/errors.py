"""Task-load errors: one line naming the file, the field and what is allowed."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from tasks.base import KnowledgeSnippet, SupportTaskSpec, SupportTicket
from tasks.catalog import Catalog

__all__ = ["TaskLoadError", "display_path", "format_validation_error"]


class TaskLoadError(ValueError):
    """A task file that cannot be loaded; ``str(error)`` is one line for the user."""


# Where a model built on its own (a ticket, an article) sits inside the task.
_MODEL_PREFIX = {"SupportTicket": "ticket.", "KnowledgeSnippet": "knowledge_base[].",
                 "Catalog": "catalog_extension."}


def _allowed_for(first: ErrorDetails, title: str) -> str:
    """What pydantic's built-in error ``first`` allows, in words."""
    kind, ctx = first["type"], first.get("ctx", {})
    bounds = {"greater_than": "> {gt}", "greater_than_equal": ">= {ge}",
              "less_than": "< {lt}", "less_than_equal": "<= {le}",
              "string_too_short": "at least {min_length} characters",
              "string_too_long": "at most {max_length} characters",
              "too_short": "at least {min_length} items",
              "too_long": "at most {max_length} items"}
    if kind in bounds:
        return bounds[kind].format(**ctx)
    if kind == "literal_error":
        return str(ctx.get("expected", ""))
    if kind == "extra_forbidden":
        models: dict[str, type[BaseModel]] = {
            "SupportTaskSpec": SupportTaskSpec, "SupportTicket": SupportTicket,
            "KnowledgeSnippet": KnowledgeSnippet, "Catalog": Catalog,
        }
        model = models.get(title)
        return ", ".join(model.model_fields) if model else "the documented fields"
    if kind == "missing":
        return "a value (this field is required)"
    if kind.startswith(("int_", "float_")):
        return "a whole number"
    if kind.startswith("string_"):
        return "text"
    if kind.startswith(("tuple_", "list_")):
        return "a tuple"
    return f"a value of the {title} field's type"


def format_validation_error(error: ValidationError) -> str:
    first = error.errors()[0]
    message = first["msg"].removeprefix("Value error, ")
    prefix = _MODEL_PREFIX.get(error.title, "")
    loc = prefix + ".".join(str(part) for part in first["loc"])
    if first["type"] != "value_error":
        bad = first.get("input")
        shown = "" if isinstance(bad, dict) or first["type"] == "missing" else f" (got {bad!r:.80})"
        message = f"{message}{shown}; allowed: {_allowed_for(first, error.title)}"
    if loc.rstrip("."):
        message = f"{loc.rstrip('.')}: {message}"
    more = error.error_count() - 1
    return message + (f" (+{more} more)" if more else "")


def display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
