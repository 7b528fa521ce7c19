"""Scenario files: the shipped ones pass, failures say which check, bad files say why."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cli_helpers import one_line_error, run_cli

from actors.scenario import (
    ScenarioError,
    format_outcome,
    load_scenario,
    run_scenario,
    run_scenario_sync,
)
from tasks.registry import SHIPPED_TASKS_DIR

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted((ROOT / "scenarios").glob("*.toml"))


@pytest.fixture(autouse=True)
def _project_root_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    # agent_timeout.toml names its agent as scenarios.stalling_agent:StallingAgent,
    # a module path from the project's root (as `python run_sim.py` sees it).
    monkeypatch.syspath_prepend(str(ROOT))


def test_the_shipped_scenarios_tell_the_story() -> None:
    assert len(SHIPPED) >= 8
    names = {path.stem for path in SHIPPED}
    assert {"oracle_seed", "seed_follow_up_handled", "seed_follow_up_ignored",
            "silent_customer", "impatient_after_breach", "misrouted_escalation",
            "over_escalation_minefield", "eta_slips_stale"} <= names


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
async def test_shipped_scenario_loads_and_passes(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.name == path.stem
    assert scenario.description.strip()
    outcome = await run_scenario(scenario)
    assert outcome.checks, "a shipped scenario must expect something"
    assert outcome.passed, format_outcome(outcome)


def _write(tmp_path: Path, text: str, name: str = "case.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


ORACLE = 'description = "d"\ntask = "api_incident_hard"\nagent = "oracle"\n'


def test_a_failing_expectation_says_which_expected_and_actual(tmp_path: Path) -> None:
    path = _write(tmp_path, ORACLE + """
[expect]
score_max = 0.5
termination_reason = "finished"
[expect.final]
queue = "billing"
[expect.criteria]
status = 0.0
kept_informed = {min = 0.5}
[expect.events]
team_update = 2
""")
    outcome = run_scenario_sync(load_scenario(path))
    assert not outcome.passed
    failed = {(c.name, c.expected, c.actual) for c in outcome.failures}
    assert failed == {
        ("score_max", "<= 0.5", "1"),
        ("final.queue", "billing", "platform_engineering"),
        ("criteria.status", "0", "1"),
        ("events.team_update", "2", "1"),
    }
    assert {c.name for c in outcome.checks if c.passed} == {
        "termination_reason", "criteria.kept_informed"
    }
    text = format_outcome(outcome)
    assert text.splitlines()[0].startswith("FAIL case (")
    assert "  FAIL criteria.status: expected 0, actual 1" in text.splitlines()
    assert "  ok   termination_reason: expected finished, actual finished" in text.splitlines()
    assert len(text.splitlines()) == 1 + len(outcome.checks)


def test_not_applicable_criteria_are_checked_as_such(tmp_path: Path) -> None:
    path = _write(tmp_path, ORACLE.replace("api_incident_hard", "duplicate_charge_easy") + """
[expect.criteria]
kept_informed = "n/a"
follow_up_handling = 1.0
""")
    outcome = run_scenario_sync(load_scenario(path))
    assert [(c.name, c.expected, c.actual, c.passed) for c in outcome.checks] == [
        ("criteria.kept_informed", "n/a", "n/a", True),
        ("criteria.follow_up_handling", "1", "n/a", False),
    ]


async def test_the_same_scenario_gives_the_same_trace() -> None:
    scenario = load_scenario(ROOT / "scenarios" / "impatient_after_breach.toml")
    first, second = await run_scenario(scenario), await run_scenario(scenario)
    assert first.result.trace.to_jsonl() == second.result.trace.to_jsonl()


def test_turn_sections_and_inline_ops_are_one_format(tmp_path: Path) -> None:
    inline = _write(tmp_path, """
description = "d"
task = "duplicate_charge_easy"
[[turns]]
ops = [{op = "reply", message = "Hello", request_fields = ["invoice_id"]}, {op = "finish"}]
""", "inline.toml")
    sections = _write(tmp_path, """
name = "sections"
description = "d"
task = "duplicate_charge_easy"
[[turns]]
[[turns.ops]]
op = "reply"
message = "Hello"
request_fields = ["invoice_id"]
[[turns.ops]]
op = "finish"
""", "sections.toml")
    a, b = load_scenario(inline), load_scenario(sections)
    assert (a.name, b.name) == ("inline", "sections")
    assert a.turns == b.turns
    assert a.agent_name == "scripted"
    assert run_scenario_sync(a).result.trace.to_jsonl() == \
        run_scenario_sync(b).result.trace.to_jsonl()


def test_a_turn_may_send_invalid_operations_on_purpose(tmp_path: Path) -> None:
    text = """
