"""The response cache: chat completions on disk, content-addressed by their request.

The key is the SHA-256 of the canonical JSON (sorted keys, no spaces, UTF-8) of what
decides an answer: the model, the messages, the tools, the parameters (mode,
temperature, max_tokens, response format, seed). Not the server's URL (a local server
on another port, or a stopped one, replays the same answers) and never the API key,
which no request body holds. An entry is ``<dir>/<first two hex digits>/<key>.json``
holding the key and a :class:`~actors.agents.llm.answers.ChatAnswer`.

Writes are atomic: the entry is written to a temporary file in the same directory, then
linked into place, so a crash or a concurrent sweep never leaves a torn entry. The first
writer wins: a request that loses the race takes the stored answer instead of its own,
so the run that filled the cache and every rerun read the same answer. An entry that
cannot be read (truncated, edited, another format) is a miss, and is replaced.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from actors.agents.llm.answers import ChatAnswer

__all__ = ["CACHE_FORMAT", "CacheError", "ResponseCache", "request_key"]

#: The entry format; an entry of another format is a miss.
CACHE_FORMAT = 1


class CacheError(OSError):
    """The cache directory cannot be written: the episode cannot keep its answers."""


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def request_key(request: dict[str, Any]) -> str:
    """The cache key of a request: SHA-256 of its canonical JSON."""
    return hashlib.sha256(_canonical({"format": CACHE_FORMAT, "request": request})).hexdigest()


class ResponseCache:
    """The entries under one directory (created on the first write)."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    def path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> ChatAnswer | None:
        """The stored answer for ``key``, or ``None`` (absent or unreadable: a miss)."""
        try:
            data = json.loads(self.path(key).read_bytes())
        except (OSError, ValueError):
            return None
        if (not isinstance(data, dict) or data.get("format") != CACHE_FORMAT
                or data.get("key") != key):
            return None
        try:
            return ChatAnswer.model_validate(data.get("answer"))
        except ValidationError:
            return None

    def put(self, key: str, answer: ChatAnswer) -> ChatAnswer:
        """Store ``answer`` unless a readable entry is there already; return the stored one.

        Raises :class:`CacheError` when the directory cannot be written.
        """
        final = self.path(key)
        body = _canonical({"format": CACHE_FORMAT, "key": key,
                           "answer": answer.model_dump(mode="json")})
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=final.parent, prefix=".tmp-", suffix=".json")
            try:
                with os.fdopen(fd, "wb") as file:
                    file.write(body)
                return self._publish(key, Path(temp), final, answer)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(temp)
        except OSError as error:
            raise CacheError(f"cannot write the response cache at {self.directory}: "
                             f"{error.strerror or error}") from None

    def _publish(self, key: str, temp: Path, final: Path, answer: ChatAnswer) -> ChatAnswer:
        try:
            os.link(temp, final)  # atomic, and never replaces an entry
            return answer
        except FileExistsError:
            stored = self.get(key)
            if stored is not None:
                return stored  # another request got here first: every run reads its answer
        except OSError:  # a file system without hard links: last writer wins
            pass
        os.replace(temp, final)
        return answer
