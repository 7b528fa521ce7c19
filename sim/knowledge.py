"""Knowledge-base search: a small, deterministic keyword ranking."""

from __future__ import annotations

import re

from tasks.base import KnowledgeSnippet

__all__ = ["search_knowledge_base"]

_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    "a an and are as at be by for from how i in is it of on or the to we what with".split()
)


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower().replace("_", " ")) if w not in _STOP}


def search_knowledge_base(
    articles: tuple[KnowledgeSnippet, ...], query: str, limit: int = 3
) -> tuple[KnowledgeSnippet, ...]:
    """The articles sharing most words with ``query`` (title words count double)."""
    wanted = _words(query)
    scored = []
    for index, article in enumerate(articles):
        score = 2 * len(wanted & _words(article.title)) + len(wanted & _words(article.content))
        if score:
            scored.append((-score, index, article))
    scored.sort(key=lambda item: (item[0], item[1]))
    return tuple(article for _, _, article in scored[:limit])
