"""Property-testing a task and its grader: strategies, replays and the invariant suite.

SPEC §4 lists invariants every task's grader must keep, whatever the agent does. This
toolkit states each one as a hypothesis property and runs it against any task, so a task
author can prove a new task sound before shipping it.

The one-call way (the entry point for ``run_sim.py check-task FILE``) binds the standard
world and the oracle for you::

    from actors.checks import check_task

    report = check_task("my_tasks/refund_loop_medium.py", max_examples=50)
    print(report.render())          # one line per invariant: PASS, FAIL (+ example), N/A
    assert report.ok

The toolkit never imports :mod:`actors` (imports point tasks <- sim <- actors), so
everything that needs the world around the agent takes it as a parameter:

- ``world``: a factory called as ``world(persona, faults)`` that returns a
  :class:`~sim.episode.World` (``actors.world.StandardWorld`` is one), or a ``World``
  instance used as is for every run.
- ``oracle``: a zero-argument factory of the agent that knows the gold answer
  (``actors.agents.oracle.OracleAgent``); without one the oracle invariant is not applicable.

Running the suite directly::

    from actors.agents.oracle import OracleAgent
    from actors.teams import FAULTS
    from actors.world import StandardWorld
    from sim.testing import run_property_suite
    from tasks import PERSONAS, load_task_file

    task = load_task_file("my_tasks/refund_loop_medium.py")
    for result in run_property_suite(task, world=StandardWorld, oracle=OracleAgent,
                                     personas=PERSONAS, faults=FAULTS, max_examples=50):
        print(result.name, result.status, result.counterexample or "")

Every invariant runs in every world: each example draws a persona from ``personas`` and a
subset of ``faults`` (without them, the task's own persona and no faults), and the oracle
is first played once in each of those worlds. A failure never raises: the
:class:`InvariantResult` says which invariant failed and describes the smallest failing
example hypothesis found (the seed, persona, faults and the turns the scripted agent
played), ready to paste into a scenario.

Writing your own properties with the same building blocks::

    from hypothesis import given
    from sim.testing import check_trace, replay, turn_sequences

    @given(turn_sequences(task))
    def test_my_rule(turns):
        result = replay(task, turns, world=StandardWorld)   # the real simulator
        check_trace(task, result.trace)                     # the per-trace invariants
        assert result.breakdown["queue"] is not None

The strategies are built from the task's own catalog and markers so they hit the
interesting cases: gold values often, marker terms assembled into replies and notes (and
near misses such as ``request_ids`` for ``request ids``), replies and notes over the length
limits, unknown operations, values outside the catalog, wrong types, turns with more than
:data:`~sim.operations.MAX_OPERATIONS_PER_TURN` operations and turns that are not lists.

**Gaming policies** are strategies too, each a list of turns built from the task alone,
for :func:`replay` against your own task (the suite plays them, so ``check-task`` does):
quitters, escalation sprays, empty relays, leakers, filler and stuffed replies, and
:func:`gaming_turns` for any of them; :mod:`sim.testing.adversaries` describes each.

For example, a stuffer must earn no reply markers on your task::

    @given(stuffed_turns(task))
    def test_stuffing_buys_nothing(turns):
        report = grade(task, replay(task, turns, world=StandardWorld).trace)
        assert report.criterion("reply_markers").value == 0

Where each piece lives:

- :mod:`sim.testing.strategies`: operations, turns, turn sequences, trace events;
- :mod:`sim.testing.adversaries`: the gaming policies;
- :mod:`sim.testing.replaying`: :func:`replay` and friends, the world parameter;
- :mod:`sim.testing.checks`: the per-trace checks and the spec's own table of weights
  and penalties;
- :mod:`sim.testing.context`: :class:`Example` and :class:`SuiteContext`;
- :mod:`sim.testing.invariants`, :mod:`sim.testing.escalation_invariants`,
  :mod:`sim.testing.gaming_invariants`: each invariant's strategy and check;
- :mod:`sim.testing.suite`: the named invariants and :func:`run_property_suite`.
"""

from __future__ import annotations

from sim.scripted import ScriptedAgent
from sim.testing.adversaries import (
    FACTLESS_RELAYS,
    FILLER_TEXT,
    MIN_STUFFED_PIECE,
    brief_texts,
    empty_relay_turns,
    escalation_spray_turns,
    filler_turns,
    gaming_turns,
    internal_terms,
    leaker_turns,
    pad_with_filler,
    quitter_endings,
    quitter_turns,
    spray_turns,
    stuffed_replies,
    stuffed_turns,
)
from sim.testing.checks import (
    SPEC_CRITERIA_WEIGHTS,
    TOLERANCE,
    InvariantViolation,
    check_regrade,
    check_report_arithmetic,
    check_step_rewards,
    check_trace,
    impossible_trace_reason,
)
from sim.testing.context import AgentFactory, Example, SuiteContext, describe_turns
from sim.testing.gaming_invariants import EARLY_END_MARGIN
from sim.testing.replaying import (
    WorldFactory,
    WorldLike,
    replay,
    replay_async,
    replay_many,
    resolve_world,
    scripted_job,
)
from sim.testing.strategies import (
    gold_operations,
    invalid_operations,
    operations,
    trace_events,
    turn_sequences,
    turns,
    valid_operations,
)
from sim.testing.suite import (
    DEFAULT_MAX_EXAMPLES,
    INVARIANT_NAMES,
    INVARIANTS,
    Invariant,
    InvariantResult,
    run_invariant,
    run_property_suite,
)

__all__ = [
    "DEFAULT_MAX_EXAMPLES",
    "EARLY_END_MARGIN",
    "FACTLESS_RELAYS",
    "FILLER_TEXT",
    "INVARIANTS",
    "INVARIANT_NAMES",
    "MIN_STUFFED_PIECE",
    "SPEC_CRITERIA_WEIGHTS",
    "TOLERANCE",
    "AgentFactory",
    "Example",
    "Invariant",
    "InvariantResult",
    "InvariantViolation",
    "ScriptedAgent",
    "SuiteContext",
    "WorldFactory",
    "WorldLike",
    "brief_texts",
    "check_regrade",
    "check_report_arithmetic",
    "check_step_rewards",
    "check_trace",
    "describe_turns",
    "empty_relay_turns",
    "escalation_spray_turns",
    "filler_turns",
    "gaming_turns",
    "gold_operations",
    "impossible_trace_reason",
    "internal_terms",
    "invalid_operations",
    "leaker_turns",
    "operations",
    "pad_with_filler",
    "quitter_endings",
    "quitter_turns",
    "replay",
    "replay_async",
    "replay_many",
    "resolve_world",
    "run_invariant",
    "run_property_suite",
    "scripted_job",
    "spray_turns",
    "stuffed_replies",
    "stuffed_turns",
    "trace_events",
    "turn_sequences",
    "turns",
    "valid_operations",
]
