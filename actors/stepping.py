"""An episode driven one turn at a time from outside: the bridge under the RL adapters.

A simulated episode is a trio program in which the agent is called (``act``) at each
turn. A learner works the other way round: it calls the environment (``reset``, then
``step(action)``) and gets the next observation back. :class:`SteppedEpisode` turns the
one into the other: it runs :func:`~sim.episode.run_episode` in a thread of its own
(a ``trio.run`` there, kept for the next episode), with an agent whose ``act`` hands
the observation out and waits for the decision that :meth:`SteppedEpisode.step` sends
in. Everything else is the
ordinary episode: the same decisions give the same trace, byte for byte, as
``run_sim.py run`` or :func:`~sim.runner.run_episodes` would write (only the agent's
name in the header is the adapter's).

The rewards are the episode's step rewards (SPEC §3, :func:`sim.grading.step_rewards`):
each step returns the reward of the turn it played, and they sum to the score.

Texts for learners that read and write strings (:func:`observation_text`,
:func:`decision_of`) are here too: the Gymnasium environment and the OpenEnv server
share them.
"""

from __future__ import annotations

import json
import os
import queue
import threading
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import attrs
import trio

from actors.agents.loading import did_you_mean
from actors.episodes import make_job
from actors.teams import check_fault
from sim.episode import EpisodeConfig, EpisodeResult, run_episode
from sim.observation import Observation
from sim.trace import TraceEvent
from tasks import list_task_ids
from tasks.base import SupportTaskSpec, check_persona

__all__ = [
    "ACTION_MAX_LENGTH",
    "NO_TIME_LIMIT",
    "OBSERVATION_MAX_LENGTH",
    "TEXT_CHARSET",
    "EpisodeEndedError",
    "StepOutcome",
    "SteppedEpisode",
    "check_options",
    "decision_of",
    "ended_info",
    "ended_text",
    "invalid_operations",
    "observation_text",
]

#: The characters of observation and action texts: printable ASCII, newline and tab.
TEXT_CHARSET = "".join(chr(c) for c in range(32, 127)) + "\n\t"
#: The longest observation text. An observation's JSON is a few kilobytes; one that
#: would be longer (a task with huge texts) has its longest strings shortened to fit.
OBSERVATION_MAX_LENGTH = 65_536
#: The longest action text the spaces describe (8 operations of the longest kinds fit).
ACTION_MAX_LENGTH = 32_768
#: The agent timeout of a stepped episode, in real seconds: none, in effect. A learner
#: may think between two steps as long as it likes (a gradient update, a checkpoint),
#: and a real-time limit would make episodes depend on the machine's speed.
NO_TIME_LIMIT = 1e9
_SHORTENED = "...[shortened]"


class EpisodeEndedError(RuntimeError):
    """A step was asked of an episode that has ended (or never started): reset first."""


@attrs.frozen
class StepOutcome:
    """What one step gives back: the next observation (``None`` once the episode has
    ended), the reward of the turn just played, and the finished episode's result."""

    observation: Observation | None
    reward: float
    result: EpisodeResult | None

    @property
    def done(self) -> bool:
        return self.result is not None


class _Abandoned(Exception):
    """Raised in the episode by its agent when the caller closes it mid-episode."""


_ABANDON = object()


class _RemoteAgent:
    """The agent inside the episode: hands each observation out and waits for the
    decision from outside.

    It waits blocking its thread: the thread runs this one episode, whose clock stands
    still while its agent decides, so nothing else there needs to run meanwhile, and a
    plain blocking handoff costs a fraction of a trio round trip. Marked inline-safe, so
    the episode calls it in its own task (``auto`` picks inline, as for the built-ins).
    """

    inline_safe = True

    def __init__(self, out: queue.SimpleQueue[tuple[str, Any]],
                 decisions: queue.SimpleQueue[Any]) -> None:
        self.out = out
        self.decisions = decisions

    def act(self, observation: Observation) -> Any:
        self.out.put(("observation", observation))
        decision = self.decisions.get()
        if decision is _ABANDON:
            raise _Abandoned("the caller closed the episode")
        return decision


class _Runner:
    """A daemon thread with one ``trio.run`` for its whole life, running one stepped
    episode after another: an episode then costs no thread start and no trio start-up.
    It takes the next episode from its queue blocking the trio loop, which is idle
    between episodes anyway."""

    def __init__(self) -> None:
        self.episodes: queue.SimpleQueue[Callable[[], Awaitable[None]] | None] = (
            queue.SimpleQueue())
        threading.Thread(target=trio.run, args=(self._serve,), daemon=True,
                         name="stepped episodes").start()

    async def _serve(self) -> None:
        while (episode := self.episodes.get()) is not None:
            await episode()
            _release(self)


