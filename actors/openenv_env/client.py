"""A client of ``run_sim.py serve``: openenv's WebSocket client, typed for the desk."""

from __future__ import annotations

from typing import Any

from openenv.core import EnvClient
from openenv.core.client_types import StepResult

from actors.openenv_env.models import SupportAction, SupportObservation, SupportState

__all__ = ["SupportSimClient"]


class SupportSimClient(EnvClient[SupportAction, SupportObservation, SupportState]):
    """One session (one episode at a time) on a running server::

        with SupportSimClient(base_url="http://127.0.0.1:8000").sync() as env:
            result = env.reset(task="api_incident_hard", seed=3, persona="confused")
            while not result.done:
                result = env.step(SupportAction(ops=policy(result.observation)))
            print(result.metadata["score"])

    ``reset`` takes ``task``, ``seed``, ``persona``, ``faults`` and ``episode_id``.
    """

    def _step_payload(self, action: SupportAction) -> dict[str, Any]:
        return {"ops": action.turn}

    def _parse_result(self, payload: dict[str, Any]) -> StepResult[SupportObservation]:
        data = dict(payload.get("observation") or {})
        data.update(reward=payload.get("reward"), done=payload.get("done", False))
        observation = SupportObservation.model_validate(data)
        return StepResult(observation=observation, reward=payload.get("reward"),
                          done=bool(payload.get("done", False)),
                          metadata=payload.get("metadata", observation.metadata))

    def _parse_state(self, payload: dict[str, Any]) -> SupportState:
        state: SupportState = SupportState.model_validate(payload)
        return state
