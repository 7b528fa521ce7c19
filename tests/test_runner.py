"""The runner (:func:`~sim.runner.run_episodes`): many episodes at once.

Each result is reported once and returned in job order; a result's figures are its trace's
report; a finished episode is freed at once, by reference counting.
"""

from __future__ import annotations

import pytest
import trio
from episode_helpers import SEED_TASK
from hypothesis import given, settings
from hypothesis import strategies as st

from actors import make_job
from sim.grading import grade
from sim.runner import run_episodes
from sim.trace import Trace
from tasks import PERSONAS, discover_tasks


async def test_runner_reports_each_result_once_in_job_order() -> None:
    tasks = sorted(discover_tasks().values(), key=lambda t: t.task_id)
    jobs = [make_job(task, "oracle", seed=i) for i, task in enumerate(tasks)]
    seen: list[int] = []
    results = await run_episodes(jobs, concurrency=3, on_result=lambda i, r: seen.append(i))
    assert sorted(seen) == list(range(len(jobs)))
    assert [r.task_id for r in results] == [t.task_id for t in tasks]
    with pytest.raises(ValueError):
        await run_episodes(jobs, concurrency=0)


@settings(max_examples=40, deadline=None)
@given(
    task_id=st.sampled_from(sorted(discover_tasks())),
    agent=st.sampled_from(["random", "heuristic", "oracle"]),
    persona=st.sampled_from(PERSONAS),
    faults=st.lists(st.sampled_from(["slow_eta", "eta_slips", "team_silent"]), unique=True),
    seed=st.integers(0, 2**32),
)
def test_a_results_figures_are_its_traces_report(
    task_id: str, agent: str, persona: str, faults: list[str], seed: int
) -> None:
    """The result's figures come from the grader's summary; the trace's report is made
    later, when first read. Both, and a re-grade of the stored trace, agree."""
    task = discover_tasks()[task_id]
    job = make_job(task, agent, seed=seed, persona=persona, faults=faults)
    result = trio.run(lambda: run_episodes([job]))[0]
    line = result.trace.result
    assert line is not None and line is result.trace.result  # made once
    report = line.report
    assert report is not None
    assert (result.score, result.sla_breached, result.invalid_operations) == (
        report["score"], report["sla_breached"], report["invalid_operations"])
    assert result.breakdown == {c["name"]: c["value"] for c in report["criteria"]}
    assert report == grade(task, result.trace).model_dump(mode="json")
    assert Trace.from_jsonl(result.trace.to_jsonl()) == result.trace


@pytest.mark.parametrize("persona", ["cooperative", "impatient"])
def test_a_finished_episode_leaves_no_cyclic_garbage(persona: str) -> None:
    """Each episode is freed by reference counting as soon as it ends. (A reference
    cycle once kept every finished episode, trace and all, until the cyclic collector
    ran, which under many episodes at once is rarely: memory grew with them. The
    impatient customer's pending nudge, which points back at it, once made another.)"""
    import gc

    jobs = [make_job(SEED_TASK, "oracle", seed=s, persona=persona, faults=("eta_slips",))
            for s in range(50)]
    trio.run(lambda: run_episodes(jobs[:2], collect=False))  # first-use caches
    gc.collect()
    gc.disable()
    try:
        trio.run(lambda: run_episodes(jobs, concurrency=10, collect=False))
        unreachable = gc.collect()
    finally:
        gc.enable()
    # trio.run leaves a few dozen objects, whatever the number of episodes; a cycle
    # through the environment leaves about a hundred per episode.
    assert unreachable < 2 * len(jobs), unreachable
