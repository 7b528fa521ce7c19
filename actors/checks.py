"""``check_task``: prove a task's grader sound against the standard world and the oracle.

This is what ``run_sim.py check-task FILE`` calls. It binds the pieces :mod:`sim.testing`
takes as parameters (it cannot import :mod:`actors`): the standard world (customer and
teams, drawn over every persona and fault for random runs) and the oracle agent::

    from actors.checks import check_task

    report = check_task("my_tasks/refund_loop_medium.py", max_examples=50)
    print(report.render())
    raise SystemExit(report.exit_code)      # 0 when every invariant holds, 1 otherwise

Invariant failures are reported, never raised. A file that does not load raises
:class:`~tasks.registry.TaskLoadError` (one line naming the file and the field): that is
bad input, not a failed check.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from actors.agents.oracle import OracleAgent
from actors.teams import FAULTS
from actors.world import StandardWorld
from sim.testing import DEFAULT_MAX_EXAMPLES, InvariantResult, run_property_suite
from tasks.base import PERSONAS, SupportTaskSpec
from tasks.family import TaskFamily
from tasks.registry import load_task_source

__all__ = ["DEFAULT_VARIANTS", "CheckReport", "check_task", "standard_world"]

#: Variants of a family checked by default (seeds 0 to 19): SPEC §7.
DEFAULT_VARIANTS = 20


def standard_world(persona: str, faults: tuple[str, ...]) -> StandardWorld:
    """The world factory :mod:`sim.testing` expects: the standard customer and teams."""
    return StandardWorld(persona=persona, faults=faults)


class CheckReport(BaseModel):
    """Every invariant of SPEC §4 on one task: passed, failed (with a counterexample), or
    not applicable (with the reason)."""

    model_config = ConfigDict(frozen=True)

    task_id: str
    #: The task file checked, when one was given.
    source: str | None = None
    max_examples: int
    results: tuple[InvariantResult, ...]
    seconds: float
    #: Seeds whose variants were checked (``(0,)`` for a fixed task).
    seeds: tuple[int, ...] = (0,)
    kind: str = "task"

    @property
    def ok(self) -> bool:
        """No invariant failed."""
        return not self.failures

    @property
    def failures(self) -> tuple[InvariantResult, ...]:
        return tuple(r for r in self.results if r.failed)

    @property
    def exit_code(self) -> int:
        """The command line's exit status: 0 when every invariant holds, 1 otherwise."""
        return 0 if self.ok else 1

    def result(self, name: str) -> InvariantResult:
        return next(r for r in self.results if r.name == name)

    def render(self) -> str:
        """A plain-text report: one line per invariant, counterexamples indented below."""
        label = {"passed": "PASS", "failed": "FAIL", "not_applicable": "N/A "}
        where = f" ({self.source})" if self.source else ""
        variants = (f"{len(self.seeds)} variants (seeds {self.seeds[0]}-{self.seeds[-1]}), "
                    if self.kind == "family" else "")
        lines = [f"check-task {self.task_id}{where}: {variants}up to {self.max_examples} "
                 "examples per invariant" + (" and variant" if variants else "")]
        for r in self.results:
            detail = (f"{r.examples} examples, {r.seconds:.1f} s" if r.status != "not_applicable"
                      else r.reason or "")
            lines.append(f"  {label[r.status]} {r.name}: {detail}")
            if r.counterexample:
                lines.extend(f"       {line}" for line in r.counterexample.splitlines())
        counts = {s: sum(r.status == s for r in self.results) for s in label}
        lines.append(f"{counts['passed']} passed, {counts['failed']} failed, "
                     f"{counts['not_applicable']} not applicable in {self.seconds:.1f} s")
        return "\n".join(lines)


def check_task(
    task_or_path: SupportTaskSpec | TaskFamily | str | Path,
    *,
    max_examples: int = DEFAULT_MAX_EXAMPLES,
    variants: int = DEFAULT_VARIANTS,
    invariants: Sequence[str] | None = None,
    personas: Sequence[str] = PERSONAS,
    faults: Sequence[str] = FAULTS,
    derandomize: bool = True,
) -> CheckReport:
    """Run the invariant suite on a task (or a task file) and report every invariant.

    Every example draws the customer persona from ``personas`` and a subset of
    ``faults``; the oracle is played in each of those worlds (every persona with every
    subset of the faults) before any drawn example, and the gaming policies of
    :mod:`sim.testing` (quitters, escalation sprayers, empty relays, leakers, fillers,
    stuffers) are played against the task. With ``derandomize`` (the default) the same
    task gives the same report on every run.

    A family is checked on the variants of seeds ``0 .. variants-1``, each like a task;
    an invariant passes when it holds on every variant, and a counterexample names the
    seed of its variant.
    Raises :class:`~tasks.registry.TaskLoadError` only for a file that does not load.
    """
    started = time.perf_counter()
    source: str | None = None
    if isinstance(task_or_path, SupportTaskSpec):
        family = TaskFamily.of_task(task_or_path)
    elif isinstance(task_or_path, TaskFamily):
        family = task_or_path
    else:
        source = str(task_or_path)
        family = load_task_source(task_or_path)
    if variants < 1:
        raise ValueError(f"variants {variants}: allowed: a whole number >= 1")
    seeds = tuple(range(variants)) if family.kind == "family" else (0,)
    per_seed = [
        run_property_suite(
            family.variant(seed), world=standard_world, oracle=OracleAgent,
            max_examples=max_examples, invariants=invariants, personas=personas,
            faults=faults, derandomize=derandomize,
        )
        for seed in seeds
    ]
    results = per_seed[0] if len(seeds) == 1 else [
        _merged(seeds, [run[i] for run in per_seed]) for i in range(len(per_seed[0]))]
    return CheckReport(task_id=family.family_id, source=source, max_examples=max_examples,
                       results=tuple(results), seconds=time.perf_counter() - started,
                       seeds=seeds, kind=family.kind)


def _merged(seeds: Sequence[int], results: Sequence[InvariantResult]) -> InvariantResult:
    """One invariant over a family's variants: failed if any variant failed (the first
    failure's counterexample, with its seed), passed if any passed, else not applicable."""
    failed = [(seed, r) for seed, r in zip(seeds, results, strict=True) if r.failed]
    passed = any(r.status == "passed" for r in results)
    first = results[0]
    status = "failed" if failed else "passed" if passed else "not_applicable"
    counterexample = None
    if failed:
        seed, failure = failed[0]
        counterexample = (f"variant of seed {seed} ({len(failed)} of {len(seeds)} variants "
                          f"failed):\n{failure.counterexample or ''}")
    reasons = sorted({r.reason for r in results if r.status == "not_applicable" and r.reason})
    return InvariantResult(
        name=first.name, description=first.description, status=status,
        examples=sum(r.examples for r in results), counterexample=counterexample,
        reason="; ".join(reasons) if status == "not_applicable" else None,
        seconds=sum(r.seconds for r in results))
