"""The grade report: what the grader says of one episode, criterion by criterion.

Made by :class:`sim.grading.GradeAccumulator` (``report()``); written whole in a trace's
result line, so a stored trace carries its grade. The figures follow SPEC §4.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from sim.spec import GRADING_VERSION

__all__ = ["CriterionResult", "GradeReport", "Penalty"]


class CriterionResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    weight: float
    #: The weight after renormalising over the criteria that apply (0 if it does not).
    effective_weight: float
    applies: bool
    value: float | None
    reason: str


class Penalty(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    amount: float
    reason: str


class GradeReport(BaseModel):
    """The grade of one (possibly partial) episode, criterion by criterion."""

    model_config = ConfigDict(frozen=True)

    task_id: str
    score: float
    weighted_score: float
    criteria: tuple[CriterionResult, ...]
    penalties: tuple[Penalty, ...]
    dropped: tuple[str, ...]
    sla_breached: bool
    invalid_operations: int
    premature_status: bool
    grading_version: int = GRADING_VERSION

    def breakdown(self) -> dict[str, float | None]:
        """criterion -> value (``None`` where it does not apply)."""
        return {c.name: c.value for c in self.criteria}

    def criterion(self, name: str) -> CriterionResult:
        return next(c for c in self.criteria if c.name == name)

    def shortfall(self) -> list[str]:
        """What kept the score from 1.0: each criterion below 1 and each penalty, with why."""
        lost = [f"{c.name}={c.value} ({c.reason})" for c in self.criteria
                if c.applies and c.value != 1.0]
        return lost + [f"penalty {p.name} -{p.amount} ({p.reason})" for p in self.penalties]
