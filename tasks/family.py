"""Task families (SPEC §7): a task file's ``FAMILY``, one validated task per seed.

A family file defines ``FAMILY``, a pure function from a seeded draw to a task::

    from sim.kernel.draws import Draws
    from tasks.base import SupportTaskSpec

    def FAMILY(draw: Draws) -> SupportTaskSpec:
        amount = draw.randint(40, 2_400)
        ...
        return SupportTaskSpec(task_id="refund_limit", ...)

The episode's seed picks the variant: :meth:`TaskFamily.variant` calls ``FAMILY``
with ``Draws(VARIANT_MATERIAL, family_id, seed)``, so a variant is the same on every
platform and in every process. ``FAMILY`` must draw only from ``draw`` (no global
random state, no clock, no iteration over a set of strings) and return a task whose
``task_id`` is the family's id. A fixed ``TASK`` file is a family of one: every seed
gives the same task.

Every variant is validated like a task; a variant that breaks a rule raises a
:class:`~tasks.errors.TaskLoadError` naming the family, the seed and the field.
"""

from __future__ import annotations

import hashlib
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Literal

import attrs
from pydantic import ValidationError

from sim.kernel.draws import Draws
from tasks.base import SupportTaskSpec
from tasks.errors import TaskLoadError, display_path, format_validation_error

__all__ = ["LOAD_CHECK_SEEDS", "VARIANT_MATERIAL", "TaskFamily"]

#: The first part of every variant's draw material: ``Draws(VARIANT_MATERIAL, id, seed)``.
VARIANT_MATERIAL = "task-family"
#: Seeds every family is built for when it loads, so a broken draw fails early.
LOAD_CHECK_SEEDS = range(8)
#: Variants kept built per family (a sweep reuses each seed's once per persona).
_CACHE_SIZE = 4096

Builder = Callable[[Draws], SupportTaskSpec]


@attrs.frozen(eq=False)
class TaskFamily:
    """The tasks one task file gives: a ``FAMILY`` builder, or one fixed ``TASK``.

    Build one with :meth:`of_task` or :meth:`of_builder`; ask it for
    :meth:`variant` ``(seed)``.
    """

    family_id: str
    kind: Literal["task", "family"]
    #: The file it came from, for messages (``None`` for one made in code).
    path: Path | None = None
    _fixed: SupportTaskSpec | None = None
    _build: Builder | None = None
    _cache: dict[int, SupportTaskSpec] = attrs.field(factory=dict, repr=False)

    @classmethod
    def of_task(cls, task: SupportTaskSpec, path: Path | None = None) -> TaskFamily:
        """A family of one: every seed gives ``task``."""
        return cls(task.task_id, "task", path, fixed=task)

    @classmethod
    def of_builder(cls, family_id: str, build: Builder, path: Path | None = None,
                   *, check_seeds: Iterable[int] = LOAD_CHECK_SEEDS) -> TaskFamily:
        """The family ``build`` draws, checked on ``check_seeds`` (valid variants, one
        difficulty) and for purity (seed 0 built twice gives the same task)."""
        family = cls(family_id, "family", path, build=build)
        seeds = list(check_seeds)
        if seeds:
            first = family.variant(seeds[0])
            if family._draw(seeds[0]).content_hash != first.content_hash:
                raise family._error(seeds[0], "FAMILY: two builds of this seed differ; allowed: "
                                    "a pure function of its draw (no global random state, "
                                    "clock or set order)")
            for seed in seeds[1:]:
                family.variant(seed)
        return family

    @property
    def difficulty(self) -> str:
        return self.variant(0).difficulty

    @property
    def title(self) -> str:
        return self.variant(0).title

    def variant(self, seed: int) -> SupportTaskSpec:
        """The task of ``seed`` (validated; the same object for the same seed while cached)."""
        if self._fixed is not None:
            return self._fixed
        cached = self._cache.get(seed)
        if cached is None:
            cached = self._draw(seed)
            if seed != 0 and cached.difficulty != self.variant(0).difficulty:
                raise self._error(seed, f"difficulty: {cached.difficulty!r} differs from seed "
                                  f"0's; allowed: {self.variant(0).difficulty!r} on every seed")
            if len(self._cache) >= _CACHE_SIZE:
                del self._cache[next(iter(self._cache))]
            self._cache[seed] = cached
        return cached

    def fingerprint(self, seeds: Iterable[int]) -> str:
        """One hash of the variants of ``seeds`` (a fixed task's own hash): what a resumed
        sweep checks to know the tasks did not change under it."""
        if self._fixed is not None:
            return self._fixed.content_hash
        digest = hashlib.sha256()
        for seed in seeds:
            digest.update(self.variant(seed).content_hash.encode())
        return digest.hexdigest()[:16]

    def _draw(self, seed: int) -> SupportTaskSpec:
        assert self._build is not None
        try:
            spec = self._build(Draws(VARIANT_MATERIAL, self.family_id, seed))
        except ValidationError as error:
            raise self._error(seed, format_validation_error(error)) from None
        except (Exception, SystemExit) as error:  # user code: any failure, an exit too
            where = ""
            if self.path is not None:
                frames = [f for f in traceback.extract_tb(error.__traceback__)
                          if f.filename == str(self.path)]
                where = f" (line {frames[-1].lineno})" if frames else ""
            raise self._error(seed, f"FAMILY{where}: {type(error).__name__}: {error}; allowed: "
                              "a function of its draw that returns SupportTaskSpec(...)") from None
        if not isinstance(spec, SupportTaskSpec):
            raise self._error(seed, f"FAMILY: returned a {type(spec).__name__}; allowed: a "
                              "SupportTaskSpec")
        if spec.task_id != self.family_id:
            raise self._error(seed, f"task_id: {spec.task_id!r} differs from the family's id; "
                              f"allowed: {self.family_id!r}")
        if spec.family not in (None, self.family_id):
            raise self._error(seed, f"family: {spec.family!r} is set; allowed: leave it unset "
                              "(the loader sets it)")
        return spec.model_copy(update={"family": self.family_id})

    def _error(self, seed: int, detail: str) -> TaskLoadError:
        where = display_path(self.path) + ": " if self.path is not None else ""
        return TaskLoadError(f"{where}family {self.family_id!r}, seed {seed}: {detail}")
