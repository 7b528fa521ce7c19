"""The invariant suite: every invariant of SPEC §4 by name, and hypothesis to run them.

:data:`INVARIANTS` lists them in the order they are reported; :func:`run_invariant` runs
one, :func:`run_property_suite` all (or the named ones). A violation is never raised: the
:class:`InvariantResult` says which invariant failed and describes the smallest failing
example hypothesis found (see :meth:`~sim.testing.context.Example.describe`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, Literal

import attrs
from hypothesis import HealthCheck, Phase, Verbosity, example, given, settings
from hypothesis.strategies import SearchStrategy
from pydantic import BaseModel, ConfigDict

from sim.episode import EpisodeConfig
from sim.testing import escalation_invariants as esc
from sim.testing import gaming_invariants as gam
from sim.testing import invariants as inv
from sim.testing.checks import InvariantViolation
from sim.testing.context import AgentFactory, Example, SuiteContext
from sim.testing.gaming_invariants import EARLY_END_MARGIN
from sim.testing.replaying import WorldLike
from tasks.base import SupportTaskSpec

#: Examples per invariant when the caller does not say.
DEFAULT_MAX_EXAMPLES = 25


@attrs.frozen(eq=False)
class Invariant:
    """A named property of SPEC §4: how to draw examples, how to check one, when it applies."""

    name: str
    description: str
    strategy: Callable[[SuiteContext], SearchStrategy[Example]]
    check: Callable[[SuiteContext, Example], None]
    #: Why the invariant does not apply to this task and setup, or ``None`` when it does.
    not_applicable: Callable[[SuiteContext], str | None] = lambda ctx: None
    #: Examples always tried first (hypothesis's explicit phase), whatever the budget.
    explicit: Callable[[SuiteContext], Sequence[Example]] = lambda ctx: ()


class InvariantResult(BaseModel):
    """The outcome of one invariant on one task."""

    model_config = ConfigDict(frozen=True)

    name: str
    description: str
    status: Literal["passed", "failed", "not_applicable"]
    #: Examples tried (including hypothesis's shrinking of a failure).
    examples: int = 0
    #: The smallest failing example found and what went wrong, when it failed.
    counterexample: str | None = None
    #: Why it does not apply, when it does not.
    reason: str | None = None
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return self.status == "failed"


def _any_sequence(ctx: SuiteContext) -> SearchStrategy[Example]:
    return ctx.examples()


INVARIANTS: tuple[Invariant, ...] = (
    Invariant("oracle_scores_one",
              "the oracle scores 1.0 in every world: each persona, each set of faults, any "
              "seed",
              inv.oracle_strategy, inv.check_oracle, inv.oracle_not_applicable,
              inv.oracle_explicit),
    Invariant("applicable_criteria_depend_only_on_the_world",
              "any two operation sequences (the oracle's, waiting, random ones, gaming "
              "policies) in the same world leave out the same criteria",
              inv.applicability_strategy, inv.check_applicability,
              explicit=inv.applicability_explicit),
    Invariant("score_is_weighted_criteria_minus_penalties",
              "the score is in [0, 1] and equals the weighted criteria minus penalties",
              _any_sequence, inv.check_arithmetic),
    Invariant("step_rewards_sum_to_score",
              "one step reward per turn, and the rewards sum to the score",
              _any_sequence, inv.check_rewards),
    Invariant("deterministic",
              "the same inputs give the same trace bytes and score, also next to another "
              "episode and with an agent that yields to the scheduler",
              inv.determinism_strategy, inv.check_determinism),
    Invariant("stored_trace_regrades_the_same",
              "a trace written as JSON Lines and read back grades exactly as the live run did",
              _any_sequence, inv.check_stored_trace),
    Invariant("nothing_after_the_end",
              "events after the end, and turns scripted after a finish, change nothing",
              inv.after_end_strategy, inv.check_after_end),
    Invariant("extra_escalation_never_raises_score",
              "an escalation that is not needed (an over-escalation queue, any other queue) "
              "never raises the score, and costs its penalty",
              esc.extra_escalation_strategy, esc.check_extra_escalation,
              esc.extra_escalation_not_applicable),
    Invariant("later_escalation_never_raises_score",
              "moving an escalation to the gold queue to a later turn never raises the score "
              "(status operations between the two turns are removed from both runs)",
              esc.later_strategy, esc.check_later_escalation, esc.later_not_applicable),
    Invariant("escalating_to_every_queue_never_pays",
              "escalating to every queue scores below the gold escalation alone (below no "
              "escalation where none is needed), and each other queue costs its penalty",
              esc.spray_strategy, esc.check_spray, esc.spray_not_applicable,
              esc.spray_explicit),
    Invariant("reordering_independent_operations_keeps_score",
              "reordering operations of a turn that do not set the same field or the status "
              "never changes the score",
              inv.reorder_strategy, inv.check_reorder, explicit=inv.reorder_explicit),
    Invariant("asking_everything_never_earns_full_credit",
              "requesting every catalog field, or raising every risk flag, never earns full "
              "credit on those criteria",
              gam.everything_strategy, gam.check_everything, gam.everything_not_applicable),
    Invariant("ending_early_scores_well_below_the_oracle",
              f"ending the episode at turn 1, before the customer's answers were due, scores "
              f"at least {EARLY_END_MARGIN} below the oracle (tasks that require fields)",
              gam.quitter_strategy, gam.check_quitter, gam.quitter_not_applicable,
              gam.quitter_explicit),
    Invariant("relay_without_the_facts_never_informs",
              "replies without the facts of the team's latest update (\".\", \"Thanks, the "
              "team is on it.\", the update with its facts cut out) never earn kept_informed",
              gam.relay_strategy, gam.check_relay, gam.relay_not_applicable,
              gam.relay_explicit),
    Invariant("replies_of_seen_text_earn_no_markers",
              "public replies made of all the text the agent has seen (ticket, knowledge base, "
              "messages), cut to the limit or split over replies, earn no reply-marker credit",
              gam.stuffing_strategy, gam.check_stuffing, gam.stuffing_not_applicable,
              gam.stuffing_explicit),
    Invariant("filler_never_pays",
              "filling turns to 8 operations with 1,000-character filler raises no criterion, "
              "and every public reply beyond the conversation's allowance costs the spam "
              "penalty",
              gam.filler_strategy, gam.check_filler, explicit=gam.filler_explicit),
    Invariant("leaking_replies_never_count",
              "a public reply with internal-only text earns no marker and informs nothing, and "
              "costs the leak penalty (at most 0.15 in all)",
              gam.leak_strategy, gam.check_leak, gam.leak_not_applicable, gam.leak_explicit),
    Invariant("markers_count_only_in_their_channel",
              "markers in the wrong channel (or a search query), or in an over-long message, "
              "never count",
              gam.channel_strategy, gam.check_channels, gam.channel_not_applicable,
              gam.channel_explicit),
    Invariant("grader_never_raises_and_rejects_impossible_traces",
              "no sequence of operations makes the simulator or the grader raise; a trace no "
              "episode could write (events out of order, duplicate sequence numbers, times "
              "going back, turns skipped) is rejected with ImpossibleTraceError, not graded",
              inv.never_raises_strategy, inv.check_never_raises,
              explicit=inv.never_raises_explicit),
)
INVARIANT_NAMES: tuple[str, ...] = tuple(invariant.name for invariant in INVARIANTS)
_BY_NAME = {invariant.name: invariant for invariant in INVARIANTS}


def _describe_failure(error: BaseException) -> str:
    if isinstance(error, BaseExceptionGroup):
        inner = "; ".join(_describe_failure(e) for e in error.exceptions[:3])
        return f"{type(error).__name__} ({error.message}): {inner}"
    if isinstance(error, InvariantViolation):
        return str(error)
    return f"{type(error).__name__}: {error}"


def run_invariant(
    task: SupportTaskSpec,
    invariant: str | Invariant,
    *,
    world: WorldLike,
    oracle: AgentFactory | None = None,
    max_examples: int = DEFAULT_MAX_EXAMPLES,
    personas: Sequence[str] = (),
    faults: Sequence[str] = (),
    derandomize: bool | None = None,
    config: EpisodeConfig | None = None,
) -> InvariantResult:
    """Check one invariant on ``task`` with hypothesis; never raises for a violation.

    ``personas`` and ``faults`` are what random runs draw from (by default: the task's own
    persona, no faults). ``derandomize`` ``None`` follows the loaded hypothesis profile.
    """
    if isinstance(invariant, str):
        if invariant not in _BY_NAME:
            raise ValueError(f"invariant {invariant!r} is unknown; allowed: "
                             f"{', '.join(INVARIANT_NAMES)}")
        invariant = _BY_NAME[invariant]
    ctx = SuiteContext(task=task, world=world, oracle=oracle, personas=tuple(personas),
                       faults=tuple(faults), config=config or EpisodeConfig())
    started = time.perf_counter()

    def result(status: Literal["passed", "failed", "not_applicable"],
               **more: Any) -> InvariantResult:
        return InvariantResult(name=invariant.name, description=invariant.description,
                               status=status, **more)

    reason = invariant.not_applicable(ctx)
    if reason is not None:
        return result("not_applicable", reason=reason)
    calls = 0
    check = invariant.check

    # hypothesis derandomizes from this function's source: edit it and the draws change.
    def body(example: Example) -> None:
        nonlocal calls
        calls += 1
        try:
            check(ctx, example)
        except Exception as error:
            raise InvariantViolation(
                f"{_describe_failure(error)}\n  example: {example.describe()}") from error

    options: dict[str, Any] = {
        "max_examples": max_examples, "deadline": None, "database": None,
        "verbosity": Verbosity.quiet, "report_multiple_bugs": False,
        # No "explain" phase: it re-runs the failing example many times for hypothesis's own
        # report, which is not shown here; the counterexample is in the violation message.
        "phases": [Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
        "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large,
                                  HealthCheck.filter_too_much, HealthCheck.large_base_example],
    }
    if derandomize is not None:
        options["derandomize"] = derandomize
    for explicit in reversed(list(invariant.explicit(ctx))):
        body = example(explicit)(body)
    test = settings(**options)(given(invariant.strategy(ctx))(body))
    try:
        test()
    except Exception as error:
        return result("failed", examples=calls, counterexample=_describe_failure(error),
                      seconds=time.perf_counter() - started)
    return result("passed", examples=calls, seconds=time.perf_counter() - started)


def run_property_suite(
    task: SupportTaskSpec,
    *,
    world: WorldLike,
    oracle: AgentFactory | None = None,
    max_examples: int = DEFAULT_MAX_EXAMPLES,
    invariants: Sequence[str] | None = None,
    personas: Sequence[str] = (),
    faults: Sequence[str] = (),
    derandomize: bool | None = None,
    config: EpisodeConfig | None = None,
) -> list[InvariantResult]:
    """Every invariant of SPEC §4 (or the named ones) on ``task``, in order.

    Failures are reported, never raised: each :class:`InvariantResult` has a status
    (``passed``, ``failed``, ``not_applicable``) and, for a failure, the smallest
    counterexample hypothesis found.
    """
    names = INVARIANT_NAMES if invariants is None else tuple(invariants)
    return [run_invariant(task, name, world=world, oracle=oracle, max_examples=max_examples,
                          personas=personas, faults=faults, derandomize=derandomize,
                          config=config)
            for name in names]
