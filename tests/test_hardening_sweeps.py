"""Sweeps under hostile conditions (issue 14, items 6-10), run as a user runs them.

6. A worker process that dies (``os._exit``, a segfault) loses only the episode that
   killed it: the others get their rows, the lost one is named, the exit status is 1.
7. Workers die with their parent; SIGTERM stops a sweep as Ctrl-C does (exit 143).
8. The folder is locked while a sweep runs; a row read twice counts once; a results
   line that is JSON but not a row is refused with one line.
9. The summary is a fold over the results file: its memory does not grow with the
   number of episodes, and it does not depend on the order of the rows.
10. The results file is fsynced in groups, and per line with ``--durable``.

The misbehaving agents are written into each test's folder and named by module path
(the command line adds the current folder to the import path, and so do its workers).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from actors.sweep import SweepPlan, check_out_dir, summarize_results
from sim import results as results_module
from sim.metrics import summarize
from sim.results import ResultsFormatError, ResultsWriter, read_results, row_problem
from sim.trace import dumps_line

ROOT = Path(__file__).resolve().parents[1]
EASY = "duplicate_charge_easy"

AGENTS = '''
import ctypes
import os
import time
from pathlib import Path

from actors.agents.heuristic import HeuristicAgent


class DieOnSeed3(HeuristicAgent):
    """Ends its process with os._exit in the episode of seed 3."""

    def reset(self, brief, seed):
        self.seed = seed

    def act(self, observation):
        if self.seed == 3:
            os._exit(7)
        return super().act(observation)


class SegfaultOnSeed3(DieOnSeed3):
    """Crashes its process (SIGSEGV, as a bad C extension would) in the episode of seed 3."""

    def act(self, observation):
        if self.seed == 3:
            ctypes.string_at(0)
        return HeuristicAgent.act(self, observation)


class AlwaysDie(HeuristicAgent):
    def act(self, observation):
        os._exit(9)


class Spin:
    """Never returns from a decision; leaves the id of its process in spin_pids/."""

    def act(self, observation):
        Path("spin_pids").mkdir(exist_ok=True)
        Path("spin_pids", str(os.getpid())).touch()
        while True:
            pass


class Slow(HeuristicAgent):
    """Takes 0.2 s a decision, and leaves the id of the process it decides in in pids/."""

    def act(self, observation):
        Path("pids").mkdir(exist_ok=True)
        Path("pids", str(os.getpid())).touch()
        time.sleep(0.2)
        return super().act(observation)
'''


def run_cli(*args: str, cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "run_sim.py"), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "COLUMNS": "200"})


def start_cli(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, str(ROOT / "run_sim.py"), *args], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "COLUMNS": "200"}, start_new_session=True)


def one_error_line(proc: subprocess.CompletedProcess[str], *fragments: str) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def agents(tmp_path: Path) -> Path:
    """A folder holding ``agents.py``, to run the command line in."""
    (tmp_path / "agents.py").write_text(AGENTS)
    return tmp_path


def wait_for_lines(path: Path, count: int, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120  # only against hanging forever
    while time.monotonic() < deadline:
        if path.exists() and path.read_bytes().count(b"\n") >= count:
            return
        assert proc.poll() is None, f"the sweep ended first: {proc.communicate()}"
        time.sleep(0.02)
    raise AssertionError(f"{path} never reached {count} lines")


def kill_group(proc: subprocess.Popen[str]) -> None:
    """Kill what is left of a sweep's process group (after a failed test: no orphans)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    if proc.returncode is None:
        proc.communicate(timeout=30)


def gone(pid: int) -> bool:
    """Whether process ``pid`` has ended (a zombie nobody reaped has ended too)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def wait_until_gone(pids: list[int]) -> list[int]:
    """The processes still running after a generous wait."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not all(gone(p) for p in pids):
        time.sleep(0.05)
    return [p for p in pids if not gone(p)]


# ================================================= 6. a worker that dies loses one episode


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


# =================================================== 7. workers die with their parent


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
    assert proc.returncode == 143, stderr[-3000:]
    assert "Traceback" not in stderr
    rows, dropped = read_results(out / "results.jsonl")
    assert dropped == 0 and 2 <= len(rows) < 200
    assert "sweep summary" in stdout and f"{len(rows)} episodes run" in stdout
    assert "interrupted" in stdout and "--resume" in stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["complete"] is False and summary["overall"]["episodes"] == len(rows)
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


# ==================================================== 8. one sweep per folder, clean rows


