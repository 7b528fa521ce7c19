"""The command line's output and help, run as a user runs it: an agent's text is printed
literally (rich markup in it is data); ``sweep --json`` prints the JSON alone, its progress
on stderr; a typo gets the closest name; every option has help, which shows its default; an
agent module in the current folder loads; the transcript opens with the ticket; ``show``
prints a stored trace's transcript; ``schema`` prints the JSON schemas, which describe what
the simulator writes (and the README documents the observation and the operations); a
reader that goes away (``| head``) is not an error.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import ROOT, agent_module, one_line_error, run_cli
from episode_helpers import SEED_TASK

import run_sim
from actors.agents.loading import did_you_mean
from sim.observation import Observation
from sim.operations import _MODELS as OPERATION_MODELS
from sim.results import REAL_TIME_FIELDS
from sim.schemas import SCHEMAS, json_schema

# ==================================================================== agent text is data

MARKUP_AGENT = '''
class Agent:
    def act(self, observation):
        if observation.turn == 1:
            return [{"op": "reply", "message": "a closing tag [/bold] and [red]styled[/] text"},
                    {"op": "note", "text": "[bold]note[/bold] [link=x]y[/link]"}]
        return [{"op": "finish"}]
'''


def test_rich_markup_in_agent_text_is_printed_literally(tmp_path: Path) -> None:
    # Before: "[/bold]" crashed run with rich's MarkupError; "[red]…[/]" lost its brackets.
    proc = run_cli("run", "--agent", agent_module(tmp_path, MARKUP_AGENT), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "a closing tag [/bold] and [red]styled[/] text" in proc.stdout
    assert "[bold]note[/bold] [link=x]y[/link]" in proc.stdout
    assert "termination: finished" in proc.stdout


# ============================================================= clean output, typos, help

SWEEP = ("sweep", "--tasks", "api_incident_hard", "--agent", "oracle", "--seeds", "2")


def test_sweep_json_prints_json_alone_and_progress_on_stderr(tmp_path: Path) -> None:
    # Before: stdout began with the progress line "sweep ━━━ 2/2 0:00:00".
    proc = run_cli(*SWEEP, "--out", str(tmp_path / "out"), "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)  # the whole of stdout is one JSON document
    assert summary["overall"]["episodes"] == 2
    assert "sweep" in proc.stderr and "2/2" in proc.stderr


def main_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """The one line ``run_sim.main`` prints on stderr for bad input (exit status 2)."""
    try:
        status = run_sim.main(list(argv))
    except SystemExit as stop:
        status = stop.code  # type: ignore[assignment]
    err = capsys.readouterr().err.strip()
    assert status == 2 and len(err.splitlines()) == 1, (status, err)
    return err


def test_a_bad_persona_list_names_the_option_once(capsys: pytest.CaptureFixture[str]) -> None:
    # Before: "argument --personas: --personas: 'Silent' is unknown; …"
    line = main_error(capsys, "sweep", "--personas", "cooperative,Silent")
    assert line.count("--personas") == 1
    assert "'Silent' is unknown; did you mean 'silent'? allowed:" in line


@pytest.mark.parametrize(("argv", "wanted"), [
    (("run", "--agent", "oracel"), "agent 'oracel' is unknown; did you mean 'oracle'? allowed:"),
    (("sweep", "--agent", "heurstic"), "did you mean 'heuristic'?"),
    (("run", "--task", "api_incident_hrd"), "did you mean 'api_incident_hard'? allowed:"),
    (("tasks", "--show", "api_incident_hrd"), "did you mean 'api_incident_hard'?"),
    (("sweep", "--tasks", "api_incident_hrd"), "did you mean 'api_incident_hard'? allowed:"),
    (("run", "--persona", "Silent"), "invalid choice: 'Silent'; did you mean 'silent'?"),
    (("run", "--fault", "eta_slip"), "did you mean 'eta_slips'?"),
    (("run", "--agent-executor", "proces"), "did you mean 'process'?"),
    (("swep",), "invalid choice: 'swep'; did you mean 'sweep'?"),
    (("run", "--agent", "hostile_agents:RaisingAgnt"), "did you mean 'RaisingAgent'?"),
])
def test_a_typo_gets_the_closest_name(capsys: pytest.CaptureFixture[str], argv: tuple[str, ...],
                                      wanted: str) -> None:
    assert wanted in main_error(capsys, *argv)


def test_a_name_far_from_any_gets_no_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    assert "did you mean" not in main_error(capsys, "run", "--agent", "zzzz")
    assert did_you_mean("grumpy", ["cooperative", "silent"]) == ""
    assert did_you_mean("SILENT", ["cooperative", "silent"]) == "did you mean 'silent'? "


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_option_has_help_and_help_shows_defaults() -> None:
    # Before: most options had no help text and --help showed no default.
    for name, sub in _subparsers(run_sim._parser()).items():
        for action in sub._actions:
            assert action.help, f"{name} {action.option_strings or action.dest}: no help text"
        shown = " ".join(sub.format_help().split())
        for action in sub._actions:
            default = action.default
            if action.option_strings and not (default is None or default is False
                                              or default in (argparse.SUPPRESS, [])):
                value = ",".join(default) if isinstance(default, list) else str(default)
                assert f"default: {value}" in shown or f"default {value}" in shown, (
                    name, action.option_strings, shown)
    run_help = _subparsers(run_sim._parser())["run"].format_help()
    for default in ("(default: heuristic)", "(default: api_incident_hard)",
                    "(default 60; 3600 for --agent llm",
                    "(default: auto)", "(default: 0)"):
        assert default in " ".join(run_help.split()), default


# ===================================================== agents from cwd, transcript, show, schema


def test_an_agent_module_in_the_current_folder_loads(tmp_path: Path) -> None:
    # Worked before this issue (run_sim.main appends the current folder); kept as a guard.
    source = ("from actors.agents.oracle import OracleAgent\n\n\nclass Agent(OracleAgent):\n"
              "    pass\n")
    agent = agent_module(tmp_path, source, name="cwd_only_agent")
    proc = run_cli("run", "--agent", agent, "--privileged", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["score"] == 1.0


def _position(text: str, fragment: str) -> int:
    index = text.find(fragment)
    assert index >= 0, (fragment, text)
    return index


def test_the_transcript_opens_with_the_ticket_and_shows_requested_fields() -> None:
    # Before: it began at turn 1 without the ticket, and rich swallowed "[asks: …]".
    proc = run_cli("run", "--agent", "oracle")
    assert proc.returncode == 0, proc.stderr
    out = " ".join(proc.stdout.split())
    ticket = SEED_TASK.ticket
    assert _position(out, f"TICKET {ticket.subject}") < _position(out, "--- turn 1 ---")
    assert _position(out, ticket.customer_name) < _position(out, "--- turn 1 ---")
    assert _position(out, " ".join(ticket.body.split())[:60]) < _position(out, "--- turn 1 ---")
    assert "[asks: request_ids, time_window, regions, payload_sample]" in out


def test_show_prints_a_stored_traces_transcript(tmp_path: Path) -> None:
    # Before: "show" was an invalid choice (exit 2).
    trace = tmp_path / "t.jsonl"
    assert run_cli("run", "--agent", "heuristic", "--seed", "2", "--trace", str(trace),
                   "--json").returncode == 0
    shown = run_cli("show", str(trace))
    assert shown.returncode == 0, shown.stderr
    live = run_cli("run", "--agent", "heuristic", "--seed", "2")
    # The same transcript as the live run printed, then the stored outcome.
    transcript = live.stdout[:live.stdout.index("grade report")].rstrip()
    assert shown.stdout.startswith(transcript)
    assert re.search(r"termination: finished after \d+ step\(s\), \d+ simulated min; score "
                     r"[01]\.\d{3} as stored", shown.stdout)


def test_show_refuses_a_trace_of_a_changed_task_in_one_line(tmp_path: Path) -> None:
    trace = tmp_path / "t.jsonl"
    assert run_cli("run", "--agent", "oracle", "--trace", str(trace), "--json").returncode == 0
    lines = trace.read_text(encoding="utf-8").split("\n")
    header = json.loads(lines[0])
    header["task_hash"] = "0" * 16
    trace.write_text("\n".join([json.dumps(header), *lines[1:]]), encoding="utf-8")
    assert "task_hash 0000000000000000 differs" in one_line_error(run_cli("show", str(trace)))
    assert "no such file" in one_line_error(run_cli("show", str(tmp_path / "nope.jsonl")))


def test_schema_prints_each_json_schema_and_all_of_them() -> None:
    # Before: "schema" was an invalid choice (exit 2).
    listed = run_cli("schema")
    assert listed.returncode == 0, listed.stderr
    for name in ("observation", "operations", "task", "trace-line", "results-row"):
        assert name in listed.stdout
    everything = run_cli("schema", "--json")
    assert everything.returncode == 0
    schemas = json.loads(everything.stdout)
    assert list(schemas) == list(SCHEMAS)
    one = run_cli("schema", "observation")
    assert json.loads(one.stdout) == schemas["observation"]
    assert set(schemas["observation"]["properties"]) == set(Observation.model_fields)
    operations = schemas["operations"]
    assert set(operations["discriminator"]["mapping"]) == set(OPERATION_MODELS)


def test_the_schemas_describe_what_the_simulator_writes(tmp_path: Path) -> None:
    trace, out = tmp_path / "t.jsonl", tmp_path / "sweep"
    assert run_cli("run", "--agent", "heuristic", "--trace", str(trace),
                   "--json").returncode == 0
    line_schema = json_schema("trace-line")
    variants = {ref["$ref"].rsplit("/", 1)[1]: line_schema["$defs"][ref["$ref"].rsplit("/", 1)[1]]
                for ref in line_schema["oneOf"]}
    by_type = {v["properties"]["type"].get("const", v["properties"]["type"].get("default")): v
               for v in variants.values()}
    for line in trace.read_text(encoding="utf-8").splitlines():
        obj = json.loads(line)
        schema = by_type[obj["type"]]
        assert set(obj) <= set(schema["properties"]), obj["type"]
        assert set(schema.get("required", ())) <= set(obj), obj["type"]
    assert run_cli(*SWEEP, "--out", str(out)).returncode == 0
    row = json.loads((out / "results.jsonl").read_text(encoding="utf-8").splitlines()[0])
    row_schema = json_schema("results-row")
    assert set(row_schema["required"]) <= set(row) <= set(row_schema["properties"])
    assert REAL_TIME_FIELDS <= set(row_schema["properties"])
    task_schema = json_schema("task")
    assert set(SEED_TASK.model_dump()) == set(task_schema["properties"])


def test_the_readme_documents_the_observation_and_every_operation() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("## The agent's view and its operations")
    section = readme[start:readme.index("\n## ", start + 1)]
    for name in Observation.model_fields:
        assert f"`{name}`" in section, name
    for name, model in OPERATION_MODELS.items():
        assert f"| `{name}` |" in section, name
        for field in model.model_fields:
            if field != "op":
                assert f"`{field}" in section, (name, field)
    assert "current folder" in " ".join(readme.split())  # module:attr agents resolve there


# ============================================================== a reader that goes away


def test_a_reader_that_goes_away_is_not_an_error() -> None:
    """`run_sim.py tasks | head -1`: the pipe closes before the listing is written."""
    proc = subprocess.Popen([sys.executable, str(ROOT / "run_sim.py"), "tasks"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # before the command writes a byte
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0, stderr
    assert stderr == ""
