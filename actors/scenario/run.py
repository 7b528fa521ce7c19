"""Playing a loaded scenario: one episode, then a check of each expectation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import trio

from actors.episodes import default_agent_timeout, simulate
from actors.scenario.expect import check_expectations
from actors.scenario.file import Scenario
from actors.scenario.outcome import ScenarioOutcome
from sim.episode import EpisodeConfig
from sim.scripted import ScriptedAgent

__all__ = ["run_scenario", "run_scenario_sync"]


def _agent(scenario: Scenario) -> str | Callable[[], Any]:
    if scenario.turns is None:
        assert scenario.agent is not None  # load_scenario guarantees one of the two
        return scenario.agent
    turns = [list(turn) for turn in scenario.turns]
    return lambda: ScriptedAgent(turns)


async def run_scenario(scenario: Scenario) -> ScenarioOutcome:
    """Play ``scenario`` in the current trio run and check its expectations."""
    config = EpisodeConfig(
        agent_timeout=scenario.agent_timeout or default_agent_timeout(scenario.llm))
    result = await simulate(
        scenario.task, _agent(scenario), seed=scenario.seed, persona=scenario.persona,
        faults=scenario.faults, config=config, agent_name=scenario.agent_name,
        privileged=scenario.privileged, llm=scenario.llm,
    )
    checks = check_expectations(scenario.expect, scenario.task, result)
    return ScenarioOutcome(scenario=scenario, result=result, checks=tuple(checks))


def run_scenario_sync(scenario: Scenario) -> ScenarioOutcome:
    """:func:`run_scenario` in a fresh ``trio.run``."""
    return trio.run(run_scenario, scenario)