#: Runners with no episode, ready for the next; at most _MAX_IDLE are kept.
_IDLE: list[_Runner] = []
_IDLE_LOCK = threading.Lock()
_MAX_IDLE = 64
# A forked child (a vector env's worker) has none of its parent's threads.
os.register_at_fork(after_in_child=_IDLE.clear)


def _acquire() -> _Runner:
    with _IDLE_LOCK:
        if _IDLE:
            return _IDLE.pop()
    return _Runner()


def _release(runner: _Runner) -> None:
    with _IDLE_LOCK:
        if len(_IDLE) < _MAX_IDLE:
            _IDLE.append(runner)
            return
    runner.episodes.put(None)  # enough idle ones: this one ends


class SteppedEpisode:
    """One episode of ``task`` in the standard world, played a turn at a time by calls.

    ``start()`` runs the episode up to its first turn and returns that observation;
    each ``step(decision)`` plays one turn (any decision an agent could return: a list
    of operation dicts, models, or garbage, which the episode rejects as it would any
    agent's) and returns the next observation, or the result once the episode ends.
    ``close()`` abandons an unfinished episode; it is safe to call at any time, more
    than once.

    The episode runs in a thread of its own while it lasts (a daemon, kept for the next
    episode afterwards): an episode left open never keeps the process alive. Not
    thread-safe: one caller at a time.
    """

    def __init__(self, task: SupportTaskSpec, *, seed: int = 0, persona: str | None = None,
                 faults: Iterable[str] = (), agent_name: str = "stepped",
                 privileged: bool = False) -> None:
        self.task = task
        self.seed = seed
        # The world (persona, faults) is checked here, before any thread starts.
        config = EpisodeConfig(agent_timeout=NO_TIME_LIMIT, on_grade=self._graded)
        self._job = make_job(task, lambda: None, seed=seed, persona=persona, faults=faults,
                             config=config, agent_name=agent_name, privileged=privileged)
        self._out: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self._decisions: queue.SimpleQueue[Any] = queue.SimpleQueue()
        #: The grade when the last step returned, and the latest the episode reported.
        self._rewarded = self._grade = 0.0
        self._running = False
        self._finished = threading.Event()
        self.result: EpisodeResult | None = None
        self.turn = 0

    @property
    def world(self) -> Any:
        return self._job.world

    def start(self) -> Observation:
        """Run the episode to its first turn; that turn's observation."""
        if self._running or self._finished.is_set():
            raise RuntimeError("this episode has started already; allowed: start() once")
        self._running = True
        _acquire().episodes.put(self._main)
        outcome = self._next()
        if outcome.observation is None:  # cannot happen: the remote agent never fails
            raise RuntimeError(f"the episode ended before its first turn: "
                               f"{outcome.result and outcome.result.error}")
        return outcome.observation

    def step(self, decision: Any) -> StepOutcome:
        """Play ``decision`` as this turn; the next observation or the episode's end."""
        if not self._running or self.result is not None:
            raise EpisodeEndedError("the episode has ended (or not started); allowed: "
                                    "step() between start() and the episode's end")
        self._decisions.put(decision)
        return self._next()

    def close(self) -> None:
        """Abandon the episode if it is still running, and wait until it has ended."""
        if not self._running:
            return
        self._running = False
        if self.result is None:
            # The agent raises: the episode ends at once as agent_error, unread.
            self._decisions.put(_ABANDON)
        self._finished.wait()

    def _next(self) -> StepOutcome:
        kind, value = self._out.get()
        if kind == "error":
            self.close()
            raise RuntimeError(f"the episode's thread failed: {value!r}") from value
        # The episode's thread reported the grade before it handed this message over,
        # and waits (for the next decision) or has ended while this side reads it.
        reward, self._rewarded = self._grade - self._rewarded, self._grade
        if kind == "observation":
            self.turn = value.turn
            return StepOutcome(observation=value, reward=reward, result=None)
        self.result = value
        return StepOutcome(observation=None, reward=reward, result=value)

    def _graded(self, grade: float) -> None:
        """``on_grade``: the grade so far, in the episode's thread."""
        self._grade = grade

    async def _main(self) -> None:
        try:
            job = self._job
            result = await run_episode(
                job.task, _RemoteAgent(self._out, self._decisions), world=job.world,
                seed=job.seed, agent_name=job.agent_name, config=job.config,
                privileged=job.privileged)
            self._out.put(("end", result))
        except BaseException as error:  # a bug: the caller must not wait forever
            self._out.put(("error", error))
            raise
        finally:
            self._finished.set()


