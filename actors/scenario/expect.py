"""What a scenario expects (its ``[expect]`` table), and the check of each expectation.

Every key of ``[expect]`` is optional and each one given is one check:
:func:`check_expectations` replays the episode's trace once, in the world it was played
in, and compares. Numbers compare within ``1e-9``; a range ``{min = .., max = ..}`` is
inclusive; ``"n/a"`` expects a criterion not to apply. The models here also hold what
the scenario file's other tables share: :class:`FileTable` (frozen, unknown keys
refused) and :func:`only_known`.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    StrictStr,
    field_validator,
    model_validator,
)

from sim.episode import EpisodeResult
from sim.grading import GradeAccumulator
from sim.spec import CRITERIA_WEIGHTS, EVENT_KINDS, PENALTY_NAMES, TERMINATION_REASONS
from tasks.base import SupportTaskSpec

__all__ = [
    "FINAL_KEYS",
    "NOT_APPLICABLE",
    "CountExpectation",
    "CriterionExpectation",
    "ExpectationCheck",
    "Expectations",
    "FileTable",
    "FinalState",
    "Range",
    "check_expectations",
    "format_number",
    "only_known",
]

#: The ticket values ``[expect.final]`` may name, and the catalog dimension of each.
FINAL_KEYS: dict[str, str] = {
    "queue": "queues", "priority": "priorities", "issue_type": "issue_types",
    "status": "statuses", "resolution_code": "resolution_codes", "risk_flags": "risk_flags",
}
NOT_APPLICABLE = "n/a"
_TOLERANCE = 1e-9


class FileTable(BaseModel):
    """A table of a scenario file: frozen, and a key it does not define is refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def only_known(names: Iterable[str], allowed: Iterable[str], problem: str) -> None:
    """Raise ``ValueError("'x' <problem>; allowed: …")`` for the first of ``names`` not in
    ``allowed`` (a pydantic validator's way to refuse a value)."""
    allowed = list(allowed)
    for name in names:
        if name not in allowed:
            raise ValueError(f"{name!r} {problem}; allowed: {', '.join(allowed)}")


def format_number(value: float | None) -> str:
    """A number as checks show it (six significant digits); ``None`` is ``n/a``."""
    return NOT_APPLICABLE if value is None else f"{value:.6g}"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class Range(FileTable):
    """``{min = .., max = ..}``: an inclusive range; either bound may be left out."""

    min: StrictFloat | None = Field(default=None, allow_inf_nan=False)
    max: StrictFloat | None = Field(default=None, allow_inf_nan=False)

    @model_validator(mode="after")
    def _bounds(self) -> Range:
        if self.min is None and self.max is None:
            raise ValueError("an empty range; allowed: {min = .., max = ..} with one or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min:g} is above max {self.max:g}; allowed: min <= max")
        return self

    def __contains__(self, value: object) -> bool:
        if not _is_number(value):
            return False
        number = float(value)  # type: ignore[arg-type]
        return (self.min is None or number >= self.min - _TOLERANCE) and (
            self.max is None or number <= self.max + _TOLERANCE
        )

    def describe(self) -> str:
        if self.max is None:
            return f">= {format_number(self.min)}"
        if self.min is None:
            return f"<= {format_number(self.max)}"
        return f"{format_number(self.min)}..{format_number(self.max)}"


def _range_shape(value: Any, *, low: float, high: float | None, what: str) -> None:
    """Check a ``{min, max}`` table's keys and numbers before pydantic sees it."""
    for key, bound in value.items():
        if key not in ("min", "max"):
            raise ValueError(f"{key!r} is not a range key; allowed: min, max")
        if not _is_number(bound) or bound < low or (high is not None and bound > high):
            raise ValueError(f"{key} = {bound!r}; allowed: {what}")


def _criterion_value(value: Any) -> Any:
    allowed = "a number in 0..1, a table {min = .., max = ..} or 'n/a' (does not apply)"
    if isinstance(value, dict):
        _range_shape(value, low=0.0, high=1.0, what="a number in 0..1")
    elif value != NOT_APPLICABLE and not (_is_number(value) and 0 <= value <= 1):
        raise ValueError(f"{value!r} is not an expected value; allowed: {allowed}")
    return value


