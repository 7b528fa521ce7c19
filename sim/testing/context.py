"""What every invariant works with: the drawn :class:`Example` and the :class:`SuiteContext`.

An example is one drawn input (the turns a scripted agent plays, the seed, the persona and
faults of the world, and whatever else the invariant drew, in ``extra``); its
:meth:`Example.describe` is the counterexample a failure reports, ready to paste into a
scenario. The context binds the task, the world and the oracle, draws examples in every
world, and plays them: :meth:`SuiteContext.run`, :meth:`SuiteContext.score`, and
:meth:`SuiteContext.score_insertion` for the common "the same turns, plus these
operations" comparison.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from sim.episode import EpisodeConfig, EpisodeResult
from sim.grading import GradeReport, grade
from sim.operations import MAX_OPERATIONS_PER_TURN
from sim.outlook import WorldOutlook, outlook_as_written
from sim.testing.adversaries import mixed_sequences
from sim.testing.replaying import WorldLike, fixed_world, replay
from sim.testing.turn_edits import inserted, with_room
from sim.trace import Trace
from tasks.base import SupportTaskSpec

#: A zero-argument callable returning a fresh agent (one per episode).
AgentFactory = Callable[[], Any]
#: A world's setup: its persona and its (sorted) fault names.
Conditions = tuple[str, tuple[str, ...]]
#: A report and the trace it grades.
Scored = tuple[GradeReport, Trace]


def _short(value: Any) -> Any:
    if isinstance(value, str) and len(value) > 80:
        return f"<{len(value)} chars: {value[:50]!r}…>"
    if isinstance(value, Mapping):
        return {str(k): _short(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_short(v) for v in value]
    if isinstance(value, bytes):
        return repr(value)
    return value


def describe_turns(turn_list: Any) -> str:
    """A one-line JSON rendering of turns, long texts shortened to their length and start
    (ASCII-escaped, so separators such as U+2028 stay visible)."""
    return json.dumps(_short(turn_list), default=repr)


@attrs.frozen(eq=False)
class Example:
    """One drawn input of an invariant: the turns played, the seed and the world's setup."""

    turns: Any = ()
    seed: int = 0
    persona: str = "cooperative"
    faults: tuple[str, ...] = ()
    extra: Mapping[str, Any] = attrs.field(factory=dict)

    @classmethod
    def in_world(cls, world: Conditions, turns: Any = (), **extra: Any) -> Example:
        """An explicit example with seed 0 in ``world``."""
        return cls(turns=turns, persona=world[0], faults=world[1], extra=extra)

    def describe(self) -> str:
        parts = [f"seed={self.seed}", f"persona={self.persona}", f"faults={list(self.faults)}",
                 f"turns={describe_turns(self.turns)}"]
        parts += [f"{key}={describe_turns(value)}" for key, value in self.extra.items()]
        return "; ".join(parts)


