"""Issue 14, items 1-5 and part of 15: an agent's failure stays inside its episode.

1. Abandoned thread decisions do not starve later ones.
2. Under the process executor only the decision's own time counts against the limit.
3. ``SystemExit``/``KeyboardInterrupt`` from agent code is ``agent_error``; a real Ctrl-C
   still stops the run.
4. Constructor and ``reset`` failures are attributed per episode (or exit 2 with one line
   when every episode would fail at start); a hanging ``reset`` times out in a process.
5. The world or the grader raising ends that episode as ``sim_error``.
15. A task file that exits is a one-line error; an agent's thread does not keep the
   command running.

The agents live here, at module level: the process executor pickles them by reference
and the command line loads them as ``test_hardening_agents:Name`` (``tests/`` on the path).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest
import trio
import trio_parallel

from actors import make_job, simulate
from actors.world import StandardWorld
from sim import grading
from sim.episode import EpisodeConfig, EpisodeResult, EpisodeState
from sim.kernel.environment import Environment
from sim.kernel.executors import AGENT_THREADS
from sim.runner import EpisodeJob, run_episodes
from sim.trace import Trace
from tasks import get_task

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
RUN_SIM = ROOT / "run_sim.py"
API = "api_incident_hard"
OTHER = "duplicate_charge_easy"
#: Seconds a subprocess may take before the test gives up on it (a hang, not a timing).
HANG = 60

TRIAGE: list[dict[str, Any]] = [
    {"op": "set_fields", "priority": "high"},
    {"op": "reply", "message": "We are looking into this and will update you shortly."},
]
FINISH: list[dict[str, Any]] = [{"op": "finish"}]

# ============================================================================== agents


class Triager:
    """A plain sync agent (``auto`` threads it): triage at turn 1, finish at turn 2."""

    def act(self, observation: Any) -> Any:
        return TRIAGE if observation.turn == 1 else FINISH


#: Set when a test is over: the hung agents' threads then return.
RELEASE = threading.Event()


class Hanging:
    """A sync agent whose first decision blocks until :data:`RELEASE` is set."""

    def act(self, observation: Any) -> Any:
        RELEASE.wait(HANG)
        return FINISH


class Counting:
    """A sync agent that sleeps a little and records how many decisions run at once."""

    lock = threading.Lock()
    running = 0
    most = 0

    def act(self, observation: Any) -> Any:
        with Counting.lock:
            Counting.running += 1
            Counting.most = max(Counting.most, Counting.running)
        time.sleep(0.05)
        with Counting.lock:
            Counting.running -= 1
        return FINISH


class Slow:
    """Takes ``SLOW_SECONDS`` per decision, then finishes (for the process executor)."""

    def act(self, observation: Any) -> Any:
        time.sleep(SLOW_SECONDS)
        return FINISH


SLOW_SECONDS = 0.2


class Abort(BaseException):
    """A BaseException of the agent's own."""


RAISES: dict[str, Callable[[], BaseException]] = {
    "SystemExit": lambda: SystemExit(0),
    "KeyboardInterrupt": KeyboardInterrupt,
    "BaseException": lambda: Abort("agent gave up"),
}


class Raiser:
    """Triages at turn 1; at turn 2 raises ``RAISES[kind]`` (sync, so any executor)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def act(self, observation: Any) -> Any:
        if observation.turn == 2:
            raise RAISES[self.kind]()
        return TRIAGE


class AsyncRaiser:
    """The async twin of :class:`Raiser`: raises after awaiting."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    async def act(self, observation: Any) -> Any:
        await trio.sleep(0)
        if observation.turn == 2:
            raise RAISES[self.kind]()
        return TRIAGE


class ExitsInReset(Triager):
    def reset(self, brief: Any, seed: int) -> None:
        sys.exit(3)


class SpinsInReset(Triager):
    """Its ``reset`` never returns and never yields."""

    def reset(self, brief: Any, seed: int) -> None:
        while True:
            pass


