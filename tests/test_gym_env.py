"""The Gymnasium environment: registered id, spaces, rewards, info, checker, vector envs."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import gymnasium as gym
import pytest
import trio
from gymnasium.utils.env_checker import check_env
from hypothesis import HealthCheck, given, settings
from readme_helpers import readme_block
from task_file_helpers import seed_source

from actors.episodes import simulate
from actors.gym_env import ENV_ID, SupportSimEnv
from sim.grading import step_rewards
from sim.scripted import ScriptedAgent, turns_of
from sim.testing.strategies import turn_sequences
from tasks import get_task

MAKE_ID = f"actors.gym_env:{ENV_ID}"
SEED_TASK = get_task("api_incident_hard")


def play(env: Any, actions: list[str], seed: int) -> tuple[list[float], dict[str, Any], bool,
                                                           bool]:
    env.reset(seed=seed)
    rewards: list[float] = []
    for k in range(100):
        _, reward, terminated, truncated, info = env.step(
            actions[k] if k < len(actions) else "[]")
        rewards.append(reward)
        if terminated or truncated:
            return rewards, info, terminated, truncated
    raise AssertionError("the episode never ended")


def test_check_env_passes_without_warnings() -> None:
    env = gym.make(MAKE_ID, task="api_incident_hard", persona="confused")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning the checker raises fails the test
        check_env(env.unwrapped)
    env.close()


def test_the_oracles_decisions_score_one_and_match_run() -> None:
    played = trio.run(lambda: simulate(SEED_TASK, "oracle", seed=4, persona="slow",
                                       faults=("slow_eta",)))
    turns = turns_of(played.trace)
    env = gym.make(MAKE_ID, persona="slow", faults=["slow_eta"])
    rewards, info, terminated, truncated = play(env, [json.dumps(t) for t in turns], seed=4)
    assert (terminated, truncated) == (True, False)
    assert info["score"] == 1.0 and info["termination_reason"] == "finished"
    assert set(info["breakdown"]) == set(played.breakdown)
    assert sum(rewards) == pytest.approx(1.0)
    result = env.unwrapped.result
    again = trio.run(lambda: simulate(get_task("api_incident_hard", seed=4),
                                      lambda: ScriptedAgent(turns), seed=4, persona="slow",
                                      faults=("slow_eta",), agent_name="gymnasium"))
    assert result.trace.to_jsonl() == again.trace.to_jsonl()
    env.close()


@settings(max_examples=15, suppress_health_check=[HealthCheck.too_slow])
@given(turns=turn_sequences(SEED_TASK))
def test_rewards_are_the_step_rewards_of_the_trace(turns: list[Any]) -> None:
    actions = []
    for turn in turns:
        try:
            actions.append(json.dumps(turn))
        except (TypeError, ValueError):
            actions.append(repr(turn))  # not JSON: an invalid turn, never an exception
    env = SupportSimEnv()
    rewards, info, terminated, truncated = play(env, actions, seed=1)
    result = env.result
    assert result is not None
    assert rewards == step_rewards(get_task("api_incident_hard", seed=1), result.trace)
    assert terminated == (result.termination_reason == "finished") != truncated
    assert info["invalid_operations_total"] == result.invalid_operations
    env.close()


def test_unparseable_actions_are_invalid_operations_not_exceptions() -> None:
    env = SupportSimEnv()
    obs, _ = env.reset(seed=0)
    obs, _, terminated, truncated, info = env.step("{not json")
    assert not (terminated or truncated)
    assert "not JSON" in info["action_error"]
    assert len(info["invalid_operations"]) == 1
    # The next observation reports it, as for any agent.
    assert any(not r["ok"] for r in json.loads(obs)["results"])
    obs, _, terminated, truncated, info = env.step('[{"op": "teleport"}]')
    assert info["invalid_operations"][0]["error"].startswith("op: 'teleport' is unknown")
    assert info["action_error"] is None
    *_, info = env.step('[{"op": "finish"}]')
    assert info["invalid_operations_total"] == 2
    env.close()


def test_reset_seeds_pick_variants_and_are_reproducible() -> None:
    env = gym.make(MAKE_ID, task="api_error_spike")
    first, info = env.reset(seed=11)
    assert info["seed"] == 11 and info["turn"] == 1
    assert env.reset(seed=11)[0] == first
    others = {env.reset(seed=s)[0] for s in range(6)}
    assert len(others) > 1  # a family's seeds pick different variants
    # Without a seed, resets draw from the generator the first seed set.
    env.reset(seed=5)
    drawn = [env.reset()[1]["seed"] for _ in range(3)]
    env.reset(seed=5)
    assert [env.reset()[1]["seed"] for _ in range(3)] == drawn
    env.close()


def test_stepping_before_reset_or_after_the_end_is_refused() -> None:
    env = SupportSimEnv()
    with pytest.raises(RuntimeError, match="reset"):
        env.step("[]")
    env.reset(seed=0)
    env.step('[{"op": "finish"}]')
    with pytest.raises(RuntimeError, match="reset"):
        env.step("[]")


@pytest.mark.parametrize(("options", "message"), [
    ({"task": "api_incident_hrad"}, "task 'api_incident_hrad' is unknown; did you mean"),
    ({"persona": "grumpy"}, "persona 'grumpy' is unknown; allowed"),
    ({"faults": ["meteor"]}, "fault 'meteor' is unknown; allowed"),
    ({"render_mode": "human"}, "render_mode 'human' is not supported; allowed"),
])
def test_bad_arguments_are_one_clear_error(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SupportSimEnv(**options)


@pytest.mark.parametrize("shared_memory", [True, False])
def test_an_async_vector_env_of_eight_runs_episodes(shared_memory: bool) -> None:
    envs = gym.vector.AsyncVectorEnv(
        [lambda: gym.make(MAKE_ID, persona="cooperative") for _ in range(8)],
        shared_memory=shared_memory)
    try:
        observations, infos = envs.reset(seed=list(range(8)))
        assert len(observations) == 8
        assert [json.loads(o)["turn"] for o in observations] == [1] * 8
        assert list(infos["seed"]) == list(range(8))
        gold = json.dumps([{"op": "finish"}])
        _, rewards, terminated, truncated, infos = envs.step((gold,) * 8)
        assert list(terminated) == [True] * 8 and not any(truncated)
        assert list(infos["termination_reason"]) == ["finished"] * 8
        assert list(rewards) == list(infos["score"])  # one turn: its reward is the score
        # Autoreset: the next step starts new episodes, whose observations are current.
        observations, *_ = envs.step(("[]",) * 8)
        assert [json.loads(o)["turn"] for o in observations] == [1] * 8
        observations, *_ = envs.step(("[]",) * 8)
        assert [json.loads(o)["turn"] for o in observations] == [2] * 8
    finally:
        envs.close()


def test_the_readmes_training_loop_runs(capsys: pytest.CaptureFixture[str]) -> None:
    block = readme_block('gym.make("actors.gym_env:SupportSim/Incident-v0"')
    seen: list[dict[str, Any]] = []

    def my_policy(observation: dict[str, Any]) -> list[dict[str, Any]]:
        seen.append(observation)
        return [] if observation["turn"] < 2 else [{"op": "finish"}]

    exec(compile(block, "README.md", "exec"), {"my_policy": my_policy})
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 3 and all(" finished {" in line for line in printed)
    assert [o["turn"] for o in seen] == [1, 2] * 3


def test_a_task_of_your_own_from_tasks_dir(tmp_path: Path) -> None:
    source = seed_source().replace('task_id="api_incident_hard"', 'task_id="my_own_incident"')
    assert "my_own_incident" in source
    (tmp_path / "my_own_incident.py").write_text(source, encoding="utf-8")
    env = gym.make(MAKE_ID, task="my_own_incident", tasks_dir=str(tmp_path))
    obs, info = env.reset(seed=0)
    assert info["task_id"] == "my_own_incident" == json.loads(obs)["task_id"]
    *_, terminated, _, info = env.step('[{"op": "finish"}]')
    assert terminated and info["termination_reason"] == "finished"
    env.close()
