"""Sweep workers, run as a user runs a sweep: a worker process that dies (``os._exit``, a
segfault) loses only the episode that killed it (the others get their rows, the lost one is
named, the exit status is 1), and a sweep that keeps losing its workers gives up and says
so. Workers, and the processes they decide in, end with their parent; SIGTERM stops a sweep
as Ctrl-C does (exit 143). The process executor runs inside sweep workers too.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
from cli_helpers import ROOT, start_cli
from sweep_helpers import (
    EASY,
    agents_fixture,  # noqa: F401  (the ``agents`` fixture)
    check_stopped_sweep,
    kill_group,
    run_cli,
    wait_for_lines,
    wait_until_gone,
)

from sim.results import read_results

# ==================================================== a worker that dies loses one episode


@pytest.mark.parametrize(("agent", "workers", "why"), [
    ("DieOnSeed3", 1, "the worker process exited with status 7"),
    ("SegfaultOnSeed3", 2, "the worker process was killed by SIGSEGV"),
], ids=["os._exit, 1 worker", "segfault, 2 workers"])
def test_a_dying_worker_loses_only_the_episode_that_killed_it(
    agents: Path, agent: str, workers: int, why: str,
) -> None:
    out = agents / "out"
    # Every episode in flight at once: the parent cannot tell which one killed the worker
    # until it runs them one at a time.
    args = ("sweep", "--tasks", EASY, "--agent", f"agents:{agent}", "--seeds", "6",
            "--concurrency", "6", "--workers", str(workers), "--out", str(out))
    proc = run_cli(*args, cwd=agents)
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    assert "sweep summary" in proc.stdout and "5 episodes run" in proc.stdout
    assert "1 episode(s) lost" in proc.stderr
    assert f"{EASY} persona cooperative seed 3: {why}" in proc.stderr
    rows, dropped = read_results(out / "results.jsonl")
    assert dropped == 0 and sorted(r["seed"] for r in rows) == [0, 1, 2, 4, 5]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["complete"] is False and summary["missing"] == 1
    assert summary["overall"]["episodes"] == 5
    assert summary["lost"] == {"episodes": 1, "first": [
        {"task_id": EASY, "persona": "cooperative", "seed": 3, "why": why}]}
    # --resume tries the lost episode again: it dies again, and says so again.
    again = run_cli(*args, "--resume", cwd=agents)
    assert again.returncode == 1, again.stderr
    assert "0 episodes run, 5 already done" in again.stdout
    assert f"seed 3: {why}" in again.stderr
    assert len(read_results(out / "results.jsonl")[0]) == 5


def test_a_sweep_whose_workers_keep_dying_gives_up_and_says_so(agents: Path) -> None:
    out = agents / "out"
    proc = run_cli("sweep", "--tasks", EASY, "--agent", "agents:AlwaysDie", "--seeds", "30",
                   "--workers", "2", "--out", str(out), cwd=agents)
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert "0 episodes run" in proc.stdout and "30 episode(s) lost" in proc.stderr
    assert "not run: " in proc.stderr and "exited with status 9" in proc.stderr
    assert "  and 10 more" in proc.stderr  # stderr names the first 20
    summary = json.loads((out / "summary.json").read_text())
    assert summary["complete"] is False and summary["missing"] == 30
    assert summary["lost"]["episodes"] == 30 and len(summary["lost"]["first"]) == 20


# ====================================================== workers die with their parent


@pytest.mark.parametrize("workers", [1, 2], ids=["1 worker", "2 workers"])
def test_sigterm_stops_a_sweep_like_ctrl_c_and_its_workers_end(
    agents: Path, workers: int,
) -> None:
    out = agents / "out"
    proc = start_cli("sweep", "--tasks", EASY, "--agent", "agents:Slow", "--seeds", "200",
                     "--concurrency", "4", "--workers", str(workers), "--out", str(out),
                     cwd=agents)
    try:
        wait_for_lines(out / "results.jsonl", 2, proc)
        pids = [int(p.name) for p in (agents / "pids").iterdir()]
        assert len(pids) == workers and proc.pid not in pids  # episodes run in workers
        os.kill(proc.pid, signal.SIGTERM)  # the parent only, as a supervisor would
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        kill_group(proc)
    check_stopped_sweep(proc, stdout, stderr, out, 143, range(2, 200))
    assert wait_until_gone(pids) == []


def test_workers_die_when_their_parent_is_killed(agents: Path) -> None:
    out = agents / "out"
    proc = start_cli("sweep", "--tasks", EASY, "--agent", "agents:Slow", "--seeds", "200",
                     "--concurrency", "4", "--workers", "2", "--out", str(out), cwd=agents)
    try:
        wait_for_lines(out / "results.jsonl", 1, proc)
        pids = [int(p.name) for p in (agents / "pids").iterdir()]
        assert len(pids) == 2
        os.kill(proc.pid, signal.SIGKILL)  # nothing in the parent gets to tidy up
        proc.communicate(timeout=30)
        assert wait_until_gone(pids) == []
    finally:
        kill_group(proc)


def test_decision_processes_die_with_the_sweep(agents: Path) -> None:
    """Under the process executor an agent decides in processes the worker starts: a
    decision that never returns must not outlive the sweep either."""
    proc = start_cli("sweep", "--tasks", EASY, "--agent", "agents:Spin", "--seeds", "2",
                     "--agent-executor", "process", "--agent-timeout", "600", "--out",
                     str(agents / "out"), cwd=agents)
    try:
        deadline = time.monotonic() + 120
        spinning = agents / "spin_pids"
        while not (spinning.is_dir() and len(list(spinning.iterdir())) == 2):
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.05)
        pids = [int(p.name) for p in spinning.iterdir()]
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
        assert wait_until_gone(pids) == []
    finally:
        kill_group(proc)


@pytest.mark.parametrize("workers", [1, 2], ids=["1 worker", "2 workers"])
def test_the_process_executor_runs_in_sweep_workers(tmp_path: Path, workers: int) -> None:
    out = tmp_path / "out"
    proc = run_cli("sweep", "--tasks", EASY, "--agent", "heuristic", "--seeds", "2",
                   "--agent-executor", "process", "--workers", str(workers), "--out", str(out),
                   cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    rows, _ = read_results(out / "results.jsonl")
    assert [(r["termination_reason"], r["error"]) for r in rows] == [("finished", None)] * 2

