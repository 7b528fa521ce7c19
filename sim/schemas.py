"""JSON Schemas of what crosses the simulator's edges, for tools written in any language.

An LLM tool definition, a remote agent, a trace reader or a results dashboard can check
its data against these instead of reverse-engineering the Python models. Each schema is
generated from the model the simulator itself validates with, so it cannot drift from
the code: ``observation`` (what an agent gets each turn), ``operations`` (what it may
return, one entry of a turn), ``task`` (a task spec), ``trace-line`` (one line of a
trace: header, event or result) and ``results-row`` (one line of a sweep's results).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from pydantic import Field, TypeAdapter

from sim.episode import EpisodeResult
from sim.observation import Observation
from sim.operations import Operation
from sim.trace import TraceHeader, TraceResult, _EventLine
from tasks.base import SupportTaskSpec

__all__ = ["SCHEMAS", "json_schema"]

_TraceLine = Annotated[TraceHeader | _EventLine | TraceResult, Field(discriminator="type")]


def _titled(title: str, make: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
    def schema() -> dict[str, Any]:
        return {"title": title, **make()}
    return schema


#: name -> (what it describes, a function that makes its JSON Schema).
SCHEMAS: dict[str, tuple[str, Callable[[], dict[str, Any]]]] = {
    "observation": (
        "what the agent under test gets at each turn (act's argument, as JSON)",
        lambda: Observation.model_json_schema(mode="serialization"),
    ),
    "operations": (
        "one entry of the turn act returns: an operation, keyed by op",
        _titled("Operation", lambda: TypeAdapter(Operation).json_schema()),
    ),
    "task": (
        "a task spec (TASK = SupportTaskSpec(...), or what a FAMILY returns)",
        lambda: SupportTaskSpec.model_json_schema(),
    ),
    "trace-line": (
        "one line of a trace: the header, an event or the result, keyed by type",
        _titled("TraceLine", lambda: TypeAdapter(_TraceLine).json_schema(mode="serialization")),
    ),
    "results-row": (
        "one line of a sweep's results.jsonl (and of run --json, which holds a subset)",
        lambda: EpisodeResult.model_json_schema(mode="serialization"),
    ),
}


def json_schema(name: str) -> dict[str, Any]:
    """The JSON Schema called ``name`` (a key of :data:`SCHEMAS`)."""
    return SCHEMAS[name][1]()