description = "d"
task = "duplicate_charge_easy"
[[turns]]
allow_invalid = true
ops = [{op = "escalate", queue = "billings"}, {op = "shout"}, "not a table", {op = "finish"}]
[expect]
invalid_operations = 3
penalties = ["invalid_operations"]
termination_reason = "finished"
"""
    outcome = run_scenario_sync(load_scenario(_write(tmp_path, text)))
    assert outcome.passed, format_outcome(outcome)
    with pytest.raises(ScenarioError, match=r"turns\[0\]\.ops\[0\] \(turn 1\): queue: 'billings'"):
        load_scenario(_write(tmp_path, text.replace("allow_invalid = true", "")))


def test_tasks_dir_is_relative_to_the_scenario_file(tmp_path: Path) -> None:
    folder = tmp_path / "my_tasks"
    folder.mkdir()
    source = (SHIPPED_TASKS_DIR / "duplicate_charge_easy.py").read_text(encoding="utf-8")
    (folder / "my_refund.py").write_text(
        source.replace('"duplicate_charge_easy"', '"my_refund"'), encoding="utf-8"
    )
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    path = _write(scenarios, """
description = "d"
task = "my_refund"
tasks_dir = ["../my_tasks"]
agent = "oracle"
seed = 7
persona = "cooperative"
[expect]
score_min = 1.0
""")
    scenario = load_scenario(path)
    assert (scenario.task.task_id, scenario.seed) == ("my_refund", 7)
    assert run_scenario_sync(scenario).passed


PROBE = """
class Probe:
    handed = None

    def reset(self, brief, seed):
        Probe.handed = type(brief).__name__
        self.queue = getattr(brief, "gold_queue", None)

    def act(self, observation):
        return ([{"op": "set_fields", "queue": self.queue}] if self.queue else []) + [
            {"op": "finish"}]
"""


@pytest.mark.parametrize("privileged", [False, True])
def test_privileged_hands_a_scenario_agent_the_task(
    privileged: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = f"scenario_probe_{privileged}".lower()
    (tmp_path / f"{module}.py").write_text(PROBE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    path = _write(tmp_path, f"""
