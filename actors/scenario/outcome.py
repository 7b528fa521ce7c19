"""A played scenario's outcome, and its text: a header line, then a line per check."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from actors.scenario.expect import ExpectationCheck, format_number
from actors.scenario.file import Scenario
from sim.episode import EpisodeResult
from tasks.errors import display_path

__all__ = ["ScenarioOutcome", "format_outcome"]


class ScenarioOutcome(BaseModel):
    """A played scenario: the episode's result and every expectation's check."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    scenario: Scenario
    result: EpisodeResult
    checks: tuple[ExpectationCheck, ...]

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def failures(self) -> tuple[ExpectationCheck, ...]:
        return tuple(check for check in self.checks if not check.passed)


def format_outcome(outcome: ScenarioOutcome) -> str:
    """A header line (``PASS`` or ``FAIL``, the scenario, the episode's score and end),
    then one line per check (``ok`` or ``FAIL``, expected and actual)."""
    scenario, result = outcome.scenario, outcome.result
    faults = f", faults {', '.join(scenario.faults)}" if scenario.faults else ""
    lines = [
        f"{'PASS' if outcome.passed else 'FAIL'} {scenario.name} "
        f"({display_path(scenario.path)}): "
        f"{scenario.task.task_id}, agent {scenario.agent_name}, seed {scenario.seed}, "
        f"persona {scenario.persona}{faults}"
        f"{', privileged' if result.privileged else ''}: score {format_number(result.score)}, "
        f"{result.termination_reason} after {result.steps} turn(s)"
    ]
    for check in outcome.checks:
        mark = "ok  " if check.passed else "FAIL"
        lines.append(f"  {mark} {check.name}: expected {check.expected}, "
                     f"actual {check.actual}")
    return "\n".join(lines)
