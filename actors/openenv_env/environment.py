"""One OpenEnv session: an episode of a support task, a turn per ``step``."""

from __future__ import annotations

import hashlib
import re
import uuid
from pathlib import Path
from typing import Any

from openenv.core.env_server.interfaces import Environment
from openenv.core.env_server.types import EnvironmentMetadata

from actors.openenv_env.models import SupportAction, SupportObservation, SupportState
from actors.stepping import (
    EpisodeEndedError,
    StepOutcome,
    SteppedEpisode,
    check_options,
    ended_info,
    invalid_operations,
)
from sim.episode import CODE_VERSION
from tasks import get_task

__all__ = ["SupportSimEnvironment"]

#: An episode id names its trace file: no path, no leading dot.
_EPISODE_ID = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$")


class SupportSimEnvironment(Environment[SupportAction, SupportObservation, SupportState]):
    """The support desk as an OpenEnv environment: each ``reset`` starts an episode,
    each ``step`` plays one turn. Every session (WebSocket connection) has its own
    instance, so concurrent sessions are independent episodes.

    ``reset(task=, seed=, persona=, faults=, episode_id=)``: ``task`` defaults to the
    server's (``serve --task``); a session's resets without a seed play seeds 0, 1,
    2, ... in turn, so a session is reproducible. The episode is the simulator's own
    (:class:`~actors.stepping.SteppedEpisode`): the same turns give the trace
    ``run_sim.py run`` would write, agent's name (``openenv``) apart; with
    ``trace_dir``, each finished episode's trace is written there as
    ``<episode_id>.jsonl``.
    """

    SUPPORTS_CONCURRENT_SESSIONS = True

    def __init__(self, *, task: str = "api_incident_hard", tasks_dirs: tuple[str, ...] = (),
                 trace_dir: str | None = None, agent_name: str = "openenv") -> None:
        super().__init__()
        self.default_task = task
        self.tasks_dirs = tasks_dirs
        self.trace_dir = trace_dir
        self.agent_name = agent_name
        self._episode: SteppedEpisode | None = None
        self._state = SupportState()
        self._next_seed = 0

    def reset(self, seed: int | None = None, episode_id: str | None = None,
              task: str | None = None, persona: str | None = None,
              faults: list[str] | None = None, **_: Any) -> SupportObservation:
        task_id = task or self.default_task
        check_options(task_id, self.tasks_dirs, persona, faults or ())
        if episode_id is not None and not _EPISODE_ID.match(episode_id):
            raise ValueError(f"episode_id {episode_id[:140]!r} is not allowed; allowed: 1 to "
                             "128 letters, digits, '_', '-' or '.', not starting with '.'")
        if seed is None:
            seed, self._next_seed = self._next_seed, self._next_seed + 1
        self.close()
        spec = get_task(task_id, self.tasks_dirs, seed=seed)
        episode = SteppedEpisode(spec, seed=seed, persona=persona, faults=faults or (),
                                 agent_name=self.agent_name)
        observation = episode.start()
        self._episode = episode
        world = episode.world
        self._state = SupportState(
            episode_id=episode_id or f"{spec.task_id}-{seed}-{uuid.uuid4().hex[:12]}",
            step_count=0, task_id=spec.task_id, seed=seed, persona=world.persona,
            faults=list(world.faults), turn=observation.turn)
        return SupportObservation(observation=observation, turn=observation.turn,
                                  reward=0.0, done=False,
                                  metadata={"episode_id": self._state.episode_id,
                                            "seed": seed})

    def step(self, action: SupportAction, timeout_s: float | None = None,
             **_: Any) -> SupportObservation:
        if self._episode is None:
            raise EpisodeEndedError(
                "no episode is running in this session; allowed: reset first (over plain "
                "HTTP every request is a new session: play episodes over the WebSocket /ws)")
        outcome = self._episode.step(action.turn)
        state = self._state
        state.step_count += 1
        bad = invalid_operations(outcome.observation, outcome.result)
        if outcome.observation is not None:
            state.turn = outcome.observation.turn
            return SupportObservation(observation=outcome.observation, turn=state.turn,
                                      invalid_operations=bad, reward=outcome.reward,
                                      done=False)
        return self._ended(outcome, bad)

    def _ended(self, outcome: StepOutcome, bad: list[dict[str, Any]]) -> SupportObservation:
        result = outcome.result
        assert result is not None
        self.close()
        state = self._state
        state.done, state.score = True, result.score
        state.termination_reason = result.termination_reason
        path = (None if self.trace_dir is None
                else Path(self.trace_dir) / f"{state.episode_id}.jsonl")
        # Serialised once: written (atomically) when traces are kept, and digested.
        trace = result.trace.to_jsonl() if path is None else result.trace.write(path)
        terminated = result.termination_reason == "finished"
        metadata: dict[str, Any] = {
            "episode_id": state.episode_id, "seed": state.seed, **ended_info(result),
            "terminated": terminated, "truncated": not terminated,
            "trace_sha256": hashlib.sha256(trace.encode()).hexdigest(),
        }
        if path is not None:
            metadata["trace_file"] = str(path)
        return SupportObservation(observation=None, turn=result.steps,
                                  invalid_operations=bad, reward=outcome.reward, done=True,
                                  metadata=metadata)

    @property
    def state(self) -> SupportState:
        return self._state

    def get_metadata(self) -> EnvironmentMetadata:
        return EnvironmentMetadata(
            name="support_sim",
            description="A deterministic customer-support desk on a simulated clock: the "
                        "agent works a ticket (fields, replies, escalations) while a "
                        "customer and platform teams answer; graded per criterion, SLA "
                        "enforced. One episode per session; reward = step rewards.",
            version=CODE_VERSION)

    def close(self) -> None:
        episode, self._episode = self._episode, None
        if episode is not None:
            episode.close()
