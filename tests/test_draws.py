"""sim.kernel.draws.Draws: reproducible, in range, and close enough to uniform."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.kernel.draws import Draws

material = st.lists(st.one_of(st.integers(), st.text(max_size=20)), min_size=1, max_size=4)


@given(material, st.lists(st.integers(0, 200), max_size=20))
def test_the_same_material_gives_the_same_draws(parts: list[object], sizes: list[int]) -> None:
    first, second = Draws(*parts), Draws(*parts)
    assert [first.getrandbits(k) for k in sizes] == [second.getrandbits(k) for k in sizes]


@given(material, st.integers(0, 1_000))
def test_getrandbits_stays_within_k_bits(parts: list[object], k: int) -> None:
    assert 0 <= Draws(*parts).getrandbits(k) < 2**k


@given(material, st.integers(-10**6, 10**6), st.integers(0, 10**6))
def test_randint_includes_both_ends_and_nothing_outside(
    parts: list[object], low: int, width: int
) -> None:
    draws = Draws(*parts)
    values = [draws.randint(low, low + width) for _ in range(20)]
    assert all(low <= v <= low + width for v in values)


@given(material, st.lists(st.integers(), min_size=1, max_size=30), st.data())
def test_sample_takes_distinct_positions(
    parts: list[object], population: list[int], data: st.DataObject
) -> None:
    k = data.draw(st.integers(0, len(population)))
    picked = Draws(*parts).sample(population, k)
    assert len(picked) == k
    assert not Counter(picked) - Counter(population)  # no position taken twice


def test_different_material_gives_different_draws() -> None:
    assert Draws("task", 1, "x").getrandbits(64) != Draws("task", 2, "x").getrandbits(64)
    assert Draws("task", 1, "x").getrandbits(64) != Draws("task", 1, "y").getrandbits(64)


def test_every_value_in_a_small_range_comes_up_about_equally_often() -> None:
    draws = Draws("uniformity")
    counts = Counter(draws.randint(1, 6) for _ in range(60_000))
    assert set(counts) == {1, 2, 3, 4, 5, 6}
    assert all(9_400 < c < 10_600 for c in counts.values()), counts  # ~6 sigma


def test_draws_are_the_same_in_another_process() -> None:
    code = ("from sim.kernel.draws import Draws; d = Draws('seed', 7); "
            "print([d.randint(0, 99) for _ in range(8)])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={"PYTHONHASHSEED": "12345", "PATH": ""}).stdout
    here = Draws("seed", 7)
    assert out.strip() == str([here.randint(0, 99) for _ in range(8)])


@pytest.mark.parametrize(("call", "message"), [
    (lambda d: d.getrandbits(-1), "negative"),
    (lambda d: d.randint(5, 4), "empty range"),
    (lambda d: d.choice([]), "not positive"),
    (lambda d: d.sample([1, 2], 3), "sample of 3 from 2"),
])
def test_bad_arguments_say_what_is_allowed(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call(Draws(0))  # type: ignore[operator]