@attrs.frozen(eq=False)
class SuiteContext:
    """What an invariant needs: the task, the world around the agent, the oracle."""

    task: SupportTaskSpec
    world: WorldLike
    oracle: AgentFactory | None = None
    #: Personas to draw for random runs; empty means the task's own.
    personas: tuple[str, ...] = ()
    #: Fault names to draw subsets of for random runs.
    faults: tuple[str, ...] = ()
    config: EpisodeConfig = attrs.field(factory=EpisodeConfig)
    #: Oracle scores by world and seed, so an invariant that compares with the oracle
    #: plays it once per world.
    oracle_scores: dict[tuple[int, str, tuple[str, ...]], float] = attrs.field(
        factory=dict, init=False, repr=False)

    # -- the worlds ------------------------------------------------------------------

    def _own_first_personas(self) -> tuple[str, ...]:
        own = self.task.default_persona
        return (own, *(p for p in self.personas if p != own))

    def worlds(self) -> list[Conditions]:
        """Every (persona, fault set) random runs draw from: each persona, each subset of
        the faults (the given world's own, for a world instance)."""
        fixed = fixed_world(self.world)
        if fixed is not None:
            return [(fixed.persona, tuple(fixed.faults))]
        fault_sets = [tuple(sorted(chosen)) for size in range(len(self.faults) + 1)
                      for chosen in itertools.combinations(self.faults, size)]
        return [(persona, faults) for persona in self._own_first_personas()
                for faults in fault_sets]

    def first_world(self) -> Conditions:
        """The task's own persona without faults, or the given world's own conditions."""
        return self.worlds()[0]

    def fault_free_worlds(self) -> list[Conditions]:
        """One world per persona, without faults (the given world's own, for an instance)."""
        worlds = self.worlds()
        return [w for w in worlds if not w[1]] or worlds[:1]

    def conditions(self) -> SearchStrategy[Conditions]:
        """A drawn world: a persona and a subset of the faults."""
        fixed = fixed_world(self.world)
        if fixed is not None:
            return st.just((fixed.persona, tuple(fixed.faults)))
        faults = (st.lists(st.sampled_from(self.faults), unique=True).map(
            lambda chosen: tuple(sorted(chosen))) if self.faults else st.just(()))
        return st.tuples(st.sampled_from(self._own_first_personas()), faults)

    # -- drawing examples ------------------------------------------------------------

    def examples(self, extra: SearchStrategy[Mapping[str, Any]] | None = None,
                 sequences: SearchStrategy[Any] | None = None) -> SearchStrategy[Example]:
        """Turn sequences (random ones, and a gaming policy now and then) under drawn
        conditions, with ``extra`` drawn alongside."""
        return st.builds(
            lambda t, s, c, x: Example(turns=t, seed=s, persona=c[0], faults=c[1], extra=x),
            sequences if sequences is not None else mixed_sequences(self.task),
            st.integers(0, 2**32 - 1), self.conditions(),
            extra if extra is not None else st.just({}),
        )

    def insertions(self, **more: SearchStrategy[Any]) -> SearchStrategy[Example]:
        """:meth:`examples` with a drawn ``turn`` and ``position`` to insert at, and ``more``."""
        return self.examples(st.fixed_dictionaries({
            "turn": st.integers(0, self.task.max_steps - 1),
            "position": st.integers(0, MAX_OPERATIONS_PER_TURN - 1),
            **more,
        }))

    # -- playing them ----------------------------------------------------------------

    def run(self, example: Example, turn_list: Any = None, *, agent: Any = None,
            agent_name: str = "scripted", privileged: bool = False) -> EpisodeResult:
        """The example played (or ``turn_list`` instead of its turns, in its world)."""
        turns_played = example.turns if turn_list is None else turn_list
        return replay(self.task, turns_played, world=self.world, seed=example.seed,
                      persona=example.persona, faults=example.faults, config=self.config,
                      agent=agent, agent_name=agent_name, privileged=privileged)

    def score(self, example: Example, turn_list: Any = None) -> Scored:
        result = self.run(example, turn_list)
        return grade(self.task, result.trace), result.trace

    def score_insertion(self, example: Example, index: int, position: int,
                        ops: Sequence[Any]) -> tuple[Scored, Scored]:
        """The example's turns with room made at turn ``index`` (0-based) for ``ops``,
        scored without them and then with them inserted at ``position``."""
        base = with_room(example.turns, index, room=len(ops))
        before = self.score(example, base)
        after = self.score(example, inserted(base, index, position, *ops))
        return before, after

    def run_oracle(self, example: Example) -> EpisodeResult:
        """The oracle (privileged) in the example's world, with the example's seed."""
        if self.oracle is None:
            raise ValueError("no oracle agent was given; allowed: an oracle factory")
        return self.run(example, [], agent=self.oracle(), agent_name="oracle",
                        privileged=True)

    def oracle_score(self, example: Example) -> float:
        """The oracle's score in the example's world (1.0, the spec's, without an oracle)."""
        if self.oracle is None:
            return 1.0
        key = (example.seed, example.persona, tuple(example.faults))
        if key not in self.oracle_scores:
            self.oracle_scores[key] = self.run_oracle(example).score
        return self.oracle_scores[key]

    def outlook(self, trace: Trace) -> WorldOutlook:
        """The world the trace was played in, as its header says (the grader's view)."""
        world = trace.header.world
        return world if isinstance(world, WorldOutlook) else outlook_as_written(self.task)
