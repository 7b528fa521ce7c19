"""Cheap, reproducible random draws for the actors of an episode.

``random.Random`` costs several microseconds to seed (its Mersenne Twister state is
2.5 KB), a noticeable share of an episode when thousands run each second. A
:class:`Draws` hashes its seed material once and then reads bits from BLAKE2b in
counter mode: seeding costs one hash, and the same material gives the same draws in
every process, on every platform and in every Python version.

It offers the part of ``random.Random``'s interface that world actors use
(``getrandbits``, ``randint``, ``choice``, ``sample``), so code written against
``random.Random`` accepts it. It is not for cryptography, and not for statistics that
need more than "every value in range is about equally likely".
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TypeVar

__all__ = ["Draws"]

T = TypeVar("T")
_BLOCK_BITS = 512


class Draws:
    """Deterministic draws from ``material`` (any values; their ``str`` forms are hashed)."""

    __slots__ = ("_bits", "_counter", "_key", "_pool")

    def __init__(self, *material: object) -> None:
        text = "\x1f".join(str(part) for part in material)
        self._key = hashlib.blake2b(text.encode(), digest_size=32).digest()
        self._counter = 0
        self._pool = 0  # unread bits, least significant first
        self._bits = 0

    def _refill(self, k: int) -> None:
        while self._bits < k:
            block = hashlib.blake2b(self._counter.to_bytes(8, "big"), key=self._key).digest()
            self._pool |= int.from_bytes(block, "big") << self._bits
            self._bits += _BLOCK_BITS
            self._counter += 1

    def getrandbits(self, k: int) -> int:
        """A non-negative integer of ``k`` random bits."""
        if k < 0:
            raise ValueError(f"k {k} is negative; allowed: 0 or more")
        if self._bits < k:
            self._refill(k)
        value = self._pool & ((1 << k) - 1)
        self._pool >>= k
        self._bits -= k
        return value

    def randbelow(self, n: int) -> int:
        """An integer in ``[0, n)``, each equally likely (rejection sampling, no bias)."""
        if n <= 0:
            raise ValueError(f"n {n} is not positive; allowed: 1 or more")
        # getrandbits(k) until below n, inlined: customers draw many values per second.
        k = n.bit_length()
        mask = (1 << k) - 1
        while True:
            if self._bits < k:
                self._refill(k)
            value = self._pool & mask
            self._pool >>= k
            self._bits -= k
            if value < n:
                return value

    def randint(self, a: int, b: int) -> int:
        """An integer in ``[a, b]``, both ends included, like ``random.randint``."""
        if b < a:
            raise ValueError(f"empty range [{a}, {b}]; allowed: a <= b")
        return a + self.randbelow(b - a + 1)

    def choice(self, seq: Sequence[T]) -> T:
        """One element of a non-empty sequence."""
        return seq[self.randbelow(len(seq))]

    def sample(self, population: Sequence[T], k: int) -> list[T]:
        """``k`` distinct positions of ``population``, in random order."""
        pool = list(population)
        if not 0 <= k <= len(pool):
            raise ValueError(f"sample of {k} from {len(pool)}; allowed: 0 to {len(pool)}")
        for i in range(k):  # a partial Fisher-Yates shuffle
            j = i + self.randbelow(len(pool) - i)
            pool[i], pool[j] = pool[j], pool[i]
        return pool[:k]
