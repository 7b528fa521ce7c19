"""Synthetic values for the catalog's fields: right ones, detectably wrong ones, and a check.

A customer answers with :func:`correct_value` or :func:`wrong_value`; a careful
agent can tell them apart with :func:`looks_valid`, because every wrong value is
malformed, truncated or the wrong kind of thing. Values derive from a
generator the episode seeds (a :class:`~sim.kernel.draws.Draws`; a ``random.Random`` works
too), so the same seed gives the same values.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

__all__ = ["RandomSource", "correct_value", "looks_valid", "wrong_value"]

T = TypeVar("T")


class RandomSource(Protocol):
    """What the value makers draw from: the part of ``random.Random`` they use."""

    def getrandbits(self, k: int, /) -> int: ...

    def randint(self, a: int, b: int, /) -> int: ...

    def choice(self, seq: Sequence[T], /) -> T: ...

    def sample(self, population: Sequence[T], k: int, /) -> list[T]: ...


def _hex(rng: RandomSource, n: int) -> str:
    return format(rng.getrandbits(4 * n), f"0{n}x")


def _date(rng: RandomSource) -> str:
    return f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def _ip(rng: RandomSource) -> str:
    return f"203.0.113.{rng.randint(2, 254)}"


_CORRECT: dict[str, Callable[[RandomSource], str]] = {
    "request_ids": lambda r: ", ".join(f"req_{_hex(r, 12)}" for _ in range(3)),
    "time_window": lambda r: (
        f"{_date(r)} {r.randint(0, 11):02d}:{r.randint(0, 59):02d}-"
        f"{r.randint(12, 23):02d}:{r.randint(0, 59):02d} UTC"
    ),
    "regions": lambda r: ", ".join(
        r.sample(["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2"], 2)
    ),
    "payload_sample": lambda r: (
        f'{{"order_id": "ord_{_hex(r, 8)}", "amount": {r.randint(10, 999)}.00, '
        f'"currency": "USD"}}'
    ),
    "error_message": lambda r: (
        f"HTTP 503: upstream request timeout (code E{r.randint(1000, 9999)})"
    ),
    "account_email": lambda r: f"user.{_hex(r, 6)}@customer.example",
    "invoice_id": lambda r: f"INV-2026-{r.randint(0, 999999):06d}",
    "last4_digits": lambda r: f"{r.randint(0, 9999):04d}",
    "transaction_date": _date,
    "screenshot": lambda r: f"https://files.customer.example/s/{_hex(r, 10)}.png",
    "browser_version": lambda r: (
        f"Chrome {r.randint(120, 135)}.0.{r.randint(1000, 9999)}.{r.randint(10, 99)}"
    ),
    "user_ids": lambda r: ", ".join(f"usr_{_hex(r, 8)}" for _ in range(2)),
    "login_timestamps": lambda r: ", ".join(
        f"{_date(r)}T{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:00Z" for _ in range(2)
    ),
    "ip_addresses": lambda r: ", ".join(_ip(r) for _ in range(2)),
    "export_scope": lambda r: f"all contacts and tickets from 2025-01-01 to {_date(r)}",
    "legal_basis": lambda r: r.choice(
        ["GDPR Art. 15 (right of access)", "GDPR Art. 20 (data portability)", "CCPA 1798.100"]
    ),
    "org_id": lambda r: f"org_{_hex(r, 10)}",
    "api_key_prefix": lambda r: f"sk_live_{_hex(r, 6)}",
    "sdk_version": lambda r: f"{r.randint(1, 5)}.{r.randint(0, 20)}.{r.randint(0, 9)}",
    "reproduction_steps": lambda r: (
        f"1. Sign in 2. Open page {r.randint(2, 9)} 3. Click Save 4. See the error"
    ),
}

_WRONG: dict[str, Callable[[str, RandomSource], str]] = {
    "request_ids": lambda v, r: v.split(",")[0][:8],  # truncated
    "time_window": lambda v, r: "since this morning, I think",
    "regions": lambda v, r: "everywhere",
    "payload_sample": lambda v, r: "see the attached screenshot",
    "error_message": lambda v, r: "it just fails",
    "account_email": lambda v, r: v.split("@")[0],
    "invoice_id": lambda v, r: v[-4:],
    "last4_digits": lambda v, r: v[:2],
    "transaction_date": lambda v, r: "last Tuesday",
    "screenshot": lambda v, r: "screenshot.png",
    "browser_version": lambda v, r: "the latest one",
    "user_ids": lambda v, r: "Marco and Dana",
    "login_timestamps": lambda v, r: "around 9",
    "ip_addresses": lambda v, r: v.split(",")[0].rsplit(".", 1)[0],
    "export_scope": lambda v, r: "everything",
    "legal_basis": lambda v, r: "because I want it",
    "org_id": lambda v, r: "our company",
    "api_key_prefix": lambda v, r: v.removeprefix("sk_live_"),
    "sdk_version": lambda v, r: "latest",
    "reproduction_steps": lambda v, r: "it's broken",
}

_VALID: dict[str, re.Pattern[str]] = {
    "request_ids": re.compile(r"^req_[0-9a-f]{12}(, req_[0-9a-f]{12})*$"),
    "time_window": re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d-\d\d:\d\d UTC$"),
    "regions": re.compile(r"^[a-z]{2}-[a-z]+-\d(, [a-z]{2}-[a-z]+-\d)*$"),
    "payload_sample": re.compile(r"^\{.*\}$"),
    "error_message": re.compile(r"\b(HTTP )?\d{3}\b|\bE\d{4}\b"),
    "account_email": re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]+$"),
    "invoice_id": re.compile(r"^INV-\d{4}-\d{6}$"),
    "last4_digits": re.compile(r"^\d{4}$"),
    "transaction_date": re.compile(r"^\d{4}-\d\d-\d\d$"),
    "screenshot": re.compile(r"^https://\S+\.png$"),
    "browser_version": re.compile(r"\d+\.\d+"),
    "user_ids": re.compile(r"^usr_[0-9a-f]{8}(, usr_[0-9a-f]{8})*$"),
    "login_timestamps": re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ(, .+)*$"),
    "ip_addresses": re.compile(r"^\d+\.\d+\.\d+\.\d+(, \d+\.\d+\.\d+\.\d+)*$"),
    "export_scope": re.compile(r"\d{4}-\d\d-\d\d"),
    "legal_basis": re.compile(r"\b(GDPR|CCPA)\b"),
    "org_id": re.compile(r"^org_[0-9a-f]{10}$"),
    "api_key_prefix": re.compile(r"^sk_(live|test)_[0-9a-f]{6}$"),
    "sdk_version": re.compile(r"^\d+\.\d+\.\d+$"),
    "reproduction_steps": re.compile(r"^1\. .+ 2\. "),
}
_GENERIC_VALID = re.compile(r"^value-[0-9a-f]{8}$")


def correct_value(field: str, rng: RandomSource) -> str:
    """A well-formed synthetic value for ``field`` (fields a task added get a generic one)."""
    make = _CORRECT.get(field)
    return make(rng) if make else f"value-{_hex(rng, 8)}"


def wrong_value(field: str, correct: str, rng: RandomSource) -> str:
    """A value for ``field`` that :func:`looks_valid` rejects, derived from the right one."""
    make = _WRONG.get(field)
    return make(correct, rng) if make else correct[:6]


def looks_valid(field: str, value: str) -> bool:
    """Whether ``value`` is well formed for ``field``: what a careful agent checks."""
    pattern = _VALID.get(field, _GENERIC_VALID)
    return bool(pattern.search(value.strip()))
