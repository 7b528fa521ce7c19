"""Marker matching: does one message contain every term of a group?

Terms match case-insensitively as whole words or whole phrases: ``"request ids"``
matches "Request IDs" and "request  ids" but not "request_ids" or "prerequest ids".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

__all__ = ["group_met", "groups_met"]


@lru_cache(maxsize=4096)
def _pattern(term: str) -> re.Pattern[str]:
    words = [re.escape(w) for w in term.lower().split()]
    return re.compile(r"(?<![\w])" + r"\s+".join(words) + r"(?![\w])")


def group_met(text: str, group: Iterable[str]) -> bool:
    """Whether ``text`` contains every term of ``group`` as a whole word or phrase."""
    lowered = text.lower()
    return all(_pattern(term).search(lowered) for term in group)


def groups_met(text: str, groups: tuple[tuple[str, ...], ...]) -> list[int]:
    """The indices of the groups ``text`` meets."""
    if not groups:
        return []
    lowered = text.lower()
    return [index for index, group in enumerate(groups)
            if all(_pattern(term).search(lowered) for term in group)]
