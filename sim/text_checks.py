"""What the grader reads in a message's words: facts, internal text, copied text.

- :func:`update_facts`: the facts of a team's update that a relay must carry — every
  number with its unit (``20 minutes``, ``50 seats``, ``5-10 business``) and every
  identifier (``DP-2291``, ``eu-west-1``, ``4.2.1``), as stated.
- :func:`leaked_terms`: internal-only text in a public reply — catalog ids written as
  identifiers (``platform_engineering``, ``p1_incident``; a one-word id such as
  ``billing`` is an ordinary word) and a task's own ``internal_terms``.
- :func:`shingles` and :func:`copied_share`: a message's word 5-grams, and the share of
  them found in text the agent was shown: a quick measure for agents that want to keep
  their own words.
- :func:`copied_words` (with :func:`seen_units` and :func:`copied_from_task`): the
  grader's copy rule, stricter: the share of a message's words covered by seen 5-grams
  or by whole short seen texts, so pasting short pieces together does not escape it.

Each is a pure function of its arguments, cached: agents repeat their templates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from sim.markers import group_met

__all__ = [
    "COPY_SHINGLE_WORDS",
    "COPY_THRESHOLD",
    "copied_from_task",
    "copied_share",
    "copied_words",
    "internal_ids",
    "leaked_terms",
    "seen_units",
    "shingles",
    "update_facts",
]

#: Words in one shingle, and the share of copied shingles that makes a message a copy.
COPY_SHINGLE_WORDS = 5
COPY_THRESHOLD = 0.5

_IDENTIFIER = re.compile(r"(?<![\w.-])[A-Za-z0-9]+(?:[-_.][A-Za-z0-9]+)+(?![\w-]|\.\w)")
#: Dates and clock times are facts as written ("2026-05-01", "14:30 UTC").
_WHEN = re.compile(r"(?<![\w.:-])(?:\d{4}-\d{2}-\d{2}|\d{1,2}:\d{2}(?:\s*UTC)?)(?![\w:-])")
#: Words that follow a number without being its unit ("ticket 4471 is open").
_NOT_UNITS = ("a", "an", "and", "are", "as", "at", "by", "for", "from", "in", "is", "it", "of",
              "on", "or", "the", "to", "was", "were", "with")
_NUMBER_UNIT = re.compile(
    r"(?<![\w.-])\d+(?:[.,]\d+)?(?:\s*(?:[-–]|to)\s*\d+(?:[.,]\d+)?)?"
    # The unit runs to the end of its word, and a unit glued on ("20min", "503s") is part
    # of the fact: a fact must never end inside a word, or the update's own words would
    # not carry it. A range is one fact ("5-10 business", "20 to 30 minutes").
    r"(?:\s*%(?!\w)|[ -]+(?!(?:" + "|".join(_NOT_UNITS) + r")\b)[A-Za-z]\w*|[^\W\d]\w*)?",
    re.IGNORECASE,
)
_WORD = re.compile(r"\w+")


def _is_identifier(token: str) -> bool:
    has_digit = any(c.isdigit() for c in token)
    has_letter = any(c.isalpha() for c in token)
    return has_digit and (has_letter or token.count(".") >= 2)


@lru_cache(maxsize=1024)
def update_facts(text: str) -> tuple[str, ...]:
    """The facts a relay of ``text`` must carry, in order, each once."""
    facts: dict[str, None] = {}
    taken: list[tuple[int, int]] = []
    for match in _WHEN.finditer(text):
        facts[" ".join(match.group().split())] = None
        taken.append(match.span())
    for match in _IDENTIFIER.finditer(text):
        start, end = match.span()
        if _is_identifier(match.group()) and not any(a <= start < b for a, b in taken):
            facts[match.group()] = None
            taken.append(match.span())
    for match in _NUMBER_UNIT.finditer(text):
        start, end = match.span()
        if any(a <= start < b or a < end <= b for a, b in taken):
            continue
        facts[" ".join(match.group().split())] = None
    return tuple(facts)


def internal_ids(values: Iterable[str]) -> tuple[str, ...]:
    """The catalog ids among ``values`` that read as identifiers, not words."""
    return tuple(v for v in values if "_" in v)


@lru_cache(maxsize=2048)
def leaked_terms(text: str, internal: tuple[str, ...]) -> tuple[str, ...]:
    """The terms of ``internal`` that ``text`` contains (whole words, any case)."""
    return tuple(term for term in internal if group_met(text, (term,)))


@lru_cache(maxsize=2048)
def shingles(text: str) -> frozenset[tuple[str, ...]]:
    """The word 5-grams of ``text``, lower-cased (a short text gives none)."""
    words = _WORD.findall(text.lower())
    n = COPY_SHINGLE_WORDS
    return frozenset(tuple(words[i:i + n]) for i in range(len(words) - n + 1))


def copied_share(text: str, seen: Iterable[frozenset[tuple[str, ...]]]) -> float:
    """The share of ``text``'s 5-grams found in any of the ``seen`` shingle sets."""
    own = shingles(text)
    if not own:
        return 0.0
    found: set[tuple[str, ...]] = set()
    for part in seen:
        found |= own & part
    return len(found) / len(own)


# -- the grader's copy rule: words covered by units of what the agent was shown --------
@lru_cache(maxsize=2048)
def seen_units(text: str) -> frozenset[tuple[str, ...]]:
    """What a text the agent was shown adds to the copy rule's memory: its word 5-grams,
    or the whole text as one unit when it has fewer words (a title, a subject, a value)."""
    words = tuple(_WORD.findall(text.lower()))
    if len(words) < COPY_SHINGLE_WORDS:
        return frozenset({words}) if words else frozenset()
    return shingles(text)


@lru_cache(maxsize=2048)
def units_at(text: str) -> tuple[int, dict[tuple[str, ...], list[int]]]:
    """(the number of words of ``text``, each run of 1..5 of its words -> where it starts)."""
    words = tuple(_WORD.findall(text.lower()))
    at: dict[tuple[str, ...], list[int]] = {}
    for size in range(1, COPY_SHINGLE_WORDS + 1):
        for i in range(len(words) - size + 1):
            at.setdefault(words[i:i + size], []).append(i)
    return len(words), at


def copied_words(text: str, seen: Iterable[frozenset[tuple[str, ...]]]) -> float:
    """The share of ``text``'s words that lie in a unit of seen text (a 5-gram of it, or a
    whole short text): text pasted together from what the agent was shown is covered all
    but where two pieces meet, however short the pieces."""
    count, at = units_at(text)
    if count < COPY_SHINGLE_WORDS:
        return 0.0
    covered: set[int] = set()
    runs = at.keys()
    for part in seen:
        for unit in runs & part:
            for start in at[unit]:
                covered.update(range(start, start + len(unit)))
    return len(covered) / count


@lru_cache(maxsize=1024)
def copied_from_task(text: str, seen: frozenset[tuple[str, ...]]) -> float:
    """:func:`copied_words` against a task's own texts alone (a frozenset keeps its
    hash, so a repeat costs a lookup)."""
    return copied_words(text, (seen,))
