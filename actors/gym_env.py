"""The simulator as a Gymnasium environment (the ``gym`` extra): text in, text out.

Importing this module registers ``SupportSim/Incident-v0``, so::

    import gymnasium as gym

    env = gym.make("actors.gym_env:SupportSim/Incident-v0", task="api_incident_hard",
                   persona="confused", faults=["eta_slips"])
    obs, info = env.reset(seed=7)          # the seed picks the world and a family's variant
    while True:
        action = policy(obs)               # a JSON list of operations, as text
        obs, reward, terminated, truncated, info = env.step(action)
        if terminated or truncated:
            break
    print(info["score"], info["breakdown"])

- **Observation**: the turn's observation (SPEC §3) as compact JSON in printable ASCII,
  at most :data:`~actors.stepping.OBSERVATION_MAX_LENGTH` characters (the space's
  ``max_length``; longer texts are shortened to fit). Once the episode has ended, a short
  JSON object ``{"done": true, "termination_reason": ..., ...}``.
- **Action**: a JSON list of operations keyed by ``op``, e.g.
  ``[{"op": "reply", "message": "...", "request_fields": ["regions"]}]``; ``[]`` waits.
  An action that is not JSON, or not operations, is rejected as the episode rejects any
  agent's invalid operations (counted, penalised by the grader, reported in the next
  observation and in ``info["invalid_operations"]``): never an exception.
- **Reward**: the step reward of the turn (SPEC §3): the grade after the turn minus the
  grade before it, so the rewards of an episode sum to its score.
- **terminated** when the agent finished (``finish()`` or a terminal status);
  **truncated** when the turns ran out (``max_steps``) or the simulation failed.
- **info**: every step has ``turn``, ``invalid_operations`` (the turn's rejected
  operations: index, op, error) and ``action_error`` (why the action text is not JSON,
  or ``None``); the last step adds ``score``, ``breakdown`` (criterion -> value, ``None``
  where it does not apply), ``termination_reason``, ``sla_breached`` and
  ``invalid_operations_total``. The finished episode's full result, trace included, is
  ``env.unwrapped.result``.

The episode is the simulator's own (:class:`~actors.stepping.SteppedEpisode`): the same
decisions give a trace byte-identical to ``run_sim.py run``'s, the agent's name in the
header apart (``gymnasium`` unless ``agent_name`` says otherwise).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces
from gymnasium.vector.utils.shared_memory import read_from_shared_memory

from actors.stepping import (
    ACTION_MAX_LENGTH,
    OBSERVATION_MAX_LENGTH,
    TEXT_CHARSET,
    EpisodeEndedError,
    StepOutcome,
    SteppedEpisode,
    check_options,
    decision_of,
    ended_info,
    ended_text,
    invalid_operations,
    observation_text,
)
from sim.episode import EpisodeResult
from tasks import get_task

__all__ = ["ENV_ID", "ObservationText", "SupportSimEnv"]

ENV_ID = "SupportSim/Incident-v0"
_SEED_TASK = "api_incident_hard"
# Seeds reset() draws itself when given none: what stable_seed and the families take.
_SEED_BOUND = 2**31


class ObservationText(spaces.Text):
    """Gymnasium's ``Text`` space, whose vector-env shared memory is read when the
    observations are (see :class:`_SharedTexts`)."""


class _SharedTexts(Sequence[str]):
    """The texts in an ``AsyncVectorEnv``'s shared memory, decoded as they are read.

    Gymnasium 1.4 reads a ``Text`` space's shared memory once, into strings, when the
    vector env is made, and then hands out copies of those (blank) strings after every
    step; a numeric space's reading is a view, current at every step. This is that view
    for text: indexing decodes the buffer as it is now, and the copy the vector env hands
    out (``deepcopy``) is a tuple of the current strings.
    """

    def __init__(self, space: spaces.Text, shared_memory: Any, n: int) -> None:
        self.codes = np.frombuffer(shared_memory.get_obj(), dtype=np.int32).reshape(
            (n, space.max_length))
        # Every character is ASCII (TEXT_CHARSET): index -> byte, the padding index last.
        self.bytes = np.array([ord(c) for c in space.character_list] + [0], dtype=np.uint8)

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return tuple(self[i] for i in range(*index.indices(len(self))))
        codes = self.codes[index]
        return self.bytes[codes[codes < len(self.bytes) - 1]].tobytes().decode("ascii")

    def __iter__(self) -> Iterator[str]:
        return (self[i] for i in range(len(self)))

    def __deepcopy__(self, memo: dict[int, Any]) -> tuple[str, ...]:
        return tuple(self)


@read_from_shared_memory.register(ObservationText)
def _read_texts(space: ObservationText, shared_memory: Any, n: int = 1) -> _SharedTexts:
    return _SharedTexts(space, shared_memory, n)


class SupportSimEnv(gymnasium.Env[str, str]):
    """One support task as a Gymnasium environment; see the module's documentation.

    ``task`` is a task or family id (``run_sim.py tasks`` lists them), ``tasks_dir`` a
    folder (or folders) of your own task files; ``persona`` the customer's (default:
    the task's own) and ``faults`` the teams' (SPEC §3). Each ``reset(seed=...)`` starts
    a new episode; with no seed, the environment draws one from its own generator
    (seeded by the first seeded reset), so a run is reproducible from that seed.
    """

    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012 (gymnasium's own form)

    def __init__(self, task: str = _SEED_TASK, persona: str | None = None,
                 faults: Iterable[str] = (), tasks_dir: str | Sequence[str] = (),
                 agent_name: str = "gymnasium", render_mode: str | None = None) -> None:
        dirs = (tasks_dir,) if isinstance(tasks_dir, str) else tuple(tasks_dir)
        faults = tuple(faults)
        check_options(task, dirs, persona, faults)
        if render_mode is not None:
            raise ValueError(f"render_mode {render_mode!r} is not supported; allowed: None "
                             "(the observation is text already)")
        self.task_id = task
        self.tasks_dirs = dirs
        self.persona = persona
        self.faults = faults
        self.agent_name = agent_name
        self.render_mode = render_mode
        self.observation_space = ObservationText(max_length=OBSERVATION_MAX_LENGTH,
                                                 charset=TEXT_CHARSET)
        self.action_space = spaces.Text(max_length=ACTION_MAX_LENGTH, charset=TEXT_CHARSET)
        self._episode: SteppedEpisode | None = None
        #: The last finished episode's result (score, breakdown, trace), or ``None``.
        self.result: EpisodeResult | None = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        if seed is None:
            seed = int(self.np_random.integers(0, _SEED_BOUND))
        elif seed < 0:
            raise ValueError(f"seed {seed} is negative; allowed: a whole number >= 0")
        self._close_episode()
        self.result = None
        task = get_task(self.task_id, self.tasks_dirs, seed=seed)
        episode = SteppedEpisode(task, seed=seed, persona=self.persona, faults=self.faults,
                                 agent_name=self.agent_name)
        observation = episode.start()
        self._episode = episode
        return observation_text(observation), {
            "task_id": task.task_id, "seed": seed, "turn": observation.turn,
            "max_steps": task.max_steps, "persona": episode.world.persona,
            "faults": list(episode.world.faults),
        }

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        if self._episode is None:
            raise EpisodeEndedError("step() before reset(), or after the episode ended; "
                                    "allowed: reset() first")
        decision, action_error = decision_of(action)
        outcome = self._episode.step(decision)
        info: dict[str, Any] = {
            "turn": self._episode.turn,
            "invalid_operations": invalid_operations(outcome.observation, outcome.result),
            "action_error": action_error,
        }
        if outcome.observation is not None:
            return observation_text(outcome.observation), outcome.reward, False, False, info
        return self._ended(outcome, info)

    def _ended(self, outcome: StepOutcome, info: dict[str, Any]
               ) -> tuple[str, float, bool, bool, dict[str, Any]]:
        result = outcome.result
        assert result is not None
        self.result = result
        self._close_episode()
        info.update(ended_info(result))
        terminated = result.termination_reason == "finished"
        return ended_text(result), outcome.reward, terminated, not terminated, info

    def close(self) -> None:
        self._close_episode()
        super().close()

    def _close_episode(self) -> None:
        episode, self._episode = self._episode, None
        if episode is not None:
            episode.close()


def _register() -> None:
    if ENV_ID not in gymnasium.registry:
        gymnasium.register(id=ENV_ID, entry_point=f"{__name__}:SupportSimEnv")


_register()
