"""Secrets (SPEC §6): an API key in the environment never reaches a written file,
``--json``, the transcript or an error line, even from an agent that puts it everywhere it
can. A value is a secret when its variable is named like one and the value looks like a
credential (a word such as ``platform_engineering`` is not, and changes no trace or score);
it is redacted in decoded text (each string of a JSON line), so a secret holding quotes or
backslashes is caught too.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import TESTS, agent_module, run_cli
from episode_helpers import API

from sim.results import read_results
from sim.secrets import looks_like_credential, redact, refresh_secrets
from sim.trace import dumps_line


def test_a_secret_in_the_environment_never_reaches_traces_results_or_json(
    tmp_path: Path,
) -> None:
    secret = f"sk-test-{secrets.token_hex(16)}"
    env = {"OPENAI_API_KEY": secret,
           "PYTHONPATH": os.pathsep.join(p for p in (str(TESTS), os.environ.get("PYTHONPATH"))
                                         if p)}
    agent = "hostile_agents:SecretLeaker"
    out, traces, trace = tmp_path / "sweep", tmp_path / "traces", tmp_path / "run.jsonl"
    sweep = run_cli("sweep", "--tasks", f"{API},duplicate_charge_easy", "--agent", agent,
                    "--seeds", "1", "--personas", "cooperative,impatient", "--workers", "2",
                    "--out", str(out), "--trace-dir", str(traces), env=env)
    assert sweep.returncode == 0, sweep.stderr
    run = run_cli("run", "--agent", agent, "--json", "--trace", str(trace), env=env)
    assert run.returncode == 0, run.stderr
    written = {str(p): p.read_text(encoding="utf-8")
               for p in [*out.iterdir(), *traces.iterdir(), trace]}
    assert len(list(traces.iterdir())) == 4
    written["run --json"] = run.stdout
    for where, text in written.items():
        assert secret not in text, where
        assert secret[8:] not in text, where  # not even its random part
    # The agent did put it everywhere: what was written is the redaction.
    marker = "[redacted:OPENAI_API_KEY]"
    for where, text in written.items():
        if not where.endswith(("summary.json", "plan.json")):  # nothing the agent wrote
            assert marker in text, where
    rows, _ = read_results(out / "results.jsonl")
    assert len(rows) == 4
    for row in rows:
        assert row["termination_reason"] == "agent_error"
        assert row["error"] == f"RuntimeError: the model API refused key {marker}"
    assert json.loads(run.stdout)["error"] == row["error"]


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