description = "d"
task = "duplicate_charge_easy"
agent = "{module}:Probe"
{"privileged = true" if privileged else ""}
[expect.final]
queue = "billing"
""")
    scenario = load_scenario(path)
    assert scenario.privileged is privileged
    outcome = run_scenario_sync(scenario)
    probe = __import__(module).Probe
    assert probe.handed == ("SupportTaskSpec" if privileged else "TaskBrief")
    assert outcome.result.privileged is privileged
    assert outcome.result.trace.header.privileged is privileged
    assert outcome.passed is privileged  # only the privileged agent knew the gold queue
    assert (", privileged:" in format_outcome(outcome).splitlines()[0]) is privileged


BAD_CASES: dict[str, tuple[str, str]] = {
    # name: (file text, a fragment the one-line message must contain)
    "malformed TOML": ('description = "d"\ntask = \n', ":2:"),
    "unknown top-level key": (ORACLE + "colour = 1\n", "colour: unknown key"),
    "unknown expect key": (ORACLE + "[expect]\nscore = 1\n", "expect.score: unknown key"),
    "unknown final key": (ORACLE + "[expect.final]\nowner = 'x'\n", "expect.final.owner"),
    "wrong type": (ORACLE + "seed = 'one'\n", "seed: got text 'one'"),
    "bool for a number": (ORACLE + "seed = true\n", "seed: got a boolean"),
    "missing description": ('task = "api_incident_hard"\nagent = "oracle"\n', "description"),
    "unknown task": ('description = "d"\ntask = "nope"\nagent = "oracle"\n', "task: "),
    "missing tasks_dir": (ORACLE + 'tasks_dir = ["nowhere"]\n', "tasks_dir: "),
    "unknown agent": (ORACLE.replace('"oracle"', '"genius"'), "agent: "),
    "agent that does not import": (ORACLE.replace('"oracle"', '"no_such_mod:Agent"'),
                                   "cannot import"),
    "scripted without turns": (ORACLE.replace('"oracle"', '"scripted"'), "agent: 'scripted'"),
    "unknown persona": (ORACLE + 'persona = "grumpy"\n', "persona: 'grumpy' is unknown"),
    "unknown fault": (ORACLE + 'faults = ["flaky"]\n', "faults: 'flaky' is unknown"),
    "unknown criterion": (ORACLE + "[expect.criteria]\nspeed = 1.0\n",
                          "expect.criteria: 'speed' is not a criterion"),
    "bad criterion value": (ORACLE + "[expect.criteria]\nsla = 'yes'\n",
                            "expect.criteria.sla: 'yes'"),
    "bad range key": (ORACLE + "[expect.criteria]\nsla = {least = 0.5}\n", "'least'"),
    "criterion out of 0..1": (ORACLE + "[expect.criteria]\nsla = 2\n", "expect.criteria.sla"),
    "unknown event kind": (ORACLE + "[expect.events]\nteam_reply = 1\n", "'team_reply'"),
    "unknown penalty": (ORACLE + "[expect]\npenalties = ['lateness']\n", "'lateness'"),
    "bad sla literal": (ORACLE + "[expect]\nsla = 'ok'\n", "expect.sla"),
    "bad termination reason": (ORACLE + "[expect]\ntermination_reason = 'done'\n",
                               "'done' is unknown"),
    "score bounds crossed": (ORACLE + "[expect]\nscore_min = 0.9\nscore_max = 0.5\n",
                             "score_min"),
    "final value outside the catalog": (ORACLE + "[expect.final]\nqueue = 'billings'\n",
                                        "expect.final.queue: 'billings'"),
    "both agent and turns": (ORACLE + "[[turns]]\nops = []\n", "both are given"),
    "neither agent nor turns": ('description = "d"\ntask = "api_incident_hard"\n',
                                "neither is given"),
    "turns as arrays": ('description = "d"\ntask = "api_incident_hard"\n'
                        'turns = [[{op = "finish"}]]\n', "turns[0]: got an array"),
    "unknown operation": ('description = "d"\ntask = "api_incident_hard"\n'
                          '[[turns]]\nops = [{op = "shout"}]\n', "turns[0].ops[0]"),
    "operation value outside the catalog": (
        'description = "d"\ntask = "api_incident_hard"\n[[turns]]\n[[turns]]\n'
        'ops = [{op = "reply", message = "hi", request_fields = ["shoe_size"]}]\n',
        "turns[1].ops[0] (turn 2): request_fields: 'shoe_size'"),
    "over-long reply": ('description = "d"\ntask = "api_incident_hard"\n[[turns]]\n'
                        f'ops = [{{op = "reply", message = "{"x" * 1001}"}}]\n', "at most 1000"),
    "more turns than max_steps": ('description = "d"\ntask = "api_incident_hard"\n'
                                  + "[[turns]]\n" * 9, "max_steps 8"),
    "non-positive agent_timeout": (ORACLE + "agent_timeout = 0\n", "agent_timeout"),
    "privileged not a boolean": (ORACLE + "privileged = 'yes'\n", "privileged: got text"),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_a_bad_scenario_file_is_one_line_naming_the_file_and_what_is_allowed(
    case: str, tmp_path: Path
) -> None:
    text, fragment = BAD_CASES[case]
    path = _write(tmp_path, text, "bad_case.toml")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert "\n" not in message
    assert "bad_case.toml" in message
    assert "allowed" in message
    assert fragment in message


def test_malformed_toml_gives_the_line_and_column(tmp_path: Path) -> None:
    path = _write(tmp_path, 'description = "d"\n\ntask = "unterminated\n')
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert re.search(r"case\.toml:3:\d+: malformed TOML: .+; allowed: TOML", str(caught.value))


@pytest.mark.parametrize("name", ["missing.toml", "scenario.json"])
def test_a_missing_or_misnamed_file_is_a_scenario_error(name: str, tmp_path: Path) -> None:
    if name.endswith(".json"):
        _write(tmp_path, "{}", name)
    with pytest.raises(ScenarioError, match=rf"{re.escape(name)}: .*allowed"):
        load_scenario(tmp_path / name)


def test_a_scenario_seed_below_zero_is_refused(tmp_path: Path) -> None:
    # Before: seed = -1 ran (and printed "seed -1").
    path = tmp_path / "neg.toml"
    path.write_text('description = "d"\ntask = "api_incident_hard"\nseed = -1\n'
                    'agent = "oracle"\n', encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"neg\.toml: seed: -1 .*allowed: >= 0"):
        load_scenario(path)
    assert "seed: -1" in one_line_error(run_cli("scenario", str(path)))