class AsyncReset:
    """An async ``reset`` that must be awaited for ``act`` to work."""

    def __init__(self) -> None:
        self.ready = False

    async def reset(self, brief: Any, seed: int) -> None:
        await trio.sleep(0)
        self.ready = True

    async def act(self, observation: Any) -> Any:
        if not self.ready:
            raise RuntimeError("reset was never awaited")
        return TRIAGE if observation.turn == 1 else FINISH


class NoModel:
    """Every construction fails, as an agent without its API key configured."""

    def __init__(self) -> None:
        raise RuntimeError("no model configured\nset MODEL_KEY")

    def act(self, observation: Any) -> Any:
        return FINISH


class ExitingConstructor:
    def __init__(self) -> None:
        sys.exit("no config")

    def act(self, observation: Any) -> Any:
        return FINISH


class FailsAfterFirst(Triager):
    """Builds once (when its name is resolved), then fails every episode."""

    built = 0

    def __init__(self) -> None:
        FailsAfterFirst.built += 1
        if FailsAfterFirst.built > 1:
            raise RuntimeError(f"construction {FailsAfterFirst.built} failed")


class StrayThread(Triager):
    """Starts a non-daemon thread that never ends."""

    def __init__(self) -> None:
        threading.Thread(target=threading.Event().wait, name="stray agent thread").start()


class SignalWaiter:
    """Writes ``READY`` at turn 1, then waits in its own code for 30 s (sync or async)."""

    def __init__(self, ready: str, how: str) -> None:
        self.ready, self.how = ready, how
        if how == "async":
            self.act = self._act_async

    def act(self, observation: Any) -> Any:
        Path(self.ready).write_text("ready")
        time.sleep(30)
        return FINISH

    async def _act_async(self, observation: Any) -> Any:
        Path(self.ready).write_text("ready")
        await trio.sleep(30)
        return FINISH


def warm_up() -> int:
    """Run in a worker process: imports this module there, before any timed decision."""
    return os.getpid()


# ============================================================================= helpers


def job(make: Any, *, task: str = API, seed: int = 0, timeout: float = 10.0,
        executor: str = "auto", world: StandardWorld | None = None) -> EpisodeJob:
    made = make_job(get_task(task), make, seed=seed, persona="cooperative",
                    agent_name=getattr(make, "__name__", "agent"),
                    config=EpisodeConfig(agent_timeout=timeout, agent_executor=executor))
    return made if world is None else attrs.evolve(made, world=world)


def reasons(results: list[EpisodeResult]) -> list[str]:
    return [r.termination_reason for r in results]


