"""The scenario file: its format, and :func:`load_scenario`, which reads and checks one.

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
    agent = "oracle"                    # oracle, heuristic, random, llm or module.path:attribute
    [llm]                               # with agent = "llm" only: the LLMConfig's fields
    model = "gpt-4o-mini"               # required here or as run_sim.py scenario --model
    base_url = "http://127.0.0.1:8080/v1"  # optional: else $OPENAI_BASE_URL, else OpenAI
    temperature = 0.0                   # optional, as are max_tokens, mode ("tools" or
    mode = "json"                       # "json"), request_timeout, max_retries,
    cache_dir = ".llm-cache"            # cache_dir (relative to this file), prices
    prices = {gpt-4o-mini = [0.15, 0.6]}  # model -> USD per 1M prompt, completion tokens

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

The command line's LLM options (``--model``, ``--base-url``, …) override the
``[llm]`` table's keys (:func:`load_scenario`'s ``llm_options``).

Every problem with a file is a :class:`ScenarioError` whose message is one line naming
the file, the key and what is allowed (worded by :mod:`tasks.errors`, as a task file's).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
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

from actors.agents.llm import LLMConfig
from actors.agents.loading import (
    BUILTIN_AGENTS,
    CONFIGURED_AGENTS,
    AgentLoadError,
    resolve_agent,
)
from actors.scenario.expect import FINAL_KEYS, Expectations, FileTable, FinalState, only_known
from actors.teams import FAULTS
from sim.operations import MAX_OPERATIONS_PER_TURN, parse_operation
from sim.ticket import check_operation
from tasks.base import PERSONAS, SupportTaskSpec
from tasks.errors import Wording, display_path, format_validation_error
from tasks.registry import TaskLoadError, get_task

__all__ = ["Scenario", "ScenarioError", "Turn", "load_scenario"]


class ScenarioError(ValueError):
    """A scenario file that cannot be used; ``str(error)`` is one line for the user."""


class Turn(FileTable):
    """One ``[[turns]]`` table: the operations of one turn, in order."""

    ops: tuple[Any, ...] = ()
    #: The turn deliberately sends invalid operations; they are not checked at load.
    allow_invalid: StrictBool = False


class _ScenarioFile(FileTable):
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
    #: The ``llm`` agent's configuration, checked as an LLMConfig once merged with the
    #: command line's options (which may give the model).
    llm: dict[StrictStr, Any] | None = None
    expect: Expectations = Expectations()

    @field_validator("persona")
    @classmethod
    def _persona(cls, value: str | None) -> str | None:
        only_known((value,) if value is not None else (), PERSONAS, "is unknown")
        return value

    @field_validator("faults")
    @classmethod
    def _faults(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        only_known(value, FAULTS, "is unknown")
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
                "random, llm or module.path:attribute) or [[turns]] tables (a script)"
            )
        if self.llm is not None and self.agent != "llm":
            given = f"agent is {self.agent!r}" if self.agent else "the agent is [[turns]]"
            raise ValueError(f"llm: an [llm] table, but {given}; allowed: an [llm] table "
                             'with agent = "llm" only')
        return self


class Scenario(BaseModel):
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
    #: The ``llm`` agent's configuration (``agent == "llm"`` only).
    llm: LLMConfig | None = None
    expect: Expectations

    @property
    def agent_name(self) -> str:
        return self.agent if self.agent is not None else "scripted"


def _toml_kind(value: Any) -> str:
    kinds = ((bool, "a boolean"), (int, "an integer"), (float, "a float"), (str, "text"),
             (list, "an array"), (dict, "a table"))
    for kind, name in kinds:
        if isinstance(value, kind):
            return name
    return f"a {type(value).__name__}"


#: How messages name a scenario file's parts: TOML keys, arrays and tables.
_WORDING = Wording(
    member="key", sequence="an array", boolean="true or false", table="a table",
    tables={"": (_ScenarioFile, "a TOML document"),
            "expect": (Expectations, "an [expect] table"),
            "expect.final": (FinalState, "an [expect.final] table"),
            "turns[]": (Turn, "a [[turns]] table: ops = [operation tables], "
                              "allow_invalid = true|false"),
            "llm": (LLMConfig, "an [llm] table of the LLMConfig's keys")},
    # The [llm] table is checked as an LLMConfig of its own: its errors sit under llm.
    placed={LLMConfig.__name__: "llm"},
    kind_of=_toml_kind,
)


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
                                   f"catalog; allowed: {', '.join(allowed)}")


def _llm_config(file: _ScenarioFile, path: Path, shown: str,
                options: Mapping[str, Any]) -> LLMConfig | None:
    """The ``llm`` agent's configuration: the ``[llm]`` table, ``options`` (the command
    line's) over it; ``None`` for any other agent."""
    if file.agent != "llm":
        return None
    table = dict(file.llm or {})
    if isinstance(table.get("cache_dir"), str):  # as tasks_dir: relative to this file
        table["cache_dir"] = str(path.parent / table["cache_dir"])
    merged = {**table, **options}
    if "model" not in merged:
        raise _fail(shown, "llm.model: missing; allowed: model = NAME in an [llm] table, or "
                           "the command line's --model NAME")
    try:
        return LLMConfig.model_validate(merged)
    except ValidationError as error:
        raise _fail(shown, format_validation_error(error, _WORDING)) from None


def load_scenario(path: str | Path, llm_options: Mapping[str, Any] | None = None) -> Scenario:
    """Read and check a scenario file; :class:`ScenarioError` (one line) if it is unusable.

    ``llm_options`` (LLMConfig keys: the command line's ``--model``, ``--base-url``, …)
    override the ``[llm]`` table of a scenario whose agent is ``llm``."""
    path = Path(path)
    shown = display_path(path)
    data = _read_toml(path, shown)
    try:
        file = _ScenarioFile.model_validate(data)
    except ValidationError as error:
        raise _fail(shown, format_validation_error(error, _WORDING)) from None
    folders = [path.parent / folder for folder in file.tasks_dir]
    try:
        task = get_task(file.task, folders, seed=file.seed)  # a family's variant
    except TaskLoadError as error:
        key = "task" if "is unknown" in str(error) else "tasks_dir"
        raise _fail(shown, f"{key}: {error}") from None
    if file.agent is not None:
        if file.agent == "scripted":
            names = ", ".join(n for n in (*BUILTIN_AGENTS, *CONFIGURED_AGENTS)
                              if n != "scripted")
            raise _fail(shown, f"agent: 'scripted' plays [[turns]] tables; allowed: {names}, "
                               "module.path:attribute, or [[turns]] instead of agent")
        llm = _llm_config(file, path, shown, llm_options or {})
        try:
            resolve_agent(file.agent, llm=llm)
        except AgentLoadError as error:
            raise _fail(shown, f"agent: {error}") from None
    else:
        llm = None
    _check_turns(file, task, shown)
    _check_final(file.expect, task, shown)
    return Scenario(
        path=path, name=file.name or path.stem, description=file.description, task=task,
        seed=file.seed, agent=file.agent,
        turns=None if file.turns is None else tuple(turn.ops for turn in file.turns),
        persona=file.persona or task.default_persona, faults=file.faults,
        agent_timeout=file.agent_timeout, privileged=file.privileged, llm=llm,
        expect=file.expect,
    )
