"""A model's answer: its normalized form, and the operation entries it becomes.

:class:`ChatAnswer` is what is kept of a chat completion — the text, the tool calls,
the token counts — and is what the cache stores: a live run and a replay from the cache
read the same record, so they build the same conversation.

:func:`tool_entries` and :func:`json_entries` turn an answer into a turn: one entry per
tool call (tools mode) or per item of ``{"ops": [...]}`` (JSON mode). Whatever cannot be
read becomes an entry the simulator rejects — never an exception — with the reason
given to the model in its next update (:attr:`Entry.problem`).
"""

from __future__ import annotations

import json
import re
from typing import Any

import attrs
from pydantic import BaseModel, ConfigDict

__all__ = ["ChatAnswer", "Entry", "ToolCall", "json_entries", "tool_entries"]

#: Longest text of an unreadable answer kept in its (rejected) entry.
_KEPT_CHARS = 500


class ToolCall(BaseModel):
    """One tool call, its arguments as the raw text the model wrote."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    name: str
    arguments: str


class ChatAnswer(BaseModel):
    """What is kept of a chat completion (and stored in the cache)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    content: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def assistant_message(self) -> dict[str, Any]:
        """The answer as the assistant message the conversation carries on with."""
        message: dict[str, Any] = {"role": "assistant", "content": self.content}
        if self.tool_calls:
            message["tool_calls"] = [
                {"id": c.id, "type": "function",
                 "function": {"name": c.name, "arguments": c.arguments}}
                for c in self.tool_calls
            ]
        return message


@attrs.frozen
class Entry:
    """One entry of a turn: what goes to the simulator, the tool call it answers (tools
    mode), and, when the answer could not be read, why — the simulator's own error for
    such an entry would name a symptom, not the cause."""

    operation: dict[str, Any]
    call_id: str | None = None
    problem: str | None = None


def _cut(text: str) -> str:
    return text if len(text) <= _KEPT_CHARS else text[:_KEPT_CHARS] + "…"


def _json_type(value: Any) -> str:
    names = {bool: "boolean", int: "number", float: "number", str: "string", list: "array",
             dict: "object", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _json_error(error: json.JSONDecodeError) -> str:
    return f"{error.msg} at character {error.pos}"


def tool_entries(answer: ChatAnswer) -> list[Entry]:
    """Tools mode: one entry per tool call, ``{"op": name, **arguments}``.

    Arguments that are not a JSON object give ``{"op": name, "invalid_arguments": raw}``,
    which the simulator rejects. An answer with text and no tool call is one rejected
    entry (the model meant to do something, and nothing was done); an empty one waits.
    """
    if not answer.tool_calls:
        text = (answer.content or "").strip()
        if not text:
            return []
        return [Entry({"op": None, "text_without_tool_call": _cut(text)},
                      problem="your answer called no tool, so nothing was done and the "
                              "customer saw nothing; act only through tool calls")]
    entries = []
    for call in answer.tool_calls:
        raw = call.arguments.strip() or "{}"  # some servers send "" for no arguments
        try:
            # strict=False: raw newlines inside strings (a grammar may let them through)
            arguments = json.loads(raw, strict=False)
        except json.JSONDecodeError as error:
            entries.append(Entry({"op": call.name, "invalid_arguments": _cut(call.arguments)},
                                 call.id, f"the arguments are not valid JSON "
                                          f"({_json_error(error)})"))
            continue
        if not isinstance(arguments, dict):
            entries.append(Entry({"op": call.name, "invalid_arguments": _cut(call.arguments)},
                                 call.id, f"the arguments are a JSON {_json_type(arguments)}"
                                          ", not an object"))
            continue
        # The tool's name says which operation; an "op" among the arguments cannot override it.
        entries.append(Entry({**arguments, "op": call.name}, call.id))
    return entries


_FENCE = re.compile(r"^```[a-zA-Z]*\s*\n?(.*?)\n?```$", re.S)


def json_entries(answer: ChatAnswer) -> list[Entry]:
    """JSON mode: one entry per item of ``{"ops": [...]}``.

    A bare list of operations, or one operation object, is read as such. Text that is
    not JSON, or JSON of another shape, is one rejected entry.
    """
    text = (answer.content or "").strip()
    fenced = _FENCE.match(text)
    if fenced:  # a model that wraps its JSON in a Markdown code block
        text = fenced.group(1).strip()
    try:
        data = json.loads(text, strict=False)
    except json.JSONDecodeError as error:
        return [Entry({"op": None, "invalid_json": _cut(answer.content or "")},
                      problem=f'your answer is not valid JSON ({_json_error(error)}); answer '
                              'with one object {"ops": [...]}')]
    if isinstance(data, dict) and isinstance(data.get("ops"), list):
        items: list[Any] = data["ops"]
    elif isinstance(data, list):
        items = data
    elif isinstance(data, dict) and "op" in data:
        items = [data]
    else:
        return [Entry({"op": None, "invalid_json": _cut(answer.content or "")},
                      problem='your answer is JSON but not an object {"ops": [...]}')]
    return [Entry(item) if isinstance(item, dict) else Entry({"op": None, "item": item},
            problem=f"an item of ops is a JSON {_json_type(item)}, not an operation object")
            for item in items]