def _count_value(value: Any) -> Any:
    allowed = "a whole number >= 0 or a table {min = .., max = ..}"
    if isinstance(value, dict):
        _range_shape(value, low=0.0, high=None, what="a whole number >= 0")
    elif not (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
        raise ValueError(f"{value!r} is not a count; allowed: {allowed}")
    return value


CriterionExpectation = Annotated[
    StrictFloat | Range | Literal["n/a"], BeforeValidator(_criterion_value)
]
CountExpectation = Annotated[StrictInt | Range, BeforeValidator(_count_value)]


class FinalState(FileTable):
    """``[expect.final]``: the ticket's values when the episode ended."""

    queue: StrictStr | None = None
    priority: StrictStr | None = None
    issue_type: StrictStr | None = None
    status: StrictStr | None = None
    resolution_code: StrictStr | None = None
    risk_flags: tuple[StrictStr, ...] | None = None


class Expectations(FileTable):
    """``[expect]``: what the episode must show. Every key left out is not checked."""

    score_min: StrictFloat | None = Field(default=None, ge=0, le=1, allow_inf_nan=False)
    score_max: StrictFloat | None = Field(default=None, ge=0, le=1, allow_inf_nan=False)
    termination_reason: StrictStr | None = None
    sla: Literal["met", "breached"] | None = None
    steps: StrictInt | None = Field(default=None, ge=0)
    steps_max: StrictInt | None = Field(default=None, ge=0)
    invalid_operations: StrictInt | None = Field(default=None, ge=0)
    penalties: tuple[StrictStr, ...] | None = None
    final: FinalState = FinalState()
    criteria: dict[str, CriterionExpectation] = {}
    events: dict[str, CountExpectation] = {}

    @field_validator("termination_reason")
    @classmethod
    def _reason(cls, value: str | None) -> str | None:
        only_known((value,) if value is not None else (), TERMINATION_REASONS, "is unknown")
        return value

    @field_validator("penalties")
    @classmethod
    def _penalties(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        only_known(value or (), PENALTY_NAMES, "is unknown")
        return value

    @field_validator("criteria")
    @classmethod
    def _criteria(cls, value: dict[str, Any]) -> dict[str, Any]:
        only_known(value, CRITERIA_WEIGHTS, "is not a criterion")
        return value

    @field_validator("events")
    @classmethod
    def _events(cls, value: dict[str, Any]) -> dict[str, Any]:
        only_known(value, EVENT_KINDS, "is not an event kind")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> Expectations:
        if (self.score_min is not None and self.score_max is not None
                and self.score_min > self.score_max):
            raise ValueError(
                f"score_min {self.score_min:g} is above score_max {self.score_max:g}; "
                "allowed: score_min <= score_max"
            )
        return self


class ExpectationCheck(BaseModel):
    """One expectation of a scenario against what the episode did."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: The expectation's key path, e.g. ``criteria.follow_up_handling``.
    name: str
    expected: str
    actual: str
    passed: bool


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=0.0, abs_tol=_TOLERANCE)


def _check_value(name: str, expected: float | Range | str, actual: float | None
                 ) -> ExpectationCheck:
    if isinstance(expected, Range):
        passed, shown = actual is not None and actual in expected, expected.describe()
    elif isinstance(expected, str):  # "n/a": the criterion must not apply
        passed, shown = actual is None, expected
    else:
        passed, shown = actual is not None and _close(actual, expected), format_number(expected)
    return ExpectationCheck(name=name, expected=shown, actual=format_number(actual),
                            passed=passed)


def _names(values: Any) -> str:
    return "[" + ", ".join(sorted(values)) + "]"


def check_expectations(expect: Expectations, task: SupportTaskSpec, result: EpisodeResult
                       ) -> list[ExpectationCheck]:
    """One check per expectation given, in the order of the ``[expect]`` keys above."""
    # One replay of the trace, in the world it was played in, gives both the grade
    # (penalties) and the final ticket.
    world = result.trace.header.world
    replay = GradeAccumulator(task, world) if world is not None else GradeAccumulator(task)
    for event in result.trace.events:
        replay.feed(event)
    report, ticket = replay.report(), replay.ticket
    checks: list[ExpectationCheck] = []

    def add(name: str, expected: str, actual: str, passed: bool) -> None:
        checks.append(ExpectationCheck(name=name, expected=expected, actual=actual,
                                       passed=passed))

    score = result.score
    if expect.score_min is not None:
        add("score_min", f">= {format_number(expect.score_min)}", format_number(score),
            score >= expect.score_min - _TOLERANCE)
    if expect.score_max is not None:
        add("score_max", f"<= {format_number(expect.score_max)}", format_number(score),
            score <= expect.score_max + _TOLERANCE)
    if expect.termination_reason is not None:
        add("termination_reason", expect.termination_reason, result.termination_reason,
            result.termination_reason == expect.termination_reason)
    if expect.sla is not None:
        sla = "breached" if result.sla_breached else "met"
        add("sla", expect.sla, sla, sla == expect.sla)
    if expect.steps is not None:
        add("steps", str(expect.steps), str(result.steps), result.steps == expect.steps)
    if expect.steps_max is not None:
        add("steps_max", f"<= {expect.steps_max}", str(result.steps),
            result.steps <= expect.steps_max)
    if expect.invalid_operations is not None:
        add("invalid_operations", str(expect.invalid_operations),
            str(result.invalid_operations),
            result.invalid_operations == expect.invalid_operations)
    if expect.penalties is not None:
        incurred = {penalty.name for penalty in report.penalties}
        add("penalties", _names(set(expect.penalties)), _names(incurred),
            incurred == set(expect.penalties))
    for key in FINAL_KEYS:
        wanted = getattr(expect.final, key)
        if wanted is None:
            continue
        if isinstance(wanted, tuple):
            flags = set(ticket.risk_flags)
            add(f"final.{key}", _names(set(wanted)), _names(flags), flags == set(wanted))
        else:
            value = getattr(ticket, key)
            add(f"final.{key}", wanted, str(value), value == wanted)
    breakdown = result.breakdown
    for criterion, expected in expect.criteria.items():
        checks.append(_check_value(f"criteria.{criterion}", expected, breakdown[criterion]))
    counts = Counter(event.kind for event in result.trace.events)
    for kind, count in expect.events.items():
        actual = counts[kind]
        if isinstance(count, Range):
            add(f"events.{kind}", count.describe(), str(actual), actual in count)
        else:
            add(f"events.{kind}", str(count), str(actual), actual == count)
    return checks
