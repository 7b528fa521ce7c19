"""The LLM agent where a user meets it: ``--agent llm`` on ``run``, ``sweep`` and
``scenario`` (subprocesses against the scripted stub, tests/llm_stub.py), the Python API
(``make_job(task, "llm", llm=LLMConfig(...))``), the usage an agent reports in results
rows and summaries, the sweep's bound on requests in flight and its resume identity, and
the one-line refusals (exit 2) that never show the API key.
"""

from __future__ import annotations

import json
import math
import os
import random
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio
from cli_helpers import ROOT, one_line_error, run_cli
from llm_stub import StubServer, finish_after

from actors import make_job, simulate, simulate_many
from actors.agents import AgentLoadError, resolve_agent
from actors.agents.llm import LLMConfig
from actors.scenario import ScenarioError, load_scenario
from actors.sweep import SweepPlan
from sim.episode import EpisodeConfig
from sim.metrics import summarize
from sim.schemas import json_schema
from sim.secrets import looks_like_credential, redact, refresh_secrets
from tasks import get_task

#: Made of words, so the simulator's redaction of credential-like values would not hide
#: it: a leak of this key shows in the output.
KEY = "stubkey-words-only-keyvalue"
MODEL = "stub-model"
OTHER_MODEL = "other-model"
TASK_ID = "api_incident_hard"
TASK = get_task(TASK_ID)
USAGE_KEYS = {"llm_requests", "llm_cache_hits", "llm_prompt_tokens", "llm_completion_tokens",
              "llm_latency_seconds", "llm_cost_usd"}


@pytest.fixture
def stub() -> Iterator[StubServer]:
    with StubServer(api_key=KEY, models=(MODEL, OTHER_MODEL)) as server:
        yield server


