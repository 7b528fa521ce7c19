"""How an agent's decisions are run: inline, in threads, or in worker processes (SPEC §3).

Abandoned thread decisions do not starve later ones and at most ``AGENT_THREADS`` run at
once; under the process executor only the decision's own time counts against the limit;
an async ``reset`` is awaited; a thread the agent leaves running does not keep the command
alive. The agents are in tests/failing_agents.py.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import trio
import trio_parallel
from cli_helpers import run_cli
from episode_helpers import API
from failing_agents import (
    RELEASE,
    SLOW_SECONDS,
    AsyncReset,
    Counting,
    Hanging,
    Slow,
    Triager,
    job,
    reasons,
    warm_up,
)

from sim.kernel.executors import AGENT_THREADS
from sim.runner import run_episodes

# ============================================================================== threads


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


@pytest.mark.parametrize("executor", ["inline", "thread"])
async def test_an_async_reset_is_awaited(executor: str) -> None:
    (result,) = await run_episodes([job(AsyncReset, executor=executor)])
    assert result.termination_reason == "finished", result.error


def test_an_agents_non_daemon_thread_does_not_keep_the_command_running() -> None:
    proc = run_cli("run", "--agent", "failing_agents:StrayThread", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout)["termination_reason"] == "finished"
    assert "stray agent thread" in proc.stderr  # said, on stderr


# ===================================================================== worker processes


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
    proc = run_cli("sweep", "--tasks", API, "--agent", "failing_agents:Slow",
                   "--seeds", "3", "--agent-executor", "process", "--agent-timeout", "30",
                   "--out", str(out), "--json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [(r["termination_reason"], r["error"]) for r in rows] == [("finished", None)] * 3