def run_cli(*args: str, env: dict[str, str] | None = None,
            cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    path = os.pathsep.join(p for p in (str(TESTS), os.environ.get("PYTHONPATH")) if p)
    return subprocess.run([sys.executable, str(RUN_SIM), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=HANG,
                          env={**os.environ, "COLUMNS": "200", "PYTHONPATH": path,
                               **(env or {})})


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


# =========================================== 1. hung thread decisions do not starve others


async def test_hung_sync_agents_do_not_starve_the_decisions_after_them() -> None:
    # More hung decisions than trio's default thread limiter has tokens (40); the normal
    # episodes start only once hung ones have been abandoned.
    hung = 45
    jobs = [job(Hanging, seed=s, timeout=0.2) for s in range(hung)]
    jobs += [job(Triager, seed=s, timeout=5.0) for s in range(hung, hung + 5)]
    try:
        results = await run_episodes(jobs, concurrency=hung)
        # The default limiter (which trio-parallel also uses to start its workers) is
        # untouched while the abandoned threads still hang.
        borrowed = trio.to_thread.current_default_thread_limiter().borrowed_tokens
    finally:
        RELEASE.set()
    assert Counter(reasons(results)) == {"agent_timeout": hung, "finished": 5}
    assert reasons(results)[hung:] == ["finished"] * 5
    assert borrowed == 0


async def test_thread_decisions_running_at_once_stay_bounded() -> None:
    Counting.most = 0
    jobs = [job(Counting, seed=s) for s in range(AGENT_THREADS + 16)]
    results = await run_episodes(jobs, concurrency=len(jobs))
    assert set(reasons(results)) == {"finished"}
    assert 1 <= Counting.most <= AGENT_THREADS


# =================================== 2. waiting for a worker process is not the agent's time


async def test_waiting_for_a_free_worker_process_does_not_count_against_the_limit() -> None:
    # One worker, fourteen episodes at once: the last waits thirteen decisions for it,
    # far past the limit, while each decision takes an eighth of it.
    trio_parallel.current_default_worker_limiter().total_tokens = 1
    await trio_parallel.run_sync(warm_up)  # this module imported there, untimed
    jobs = [job(Slow, seed=s, timeout=8 * SLOW_SECONDS, executor="process")
            for s in range(14)]
    results = await run_episodes(jobs, concurrency=len(jobs))
    assert reasons(results) == ["finished"] * 14, [r.error for r in results]


def test_a_sweep_under_the_process_executor_runs_its_decisions(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    proc = run_cli("sweep", "--tasks", API, "--agent", "test_hardening_agents:Slow",
                   "--seeds", "3", "--agent-executor", "process", "--agent-timeout", "30",
                   "--out", str(out), "--json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [(r["termination_reason"], r["error"]) for r in rows] == [("finished", None)] * 3


# ============================= 3. SystemExit, KeyboardInterrupt from agent code: agent_error

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
    assert "test_hardening_agents.py" in event.payload["traceback"]


def test_a_sweep_whose_agent_exits_finishes_with_agent_errors_and_resume_has_nothing_left(
    tmp_path: Path,
) -> None:
    out = tmp_path / "sweep"
    args = ("sweep", "--tasks", API, "--agent", "test_hardening_agents:ExitingAgent",
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


class ExitingAgent(Raiser):
    """``Raiser("SystemExit")`` by a name the command line can load."""

    def __init__(self) -> None:
        super().__init__("SystemExit")


def interrupted_run(mode: str, how: str, executor: str, ready: str) -> list[str]:
    """What the Ctrl-C subprocess runs: episodes whose agents wait for the signal."""
    config = EpisodeConfig(agent_timeout=60, agent_executor=executor)

    def make() -> SignalWaiter:
        return SignalWaiter(ready, how)

    if mode == "run":  # one episode, its agent in trio's main task (the run command)
        result = trio.run(lambda: simulate(get_task(API), make, config=config))
        return [result.termination_reason]
    jobs = [make_job(get_task(API), make, seed=s, config=config) for s in range(3)]
    return reasons(trio.run(run_episodes, jobs))


CTRL_C = """
import sys
import test_hardening_agents as t
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


# ================================= 4. constructor and reset: per episode, or exit 2 at start


@pytest.mark.parametrize(("agent", "raised"), [
    ("NoModel", "RuntimeError: no model configured set MODEL_KEY;"),
    ("ExitingConstructor", "SystemExit: no config;"),
])
@pytest.mark.parametrize("command", ["run", "sweep"])
def test_an_agent_whose_constructor_always_raises_is_one_line_and_exit_2(
    tmp_path: Path, command: str, agent: str, raised: str
) -> None:
    name = f"test_hardening_agents:{agent}"
    out = tmp_path / "sweep"
    args = ("--seeds", "1", "--out", str(out)) if command == "sweep" else ()
    line = one_line_error(run_cli(command, "--agent", name, *args))
    assert line.startswith(f"run_sim.py: error: agent {name!r}: {agent}() raised {raised}"), line
    assert "allowed:" in line
    assert not out.exists()  # nothing was started


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
    result = await simulate(get_task(API), "test_hardening_agents:FailsAfterFirst")
    assert result.termination_reason == "agent_error"
    assert result.error == "RuntimeError: construction 2 failed"


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


@pytest.mark.parametrize("executor", ["inline", "thread"])
async def test_an_async_reset_is_awaited(executor: str) -> None:
    (result,) = await run_episodes([job(AsyncReset, executor=executor)])
    assert result.termination_reason == "finished", result.error


# ================================================= 5. the world or the grader: sim_error


@attrs.frozen
class OutlookFails(StandardWorld):
    def outlook(self, task: Any) -> Any:
        raise RuntimeError("no outlook today")


@attrs.frozen
class PopulateFails(StandardWorld):
    def populate(self, env: Environment, state: EpisodeState) -> None:
        raise RuntimeError("no customer today")


@attrs.frozen
class CustomerFails(StandardWorld):
    """A world whose actor raises mid-episode (at its first turn)."""

    def populate(self, env: Environment, state: EpisodeState) -> None:
        super().populate(env, state)

        def fail(ctx: Any) -> None:
            raise RuntimeError("the customer fell over")

        env.call_at(1, "saboteur", fail)


@pytest.mark.parametrize(("world", "error"), [
    (OutlookFails(), "the world raised RuntimeError: no outlook today"),
    (PopulateFails(), "the world raised RuntimeError: no customer today"),
    (CustomerFails(), "RuntimeError: the customer fell over"),
], ids=["outlook", "populate", "actor"])
async def test_a_world_that_raises_ends_its_episode_as_sim_error(
    world: StandardWorld, error: str
) -> None:
    jobs = [job(Triager, seed=1), job(Triager, seed=2, world=world), job(Triager, seed=3)]
    results = await run_episodes(jobs)
    assert reasons(results) == ["finished", "sim_error", "finished"]
    assert results[1].error == error
    text = results[1].trace.to_jsonl()
    assert Trace.from_jsonl(text).result is not None


@pytest.mark.parametrize("method", ["fold", "summary", "report_data"])
async def test_a_grader_that_raises_ends_its_episode_as_sim_error(
    monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    original = getattr(grading.GradeAccumulator, method)

    def broken(self: grading.GradeAccumulator, *args: Any, **kwargs: Any) -> Any:
        if self.task.task_id == OTHER:
            raise ZeroDivisionError(f"{method} divided by zero")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(grading.GradeAccumulator, method, broken)
    jobs = [job(Triager, seed=1), job(Triager, task=OTHER, seed=2), job(Triager, seed=3)]
    results = await run_episodes(jobs)
    ok, failed, ok_too = results
    assert [ok.termination_reason, ok_too.termination_reason] == ["finished", "finished"]
    message = f"ZeroDivisionError: {method} divided by zero"
    written = Trace.from_jsonl(failed.trace.to_jsonl())  # writing the trace does not raise
    assert written.result is not None
    if method == "report_data":  # only laid out when the trace is written
        assert (written.result.termination_reason, written.result.score) == ("sim_error", 0.0)
        assert written.result.error == f"the grader raised {message}"
        return
    assert failed.termination_reason == "sim_error"
    assert failed.error is not None and message in failed.error
    assert written.result.termination_reason == "sim_error"
    if method == "summary":  # no score could be had (a failed fold scores what it saw)
        assert failed.score == 0.0


# ========================================== 15. a task file that exits; an agent's thread


def test_a_task_file_or_family_that_calls_sys_exit_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "fixed").mkdir()
    (tmp_path / "fixed" / "quitter.py").write_text("import sys\nsys.exit(0)\n")
    (tmp_path / "family").mkdir()
    (tmp_path / "family" / "quitter.py").write_text(
        "import sys\n\n\ndef FAMILY(draw):\n    sys.exit(0)\n")
    for kind, where in (("fixed", "quitter.py:2: SystemExit: 0;"),
                        ("family", "family 'quitter', seed 0: FAMILY (line 5): SystemExit: 0;")):
        folder = tmp_path / kind
        for args in (("run", "--tasks-dir", str(folder), "--task", "quitter"),
                     ("check-task", str(folder / "quitter.py"))):
            line = one_line_error(run_cli(*args))
            assert where in line and "allowed:" in line, line


def test_an_agents_non_daemon_thread_does_not_keep_the_command_running() -> None:
    proc = run_cli("run", "--agent", "test_hardening_agents:StrayThread", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout)["termination_reason"] == "finished"
    assert "stray agent thread" in proc.stderr  # said, on stderr
