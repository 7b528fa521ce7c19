"""Grading stored traces: an impossible trace is rejected, not graded; malformed entries
are ignored; a trace written and read back regrades to the live report.

Each test plays a short script through the real simulator or grades a trace built event by
event (tests/grading_helpers.py, whose docstring holds the timelines) and pins one rule of
SPEC §4: the value, the reason, the penalty, what is dropped. The property suite
(test_grader_properties.py) checks the invariants on random sequences.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import ROOT
from episode_helpers import API
from grading_helpers import (
    API_FIELDS,
    ASK,
    CHASE,
    FINISH,
    TASKS,
    escalate,
    event,
    events_of,
    note,
    op_event,
    play,
    reply,
)

from actors.agents.oracle import OracleAgent
from actors.world import StandardWorld
from sim.grading import ImpossibleTraceError, grade, grade_events, step_rewards
from sim.testing import check_report_arithmetic, replay
from sim.trace import Trace, TraceEvent
from tasks import SupportTaskSpec

# -------------------------------------------------------------------- impossible traces


GOOD = [(0, "turn", {"turn": 1}), op_event(0, reply("Hi.")), (600, "turn", {"turn": 2})]


def _numbered(*rows: tuple[int, int, str, dict[str, Any]]) -> list[TraceEvent]:
    return [event(t, seq, kind, payload) for t, seq, kind, payload in rows]


IMPOSSIBLE = {
    "out-of-order-seq": _numbered((0, 0, "turn", {"turn": 1}), (600, 2, "turn", {"turn": 2}),
                                  (0, 1, "operation", {"op": reply()})),
    "duplicate-seq": _numbered((0, 0, "turn", {"turn": 1}), (0, 1, "operation", {"op": reply()}),
                               (0, 1, "operation", {"op": reply()})),
    "seq-not-from-zero": _numbered((0, 1, "turn", {"turn": 1})),
    "negative-time": _numbered((-1, 0, "turn", {"turn": 1})),
    "time-going-back": _numbered((600, 0, "turn", {"turn": 1}), (0, 1, "turn", {"turn": 2})),
    "skipped-turn": _numbered((0, 0, "turn", {"turn": 1}), (600, 1, "turn", {"turn": 3})),
    "first-turn-not-1": _numbered((0, 0, "turn", {"turn": 2})),
    "repeated-turn": _numbered((0, 0, "turn", {"turn": 1}), (600, 1, "turn", {"turn": 1})),
    "turn-as-text": _numbered((0, 0, "turn", {"turn": "1"})),
    "turn-missing": _numbered((0, 0, "turn", {})),
    "turn-as-bool": _numbered((0, 0, "turn", {"turn": True})),
}


def test_a_possible_trace_is_graded() -> None:
    check_report_arithmetic(grade_events(TASKS[API], events_of(*GOOD)))


@pytest.mark.parametrize("name", list(IMPOSSIBLE))
def test_an_impossible_trace_is_rejected_not_graded(name: str) -> None:
    task = TASKS[API]
    events = IMPOSSIBLE[name]
    with pytest.raises(ImpossibleTraceError) as caught:
        grade_events(task, events)
    assert isinstance(caught.value, ValueError)
    assert "\n" not in str(caught.value) and "allowed" in str(caught.value)
    _, result = play(API, [])
    trace = Trace(header=result.trace.header, events=events, result=result.trace.result)
    with pytest.raises(ImpossibleTraceError):
        grade(task, trace)
    with pytest.raises(ImpossibleTraceError):
        step_rewards(task, trace)


def test_grading_an_impossible_stored_trace_exits_2_with_one_line(tmp_path: Path) -> None:
    _, result = play(API, [[ASK, escalate("platform_engineering")], [CHASE]])
    lines = result.trace.to_jsonl().splitlines()
    path = tmp_path / "swapped.jsonl"
    # Swap the second and third events: their sequence numbers go 0, 2, 1, ...
    lines[2], lines[3] = lines[3], lines[2]
    assert [json.loads(line)["seq"] for line in lines[1:4]] == [0, 2, 1]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, str(ROOT / "run_sim.py"), "grade", str(path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert proc.stdout == ""
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith(f"run_sim.py: error: {path}: event seq 2 "), line
    assert "Traceback" not in proc.stderr


# ------------------------------------------------------------------------ stored traces


def test_a_stored_trace_regrades_to_the_live_report(tmp_path: Path) -> None:
    task = TASKS[API]
    turns = [[{"op": "set_fields", "queue": "platform_engineering", "priority": "urgent"},
              reply("We acknowledge the incident; please collect request ids.", API_FIELDS),
              note("Status page updated. Platform escalation."),
              escalate("platform_engineering"), {"op": "refund"}],
             [reply("Could you send the payload sample again?", ["payload_sample"])],
             [reply("Update from the platform team.")], [FINISH]]
    result = replay(task, turns, world=StandardWorld, seed=7, persona="impatient",
                    faults=("eta_slips",))
    live = grade(task, result.trace)
    path = tmp_path / "episode.jsonl"
    result.trace.write(path)
    stored = Trace.read(path)
    assert stored == result.trace
    assert stored.header.world == StandardWorld("impatient", ("eta_slips",)).outlook(task)
    assert path.read_text(encoding="utf-8") == result.trace.to_jsonl()
    assert grade(task, stored) == live
    assert stored.result is not None and stored.result.report == live.model_dump(mode="json")
    assert step_rewards(task, stored) == step_rewards(task, result.trace)


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85"],
                         ids=["U+2028", "U+2029", "U+0085"])
def test_reply_with_a_unicode_line_separator_round_trips(separator: str) -> None:
    task = TASKS[API]
    result = replay(task, [[reply(f"We acknowledge the incident.{separator}More soon.")]],
                    world=StandardWorld)
    assert grade(task, Trace.from_jsonl(result.trace.to_jsonl())) == grade(task, result.trace)


def test_a_trace_whose_header_names_no_world_is_graded_as_the_task_is_written() -> None:
    _, result = play(API, [], agent=OracleAgent(), privileged=True)
    bare = Trace(header=result.trace.header.model_copy(update={"world": None}),
                 events=result.trace.events, result=result.trace.result)
    assert grade(TASKS[API], bare).score == 1.0
    assert math.isclose(sum(step_rewards(TASKS[API], bare)), 1.0)


def test_grading_a_trace_for_another_task_still_gives_a_report() -> None:
    _, result = play(API, [[reply("hi", API_FIELDS), escalate("platform_engineering")]])
    other: SupportTaskSpec = TASKS["feature_request_easy"]
    check_report_arithmetic(grade(other, result.trace))


def test_a_negative_rejected_count_cannot_raise_the_score() -> None:
    task = TASKS[API]
    base = [event(0, 0, "turn", {"turn": 1})]
    tampered = [*base, event(0, 1, "invalid_turn", {"rejected": -5})]
    assert grade_events(task, tampered).score <= grade_events(task, base).score
    assert grade_events(task, tampered).invalid_operations == 1


def test_an_answer_with_an_unhashable_status_is_ignored() -> None:
    task = TASKS[API]
    events = [event(0, 0, "customer_answer",
                    {"fields": {"regions": {"status": ["wrong"]},
                                "request_ids": {"status": {"a": 1}}}}, actor="customer")]
    check_report_arithmetic(grade_events(task, events))
