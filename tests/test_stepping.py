"""A stepped episode (the RL adapters' bridge) is the ordinary episode, turn by turn."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors.episodes import simulate
from actors.stepping import (
    OBSERVATION_MAX_LENGTH,
    EpisodeEndedError,
    StepOutcome,
    SteppedEpisode,
    decision_of,
    observation_text,
)
from actors.teams import FAULTS
from sim.episode import EpisodeResult
from sim.grading import step_rewards
from sim.scripted import ScriptedAgent, turns_of
from sim.testing.strategies import turn_sequences
from tasks import PERSONAS, get_task

SEED_TASK = get_task("api_incident_hard")


def play(episode: SteppedEpisode, turns: list[Any]) -> tuple[list[float], StepOutcome]:
    """Every turn of ``turns`` (then waits) until the episode ends: rewards, last outcome."""
    episode.start()
    rewards: list[float] = []
    for k in range(episode.task.max_steps):
        outcome = episode.step(turns[k] if k < len(turns) else [])
        rewards.append(outcome.reward)
        if outcome.done:
            return rewards, outcome
    raise AssertionError("the episode outlived max_steps")


def reference(turns: list[Any], *, seed: int, persona: str, faults: tuple[str, ...],
              name: str) -> EpisodeResult:
    task = get_task("api_incident_hard", seed=seed)
    return trio.run(lambda: simulate(task, lambda: ScriptedAgent(turns), seed=seed,
                                     persona=persona, faults=faults, agent_name=name))


@settings(max_examples=25, suppress_health_check=[HealthCheck.too_slow])
@given(turns=turn_sequences(SEED_TASK), seed=st.integers(0, 2**31),
       persona=st.sampled_from(PERSONAS),
       faults=st.lists(st.sampled_from(FAULTS), unique=True, max_size=2).map(tuple))
def test_same_decisions_give_the_run_trace_and_the_step_rewards(
        turns: list[Any], seed: int, persona: str, faults: tuple[str, ...]) -> None:
    task = get_task("api_incident_hard", seed=seed)
    episode = SteppedEpisode(task, seed=seed, persona=persona, faults=faults,
                             agent_name="stepper")
    rewards, outcome = play(episode, turns)
    result = outcome.result
    assert result is not None
    expected = reference(turns, seed=seed, persona=persona, faults=faults, name="stepper")
    assert result.trace.to_jsonl() == expected.trace.to_jsonl()
    assert rewards == step_rewards(task, result.trace)
    assert sum(rewards) == pytest.approx(result.score, abs=1e-9)
    assert outcome.observation is None and outcome.done


def test_the_oracles_turns_score_one_through_the_bridge() -> None:
    played = trio.run(lambda: simulate(SEED_TASK, "oracle", persona="confused",
                                       faults=("eta_slips",)))
    episode = SteppedEpisode(SEED_TASK, persona="confused", faults=("eta_slips",))
    rewards, outcome = play(episode, turns_of(played.trace))
    assert outcome.result is not None and outcome.result.score == 1.0
    assert sum(rewards) == pytest.approx(1.0)
    assert rewards[0] > 0  # the first turn's work is rewarded when turn 2 begins


def test_an_episode_ends_by_truncation_after_max_steps() -> None:
    episode = SteppedEpisode(SEED_TASK)
    rewards, outcome = play(episode, [])
    assert outcome.result is not None
    assert outcome.result.termination_reason == "max_steps"
    assert len(rewards) == SEED_TASK.max_steps


def test_step_after_the_end_or_before_the_start_is_refused() -> None:
    episode = SteppedEpisode(SEED_TASK)
    with pytest.raises(EpisodeEndedError, match="allowed"):
        episode.step([])
    episode.start()
    episode.step([{"op": "finish"}])
    with pytest.raises(EpisodeEndedError):
        episode.step([])


def test_closed_episodes_leave_no_thread_behind() -> None:
    def stepping_threads() -> int:
        return sum(t.name == "stepped episodes" for t in threading.enumerate())

    # Five at once need five threads; closed, they wait for the next episodes.
    episodes = [SteppedEpisode(SEED_TASK, seed=seed) for seed in range(5)]
    for episode in episodes:
        episode.start()
    busy = stepping_threads()
    assert busy >= 5
    for episode in episodes:
        episode.close()
        episode.close()  # twice is harmless
        assert episode.result is None  # abandoned, not finished
    for seed in range(40):  # one after another: no thread more
        episode = SteppedEpisode(SEED_TASK, seed=seed)
        episode.start()
        if seed % 2:
            episode.step([{"op": "finish"}])
        episode.close()
    assert stepping_threads() == busy


def test_a_bad_world_is_refused_before_any_thread_starts() -> None:
    with pytest.raises(ValueError, match="persona 'grumpy' is unknown; allowed"):
        SteppedEpisode(SEED_TASK, persona="grumpy")
    with pytest.raises(ValueError, match="fault"):
        SteppedEpisode(SEED_TASK, faults=("meteor",))


@given(st.text(max_size=40))
def test_any_text_is_a_decision_and_never_an_exception(text: str) -> None:
    decision, error = decision_of(text)
    if error is None:
        assert json.dumps(decision) == json.dumps(json.loads(text))
    else:
        assert decision == text and "allowed: a JSON list of operations" in error


def test_json_text_decodes_to_the_operations() -> None:
    assert decision_of('[{"op": "finish"}]') == ([{"op": "finish"}], None)
    assert decision_of(b"[]") == ([], None)
    assert decision_of([{"op": "finish"}]) == ([{"op": "finish"}], None)


def test_observation_text_is_printable_ascii_json_within_its_bound() -> None:
    episode = SteppedEpisode(SEED_TASK)
    observation = episode.start()
    episode.close()
    text = observation_text(observation)
    assert text.isascii() and text.isprintable() and len(text) <= OBSERVATION_MAX_LENGTH
    # A bound smaller than the JSON shortens the longest strings, and it stays JSON.
    short = observation_text(observation, max_length=len(text) - 200)
    data = json.loads(short)
    assert data["task_id"] == SEED_TASK.task_id and len(short) <= len(text) - 200
    assert "...[shortened]" in short
    with pytest.raises(ValueError, match="allowed: max_length"):
        observation_text(observation, max_length=50)
