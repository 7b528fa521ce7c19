"""Prose primitives: how the heuristic finds words, clauses and catalog values in text,
and how it writes them back for a reader.

Everything here is pure and knows no ticket or plan. Positions are character offsets
into the lower-cased text the caller holds; a *clause* ends at ``, ; : ( )`` or at
"but", "so", "then", and a value is *negated* when a negation ("not", "never", "don't",
"instead of" ...) precedes it inside its clause.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence

#: Small numbers as runbooks and helpdesk notes spell them.
NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                "eight": 8, "nine": 9, "ten": 10}
#: A quoted phrase: 'like this', not an apostrophe inside a word.
QUOTED = re.compile(r"(?<![\w])'([^']{2,60})'(?![\w])")
NEGATION = re.compile(
    r"\b(?:not|never|no|don't|doesn't|cannot|can't|instead of|rather than)\b"
)
_CLAUSE_BREAK = re.compile(r"[,;:()]|\bbut\b|\bso\b|\bthen\b")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[A-Z\[(\"'])")
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    "a an and are as at be by for from how i in is it of on or the to we what with our "
    "your you this that these those they them their has have had was were will would "
    "can could please hi hello thanks thank".split()
)
#: How an id's parts read in a sentence written for a person.
_SPELLED = {"ids": "IDs", "id": "ID", "ip": "IP", "sdk": "SDK", "api": "API", "utc": "UTC"}


# --------------------------------------------------------------------------- finding


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_BREAK.split(text) if s.strip()]


def clause_start(text: str, pos: int) -> int:
    """Where the clause that contains ``text[pos]`` starts."""
    start = 0
    for match in _CLAUSE_BREAK.finditer(text, 0, pos):
        start = match.end()
    return start


def clause_end(text: str, pos: int) -> int:
    """Where the clause that contains ``text[pos]`` ends."""
    match = _CLAUSE_BREAK.search(text, pos)
    return match.start() if match else len(text)


def negated(text: str, pos: int) -> bool:
    """Whether a negation precedes ``text[pos]`` inside its clause."""
    return NEGATION.search(text, clause_start(text, pos), pos) is not None


def number(word: str) -> int | None:
    """``"3"`` or ``"three"`` as 3; ``None`` for any other word."""
    word = word.lower()
    if word.isdigit():
        return int(word)
    return NUMBER_WORDS.get(word)


def content_words(text: str) -> list[str]:
    """The words of ``text`` that carry meaning (no stop word, none under three letters)."""
    return [w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 2]


def has_term(text: str, term: str) -> bool:
    """Whether ``term`` occurs in ``text`` as whole words, whatever the case and spacing."""
    words = [re.escape(w) for w in term.lower().split()]
    return re.search(r"(?<![\w])" + r"\s+".join(words) + r"(?![\w])", text.lower()) is not None


# --------------------------------------------------------------------------- catalog values


@functools.lru_cache(maxsize=4096)  # pure, and asked for the same catalog values every turn
def value_regex(value: str) -> str:
    """A value as written in prose: ``request_ids`` also matches "request IDs"."""
    words = value.split("_")
    last = words[-1]
    stem = last[:-1] if last.endswith("s") and len(last) > 3 else last
    parts = [re.escape(w) for w in words[:-1]] + [re.escape(stem) + "s?"]
    parts = [re.sub(r"(?<=[a-z])(\d)", r" ?\1", p) for p in parts]
    return r"(?<![\w-])" + r"[_ ]+".join(parts) + r"(?![\w-])"


def alternation(values: Iterable[str]) -> str:
    """One regex group that matches any of ``values`` as prose, longest first; a group
    that never matches when there is none."""
    return _alternation_of(tuple(values))


@functools.lru_cache(maxsize=256)
def _alternation_of(values: tuple[str, ...]) -> str:
    ordered = sorted(dict.fromkeys(values), key=len, reverse=True)
    return "(" + "|".join(value_regex(v) for v in ordered) + ")" if ordered else "(?!x)x"


def canonical(found: str, values: Sequence[str]) -> str | None:
    """The catalog value a matched phrase stands for."""
    for value in sorted(values, key=len, reverse=True):
        if re.fullmatch(value_regex(value), found):
            return value
    return None


# --------------------------------------------------------------------------- writing


def human(value: str) -> str:
    """A catalog id as words: ``request_ids`` as "request IDs"."""
    return " ".join(_SPELLED.get(w, w) for w in value.split("_"))


def human_list(values: Sequence[str]) -> str:
    """Ids as a list in words: "order ID, region and request IDs"."""
    names = [human(v) for v in values]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def sentence_case(text: str) -> str:
    """``text`` as one sentence: spaces collapsed, a capital first, a full stop last
    (unless it asks or exclaims); "" for blank text."""
    text = re.sub(r"\s+", " ", text).strip().rstrip(".;:,")
    if not text:
        return ""
    end = "" if text.endswith(("?", "!")) else "."
    return text[0].upper() + text[1:] + end


def fit(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, an ellipsis marking the cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def fit_lines(lines: list[str], limit: int) -> str:
    """Join lines, dropping the greeting and sign-off first, then trimming, to fit."""
    kept = list(lines)
    while len("\n".join(kept)) > limit and len(kept) > 1:
        drop = 0 if kept[0].startswith("Hello") else len(kept) - 1
        if kept[-1].startswith("Best regards"):
            drop = len(kept) - 1
        kept.pop(drop)
    return fit("\n".join(kept), limit)
