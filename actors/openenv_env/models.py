"""What crosses the wire between an OpenEnv client and ``run_sim.py serve``."""

from __future__ import annotations

from typing import Any

from openenv.core.env_server.types import Action, Observation, State
from pydantic import Field, PrivateAttr, ValidatorFunctionWrapHandler, model_validator

from sim.observation import Observation as TurnObservation
from sim.operations import Operation

__all__ = ["SupportAction", "SupportObservation", "SupportState"]


class SupportAction(Action):
    """One turn: the operations to apply, in order (``[]`` waits).

    Each operation is validated against the operation models (discriminated on
    ``op``) for the schema's sake, but an operation that fails (an unknown ``op``, a
    reply too long) is still accepted here: the episode rejects it as it rejects any
    agent's invalid operation (counted, penalised, reported in the next observation).
    The episode plays the operations exactly as sent, so a trace is the same whether
    the turn came over the wire or from an agent in process.
    """

    ops: list[Operation | dict[str, Any]] = Field(
        default_factory=list,
        description='The turn\'s operations, keyed by "op" (SPEC §3), e.g. {"op": "reply", '
                    '"message": "...", "request_fields": ["regions"]}; [] waits')
    _sent: list[Any] = PrivateAttr(default_factory=list)

    @model_validator(mode="wrap")
    @classmethod
    def _keep_as_sent(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        action = handler(data)
        ops = data.get("ops") if isinstance(data, dict) else None
        action._sent = (list(ops) if isinstance(ops, list)
                        else [op if isinstance(op, dict) else op.model_dump()
                              for op in action.ops])
        return action

    @property
    def turn(self) -> list[Any]:
        """The operations as sent (dicts), for the episode."""
        return list(self._sent)


class SupportObservation(Observation):
    """The turn's observation (``None`` once the episode has ended), the reward of the
    turn just played (the step reward: they sum to the score), ``done``, and what the
    turn's operations came to. When ``done``, ``metadata`` holds the episode's outcome:
    ``score``, ``breakdown``, ``termination_reason``, ``terminated``/``truncated``,
    ``sla_breached``, ``invalid_operations_total``, ``trace_sha256`` (of the trace's
    JSON Lines) and ``trace_file`` when the server writes traces."""

    observation: TurnObservation | None = Field(
        default=None, description="the turn's observation (SPEC §3); null once done")
    turn: int = Field(default=0, description="the turn this observation is for")
    invalid_operations: list[dict[str, Any]] = Field(
        default_factory=list,
        description="the last turn's rejected operations: index, op, error")


class SupportState(State):
    """The session's episode: which task, world and seed, how far, and how it ended."""

    task_id: str | None = None
    seed: int | None = None
    persona: str | None = None
    faults: list[str] = Field(default_factory=list)
    turn: int = 0
    done: bool = False
    score: float | None = None
    termination_reason: str | None = None
