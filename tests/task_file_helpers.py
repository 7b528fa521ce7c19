"""Helpers shared by the task-file tests: the seed task file, and the one-line error check.

The bad task files these tests load are the seed's source with one thing changed
(:func:`mutate`), so each case isolates one rule; :func:`assert_task_load_error` checks the
error is one line naming the file, the field, the bad value and what is allowed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tasks import SupportTaskSpec, TaskLoadError, load_task_file

SEED_ID = "api_incident_hard"
REPO_TASKS_DIR = Path(__file__).parents[1] / "tasks"
REPO_SEED = REPO_TASKS_DIR / f"{SEED_ID}.py"


@pytest.fixture(scope="module", name="seed")
def seed_fixture() -> SupportTaskSpec:
    """The seed task, loaded from its file once per test module."""
    return load_task_file(REPO_SEED)


def seed_source() -> str:
    return REPO_SEED.read_text(encoding="utf-8")


def assert_task_load_error(error: BaseException, file_name: str | None, *fragments: str) -> None:
    """One line, naming the file, every fragment (field, bad value) and what is allowed."""
    assert isinstance(error, TaskLoadError)
    message = str(error)
    assert "\n" not in message, message
    if file_name is not None:
        assert file_name in message, message
    assert "allowed" in message, message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


def mutate(source: str, replacements: tuple[tuple[str, str], ...]) -> str:
    for old, new in replacements:
        assert source.count(old) == 1, f"{old!r} must occur once in the seed"
        source = source.replace(old, new)
    return source
