"""Shared test configuration: hypothesis profiles.

``ci`` (loaded when ``CI=true``) is derandomized, so a CI run explores the same examples
every time and a failure reproduces; ``dev`` is hypothesis's default (random, with the
example database). ``HYPOTHESIS_PROFILE=ci`` picks a profile explicitly.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, max_examples=30, deadline=None,
                          database=None, print_blob=True)
settings.register_profile("dev")
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") == "true" else "dev")
)