def cli(*args: str, key: str = KEY, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """``run_sim.py *args`` with ``key`` as the API key and no ``$OPENAI_BASE_URL``."""
    env = {"OPENAI_API_KEY": key, "OPENAI_BASE_URL": ""}
    proc = run_cli(*args, env=env, timeout=timeout)
    assert key not in proc.stdout and key not in proc.stderr
    return proc


def llm_args(stub: StubServer, *extra: str) -> list[str]:
    return ["--agent", "llm", "--model", MODEL, "--base-url", stub.base_url, *extra]


def free_port() -> int:
    """A port nothing listens on: bound, then let go."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ============================================================================= run


def test_run_prints_the_transcript_score_and_one_usage_line(stub: StubServer,
                                                            tmp_path: Path) -> None:
    proc = cli("run", *llm_args(stub, "--llm-cache", str(tmp_path / "cache")))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "score " in proc.stdout and "termination: finished" in proc.stdout
    usage = [line for line in proc.stdout.splitlines() if line.startswith("LLM usage:")]
    assert len(usage) == 1, proc.stdout[-2000:]
    assert usage[0].startswith("LLM usage: 3 request(s), 0 cache hit(s), ")
    assert "completion tokens" in usage[0] and "cost $0.0000" in usage[0]
    assert stub.request_count == 3  # the stub finishes on turn 3

    # The same run again: every answer from the cache, no request.
    again = cli("run", *llm_args(stub, "--llm-cache", str(tmp_path / "cache"), "--json"))
    assert again.returncode == 0, again.stderr[-3000:]
    row = json.loads(again.stdout)
    assert row["agent"] == "llm" and row["termination_reason"] == "finished"
    assert row["agent_usage"]["llm_requests"] == 0 and row["agent_usage"]["llm_cache_hits"] == 3
    assert stub.request_count == 3


def test_run_json_carries_the_usage_with_its_cost_at_the_given_prices(
        stub: StubServer, tmp_path: Path) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({MODEL: [2.5, 10], "another": [0, 0]}))
    proc = cli("run", *llm_args(stub, "--no-llm-cache", "--llm-prices", str(prices),
                                "--json", "--max-tokens", "64", "--temperature", "0"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    usage = json.loads(proc.stdout)["agent_usage"]
    assert set(usage) == USAGE_KEYS
    assert usage["llm_requests"] == 3 and usage["llm_cache_hits"] == 0
    assert usage["llm_prompt_tokens"] > 0 and usage["llm_completion_tokens"] > 0
    assert usage["llm_cost_usd"] == pytest.approx(
        (usage["llm_prompt_tokens"] * 2.5 + usage["llm_completion_tokens"] * 10) / 1e6)
    assert [r["max_tokens"] for r in stub.requests] == [64] * 3


# ====================================================== refusals: exit 2, one line, no key


def _refusal(case: str, stub: StubServer, tmp_path: Path) -> tuple[list[str], str, str]:
    """(arguments, the key to send, what the one line says) of each refusal."""
    prices = tmp_path / "prices.json"
    if case == "unreachable server":
        url = f"http://127.0.0.1:{free_port()}/v1"
        return (["run", "--agent", "llm", "--model", MODEL, "--base-url", url], KEY,
                "cannot reach")
    if case == "bad key":
        return ["run", *llm_args(stub)], "wrongkey-words-only-value", "401"
    if case == "unknown model":
        return (["run", "--agent", "llm", "--model", "no-such-model", "--base-url",
                 stub.base_url], KEY, "no-such-model")
    if case == "--model without --agent llm":
        return ["run", "--model", MODEL], KEY, "--model: given without --agent llm"
    if case == "--agent llm without --model":
        return (["run", "--agent", "llm", "--base-url", stub.base_url], KEY,
                "agent 'llm' needs --model NAME")
    if case == "prices not JSON":
        prices.write_text("{stub-model: 1}")
        return ["run", *llm_args(stub, "--llm-prices", str(prices))], KEY, "not JSON"
    if case == "prices not pairs":
        prices.write_text(json.dumps({MODEL: [1.0]}))
        return ["run", *llm_args(stub, "--llm-prices", str(prices))], KEY, "is not two prices"
    if case == "sweep, unknown model":
        return (["sweep", "--tasks", TASK_ID, "--seeds", "2", "--out", str(tmp_path / "out"),
                 "--agent", "llm", "--model", "no-such-model", "--base-url", stub.base_url],
                KEY, "no-such-model")
    assert case == "sweep, llm option without --agent llm"
    return (["sweep", "--tasks", TASK_ID, "--out", str(tmp_path / "out"),
             "--max-requests-in-flight", "4"], KEY,
            "--max-requests-in-flight: given without --agent llm")


@pytest.mark.parametrize("case", [
    "unreachable server", "bad key", "unknown model", "--model without --agent llm",
    "--agent llm without --model", "prices not JSON", "prices not pairs",
    "sweep, unknown model", "sweep, llm option without --agent llm",
])
def test_bad_llm_input_is_one_line_exit_2_before_any_episode_and_never_shows_the_key(
        case: str, stub: StubServer, tmp_path: Path) -> None:
    args, key, says = _refusal(case, stub, tmp_path)
    line = one_line_error(cli(*args, key=key))
    assert says in line, line
    assert KEY not in line and key not in line
    assert stub.request_count == 0  # no episode ran: no chat request
    assert not (tmp_path / "out" / "results.jsonl").exists()


def test_the_redaction_of_outputs_catches_an_openai_style_key(
        monkeypatch: pytest.MonkeyPatch) -> None:
    key = "sk-proj-7Qx2vN9aLm4Rt8Kp1Zc6Wy3Hb5Jd0Fe"
    assert looks_like_credential(key) and looks_like_credential("sk-3f9a0c7e21b84d5f9a6c0e12")
    monkeypatch.setenv("OPENAI_API_KEY", key)
    refresh_secrets()
    try:
        assert redact(f"401: Incorrect API key provided: {key}.") == (
            "401: Incorrect API key provided: [redacted:OPENAI_API_KEY].")
    finally:
        monkeypatch.delenv("OPENAI_API_KEY")
        refresh_secrets()


# =========================================================================== sweep


def _rows(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]


def test_a_sweep_sums_the_usage_and_keeps_the_requests_in_flight_under_its_bound(
        tmp_path: Path) -> None:
    # Four workers asked for, a bound of 2: two workers of one request each. Without the
    # division, twelve episodes at once per worker would have up to 8 in flight.
    out = tmp_path / "out"
    with StubServer(api_key=KEY, latency=0.05, default=finish_after(3)) as stub:
        proc = cli("sweep", "--tasks", f"{TASK_ID},password_reset_easy", "--seeds", "6",
                   "--workers", "4", "--concurrency", "12", "--max-requests-in-flight", "2",
                   "--out", str(out), "--json", *llm_args(stub, "--no-llm-cache"))
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert 1 <= stub.max_in_flight <= 2
        sent = stub.request_count
    summary = json.loads(proc.stdout)
    assert summary == json.loads((out / "summary.json").read_text())
    rows = _rows(out)
    assert len(rows) == 12 and all(set(r["agent_usage"]) == USAGE_KEYS for r in rows)
    overall = summary["overall"]["agent_usage"]
    assert overall["llm_requests"] == sent == 36
    for key in USAGE_KEYS:  # the fold's exact sums, per task and overall
        assert overall[key] == math.fsum(r["agent_usage"][key] for r in rows)
        for task, group in summary["per_task"].items():
            assert group["agent_usage"][key] == math.fsum(
                r["agent_usage"][key] for r in rows if r["task_id"] == task)
    assert summary["plan"]["llm"]["model"] == MODEL


def test_a_sweep_resumes_across_cache_timeout_and_bound_but_not_across_the_model(
        stub: StubServer, tmp_path: Path) -> None:
    out = tmp_path / "out"
    base = ["sweep", "--tasks", TASK_ID, "--seeds", "2", "--out", str(out), "--json"]
    first = cli(*base, *llm_args(stub, "--llm-cache", str(tmp_path / "a")))
    assert first.returncode == 0, first.stderr[-3000:]
    same = cli(*base, "--resume", "--seeds", "3", *llm_args(
        stub, "--llm-cache", str(tmp_path / "b"), "--request-timeout", "30",
        "--max-requests-in-flight", "3"))
    assert same.returncode == 2 and "seeds was 2, now 3" in same.stderr  # the plan itself
    same = cli(*base, "--resume", *llm_args(
        stub, "--llm-cache", str(tmp_path / "b"), "--request-timeout", "30",
        "--max-requests-in-flight", "3"))
    assert same.returncode == 0, same.stderr[-3000:]
    assert json.loads(same.stdout)["overall"]["episodes"] == 2
    for option, value, says in (("--temperature", "0.5", "llm temperature was 0.0, now 0.5"),
                                ("--llm-mode", "json", "llm mode was 'tools', now 'json'")):
        line = one_line_error(cli(*base, "--resume", *llm_args(stub, option, value,
                                                               "--no-llm-cache")))
        assert says in line, line
    line = one_line_error(cli(*base, "--resume", "--agent", "llm", "--model", OTHER_MODEL,
                              "--base-url", stub.base_url))
    assert f"llm model was '{MODEL}', now '{OTHER_MODEL}'" in line, line


def test_the_sweep_shares_its_bound_between_at_most_bound_workers() -> None:
    plan = SweepPlan(tasks=(TASK_ID,), agent="llm", seeds=1, personas=("cooperative",),
                     llm=LLMConfig(model=MODEL, max_requests_in_flight=10))
    for asked, (workers, each) in {1: (1, 10), 3: (3, 3), 4: (4, 2), 10: (10, 1),
                                   64: (10, 1)}.items():
        shard, started = plan.split(asked)
        assert shard.llm is not None
        assert (started, shard.llm.max_requests_in_flight) == (workers, each)
        assert started * each <= 10
        assert shard.identity() == plan.identity()
    heuristic = SweepPlan(tasks=(TASK_ID,), agent="heuristic", seeds=1,
                          personas=("cooperative",))
    assert heuristic.split(7) == (heuristic, 7) and "llm" not in heuristic.describe()


# ======================================================================= scenarios


def _scenario(folder: Path, llm: str, agent: str = "llm", name: str = "llm.toml") -> Path:
    path = folder / name
    path.write_text(f'description = "The LLM agent on the seed task."\ntask = "{TASK_ID}"\n'
                    f'agent = "{agent}"\n{llm}\n[expect]\ntermination_reason = "finished"\n'
                    "steps = 3\n", encoding="utf-8")
    return path


def test_a_scenario_runs_the_llm_agent_of_its_llm_table(stub: StubServer,
                                                        tmp_path: Path) -> None:
    path = _scenario(tmp_path, f'[llm]\nmodel = "{MODEL}"\nbase_url = "{stub.base_url}"\n'
                               'cache_dir = "answers"\nmax_tokens = 77\n')
    proc = cli("scenario", str(path))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert proc.stdout.startswith("PASS llm ") and "agent llm" in proc.stdout
    assert [(r["model"], r["max_tokens"]) for r in stub.requests] == [(MODEL, 77)] * 3
    assert any((tmp_path / "answers").rglob("*.json"))  # relative to the file

    # The command line's options over the file's.
    proc = cli("scenario", str(path), "--model", OTHER_MODEL, "--max-tokens", "55",
               "--no-llm-cache")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert [(r["model"], r["max_tokens"]) for r in stub.requests[3:]] == [(OTHER_MODEL, 55)] * 3


def test_a_scenario_without_a_model_takes_it_from_the_command_line(
        stub: StubServer, tmp_path: Path) -> None:
    path = _scenario(tmp_path, f'[llm]\nbase_url = "{stub.base_url}"\n')
    line = one_line_error(cli("scenario", str(path)))
    assert line.endswith("llm.toml: llm.model: missing; allowed: model = NAME in an [llm] "
                         "table, or the command line's --model NAME"), line
    proc = cli("scenario", str(path), "--model", MODEL, "--no-llm-cache")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert stub.request_count == 3


@pytest.mark.parametrize(("table", "agent", "says"), [
    ('[llm]\nmodel = "m"\ntemprature = 0.5\n', "llm",
     "llm.temprature: unknown key; allowed: model, base_url, temperature"),
    ('[llm]\nmodel = "m"\ntemperature = 9.0\n', "llm",
     "llm.temperature: 9.0 is out of bounds; allowed: <= 2"),
    ('[llm]\nmodel = "m"\nmode = "xml"\n', "llm",
     "llm.mode: got text 'xml'; allowed: 'tools' or 'json'"),
    ('llm = "m"\n', "llm", "llm: got text 'm'; allowed: an [llm] table"),
    ('[llm]\nmodel = "m"\n', "heuristic",
     "llm: an [llm] table, but agent is 'heuristic'; allowed: an [llm] table with agent"),
])
def test_a_bad_llm_table_is_one_line_naming_the_file_and_key(
        table: str, agent: str, says: str, tmp_path: Path) -> None:
    path = _scenario(tmp_path, table, agent=agent)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert f"llm.toml: {says}" in str(caught.value), str(caught.value)
    assert "\n" not in str(caught.value)


def test_llm_options_for_scenarios_without_the_llm_agent_are_refused(tmp_path: Path) -> None:
    path = _scenario(tmp_path, "", agent="heuristic")
    line = one_line_error(cli("scenario", str(path), "--model", MODEL))
    assert '--model: given, but no scenario has agent = "llm"' in line, line


# ====================================================================== Python API


def test_the_python_api_names_the_llm_agent_with_its_config(stub: StubServer,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    config = LLMConfig(model=MODEL, base_url=stub.base_url, cache_dir=None)
    result = trio.run(lambda: simulate(TASK, "llm", llm=config))
    assert (result.agent, result.termination_reason, result.steps) == ("llm", "finished", 3)
    assert result.agent_usage is not None and result.agent_usage["llm_requests"] == 3
    job = make_job(TASK, "llm", llm=config, seed=4)
    assert job.agent_name == "llm" and job.seed == 4
    with pytest.raises(AgentLoadError, match=r"^agent 'llm' needs --model NAME; "):
        resolve_agent("llm")
    with pytest.raises(AgentLoadError, match="needs --model NAME"):
        make_job(TASK, "llm")
    with pytest.raises(AgentLoadError, match="with --agent llm only"):
        make_job(TASK, "heuristic", llm=config)


def test_without_the_extra_the_simulator_runs_and_the_llm_agent_says_what_to_install() -> None:
    code = (
        "import sys\n"
        "sys.modules['openai'] = None; sys.modules['httpx2'] = None\n"
        "import actors, actors.commands, run_sim\n"
        "assert run_sim.main(['run', '--json']) == 0\n"
        "sys.exit(run_sim.main(['run', '--agent', 'llm', '--model', 'm']))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert json.loads(proc.stdout)["agent"] == "heuristic"
    assert proc.stderr.strip() == ("run_sim.py: error: the llm extra is not installed; "
                                   "pip install -e '.[llm]'")


def test_the_results_row_schema_has_the_agent_usage() -> None:
    usage = json_schema("results-row")["properties"]["agent_usage"]
    assert {"type": "null"} in usage["anyOf"]


# ====================================================== usage: asked once, at the end


class Counting:
    """Replies once, then finishes; an inline agent."""

    def __init__(self) -> None:
        self.turns = 0

    async def act(self, observation: Any) -> list[dict[str, Any]]:
        self.turns += 1
        if self.turns == 1:
            return [{"op": "reply", "message": "Looking into it now."}]
        return [{"op": "finish"}]


class Reporting(Counting):
    def usage(self) -> dict[str, float]:
        return {"turns": self.turns, "dollars": 0.25}


class Failing(Counting):
    def usage(self) -> dict[str, float]:
        raise RuntimeError("no meter")


class Malformed(Counting):
    def usage(self) -> Any:
        return {"turns": "two"}


class Crashing(Reporting):
    async def act(self, observation: Any) -> list[dict[str, Any]]:
        raise ValueError("the agent broke")


class SyncReporting:
    """A sync agent (the thread executor), whose usage() runs in a thread too."""

    def __init__(self) -> None:
        self.turns = 0

    def act(self, observation: Any) -> list[dict[str, Any]]:
        self.turns += 1
        return [{"op": "finish"}]

    def usage(self) -> dict[str, float]:
        return {"turns": self.turns}


def _play(agent: type, **config: Any) -> Any:
    (result,) = simulate_many([make_job(TASK, agent, agent_name="same",
                                        config=EpisodeConfig(**config))])
    return result


def test_the_usage_is_asked_once_at_the_end_and_leaves_the_trace_alone() -> None:
    plain, reporting = _play(Counting), _play(Reporting)
    assert plain.agent_usage is None and plain.error is None
    assert reporting.agent_usage == {"turns": 2.0, "dollars": 0.25}
    assert reporting.error is None
    assert reporting.summary()["agent_usage"] == {"turns": 2.0, "dollars": 0.25}
    assert reporting.trace.to_jsonl() == plain.trace.to_jsonl()  # byte for byte
    assert _play(SyncReporting).agent_usage == {"turns": 1.0}


@pytest.mark.parametrize(("agent", "says"), [
    (Failing, "the agent's usage() raised RuntimeError: no meter"),
    (Malformed, "the agent's usage() returned a dict that is not a dict of name -> finite "
                "number; allowed: a dict of str -> float"),
])
def test_a_usage_that_fails_is_reported_in_the_row_and_changes_nothing_else(
        agent: type, says: str) -> None:
    result, plain = _play(agent), _play(Counting)
    assert result.agent_usage is None
    assert result.error == says
    assert (result.termination_reason, result.score) == ("finished", plain.score)
    assert result.trace.result is not None and result.trace.result.error is None
    assert result.trace.to_jsonl() == plain.trace.to_jsonl()


def test_an_episode_error_is_kept_first_when_the_usage_fails_too() -> None:
    class CrashingAndFailing(Crashing):
        def usage(self) -> dict[str, float]:
            raise RuntimeError("no meter")

    result = _play(Crashing)
    assert result.termination_reason == "agent_error"
    assert result.error == "ValueError: the agent broke"
    assert result.agent_usage == {"turns": 0.0, "dollars": 0.25}
    both = _play(CrashingAndFailing)
    assert both.error == ("ValueError: the agent broke; also the agent's usage() raised "
                          "RuntimeError: no meter")


def test_a_process_agent_is_not_asked_for_its_usage() -> None:
    # Its code never runs in the simulator's process, usage() included.
    result = _play(SyncReporting, agent_executor="process")
    assert result.termination_reason == "finished", result.error
    assert result.agent_usage is None and result.error is None


def test_the_summary_sums_usage_exactly_whatever_the_order_of_the_rows() -> None:
    draw = random.Random(7)
    rows: list[dict[str, Any]] = [
        {"task_id": f"t{i % 3}", "score": 0.5, "breakdown": {}, "sla_breached": False,
         "termination_reason": "finished",
         "agent_usage": {"llm_cost_usd": draw.random() * 10 ** draw.randint(-9, 6),
                         "llm_requests": float(draw.randint(0, 9))}}
        for i in range(300)]
    rows += [{**rows[0], "agent_usage": None}, {**rows[1], "task_id": "bare",
                                                "agent_usage": None}]
    summaries = []
    for _ in range(3):
        draw.shuffle(rows)
        summaries.append(summarize(rows))
    assert summaries[0] == summaries[1] == summaries[2]
    overall = summaries[0]["overall"]["agent_usage"]
    assert list(overall) == ["llm_cost_usd", "llm_requests"]
    assert overall["llm_cost_usd"] == math.fsum(
        r["agent_usage"]["llm_cost_usd"] for r in rows if r["agent_usage"])
    assert summaries[0]["per_task"]["bare"]["agent_usage"] is None
    assert summarize([{**rows[0], "agent_usage": None}])["overall"]["agent_usage"] is None


def test_the_llm_agent_gets_a_longer_decision_limit_unless_one_is_given() -> None:
    # Its requests have their own timeout and retries, and a decision may queue for a
    # request slot: 60 s would end busy sweeps as agent_timeout.
    from actors.agents.llm import LLMConfig
    from actors.episodes import DEFAULT_AGENT_TIMEOUT, LLM_AGENT_TIMEOUT, make_job
    from tasks import get_task

    task = get_task("api_incident_hard")
    assert make_job(task, "llm", llm=LLMConfig(model="m")).config.agent_timeout == (
        LLM_AGENT_TIMEOUT)
    assert make_job(task, "heuristic").config.agent_timeout == DEFAULT_AGENT_TIMEOUT
    assert LLM_AGENT_TIMEOUT > LLMConfig(model="m").worst_case_decision_seconds()
