"""Shared test configuration: hypothesis profiles.

``ci`` (loaded when ``CI=true``) is derandomized, so a CI run explores the same examples
every time and a failure reproduces; ``dev`` is hypothesis's default (random, with the
example database). ``HYPOTHESIS_PROFILE=ci`` picks a profile explicitly.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

from sim import grading, text_checks

settings.register_profile("ci", derandomize=True, max_examples=30, deadline=None,
                          database=None, print_blob=True)
settings.register_profile("dev")
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") == "true" else "dev")
)


@pytest.fixture(autouse=True)
def _fresh_grader_caches() -> None:
    """Each test grades with the grader's caches empty: a cache filled by an earlier test
    would otherwise hide the code that fills it (mutation testing forks its runs from a
    process whose caches are warm, so a broken cache fill would go unnoticed)."""
    for cached in (grading._default_outlook, grading._task_texts, text_checks.seen_units,
                   text_checks.units_at, text_checks.copied_from_task):
        cached.cache_clear()
