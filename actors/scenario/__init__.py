"""Scenario files: one scripted or named-agent episode, with the outcome it must have.

A scenario is a TOML file (read with the standard library's ``tomllib``); every key, for
illustration (the values do not make one coherent scenario; see scenarios/*.toml)::

    name = "seed_follow_up_good"        # optional; defaults to the file's stem
    description = "What this scenario shows, in a sentence or two."
    task = "api_incident_hard"          # a task id
    tasks_dir = ["my_tasks"]            # optional: folders of task files, relative to this file
    seed = 0                            # optional, default 0
    persona = "impatient"               # optional, default: the task's own persona
    faults = ["eta_slips"]              # optional: slow_eta, eta_slips, team_silent
    agent_timeout = 5.0                 # optional: real seconds per decision (default 60)
    privileged = true                   # optional: hand the agent the whole task, gold
                                        # included, in reset (default false; the oracle
                                        # is privileged by itself)

    # The agent: EITHER a name ...
    agent = "oracle"                    # oracle, heuristic, random or module.path:attribute

    # ... OR a script: one [[turns]] table per turn, in order. Turn k of the episode
    # plays the k-th table's ``ops`` (operation tables keyed by "op", as in
    # sim.operations); an empty table waits; after the last table the agent waits.
    [[turns]]                           # turn 1
    ops = [
      {op = "reply", message = "Could you send the request IDs?", request_fields = ["request_ids"]},
      {op = "escalate", queue = "platform_engineering", summary = "5xx across regions"},
    ]
    [[turns]]                           # turn 2: wait
    [[turns]]                           # turn 3
    ops = [{op = "finish"}]

    [expect]                            # every key is optional; each one is a check
    score_min = 0.9
    score_max = 1.0
    termination_reason = "finished"     # finished, max_steps, agent_error, agent_timeout, sim_error
    sla = "met"                         # met or breached
    steps = 3                           # turns taken, exactly
    steps_max = 4                       # turns taken, at most
    invalid_operations = 0
    penalties = ["over_escalation"]     # the penalties incurred, exactly, by name ([] = none)
    [expect.final]                      # the ticket's final values
    status = "escalated"
    risk_flags = ["p1_incident", "sla_breach"]   # as a set
    [expect.criteria]                   # criterion -> exact value, {min =, max =} or "n/a"
    follow_up_handling = 1.0
    kept_informed = "n/a"               # the criterion does not apply
    [expect.events]                     # trace event kind -> count, exactly or {min =, max =}
    team_update = 2

Operations of a script are checked against the task's catalog when the file loads, so a
typo fails early; a turn that is *meant* to send invalid operations (to test how they
are counted) says ``allow_invalid = true``. An operation table may also be written as a
``[[turns.ops]]`` section under its ``[[turns]]``: TOML reads both forms the same way.

:func:`load_scenario` reads and checks a file, :func:`run_scenario` (inside a trio run)
or :func:`run_scenario_sync` plays it and checks each expectation, and
:func:`format_outcome` prints one line per check. Every problem with a file is a
:class:`ScenarioError` whose message is one line naming the file, the key and what is
allowed.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Annotated, Any, Literal

import trio
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from actors.agents.loading import BUILTIN_AGENTS, AgentLoadError, resolve_agent
from actors.episodes import simulate
from actors.teams import FAULTS
from sim.episode import EpisodeConfig, EpisodeResult
from sim.grading import GradeAccumulator
from sim.operations import MAX_OPERATIONS_PER_TURN, parse_operation
from sim.scripted import ScriptedAgent
from sim.spec import CRITERIA_WEIGHTS, EVENT_KINDS, PENALTY_NAMES, TERMINATION_REASONS
from sim.ticket import check_operation
from tasks.base import PERSONAS, SupportTaskSpec
from tasks.registry import TaskLoadError, get_task

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

#: The ticket values ``[expect.final]`` may name, and the catalog dimension of each.
FINAL_KEYS: dict[str, str] = {
    "queue": "queues", "priority": "priorities", "issue_type": "issue_types",
    "status": "statuses", "resolution_code": "resolution_codes", "risk_flags": "risk_flags",
}
NOT_APPLICABLE = "n/a"
_TOLERANCE = 1e-9


class ScenarioError(ValueError):
    """A scenario file that cannot be used; ``str(error)`` is one line for the user."""


# --------------------------------------------------------------------------- file format


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _allowed(values: tuple[str, ...] | list[str]) -> str:
    return ", ".join(values)


def _only_known(names: Iterable[str], allowed: tuple[str, ...] | list[str], problem: str) -> None:
    """Raise for the first of ``names`` not in ``allowed``: "'x' <problem>; allowed: …"."""
    for name in names:
        if name not in allowed:
            raise ValueError(f"{name!r} {problem}; allowed: {_allowed(allowed)}")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class Range(_Model):
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
            return f">= {_number(self.min)}"
        if self.min is None:
            return f"<= {_number(self.max)}"
        return f"{_number(self.min)}..{_number(self.max)}"


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


class FinalState(_Model):
    """``[expect.final]``: the ticket's values when the episode ended."""

    queue: StrictStr | None = None
    priority: StrictStr | None = None
    issue_type: StrictStr | None = None
    status: StrictStr | None = None
    resolution_code: StrictStr | None = None
    risk_flags: tuple[StrictStr, ...] | None = None


