"""Keeping secrets out of traces and results.

Values of environment variables whose names look secret (``*KEY*``, ``*TOKEN*``,
``*SECRET*``, ``*PASSWORD*``, ``*CREDENTIAL*``…) are replaced by ``[redacted:NAME]``
wherever they appear in a line written to a trace or a results file — in an agent's
reply, an exception message or a traceback alike. The simulator itself never writes
the environment anywhere.
"""

from __future__ import annotations

import os
import re

__all__ = ["redact", "refresh_secrets"]

_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSW|CREDENTIAL|AUTH|COOKIE|SESSION", re.I)
#: Shorter values are too likely to occur by chance ("true", port numbers).
_MIN_LENGTH = 8
_secrets: list[tuple[str, str]] | None = None


def refresh_secrets() -> None:
    """Re-read the environment (call after changing it in-process)."""
    global _secrets
    found = {value: name for name, value in os.environ.items()
             if _SECRET_NAME.search(name) and len(value) >= _MIN_LENGTH}
    # Longest first, so a secret that contains another is replaced whole.
    _secrets = sorted(((v, n) for v, n in found.items()), key=lambda p: (-len(p[0]), p[1]))


def redact(text: str) -> str:
    """``text`` with every secret value replaced by ``[redacted:NAME]``."""
    if _secrets is None:
        refresh_secrets()
    assert _secrets is not None
    for value, name in _secrets:
        if value in text:
            text = text.replace(value, f"[redacted:{name}]")
    return text
