"""The benchmark tools run end to end (their figures are not checked here: speed is
measured in ``bench/``, never asserted in tests)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, check=False)


def test_bench_quick_prints_every_row_and_the_goals() -> None:
    done = run("bench", "--quick")
    assert done.returncode == 0, done.stderr
    for row in ("floor: raw trio", "one after another", "reading every trace", "100 at once",
                "1,000 at once", "grader alone", "property suite", "growth: max_steps 128"):
        assert row in done.stdout, row
    assert "engine/floor cost" in done.stdout and "median of 15 pairs" in done.stdout
    goals = done.stdout.split("\ngoal ", 1)[1]
    assert "oracle episodes/s on one core" in goals and "engine/floor cost" in goals
    assert all(line.endswith(("met", "NOT met")) for line in goals.splitlines()[1:] if line)


def test_profile_prints_the_episode_call_tree() -> None:
    done = run("bench.profile", "--episodes", "30", "--min-share", "0.02")
    assert done.returncode == 0, done.stderr
    assert "run_episode" in done.stdout and "Environment.run" in done.stdout


@pytest.mark.parametrize(("args", "message"), [
    (("--task", "no_such_task"), "task 'no_such_task' is unknown; allowed:"),
    (("--agent", "no_such_agent"), "agent 'no_such_agent' is unknown; allowed:"),
    (("--episodes", "0"), "--episodes 0; allowed: 1 or more"),
    (("--min-share", "1.5"), "--min-share 1.5; allowed:"),
])
def test_profile_rejects_bad_input_in_one_line(args: tuple[str, ...], message: str) -> None:
    done = run("bench.profile", "--episodes", "5", *args)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_adapters_bench_plays_every_way_with_the_baselines_scores() -> None:
    done = run("bench.adapters", "--seeds", "1", "--sessions", "4")
    assert done.returncode == 0, done.stdout + done.stderr
    rows = [line for line in done.stdout.splitlines() if line.endswith("same as baseline")]
    assert len(rows) == 4, done.stdout
    assert "OpenEnv server, 4 WebSocket sessions" in done.stdout


def test_report_bench_builds_both_pages_and_times_them() -> None:
    done = run("bench.report", "--episodes", "100", "--repeats", "1")
    assert done.returncode == 0, done.stdout + done.stderr
    for row in ("floor", "summary", "sweep report", "episode report"):
        assert row in done.stdout, row
    assert "byte-identical" in done.stdout
