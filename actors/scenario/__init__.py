"""Scenario files: one scripted or named-agent episode, with the outcome it must have.

:func:`load_scenario` reads and checks a TOML file (its format: :mod:`actors.scenario.file`),
:func:`run_scenario` (inside a trio run) or :func:`run_scenario_sync` plays it and
checks each expectation (:mod:`actors.scenario.expect`), and :func:`format_outcome`
prints one line per check. Every problem with a file is a :class:`ScenarioError` whose
message is one line naming the file, the key and what is allowed.
"""

from actors.scenario.expect import ExpectationCheck
from actors.scenario.file import Scenario, ScenarioError, load_scenario
from actors.scenario.outcome import ScenarioOutcome, format_outcome
from actors.scenario.run import run_scenario, run_scenario_sync

__all__ = [
    "ExpectationCheck",
    "Scenario",
    "ScenarioError",
    "ScenarioOutcome",
    "format_outcome",
    "load_scenario",
    "run_scenario",
    "run_scenario_sync",
]