class Expectations(_Model):
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
        _only_known((value,) if value is not None else (), TERMINATION_REASONS, "is unknown")
        return value

    @field_validator("penalties")
    @classmethod
    def _penalties(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        _only_known(value or (), PENALTY_NAMES, "is unknown")
        return value

    @field_validator("criteria")
    @classmethod
    def _criteria(cls, value: dict[str, Any]) -> dict[str, Any]:
        _only_known(value, list(CRITERIA_WEIGHTS), "is not a criterion")
        return value

    @field_validator("events")
    @classmethod
    def _events(cls, value: dict[str, Any]) -> dict[str, Any]:
        _only_known(value, EVENT_KINDS, "is not an event kind")
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


class Turn(_Model):
    """One ``[[turns]]`` table: the operations of one turn, in order."""

    ops: tuple[Any, ...] = ()
    #: The turn deliberately sends invalid operations; they are not checked at load.
    allow_invalid: StrictBool = False


class _ScenarioFile(_Model):
    """A scenario file's top level, as written."""

    name: StrictStr | None = Field(default=None, min_length=1)
    description: StrictStr = Field(min_length=1)
    task: StrictStr = Field(min_length=1)
    tasks_dir: tuple[StrictStr, ...] = ()
    seed: StrictInt = Field(default=0, ge=0)  # as run --seed: a whole number >= 0
    agent: StrictStr | None = Field(default=None, min_length=1)
    turns: tuple[Turn, ...] | None = None
    persona: StrictStr | None = None
    faults: tuple[StrictStr, ...] = ()
    agent_timeout: StrictFloat | None = Field(default=None, gt=0, allow_inf_nan=False)
    privileged: StrictBool = False
    expect: Expectations = Expectations()

    @field_validator("persona")
    @classmethod
    def _persona(cls, value: str | None) -> str | None:
        _only_known((value,) if value is not None else (), PERSONAS, "is unknown")
        return value

    @field_validator("faults")
    @classmethod
    def _faults(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        _only_known(value, FAULTS, "is unknown")
        return value

    @model_validator(mode="after")
    def _one_agent(self) -> _ScenarioFile:
        if self.agent is not None and self.turns is not None:
            raise ValueError(
                "agent, turns: both are given; allowed: either agent = NAME or [[turns]] "
                "tables (a script), not both"
            )
        if self.agent is None and self.turns is None:
            raise ValueError(
                "agent, turns: neither is given; allowed: agent = NAME (oracle, heuristic, "
                "random or module.path:attribute) or [[turns]] tables (a script)"
            )
        return self


class Scenario(_Model):
    """A loaded scenario: the file's content with the task resolved and names checked."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    path: Path
    name: str
    description: str
    task: SupportTaskSpec
    seed: int
    #: The agent's name, or ``None`` when ``turns`` is the agent.
    agent: str | None
    #: The script: turn k plays ``turns[k-1]`` (operation dicts as written).
    turns: tuple[tuple[Any, ...], ...] | None
    persona: str
    faults: tuple[str, ...]
    agent_timeout: float | None
    #: The agent is handed the whole task (gold included) in ``reset``.
    privileged: bool = False
    expect: Expectations

    @property
    def agent_name(self) -> str:
        return self.agent if self.agent is not None else "scripted"


# --------------------------------------------------------------------------- loading


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _loc(parts: tuple[int | str, ...]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


#: The table at each key path (list indices as ``[]``), for "unknown key" and "not a table".
_TABLES: dict[str, tuple[type[BaseModel], str]] = {
    "": (_ScenarioFile, "a TOML document"),
    "expect": (Expectations, "an [expect] table"),
    "expect.final": (FinalState, "an [expect.final] table"),
    "turns[]": (Turn, "a [[turns]] table: ops = [operation tables], allow_invalid = true|false"),
}


def _toml_kind(value: Any) -> str:
    kinds = ((bool, "a boolean"), (int, "an integer"), (float, "a float"), (str, "text"),
             (list, "an array"), (dict, "a table"))
    for kind, name in kinds:
        if isinstance(value, kind):
            return name
    return f"a {type(value).__name__}"


def _type_allowed(kind: str, ctx: dict[str, Any], table: str) -> str:
    if kind == "literal_error":
        return str(ctx.get("expected", ""))
    if kind.startswith("int_"):
        return "a whole number"
    if kind.startswith("float_"):
        return "a number"
    if kind.startswith("string_"):
        return "text"
    if kind.startswith("bool_"):
        return "true or false"
    if kind.startswith(("tuple_", "list_")):
        return "an array"
    if kind.startswith(("model_", "dict_")):
        return _TABLES[table][1] if table in _TABLES else "a table"
    return "a value of the documented type"


def _validation_message(error: ValidationError) -> str:
    first: ErrorDetails = error.errors()[0]
    parts = tuple(first["loc"])
    where = _loc(parts)
    kind, ctx = first["type"], dict(first.get("ctx") or {})
    parent = re.sub(r"\[\d+\]", "[]", _loc(parts[:-1]))
    here = re.sub(r"\[\d+\]", "[]", where)
    if kind == "value_error":
        message = first["msg"].removeprefix("Value error, ")
    elif kind == "extra_forbidden":
        model = _TABLES.get(parent, (None, ""))[0]
        keys = _allowed(list(model.model_fields)) if model else "the documented keys"
        message = f"unknown key; allowed: {keys}"
    elif kind == "missing":
        message = "missing; allowed: a value (this key is required)"
    elif kind.endswith(("_type", "_parsing", "_error")) or kind == "int_from_float":
        got = first.get("input")
        message = (f"got {_toml_kind(got)} {got!r:.80}; "
                   f"allowed: {_type_allowed(kind, ctx, here)}")
    else:  # a bound
        bounds = {"greater_than": "> {gt}", "greater_than_equal": ">= {ge}",
                  "less_than": "< {lt}", "less_than_equal": "<= {le}",
                  "string_too_short": "at least {min_length} character(s)",
                  "too_short": "at least {min_length} item(s)",
                  "finite_number": "a finite number"}
        allowed = bounds.get(kind, "a value within the documented bounds").format(**ctx)
        message = f"{first.get('input')!r:.80} is out of bounds; allowed: {allowed}"
    more = error.error_count() - 1
    suffix = f" (+{more} more)" if more else ""
    return (f"{where}: {message}" if where else message) + suffix


def _fail(shown: str, message: str) -> ScenarioError:
    return ScenarioError(f"{shown}: {message}".replace("\n", " "))


def _read_toml(path: Path, shown: str) -> dict[str, Any]:
    if path.suffix != ".toml":
        raise _fail(shown, "not a .toml file; allowed: a TOML scenario file (*.toml)")
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise _fail(shown, "no such file; allowed: a TOML scenario file (*.toml)") from None
    except OSError as error:
        raise _fail(shown, f"cannot be read ({error.strerror}); allowed: a readable file") \
            from None
    except UnicodeDecodeError as error:
        raise _fail(shown, f"not UTF-8 text (byte {error.start}); allowed: UTF-8 TOML") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        line = getattr(error, "lineno", None)  # Python >= 3.14
        column = getattr(error, "colno", None)
        found = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
        if found:  # Python 3.11-3.13 put the place in the message
            message = message[: found.start()]
            line, column = line or int(found[1]), column or int(found[2])
        place = f":{line}:{column}" if line is not None else ""
        raise ScenarioError(
            f"{shown}{place}: malformed TOML: {message}; allowed: TOML 1.0 (https://toml.io)"
        ) from None


def _check_turns(file: _ScenarioFile, task: SupportTaskSpec, shown: str) -> None:
    turns = file.turns or ()
    if len(turns) > task.max_steps:
        raise _fail(shown, f"turns: {len(turns)} turns, but {task.task_id} allows "
                           f"max_steps {task.max_steps}; allowed: at most {task.max_steps}")
    hint = "or allow_invalid = true on a turn that sends it on purpose"
    for number, turn in enumerate(turns):
        if turn.allow_invalid:
            continue
        if len(turn.ops) > MAX_OPERATIONS_PER_TURN:
            raise _fail(shown, f"turns[{number}].ops: {len(turn.ops)} operations (turn "
                               f"{number + 1}); allowed: at most {MAX_OPERATIONS_PER_TURN}, "
                               f"{hint}")
        for index, op in enumerate(turn.ops):
            operation, error, _ = parse_operation(op)
            if operation is not None:
                error = check_operation(operation, task.catalog)
            if error is not None:
                if "allowed" not in error:
                    error += "; allowed: an operation as in sim.operations"
                raise _fail(shown, f"turns[{number}].ops[{index}] (turn {number + 1}): "
                                   f"{error}, {hint}")


def _check_final(expect: Expectations, task: SupportTaskSpec, shown: str) -> None:
    final = expect.final
    for key, dimension in FINAL_KEYS.items():
        value = getattr(final, key)
        allowed = task.catalog.values(dimension)
        for item in (value if isinstance(value, tuple) else (value,)):
            if item is not None and item not in allowed:
                raise _fail(shown, f"expect.final.{key}: {item!r} is not in {task.task_id}'s "
                                   f"catalog; allowed: {_allowed(allowed)}")


def load_scenario(path: str | Path) -> Scenario:
    """Read and check a scenario file; :class:`ScenarioError` (one line) if it is unusable."""
    path = Path(path)
    shown = _display(path)
    data = _read_toml(path, shown)
    try:
        file = _ScenarioFile.model_validate(data)
    except ValidationError as error:
        raise _fail(shown, _validation_message(error)) from None
    folders = [path.parent / folder for folder in file.tasks_dir]
    try:
        task = get_task(file.task, folders, seed=file.seed)  # a family's variant
    except TaskLoadError as error:
        key = "task" if "is unknown" in str(error) else "tasks_dir"
        raise _fail(shown, f"{key}: {error}") from None
    if file.agent is not None:
        if file.agent == "scripted":
            names = _allowed([n for n in BUILTIN_AGENTS if n != "scripted"])
            raise _fail(shown, f"agent: 'scripted' plays [[turns]] tables; allowed: {names}, "
                               "module.path:attribute, or [[turns]] instead of agent")
        try:
            resolve_agent(file.agent)
        except AgentLoadError as error:
            raise _fail(shown, f"agent: {error}") from None
    _check_turns(file, task, shown)
    _check_final(file.expect, task, shown)
    return Scenario(
        path=path, name=file.name or path.stem, description=file.description, task=task,
        seed=file.seed, agent=file.agent,
        turns=None if file.turns is None else tuple(turn.ops for turn in file.turns),
        persona=file.persona or task.default_persona, faults=file.faults,
        agent_timeout=file.agent_timeout, privileged=file.privileged, expect=file.expect,
    )


# --------------------------------------------------------------------------- running


class ExpectationCheck(_Model):
    """One expectation of a scenario against what the episode did."""

    #: The expectation's key path, e.g. ``criteria.follow_up_handling``.
    name: str
    expected: str
    actual: str
    passed: bool


class ScenarioOutcome(_Model):
    """A played scenario: the episode's result and every expectation's check."""

    scenario: Scenario
    result: EpisodeResult
    checks: tuple[ExpectationCheck, ...]

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def failures(self) -> tuple[ExpectationCheck, ...]:
        return tuple(check for check in self.checks if not check.passed)


def _number(value: float | None) -> str:
    return NOT_APPLICABLE if value is None else f"{value:.6g}"


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=0.0, abs_tol=_TOLERANCE)


def _check_value(name: str, expected: float | Range | str, actual: float | None
                 ) -> ExpectationCheck:
    if isinstance(expected, Range):
        passed, shown = actual is not None and actual in expected, expected.describe()
    elif isinstance(expected, str):  # "n/a": the criterion must not apply
        passed, shown = actual is None, expected
    else:
        passed, shown = actual is not None and _close(actual, expected), _number(expected)
    return ExpectationCheck(name=name, expected=shown, actual=_number(actual), passed=passed)


def _names(values: Any) -> str:
    return "[" + ", ".join(sorted(values)) + "]"


def _checks(scenario: Scenario, result: EpisodeResult) -> list[ExpectationCheck]:
    expect = scenario.expect
    # One replay of the trace, in the world it was played in, gives both the grade
    # (penalties) and the final ticket.
    world = result.trace.header.world
    replay = (GradeAccumulator(scenario.task, world) if world is not None
              else GradeAccumulator(scenario.task))
    for event in result.trace.events:
        replay.feed(event)
    report, ticket = replay.report(), replay.ticket
    checks: list[ExpectationCheck] = []

    def add(name: str, expected: str, actual: str, passed: bool) -> None:
        checks.append(ExpectationCheck(name=name, expected=expected, actual=actual,
                                       passed=passed))

    score = result.score
    if expect.score_min is not None:
        add("score_min", f">= {_number(expect.score_min)}", _number(score),
            score >= expect.score_min - _TOLERANCE)
    if expect.score_max is not None:
        add("score_max", f"<= {_number(expect.score_max)}", _number(score),
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


def _agent(scenario: Scenario) -> str | Callable[[], Any]:
    if scenario.turns is None:
        assert scenario.agent is not None  # load_scenario guarantees one of the two
        return scenario.agent
    turns = [list(turn) for turn in scenario.turns]
    return lambda: ScriptedAgent(turns)


async def run_scenario(scenario: Scenario) -> ScenarioOutcome:
    """Play ``scenario`` in the current trio run and check its expectations."""
    config = (EpisodeConfig() if scenario.agent_timeout is None
              else EpisodeConfig(agent_timeout=scenario.agent_timeout))
    result = await simulate(
        scenario.task, _agent(scenario), seed=scenario.seed, persona=scenario.persona,
        faults=scenario.faults, config=config, agent_name=scenario.agent_name,
        privileged=scenario.privileged,
    )
    return ScenarioOutcome(scenario=scenario, result=result,
                           checks=tuple(_checks(scenario, result)))


def run_scenario_sync(scenario: Scenario) -> ScenarioOutcome:
    """:func:`run_scenario` in a fresh ``trio.run``."""
    return trio.run(run_scenario, scenario)


def format_outcome(outcome: ScenarioOutcome) -> str:
    """A header line, then one line per check (``ok`` or ``FAIL``)."""
    scenario, result = outcome.scenario, outcome.result
    faults = f", faults {', '.join(scenario.faults)}" if scenario.faults else ""
    lines = [
        f"{'PASS' if outcome.passed else 'FAIL'} {scenario.name} ({_display(scenario.path)}): "
        f"{scenario.task.task_id}, agent {scenario.agent_name}, seed {scenario.seed}, "
        f"persona {scenario.persona}{faults}"
        f"{', privileged' if result.privileged else ''}: score {_number(result.score)}, "
        f"{result.termination_reason} after {result.steps} turn(s)"
    ]
    for check in outcome.checks:
        mark = "ok  " if check.passed else "FAIL"
        lines.append(f"  {mark} {check.name}: expected {check.expected}, "
                     f"actual {check.actual}")
    return "\n".join(lines)
