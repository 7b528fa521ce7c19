"""Issue 14, output and input: literal agent text, secrets, clean JSON, help and typos,
the ticket in transcripts, ``show`` and ``schema``, deep traces, strict task counts, and
scenario seeds. Each test failed before its fix (the issue's items 11–14 and part of 15).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

import run_sim
from actors.agents.loading import did_you_mean
from actors.scenario import ScenarioError, load_scenario
from sim.observation import Observation
from sim.operations import _MODELS as OPERATION_MODELS
from sim.results import REAL_TIME_FIELDS
from sim.schemas import SCHEMAS, json_schema
from sim.secrets import looks_like_credential, redact, refresh_secrets
from sim.trace import MAX_DEPTH, Trace, TraceFormatError, dumps_line
from tasks import get_task, load_task_file
from tasks.base import SupportTicket

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
SEED_TASK = get_task("api_incident_hard")


def run_cli(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None,
            ) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run([sys.executable, str(ROOT / "run_sim.py"), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300, env=full)


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


def agent_module(folder: Path, source: str, name: str = "my_agent") -> str:
    """Write an agent module into ``folder`` (a run's current folder) and name it."""
    (folder / f"{name}.py").write_text(source, encoding="utf-8")
    return f"{name}:Agent"


# ================================================================ 11. agent text is data

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


# ============================================================================ 12. secrets


@pytest.fixture
def environ() -> Iterator[dict[str, str]]:
    """``os.environ`` to change in a test: restored, and the secrets re-read, after it."""
    saved = dict(os.environ)
    try:
        yield os.environ  # type: ignore[misc]
    finally:
        os.environ.clear()
        os.environ.update(saved)
        refresh_secrets()


@pytest.mark.parametrize("value", ['Ab3"dE9\\xYz7Qw2', 'sk-"quoted"-0123456789abcdef',
                                   "esc\x1b-Zq93kLm0pX", "back\\slash\\Zq93kLm0pX"])
def test_a_secret_holding_quotes_or_backslashes_is_redacted_in_json_lines(
    environ: dict[str, str], value: str,
) -> None:
    # Before: redaction ran on the escaped JSON text, where '"' is '\\"': the value leaked.
    environ["MY_API_TOKEN"] = value
    refresh_secrets()
    line = dumps_line({"op": {"note": f"token {value} end", value: [value]}})
    assert json.loads(line) == {"op": {"note": "token [redacted:MY_API_TOKEN] end",
                                       "[redacted:MY_API_TOKEN]": ["[redacted:MY_API_TOKEN]"]}}
    assert json.dumps(value)[1:-1] not in line


def test_a_word_valued_variable_named_like_a_secret_changes_no_trace_or_score(
    tmp_path: Path,
) -> None:
    # Before: SORT_KEY=platform_engineering rewrote the queue in the trace as
    # "[redacted:SORT_KEY]", and the re-grade (0.62) differed from the live score (1.0).
    plain, keyed = tmp_path / "plain.jsonl", tmp_path / "keyed.jsonl"
    assert run_cli("run", "--agent", "oracle", "--json", "--trace", str(plain)).returncode == 0
    live = run_cli("run", "--agent", "oracle", "--json", "--trace", str(keyed),
                   env={"SORT_KEY": "platform_engineering", "SESSION_NAME": "correct-horse"})
    assert live.returncode == 0, live.stderr
    assert keyed.read_bytes() == plain.read_bytes()
    regraded = run_cli("grade", str(keyed), "--json", env={"SORT_KEY": "platform_engineering"})
    assert json.loads(regraded.stdout)["score"] == json.loads(live.stdout)["score"] == 1.0


@pytest.mark.parametrize(("value", "credential"), [
    ("sk-test-0123456789abcdef0123456789abcdef", True),
    ("ghp_abcdEFGH1234ijklMNOP5678qrstUVWX9012", True),
    ("AKIAIOSFODNN7EXAMPLE", True),
    ("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", True),
    ("hunter2hunter2", True),
    ("platform_engineering", False),
    ("PlatformEngineering", False),
    ("correct-horse-battery-staple", False),
    ("unix:path=/run/user/1000/bus", False),
    ("12345678901234", False),
    ("aaaaaaaaaaaa1", False),
    ("true", False),
    ("sk-abc 123 def 456", False),
])
def test_only_values_that_look_like_credentials_are_secrets(value: str, credential: bool) -> None:
    assert looks_like_credential(value) is credential


SECRET = "sk-test-5f0c9a7e2b4d4e1f8a6b3c2d1e0f9a8b"


def test_the_transcript_and_errors_on_stdout_and_stderr_are_redacted(tmp_path: Path) -> None:
    # Before: run (not --json) printed the agent's key five times on stdout.
    env = {"OPENAI_API_KEY": SECRET, "PYTHONPATH": str(TESTS)}
    proc = run_cli("run", "--agent", "hostile_agents:SecretLeaker", env=env)
    assert proc.returncode == 0, proc.stderr
    assert SECRET not in proc.stdout and SECRET[8:] not in proc.stdout
    assert proc.stdout.count("[redacted:OPENAI_API_KEY]") >= 4  # reply, note, query, error
    # A constructor that raises with the key: the one-line error is redacted too.
    broken = agent_module(tmp_path, "import os\nclass Agent:\n    def __init__(self):\n"
                                    "        raise RuntimeError(os.environ['OPENAI_API_KEY'])\n"
                                    "    def act(self, o):\n        return []\n")
    proc = run_cli("run", "--agent", broken, cwd=tmp_path, env=env)
    assert SECRET not in proc.stdout + proc.stderr
    assert "[redacted:OPENAI_API_KEY]" in proc.stdout + proc.stderr


def test_redact_leaves_text_without_secrets_alone(environ: dict[str, str]) -> None:
    environ["SORT_KEY"] = "platform_engineering"
    environ["DEPLOY_TOKEN"] = "Zq93kLm0pXv7"
    refresh_secrets()
    assert redact("to platform_engineering") == "to platform_engineering"
    assert redact("t=Zq93kLm0pXv7.") == "t=[redacted:DEPLOY_TOKEN]."


# ================================================================ 13. clean output, help

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
    for default in ("(default: heuristic)", "(default: api_incident_hard)", "(default: 60.0)",
                    "(default: auto)", "(default: 0)"):
        assert default in " ".join(run_help.split()), default


# ================================================= 14. agents from cwd, transcript, show, schema


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


# =========================================================== 15. deep JSON, strictness, seeds


def _trace_lines() -> list[str]:
    """A trace's header line, for traces made up here."""
    return [dumps_line({"type": "header", "schema_version": 2, "task_id": "api_incident_hard",
                        "task_hash": SEED_TASK.content_hash, "seed": 0, "agent": "oracle",
                        "persona": "cooperative", "code_version": "0"})]


@pytest.mark.parametrize("depth", [100_000, MAX_DEPTH + 1, 200])
def test_a_trace_nested_too_deep_is_bad_input_not_a_recursion_error(depth: int) -> None:
    # Before: json.loads raised RecursionError out of Trace.from_jsonl (a traceback).
    deep = "[" * depth + "]" * depth
    event = ('{"type":"event","t":0,"seq":0,"actor":"agent","kind":"turn","payload":{"x":'
             + deep + "}}")
    with pytest.raises(TraceFormatError, match=r"t\.jsonl:2: JSON nested"):
        Trace.from_jsonl("\n".join([*_trace_lines(), event]), source="t.jsonl")


def test_grade_of_a_deep_trace_is_one_line(tmp_path: Path) -> None:
    deep = "[" * 50_000 + "]" * 50_000
    event = ('{"type":"event","t":0,"seq":0,"actor":"agent","kind":"turn","payload":{"x":'
             + deep + "}}")
    path = tmp_path / "deep.jsonl"
    path.write_text("\n".join([*_trace_lines(), event]) + "\n", encoding="utf-8")
    for command in ("grade", "show"):
        assert "nested too deep" in one_line_error(run_cli(command, str(path)))


def test_nesting_within_the_limit_still_reads() -> None:
    nested: object = "leaf"
    for _ in range(MAX_DEPTH - 3):  # the line, the payload and x add three levels
        nested = [nested]
    event = dumps_line({"type": "event", "t": 0, "seq": 0, "actor": "agent", "kind": "turn",
                        "payload": {"x": nested}})
    trace = Trace.from_jsonl("\n".join([*_trace_lines(), event]))
    assert len(trace.events) == 1


TICKET = {"customer_name": "A", "customer_tier": "pro", "company": "C", "subject": "S",
          "body": "B", "region": "eu", "affected_users": 3, "sla_minutes_remaining": 90}


@pytest.mark.parametrize(("field", "value"), [
    ("affected_users", True), ("affected_users", "90"), ("affected_users", 3.0),
    ("sla_minutes_remaining", "90"), ("sla_minutes_remaining", 90.0),
])
def test_ticket_counts_are_strict(field: str, value: object) -> None:
    # Before: True became 1 and "90" became 90, silently.
    with pytest.raises(ValidationError, match=field):
        SupportTicket(**{**TICKET, field: value})  # type: ignore[arg-type]


@pytest.mark.parametrize(("field", "value"), [
    ("max_steps", "8"), ("max_steps", 8.0), ("sla_step_cost", 20.0),
    ("under_escalation_deadline_step", "2"), ("customer_reply_delay_minutes", True),
    ("team_update_delay_minutes", "30"),
])
def test_task_counts_are_strict(field: str, value: object) -> None:
    with pytest.raises(ValidationError, match=field):
        type(SEED_TASK).model_validate({**SEED_TASK.model_dump(), field: value})


def test_strict_counts_keep_the_seed_task_and_its_hash() -> None:
    # The seed as shipped (and as ../shared/seed has it) loads, hashing as stored traces say.
    seed = load_task_file(ROOT / "tasks" / "api_incident_hard.py")
    assert seed.content_hash == "f76d793109d35dbe"
    shared = ROOT.parent / "shared" / "seed" / "api_incident_hard.py"
    if shared.is_file():
        assert load_task_file(shared).content_hash == seed.content_hash


def test_a_scenario_seed_below_zero_is_refused(tmp_path: Path) -> None:
    # Before: seed = -1 ran (and printed "seed -1").
    path = tmp_path / "neg.toml"
    path.write_text('description = "d"\ntask = "api_incident_hard"\nseed = -1\n'
                    'agent = "oracle"\n', encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"neg\.toml: seed: -1 .*allowed: >= 0"):
        load_scenario(path)
    assert "seed: -1" in one_line_error(run_cli("scenario", str(path)))


def test_a_reader_that_goes_away_is_not_an_error() -> None:
    """`run_sim.py tasks | head -1`: the pipe closes before the listing is written."""
    proc = subprocess.Popen([sys.executable, str(ROOT / "run_sim.py"), "tasks"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # before the command writes a byte
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0, stderr
    assert stderr == ""
