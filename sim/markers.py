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
    if not words:
        return re.compile(r"(?<![\w])(?![\w])")
    # "Not after a word character", checked just after the first word rather than before
    # it: a pattern that starts with a literal lets the engine skip ahead to candidate
    # places, which makes a search several times faster.
    first = words[0]
    return re.compile(first + r"(?<!\w" + first + ")" + "".join(r"\s+" + w for w in words[1:])
                      + r"(?![\w])")


def group_met(text: str, group: Iterable[str]) -> bool:
    """Whether ``text`` contains every term of ``group`` as a whole word or phrase."""
    lowered = text.lower()
    return all(_pattern(term).search(lowered) for term in group)


@lru_cache(maxsize=1024)
def _group_patterns(groups: tuple[tuple[str, ...], ...]) -> tuple[tuple[re.Pattern[str], ...], ...]:
    return tuple(tuple(_pattern(term) for term in group) for group in groups)


@lru_cache(maxsize=1024)  # texts are at most 2,000 characters: 2 MB at worst
def groups_met(text: str, groups: tuple[tuple[str, ...], ...]) -> tuple[int, ...]:
    """The indices of the groups ``text`` meets.

    Cached: agents often send the same words again (a template, a scripted reply), and
    a string keeps its hash, so a repeat costs a lookup instead of a regex search each.
    """
    if not groups:
        return ()
    lowered = text.lower()
    met = []
    for index, patterns in enumerate(_group_patterns(groups)):
        for pattern in patterns:
            if pattern.search(lowered) is None:
                break
        else:
            met.append(index)
    return tuple(met)
