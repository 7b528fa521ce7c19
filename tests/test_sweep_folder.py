"""A sweep's output folder, run as a user runs a sweep: one sweep at a time (a second is
refused while the first holds the folder's lock, and a dead sweep's lock is not); a results
row read twice counts once; a results line that is JSON but not a row is refused with one
line; ``--resume`` refuses another plan. The summary is a fold over the results file: its
memory does not grow with the number of episodes, and it does not depend on the order of
the rows. The results file is fsynced in groups, and per line with ``--durable``.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import ROOT, one_line_error, start_cli
from sweep_helpers import (
    EASY,
    agents_fixture,  # noqa: F401  (the ``agents`` fixture)
    run_cli,
    wait_for_lines,
)

from actors.sweep import SweepPlan, check_out_dir, summarize_results
from sim import results as results_module
from sim.metrics import summarize
from sim.results import ResultsFormatError, ResultsWriter, read_results, row_problem
from sim.trace import dumps_line


def one_error_line(proc: subprocess.CompletedProcess[str], *fragments: str) -> str:
    """The one line of a refusal (:func:`cli_helpers.one_line_error`), holding ``fragments``."""
    line = one_line_error(proc)
    for fragment in fragments:
        assert fragment in line, line
    return line


# ======================================================= one sweep per folder, clean rows


def test_a_second_sweep_on_a_busy_folder_is_refused_and_a_dead_ones_lock_is_not(
    agents: Path,
) -> None:
    out = agents / "out"
    args = ("sweep", "--tasks", EASY, "--agent", "agents:HeldAfterSeed0", "--seeds", "6",
            "--concurrency", "1", "--out", str(out))
    (agents / "hold").touch()  # the first sweep runs seed 0, then waits: it keeps the lock
    first = start_cli(*args, cwd=agents)
    try:
        wait_for_lines(out / "results.jsonl", 1, first)
        for extra in (("--resume",), ()):
            one_error_line(run_cli(*args, *extra, cwd=agents),
                           "another sweep is running on this folder", "allowed")
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # it dies holding the lock
        first.communicate(timeout=30)
    (agents / "hold").unlink()
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


# ================================================= the summary is a fold, flat in memory


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


# ========================================================== fsync in groups, or per line


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


def test_the_summary_memory_and_fsync_benchmarks_run(tmp_path: Path) -> None:
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
