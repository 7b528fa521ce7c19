"""Secrets (SPEC §6): an API key in the environment never reaches a written file or
``--json``, even from an agent that puts it everywhere it can.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from cli_helpers import TESTS, run_cli
from episode_helpers import API

from sim.results import read_results


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
