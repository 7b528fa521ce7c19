"""The operations as an LLM sees them: one tool per operation, and the JSON-mode schema.

Each tool is named as its operation (``reply``, ``set_fields``, ``note``, ``search_kb``,
``flag_risk``, ``escalate``, ``set_status``, ``finish``); its parameters are the JSON
Schema of the operation model (``model_json_schema()``) without the ``op`` tag, cleaned to
what OpenAI-compatible servers accept: no titles, defaults or string lengths, and an
optional field's ``anyOf [X, null]`` folded to ``X`` (it is optional by not being
required). The JSON mode,
for servers without tool calling, asks for ``{"ops": [...]}`` whose items are the same
schemas with the ``op`` tag kept and required.

Both are built once, from the models: a field added to an operation reaches the model
with no change here.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel

from sim.operations import (
    MAX_OPERATIONS_PER_TURN,
    Escalate,
    Finish,
    FlagRisk,
    Note,
    Reply,
    SearchKB,
    SetFields,
    SetStatus,
)

__all__ = ["OPERATION_MODELS", "json_mode_format", "json_mode_schema", "operation_tools"]

#: The operations, in the order the tools are listed (the order of the spec).
OPERATION_MODELS: tuple[type[BaseModel], ...] = (
    SetFields, Reply, Note, SearchKB, FlagRisk, Escalate, SetStatus, Finish,
)
#: Titles and defaults are noise to a model. String lengths go too: llama.cpp turns
#: ``maxLength: 1000`` into a grammar of a thousand nested rules, which it fails to parse
#: (and its server dies); the prompt states the limits and the simulator enforces them.
_DROPPED_KEYS = frozenset({"title", "default", "maxLength", "minLength"})
#: In JSON mode the free-text fields get a short cap of their own instead: a small model
#: decoding under a grammar may loop inside one string until ``max_tokens`` and leave
#: the JSON unfinished (every operation of the turn lost); a cap ends the string and the
#: JSON stays whole. llama.cpp parses caps up to about 1,000 (2,000 crashes its server).
JSON_MODE_TEXT_CHARS = 500
_FREE_TEXT = frozenset({"message", "text", "summary", "query"})


def _clean(node: Any) -> Any:
    """A schema node without titles or defaults, ``anyOf [X, null]`` folded to ``X``."""
    if isinstance(node, list):
        return [_clean(item) for item in node]
    if not isinstance(node, dict):
        return node
    variants = node.get("anyOf")
    if isinstance(variants, list):
        kept = [v for v in variants if v != {"type": "null"}]
        if len(kept) == 1 and len(kept) < len(variants):
            rest = {k: v for k, v in node.items() if k != "anyOf"}
            return _clean({**rest, **kept[0]})
    return {
        key: ({name: _clean(prop) for name, prop in value.items()}  # names, not keywords
              if key == "properties" and isinstance(value, dict) else _clean(value))
        for key, value in node.items() if key not in _DROPPED_KEYS
    }


def _description(model: type[BaseModel]) -> str:
    return " ".join((model.__doc__ or "").split()).replace("``", "'")


def _name(model: type[BaseModel]) -> str:
    name: str = model.model_fields["op"].default
    return name


def _parameters(model: type[BaseModel], *, keep_op: bool) -> dict[str, Any]:
    schema: dict[str, Any] = _clean(model.model_json_schema())
    schema.pop("description", None)
    properties = dict(schema.get("properties", {}))
    required = [name for name in schema.get("required", []) if name != "op"]
    if keep_op:
        properties["op"] = {"type": "string", "const": _name(model)}
        properties = {"op": properties.pop("op"), **properties}
        required = ["op", *required]
    else:
        properties.pop("op", None)
    schema["properties"] = properties
    if required:
        schema["required"] = required
    else:
        schema.pop("required", None)
    return {"type": "object", **{k: v for k, v in schema.items() if k != "type"}}


@cache
def operation_tools() -> list[dict[str, Any]]:
    """The ``tools`` of a chat-completions request: one function per operation.

    Built once and shared by every agent of the process: read it, never change it.
    """
    return [
        {"type": "function", "function": {
            "name": _name(model),
            "description": _description(model),
            "parameters": _parameters(model, keep_op=False),
        }}
        for model in OPERATION_MODELS
    ]


@cache
def json_mode_schema() -> dict[str, Any]:
    """The JSON Schema of a JSON-mode answer: ``{"ops": [operation, ...]}`` (shared:
    read it, never change it)."""
    variants = []
    for model in OPERATION_MODELS:
        variant = _parameters(model, keep_op=True)
        variant["description"] = _description(model)
        for name in _FREE_TEXT & variant["properties"].keys():
            variant["properties"][name] = {**variant["properties"][name],
                                           "maxLength": JSON_MODE_TEXT_CHARS}
        variants.append(variant)
    return {
        "type": "object",
        "properties": {
            "ops": {"type": "array", "maxItems": MAX_OPERATIONS_PER_TURN,
                    "items": {"anyOf": variants}},
        },
        "required": ["ops"],
        "additionalProperties": False,
    }


@cache
def json_mode_format() -> dict[str, Any]:
    """The ``response_format`` of a JSON-mode request: ``json_object`` with the schema
    (shared: read it, never change it).

    Not ``json_schema``: llama.cpp's server answers that with a 500, while it constrains
    ``json_object`` to a given ``schema``; servers that ignore the schema still return
    a JSON object, and what it holds is validated like any agent's turn.
    """
    return {"type": "json_object", "schema": json_mode_schema()}