def observation_text(observation: Observation, max_length: int = OBSERVATION_MAX_LENGTH
                     ) -> str:
    """``observation`` as compact JSON in printable ASCII (non-ASCII characters escaped),
    at most ``max_length`` characters: if longer, its longest strings are shortened
    (ending ``...[shortened]``) until it fits. Deterministic."""
    data = observation.model_dump(mode="json")
    text = _dumps(data)
    limit = 4096
    while len(text) > max_length and limit >= 16:
        data = _shorten(data, limit)
        text = _dumps(data)
        limit //= 2
    if len(text) > max_length:
        raise ValueError(f"the observation's JSON has {len(text)} characters even with its "
                         f"strings shortened; allowed: max_length >= {len(text)}")
    return text


def check_options(task_id: str, tasks_dirs: Iterable[str], persona: str | None,
                  faults: Iterable[str]) -> None:
    """A one-line ``ValueError`` for an unknown task (with the closest id), persona or
    fault: what an adapter checks before it starts an episode."""
    known = list_task_ids(tasks_dirs)
    if task_id not in known:
        raise ValueError(f"task {task_id!r} is unknown; {did_you_mean(task_id, known)}"
                         f"allowed: {', '.join(known)}")
    if persona is not None:
        check_persona(persona)
    for fault in faults:
        check_fault(fault)


def ended_info(result: EpisodeResult) -> dict[str, Any]:
    """How a finished episode went, for a learner's ``info`` or ``metadata``: the score,
    its breakdown by criterion, why it ended, whether the SLA was breached, and how many
    operations were rejected in all."""
    return {"score": result.score, "breakdown": dict(result.breakdown),
            "termination_reason": result.termination_reason,
            "sla_breached": result.sla_breached,
            "invalid_operations_total": result.invalid_operations}


def ended_text(result: EpisodeResult) -> str:
    """The observation text once the episode has ended (a learner's last ``obs``)."""
    return _dumps({"done": True, "task_id": result.task_id,
                   "termination_reason": result.termination_reason, "turn": result.steps})


def decision_of(action: Any) -> tuple[Any, str | None]:
    """The decision an action stands for, and why it is malformed (``None`` if it is
    not): a text is JSON (a list of operation dicts keyed by ``op``); anything else is
    passed on as it is. An action that is not JSON becomes a decision the episode
    rejects as an invalid turn (counted, reported in the next observation): never an
    exception."""
    if isinstance(action, bytes | bytearray):
        action = action.decode("utf-8", errors="replace")
    if not isinstance(action, str):
        return action, None
    try:
        return json.loads(action), None
    except (json.JSONDecodeError, RecursionError) as error:
        return action, (f"the action is not JSON ({error}); allowed: a JSON list of "
                        'operations, e.g. [{"op": "finish"}]')


def invalid_operations(observation: Observation | None, result: EpisodeResult | None
                       ) -> list[dict[str, Any]]:
    """The operations of the turn just played that the episode rejected: from the next
    observation's results, or, once the episode has ended, from its trace."""
    if observation is not None:
        return [{"index": r.index, "op": r.op, "error": r.error}
                for r in observation.results if not r.ok]
    if result is None or result.steps == 0:
        return []
    return [_rejected(event) for event in result.trace.events
            if event.actor == "agent" and event.kind in ("invalid_operation", "invalid_turn")
            and event.payload.get("turn") == result.steps]


def _rejected(event: TraceEvent) -> dict[str, Any]:
    op = event.payload.get("op")
    return {"index": event.payload.get("index"),
            "op": op.get("op") if isinstance(op, dict) else None,
            "error": event.payload.get("error")}


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=True, separators=(",", ":"), sort_keys=True)


def _shorten(value: Any, limit: int) -> Any:
    if isinstance(value, str) and len(value) > limit:
        return value[:limit - len(_SHORTENED)] + _SHORTENED
    if isinstance(value, dict):
        return {k: _shorten(v, limit) for k, v in value.items()}
    if isinstance(value, list):
        return [_shorten(v, limit) for v in value]
    return value
