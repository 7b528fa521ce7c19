"""The world or the grader raising ends that episode, and only that one, as ``sim_error``.

The trace of such an episode can still be written and read back, with its result line.
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from episode_helpers import SEED_TASK
from failing_agents import Triager, job, reasons

from actors import ScriptedAgent
from actors.world import StandardWorld
from sim import grading
from sim.episode import EpisodeState, run_episode
from sim.kernel.environment import ActorContext, Environment
from sim.outlook import WorldOutlook, outlook_as_written
from sim.runner import run_episodes
from sim.trace import Trace
from tasks import SupportTaskSpec

# ============================================================================ the world


@attrs.frozen
class ExplodingWorld:
    """A world with one actor that raises 30 simulated minutes in."""

    persona: str = "cooperative"
    faults: tuple[str, ...] = ()

    def outlook(self, task: SupportTaskSpec) -> WorldOutlook:
        return outlook_as_written(task)

    def populate(self, env: Environment, state: EpisodeState) -> None:
        async def bomb(ctx: ActorContext) -> None:
            await ctx.sleep(30 * 60)
            raise RuntimeError("world actor exploded")

        env.spawn("bomb", bomb)


async def test_world_actor_raising_is_sim_error() -> None:
    result = await run_episode(SEED_TASK, ScriptedAgent(), world=ExplodingWorld(), seed=0)
    assert result.termination_reason == "sim_error"
    assert result.error is not None
    assert "RuntimeError" in result.error and "world actor exploded" in result.error
    assert result.steps == 2  # turns at 0 and 20 minutes; the bomb goes off at 30
    assert result.sim_minutes == 30
    assert result.trace.result is not None
    assert result.trace.result.termination_reason == "sim_error"
    assert all(e.t <= 30 * 60 for e in result.trace.events)


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


# =========================================================================== the grader


OTHER = "duplicate_charge_easy"


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
