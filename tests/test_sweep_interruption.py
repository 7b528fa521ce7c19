"""Crash-safe sweep results (SPEC §6): a sweep killed with SIGKILL or stopped with SIGINT
resumes to exactly the results of a sweep never interrupted, each episode once.
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
from cli_helpers import ROOT, RUN_SIM, run_cli
from sweep_helpers import check_stopped_sweep, stable

from sim.results import read_results
from tasks import discover_tasks

SWEEP = ("sweep", "--tasks", "all", "--agent", "heuristic", "--seeds", "1",
         "--personas", "all")
EPISODES = len(discover_tasks()) * 1 * 5
#: Lines in results.jsonl before the sweep is interrupted.
INTERRUPT_AFTER = 10


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[Any, ...], Any]:
    out = tmp_path_factory.mktemp("uninterrupted") / "sweep"
    proc = run_cli(*SWEEP, "--workers", "1", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    rows, dropped = read_results(out / "results.jsonl")
    assert dropped == 0 and len(rows) == EPISODES
    return stable(rows)


def start_sweep(out: Path, workers: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(RUN_SIM), *SWEEP, "--workers", str(workers), "--out", str(out)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "COLUMNS": "200"}, start_new_session=True)


def wait_for_lines(path: Path, count: int, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if path.exists() and path.read_bytes().count(b"\n") >= count:
            return
        assert proc.poll() is None, f"the sweep ended first: {proc.communicate()}"
        time.sleep(0.01)
    raise AssertionError(f"{path} never reached {count} lines")


@pytest.mark.parametrize("workers", [1, 2], ids=["1 worker", "2 workers"])
def test_a_sweep_killed_with_sigkill_resumes_to_the_uninterrupted_results(
    tmp_path: Path, workers: int, uninterrupted: dict[tuple[Any, ...], Any]
) -> None:
    out = tmp_path / "sweep"
    proc = start_sweep(out, workers)
    wait_for_lines(out / "results.jsonl", INTERRUPT_AFTER, proc)
    os.killpg(proc.pid, signal.SIGKILL)  # the parent and its workers: nothing gets to tidy up
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    complete, _, _torn = (out / "results.jsonl").read_bytes().rpartition(b"\n")
    lines = complete.split(b"\n")
    for line in lines:  # every complete line is a whole result; a torn last one may follow
        assert "task_id" in json.loads(line)
    assert INTERRUPT_AFTER <= len(lines) < EPISODES
    resumed = run_cli(*SWEEP, "--workers", str(workers), "--out", str(out), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert f"{EPISODES - len(lines)} episodes run, {len(lines)} already done" in resumed.stdout
    rows, dropped = read_results(out / "results.jsonl")
    assert dropped == 0
    assert len(rows) == EPISODES  # each episode exactly once
    assert stable(rows) == uninterrupted


@pytest.mark.parametrize("workers", [1, 2], ids=["1 worker", "2 workers"])
def test_ctrl_c_stops_a_sweep_with_a_summary_and_resume_completes_it(
    tmp_path: Path, workers: int, uninterrupted: dict[tuple[Any, ...], Any]
) -> None:
    out = tmp_path / "sweep"
    proc = start_sweep(out, workers)
    wait_for_lines(out / "results.jsonl", INTERRUPT_AFTER, proc)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does: the whole foreground group
    stdout, stderr = proc.communicate(timeout=60)
    check_stopped_sweep(proc, stdout, stderr, out, 130, range(INTERRUPT_AFTER, EPISODES))
    resumed = run_cli(*SWEEP, "--workers", str(workers), "--out", str(out), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads((out / "summary.json").read_text())["complete"] is True
    rows, dropped = read_results(out / "results.jsonl")
    assert dropped == 0 and len(rows) == EPISODES
    assert stable(rows) == uninterrupted
