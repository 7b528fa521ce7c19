"""An agent's failure stays inside its episode (SPEC §3, §6).

An agent that raises (anything, ``SystemExit`` and ``KeyboardInterrupt`` included) ends its
episode as ``agent_error`` with its traceback in the trace, under every executor; one too
slow to decide ends it as ``agent_timeout``. A constructor or ``reset`` that fails fails
its own episode only, or, when every episode would fail at start, the command exits 2 with
one line. A real Ctrl-C still stops the run. The agents are in tests/failing_agents.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import trio
import trio_parallel
from cli_helpers import ROOT, TESTS, one_line_error, run_cli
from episode_helpers import API, SEED_TASK, STEP, events, play
from failing_agents import (
    HANG,
    RAISES,
    AsyncRaiser,
    ExitsInReset,
    FailsAfterFirst,
    Raiser,
    RaisingAsync,
    RaisingSync,
    RaisingThread,
    SpinsInReset,
    Triager,
    job,
    reasons,
    warm_up,
)

from actors import ScriptedAgent, make_job, simulate
from sim.episode import EpisodeConfig
from sim.observation import Observation
from sim.runner import run_episodes
from tasks import SupportTaskSpec, get_task

# =============================================================== raising while deciding


@pytest.mark.parametrize("make", [RaisingSync, RaisingThread, RaisingAsync])
async def test_agent_exception_is_agent_error(make: Any) -> None:
    result = await play(make())
    assert result.termination_reason == "agent_error"
    assert result.steps == 2
    assert result.error is not None
    assert "_Boom" in result.error
    assert "cannot decide at turn 2" in result.error
    (event,) = events(result, "agent_error")
    assert event.payload["turn"] == 2
    assert event.payload["type"] == "_Boom"
    assert event.payload["message"] == "cannot decide at turn 2"
    tb = event.payload["traceback"]
    assert tb.startswith("Traceback (most recent call last)")
    assert "raise _Boom(" in tb
    assert "in act" in tb
    assert events(result, "end")[0].payload["reason"] == "agent_error"


EXPECTED_ERROR = {"SystemExit": "SystemExit: 0", "KeyboardInterrupt": "KeyboardInterrupt: ",
                  "BaseException": "Abort: agent gave up"}


@pytest.mark.parametrize("kind", list(RAISES))
@pytest.mark.parametrize("executor", ["inline", "thread", "process", "async"])
async def test_an_agent_raising_systemexit_or_keyboardinterrupt_fails_its_episode_only(
    executor: str, kind: str
) -> None:
    if executor == "process":
        await trio_parallel.run_sync(warm_up)
    make: Any = (lambda: AsyncRaiser(kind)) if executor == "async" else (lambda: Raiser(kind))
    jobs = [job(Triager, seed=1),
            job(make, seed=2, executor="inline" if executor == "async" else executor),
            job(Triager, seed=3)]
    results = await run_episodes(jobs)
    assert reasons(results) == ["finished", "agent_error", "finished"]
    failed = results[1]
    assert failed.error == EXPECTED_ERROR[kind]
    assert failed.steps == 2
    (event,) = [e for e in failed.trace.events if e.kind == "agent_error"]
    assert event.payload["type"] == EXPECTED_ERROR[kind].split(":")[0]
    assert "failing_agents.py" in event.payload["traceback"]


def test_a_sweep_whose_agent_exits_finishes_with_agent_errors_and_resume_has_nothing_left(
    tmp_path: Path,
) -> None:
    out = tmp_path / "sweep"
    args = ("sweep", "--tasks", API, "--agent", "failing_agents:ExitingAgent",
            "--seeds", "3", "--out", str(out), "--json")
    first = run_cli(*args)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "Traceback" not in first.stderr
    summary = json.loads(first.stdout.strip().splitlines()[-1])
    assert summary["complete"] is True
    assert summary["overall"]["terminations"] == {"agent_error": 3}
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert {r["error"] for r in rows} == {"SystemExit: 0"}
    again = run_cli(*args, "--resume")
    assert again.returncode == 0, again.stderr[-3000:]
    assert json.loads(again.stdout.strip().splitlines()[-1])["complete"] is True


# =================================================================== too slow to decide


async def test_async_agent_too_slow_is_agent_timeout() -> None:
    class Stuck:
        async def act(self, observation: Observation) -> list[Any]:
            if observation.turn == 2:
                await trio.sleep(30)
            return []

    started = time.perf_counter()
    result = await play(Stuck(), config=EpisodeConfig(agent_timeout=0.2))
    assert time.perf_counter() - started < 5
    assert result.termination_reason == "agent_timeout"
    assert result.steps == 2
    assert result.error
    (event,) = events(result, "agent_timeout")
    assert event.payload["turn"] == 2
    assert event.t == STEP


async def test_sync_agent_in_a_thread_too_slow_is_agent_timeout() -> None:
    class Blocking:
        def act(self, observation: Observation) -> list[Any]:
            time.sleep(0.5)
            return []

    result = await play(Blocking(), config=EpisodeConfig(agent_timeout=0.1))
    assert result.termination_reason == "agent_timeout"
    assert result.steps == 1


# ========================================== failing to start: the constructor and reset


async def test_an_agent_factory_raising_fails_only_its_own_episode() -> None:
    def broken() -> Any:
        raise RuntimeError("cannot build the agent")

    jobs = [make_job(SEED_TASK, "oracle", seed=1),
            make_job(SEED_TASK, broken, seed=2, agent_name="broken"),
            make_job(SEED_TASK, "oracle", seed=3)]
    results = await run_episodes(jobs)
    assert [r.seed for r in results] == [1, 2, 3]  # none dropped
    assert [r.termination_reason for r in results] == ["finished", "agent_error", "finished"]
    assert "cannot build the agent" in (results[1].error or "")


@pytest.mark.parametrize("raised", [RuntimeError("flaky"), SystemExit(4), KeyboardInterrupt()],
                         ids=["RuntimeError", "SystemExit", "KeyboardInterrupt"])
async def test_a_constructor_that_raises_fails_its_own_episode(raised: BaseException) -> None:
    calls = 0

    def factory() -> Triager:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise raised
        return Triager()

    results = await run_episodes([job(factory, seed=s) for s in range(3)], concurrency=1)
    assert reasons(results) == ["finished", "agent_error", "finished"]
    assert results[1].error is not None
    assert results[1].error.startswith(type(raised).__name__ + ":")
    assert results[1].steps == 0


async def test_simulate_with_a_failing_constructor_is_agent_error() -> None:
    FailsAfterFirst.built = 0
    result = await simulate(get_task(API), "failing_agents:FailsAfterFirst")
    assert result.termination_reason == "agent_error"
    assert result.error == "RuntimeError: construction 2 failed"


@pytest.mark.parametrize(("agent", "raised"), [
    ("NoModel", "RuntimeError: no model configured set MODEL_KEY;"),
    ("ExitingConstructor", "SystemExit: no config;"),
])
@pytest.mark.parametrize("command", ["run", "sweep"])
def test_an_agent_whose_constructor_always_raises_is_one_line_and_exit_2(
    tmp_path: Path, command: str, agent: str, raised: str
) -> None:
    name = f"failing_agents:{agent}"
    out = tmp_path / "sweep"
    args = ("--seeds", "1", "--out", str(out)) if command == "sweep" else ()
    line = one_line_error(run_cli(command, "--agent", name, *args))
    assert line.startswith(f"run_sim.py: error: agent {name!r}: {agent}() raised {raised}"), line
    assert "allowed:" in line
    assert not out.exists()  # nothing was started


async def test_agent_reset_raising_is_agent_error() -> None:
    class BadReset(ScriptedAgent):
        def reset(self, task: SupportTaskSpec, seed: int) -> None:
            raise RuntimeError("reset failed")

    result = await play(BadReset())
    assert result.termination_reason == "agent_error"
    assert result.error == "RuntimeError: reset failed"


@pytest.mark.parametrize("executor", ["inline", "thread", "process"])
async def test_reset_that_exits_is_agent_error(executor: str) -> None:
    if executor == "process":
        await trio_parallel.run_sync(warm_up)
    results = await run_episodes([job(ExitsInReset, executor=executor), job(Triager, seed=1)])
    assert reasons(results) == ["agent_error", "finished"]
    assert (results[0].error, results[0].steps) == ("SystemExit: 3", 0)


async def test_a_reset_that_never_returns_times_out_in_the_process_executor() -> None:
    await trio_parallel.run_sync(warm_up)
    results = await run_episodes([job(SpinsInReset, timeout=1.0, executor="process"),
                                  job(Triager, seed=1, executor="process")])
    assert reasons(results) == ["agent_timeout", "finished"]
    assert (results[0].error, results[0].steps) == ("reset took longer than 1 s", 0)


# ======================================================================== a real Ctrl-C


CTRL_C = """
import sys
import failing_agents as t
try:
    print(t.interrupted_run(*sys.argv[1:]))
except* KeyboardInterrupt:
    print("stopped by KeyboardInterrupt")
    sys.exit(130)
"""


@pytest.mark.parametrize(("mode", "how", "executor"), [
    ("episodes", "sync", "inline"), ("episodes", "sync", "thread"),
    ("episodes", "async", "inline"), ("run", "sync", "inline"), ("run", "sync", "thread"),
    ("run", "async", "inline"),
])
def test_a_real_ctrl_c_while_agent_code_runs_still_stops_the_run(
    tmp_path: Path, mode: str, how: str, executor: str
) -> None:
    ready = tmp_path / "ready"
    proc = subprocess.Popen(
        [sys.executable, "-c", CTRL_C, mode, how, executor, str(ready)], cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(TESTS)})
    try:
        deadline = time.monotonic() + HANG
        while not ready.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the agent never started"
            time.sleep(0.02)
        time.sleep(0.1)  # into the agent's wait
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=HANG)
    finally:
        proc.kill()
    assert (proc.returncode, stdout.strip()) == (130, "stopped by KeyboardInterrupt"), stderr
