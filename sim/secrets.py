"""Keeping secrets out of traces, results and what the command line prints.

A value is a secret when an environment variable whose name looks secret (``*KEY*``,
``*TOKEN*``, ``*SECRET*``, ``*PASSWORD*``, ``*CREDENTIAL*``…) holds it **and** the value
itself looks like a credential: long, no spaces, and with a high-entropy run of letters
mixed with digits (or randomly mixed case), as API keys, tokens and generated passwords
are. Secrets are replaced by ``[redacted:NAME]`` wherever they appear — in an agent's
reply, an exception message or a traceback alike.

Why not every value of such a variable: ``SORT_KEY=platform_engineering`` would then
rewrite every trace that names that queue, and a re-grade of the trace would differ
from the live score. A value made of words can never be redacted, so an unrelated
variable never changes a trace or a score. Redaction works on decoded text (each string
of a JSON line, never its escaped form), so a secret holding ``"`` or ``\\`` is caught.
The simulator itself never writes the environment anywhere.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections import Counter
from typing import Any

__all__ = [
    "looks_like_credential",
    "may_hold_secret",
    "redact",
    "redact_strings",
    "refresh_secrets",
]

_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSW|CREDENTIAL|AUTH|COOKIE|SESSION", re.I)
#: Shorter values are too likely to occur by chance ("true", port numbers).
_MIN_LENGTH = 10
#: The random part of a credential: this long at least, this many bits per character.
_MIN_RUN = 8
_MIN_ENTROPY = 2.5
#: What splits a value into runs: credentials are often ``prefix_random`` or ``a.b.c``.
_SEPARATORS = re.compile(r"[-_./:@=+,;~]+")
#: A run that is a word, in any of the usual casings: ``engineering``, ``Sort``,
#: ``HTTP``, ``sortKey``, ``PlatformEngineering``.
_WORD = re.compile(r"[a-z]+|[A-Z]+|[A-Z]?[a-z]+(?:[A-Z][a-z]+)*")

#: (value, its JSON-escaped form, variable name), longest value first.
_secrets: list[tuple[str, str, str]] | None = None


def _entropy(text: str) -> float:
    """Shannon entropy of ``text``, in bits per character."""
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def looks_like_credential(value: str) -> bool:
    """Whether ``value`` looks like a key, token or generated password, not like words.

    ``sk-test-3f9a0c…``, ``ghp_…``, ``AKIAIOSFODNN7EXAMPLE``, ``hunter2hunter2`` do;
    ``platform_engineering``, ``correct-horse-battery``, ``/run/user/1000/bus`` do not.
    """
    if len(value) < _MIN_LENGTH or any(c.isspace() for c in value):
        return False
    for run in _SEPARATORS.split(value):
        if len(run) < _MIN_RUN or _WORD.fullmatch(run):
            continue
        letters = any(c.isalpha() for c in run)
        digits = any(c.isdigit() for c in run)
        mixed_case = run.lower() != run and run.upper() != run
        random_looking = (letters and digits) or mixed_case or not run.isalnum()
        if random_looking and _entropy(run) >= _MIN_ENTROPY:
            return True
    return False


def refresh_secrets() -> None:
    """Re-read the environment (call after changing it in-process)."""
    global _secrets
    found = {value: name for name, value in sorted(os.environ.items())
             if _SECRET_NAME.search(name) and looks_like_credential(value)}
    # Longest first, so a secret that contains another is replaced whole.
    _secrets = sorted(((v, json.dumps(v, ensure_ascii=False)[1:-1], n) for v, n in found.items()),
                      key=lambda s: (-len(s[0]), s[2]))


def _known() -> list[tuple[str, str, str]]:
    if _secrets is None:
        refresh_secrets()
    assert _secrets is not None
    return _secrets


def redact(text: str) -> str:
    """``text`` with every secret value replaced by ``[redacted:NAME]``."""
    for value, _, name in _known():
        if value in text:
            text = text.replace(value, f"[redacted:{name}]")
    return text


def redact_strings(obj: Any) -> Any:
    """``obj`` (JSON-like: dicts, lists, tuples, scalars) with every string redacted, keys
    included; what is not a string is returned as it is."""
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, dict):
        return {redact(k) if isinstance(k, str) else k: redact_strings(v)
                for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [redact_strings(v) for v in obj]
    return obj


def may_hold_secret(json_text: str) -> bool:
    """Whether a secret may be in one of the strings of ``json_text`` (JSON written with
    ``ensure_ascii=False``): a secret in a decoded string shows there in its escaped form.
    False positives are possible (then :func:`redact_strings` finds nothing), misses not."""
    return any(escaped in json_text for _, escaped, _ in _known())
