"""How the grader's criteria add up: dropped criteria renormalise the rest, and the step
rewards of an episode sum to its score.

Each test plays a short script through the real simulator or grades a trace built event by
event (tests/grading_helpers.py, whose docstring holds the timelines) and pins one rule of
SPEC §4: the value, the reason, the penalty, what is dropped. The property suite
(test_grader_properties.py) checks the invariants on random sequences.
"""

from __future__ import annotations

import math

import pytest
from episode_helpers import API
from grading_helpers import API_FIELDS, FINISH, TASKS, escalate, note, play, reply, variant

from actors.agents.oracle import OracleAgent
from actors.world import StandardWorld
from sim.grading import step_rewards
from sim.testing import replay

# ------------------------------------------------------------------------ renormalising


def test_dropped_criteria_are_listed_and_the_rest_renormalised() -> None:
    # feature_request_easy: closed, so no escalation is needed (kept_informed dropped);
    # no required fields, so no answer can be missing or wrong (follow_up_handling dropped).
    task = TASKS["feature_request_easy"]
    report, _ = play(task.task_id, [[reply("Thanks, your feature request is logged.")]])
    assert report.dropped == ("follow_up_handling", "kept_informed")
    for name in report.dropped:
        criterion = report.criterion(name)
        assert not criterion.applies and criterion.value is None
        assert criterion.effective_weight == 0.0 and criterion.reason
    applying = [c for c in report.criteria if c.applies]
    total = 1.0 - 0.05 - 0.05
    assert math.isclose(math.fsum(c.effective_weight for c in applying), 1.0)
    for c in applying:
        assert math.isclose(c.effective_weight, c.weight / total)
    weighted = math.fsum(c.weight * (c.value or 0.0) for c in applying) / total
    assert math.isclose(report.score, weighted, abs_tol=1e-12)


@pytest.mark.parametrize(
    ("field", "name", "words"),
    [("required_reply_markers", "reply_markers", "reply markers"),
     ("required_note_markers", "note_markers", "note markers")],
)
def test_a_task_without_marker_groups_of_a_kind_drops_that_criterion(
    field: str, name: str, words: str
) -> None:
    task = variant("password_reset_easy", **{field: ()})
    report, _ = play(task, [[reply("Here is a manual reset link; it expires in 30 minutes."),
                             note("Identity verified by phone.")]])
    criterion = report.criterion(name)
    assert not criterion.applies and name in report.dropped
    assert words in criterion.reason


# ------------------------------------------------------------------------- step rewards


def test_step_rewards_sum_to_the_score() -> None:
    task = TASKS[API]
    _, result = play(API, [[{"op": "set_fields", "queue": "platform_engineering"}],
                           [reply("We acknowledge the incident.", API_FIELDS)],
                           [escalate("platform_engineering")], [], [reply(), FINISH]])
    rewards = step_rewards(task, result.trace)
    assert len(rewards) == result.steps == 5
    assert math.isclose(math.fsum(rewards), result.score, abs_tol=1e-9)


def test_the_oracle_scores_one_and_its_rewards_sum_to_one() -> None:
    for task in TASKS.values():
        result = replay(task, [], world=StandardWorld, agent=OracleAgent(), agent_name="oracle",
                        privileged=True)
        assert result.score == 1.0, (task.task_id, result.breakdown)
        assert result.trace.header.privileged
        assert math.isclose(math.fsum(step_rewards(task, result.trace)), 1.0, abs_tol=1e-9)


def test_rewards_sum_to_score_when_no_turn_is_played() -> None:
    class FailsOnReset:
        def reset(self, brief: object, seed: int) -> None:
            raise RuntimeError("cannot start")

        def act(self, observation: object) -> list[object]:
            return []

    task = TASKS["known_incident_duplicate_medium"]  # gold queue general_support: the default
    result = replay(task, [], world=StandardWorld, agent=FailsOnReset())
    assert result.termination_reason == "agent_error" and result.steps == 0
    assert math.isclose(math.fsum(step_rewards(task, result.trace)), result.score,
                        abs_tol=1e-9)


def test_step_rewards_are_graded_in_the_world_of_the_header() -> None:
    # A silent customer: the world drops nothing the task as written would keep, and the
    # oracle's chase counts only in that world.
    task = TASKS["duplicate_charge_easy"]
    _, result = play(task.task_id, [], agent=OracleAgent(), privileged=True, persona="silent")
    assert result.score == 1.0
    assert math.isclose(sum(step_rewards(task, result.trace)), 1.0)