def test_a_second_sweep_on_a_busy_folder_is_refused_and_a_dead_ones_lock_is_not(
    agents: Path,
) -> None:
    out = agents / "out"
    args = ("sweep", "--tasks", EASY, "--agent", "agents:Slow", "--seeds", "6",
            "--concurrency", "1", "--out", str(out))
    first = start_cli(*args, cwd=agents)
    try:
        wait_for_lines(out / "results.jsonl", 1, first)
        for extra in (("--resume",), ()):
            one_error_line(run_cli(*args, *extra, cwd=agents),
                           "another sweep is running on this folder", "allowed")
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # it dies holding the lock
        first.communicate(timeout=30)
    done = len(read_results(out / "results.jsonl")[0])
    resumed = run_cli(*args, "--resume", "--concurrency", "6", cwd=agents)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{6 - done} episodes run, {done} already done" in resumed.stdout
    rows, dropped = read_results(out / "results.jsonl")
    assert dropped == 0 and sorted(r["seed"] for r in rows) == list(range(6))


def test_a_repeated_row_counts_once(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ("sweep", "--tasks", EASY, "--agent", "random", "--seeds", "3", "--out", str(out))
    assert run_cli(*args, cwd=ROOT).returncode == 0
    results = out / "results.jsonl"
    lines = results.read_text().splitlines(keepends=True)
    results.write_text("".join(lines + lines[::-1]))  # as two sweeps on one folder wrote it
    again = run_cli(*args, "--resume", cwd=ROOT)
    assert again.returncode == 0, again.stderr
    assert "0 episodes run, 3 already done, 3 repeated row(s) counted once" in again.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["overall"]["episodes"] == 3 and summary["complete"] is True
    rows, left_out = read_results(results)
    assert [json.loads(line) for line in lines] == rows and left_out == 3
    assert summarize(rows) == {k: summary[k] for k in ("overall", "per_task")}


GOOD_ROW: dict[str, Any] = {
    "task_id": EASY, "agent": "random", "seed": 0, "persona": "cooperative", "faults": [],
    "score": 0.5, "breakdown": {"queue": 1.0, "sla": None}, "sla_breached": False,
    "termination_reason": "finished",
}


@pytest.mark.parametrize(("line", "what"), [
    ('{"task_id": "duplicate_charge_easy"}', "agent is missing"),
    (json.dumps({**GOOD_ROW, "seed": "x"}), 'seed is "x"'),
    (json.dumps({**GOOD_ROW, "score": "high"}), 'score is "high"'),
    (json.dumps({**GOOD_ROW, "faults": 7}), "faults is 7"),
    (json.dumps({**GOOD_ROW, "breakdown": []}), "breakdown is []"),
    ("[1, 2]", "[1, 2] is not an object"),
    ("null", "null is not an object"),
], ids=["no agent", "seed text", "score text", "faults number", "breakdown list", "list",
        "null"])
def test_a_results_line_of_the_wrong_shape_is_one_clear_line(
    tmp_path: Path, line: str, what: str,
) -> None:
    out = tmp_path / "out"
    args = ("sweep", "--tasks", EASY, "--agent", "random", "--seeds", "2", "--out", str(out))
    assert run_cli(*args, cwd=ROOT).returncode == 0
    results = out / "results.jsonl"
    before = results.read_text() + line + "\n"
    results.write_text(before)
    one_error_line(run_cli(*args, "--resume", cwd=ROOT),
                   f"{results} line 3: not a results row ({what})", "allowed: a row as")
    assert results.read_text() == before  # nothing appended, nothing cut
    assert row_problem(json.loads(line)) is not None
    with pytest.raises(ResultsFormatError, match="line 3"):
        read_results(results)


def test_resume_refuses_another_agent_or_fault_set(tmp_path: Path) -> None:
    plan = SweepPlan(tasks=(EASY,), agent="random", seeds=2, personas=("cooperative",))
    out = tmp_path / "out"
    assert run_cli("sweep", "--tasks", EASY, "--agent", "random", "--seeds", "2", "--out",
                   str(out), cwd=ROOT).returncode == 0
    assert check_out_dir(plan, out, resume=True) == (2, 0)
    for other, what in ((SweepPlan(tasks=(EASY,), agent="heuristic", seeds=2,
                                   personas=("cooperative",)), "agent was 'random'"),
                        (SweepPlan(tasks=(EASY,), agent="random", seeds=2,
                                   personas=("cooperative",), faults=("eta_slips",)),
                         "faults was []")):
        with pytest.raises(ValueError, match="different plan") as refused:
            check_out_dir(other, out, resume=True)
        assert what in str(refused.value)


# ============================================== 9. the summary is a fold, flat in memory


def fabricated_rows(plan: SweepPlan, count: int, seed: int = 0) -> list[str]:
    """``count`` results lines of ``plan``'s episodes (varied scores and criteria)."""
    draw = random.Random(seed)
    lines = []
    for index in range(count):
        task, persona, episode_seed = plan.episode(index)
        breakdown = {f"criterion_{c}": draw.choice([0.0, 0.25, 0.5, 1.0, None])
                     for c in range(12)}
        lines.append(dumps_line({
            **GOOD_ROW, "task_id": task, "persona": persona, "seed": episode_seed,
            "agent": plan.agent, "score": draw.random(), "breakdown": breakdown,
            "sla_breached": draw.random() < 0.2,
            "termination_reason": draw.choice(["finished", "agent_error", "max_steps"]),
            "padding": "x" * 500}))
    return lines


def peak_bytes_of_summary(plan: SweepPlan, path: Path) -> tuple[int, int]:
    """The peak of the memory a summary of ``path`` allocates, and the episodes it covers."""
    summarize_results(plan, path)  # warm: imports and caches are not the fold's
    tracemalloc.start()
    try:
        _, episodes, _ = summarize_results(plan, path)
        return tracemalloc.get_traced_memory()[1], episodes
    finally:
        tracemalloc.stop()


def test_the_summary_of_a_results_file_does_not_grow_with_its_episodes(tmp_path: Path) -> None:
    plan = SweepPlan(tasks=("a", "b", "c", "d"), agent="random", seeds=2500,
                     personas=("cooperative", "silent"))
    peaks = {}
    for count in (2_000, 20_000):
        path = tmp_path / f"{count}.jsonl"
        path.write_text("\n".join(fabricated_rows(plan, count)) + "\n")
        peaks[count], episodes = peak_bytes_of_summary(plan, path)
        assert episodes == count
    # Ten times the rows (12 MB of them): the fold's peak may not follow. Holding every
    # row would take some 5 KB each, 90 MB more.
    assert peaks[20_000] < peaks[2_000] + 1_000_000, peaks


def test_the_summary_does_not_depend_on_the_order_of_the_rows(tmp_path: Path) -> None:
    plan = SweepPlan(tasks=("a", "b"), agent="random", seeds=300, personas=("cooperative",))
    lines = fabricated_rows(plan, 600, seed=1)
    summaries = []
    for order in range(3):
        random.Random(order).shuffle(lines)
        path = tmp_path / f"{order}.jsonl"
        path.write_text("\n".join(lines) + "\n")
        summaries.append(dumps_line(summarize_results(plan, path)[0]))
    assert summaries[0] == summaries[1] == summaries[2]
    rows = [json.loads(line) for line in lines]
    recount = summarize(rows)["overall"]
    scores = [r["score"] for r in rows]
    assert recount["episodes"] == 600 and recount["mean_score"] == pytest.approx(
        sum(scores) / 600, abs=1e-15)


# ======================================================= 10. fsync in groups, or per line


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now


def test_the_results_file_is_fsynced_in_groups_unless_durable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    synced: list[int] = []
    clock = FakeClock()
    monkeypatch.setattr(results_module, "_fsync", synced.append)
    monkeypatch.setattr(results_module, "_now", clock.monotonic)
    for durable, expected in ((False, 12 + 1), (True, 100)):
        synced.clear()
        path = tmp_path / f"durable_{durable}.jsonl"
        with ResultsWriter(path, durable=durable) as writer:
            for seed in range(100):  # a row every 1/16 s: a group every 8 rows
                clock.now += 0.0625
                writer.write({**GOOD_ROW, "seed": seed})
                assert path.read_bytes().count(b"\n") == seed + 1  # flushed at once
            writer.sync_if_due()
        # Grouped: one fsync per 0.5 s and one at the end for the rest; durable: one a row.
        assert len(synced) == expected, (durable, len(synced))
        assert len(read_results(path)[0]) == 100


def test_durable_is_a_documented_sweep_option(tmp_path: Path) -> None:
    assert "--durable" in run_cli("sweep", "--help", cwd=ROOT).stdout
    out = tmp_path / "out"
    proc = run_cli("sweep", "--tasks", EASY, "--agent", "oracle", "--seeds", "2", "--durable",
                   "--out", str(out), cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert len(read_results(out / "results.jsonl")[0]) == 2


def test_the_benchmarks_of_items_9_and_10_run(tmp_path: Path) -> None:
    """End to end, tiny (their figures are measured in bench/, never asserted here)."""
    memory = subprocess.run([sys.executable, "-m", "bench.summary_memory", "--episodes", "300",
                             "--no-load"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert memory.returncode == 0, memory.stderr
    assert "fold peak MB" in memory.stdout and "300" in memory.stdout
    fsync = subprocess.run([sys.executable, "-m", "bench.sweep_fsync", "--episodes", "100",
                            "--rounds", "1", "--dir", str(tmp_path)], cwd=ROOT,
                           capture_output=True, text=True, timeout=300)
    assert fsync.returncode == 0, fsync.stderr
    assert "durable takes" in fsync.stdout
