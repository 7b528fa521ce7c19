"""Discovering and looking up tasks (SPEC §2): shipped tasks and a user's folders.

A file must be named for its task id, and an id defined once across every folder; an
unknown id is an error listing the known ones.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from task_file_helpers import (
    SEED_ID,
    assert_task_load_error,
    mutate,
    seed_fixture,  # noqa: F401  (the ``seed`` fixture)
    seed_source,
)

from tasks import (
    SupportTaskSpec,
    TaskLoadError,
    discover_tasks,
    get_task,
    list_task_ids,
    load_task_file,
)

#: An id no shipped task will take, for the user tasks these tests write.
USER_ID = "zz_test_loading_user_task"


def write_user_task(folder: Path, task_id: str = USER_ID, file_stem: str | None = None) -> Path:
    """The seed under another id, as ``folder/<file_stem or task_id>.py``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{file_stem or task_id}.py"
    source = mutate(seed_source(), (('task_id="api_incident_hard"', f'task_id="{task_id}"'),))
    path.write_text(source, encoding="utf-8")
    return path


def test_discover_rejects_a_file_named_differently_from_its_task_id(tmp_path: Path) -> None:
    path = write_user_task(tmp_path / "user", file_stem="zz_test_loading_renamed")
    with pytest.raises(TaskLoadError) as caught:
        discover_tasks([path.parent])
    assert_task_load_error(
        caught.value, path.name, "task_id", f"'{USER_ID}'", "'zz_test_loading_renamed'"
    )


def test_discover_rejects_one_task_id_in_two_folders(tmp_path: Path) -> None:
    first = write_user_task(tmp_path / "first")
    second = write_user_task(tmp_path / "second")
    with pytest.raises(TaskLoadError) as caught:
        discover_tasks([first.parent, second.parent])
    assert_task_load_error(
        caught.value,
        first.name,
        "task_id",
        f"'{USER_ID}'",
        str(Path("first") / first.name),
        str(Path("second") / second.name),
        "unique",
    )


def test_discover_rejects_a_user_task_reusing_a_shipped_id(tmp_path: Path) -> None:
    folder = tmp_path / "user"
    folder.mkdir()
    (folder / f"{SEED_ID}.py").write_text(seed_source(), encoding="utf-8")
    with pytest.raises(TaskLoadError) as caught:
        discover_tasks([folder])
    assert_task_load_error(
        caught.value,
        f"{SEED_ID}.py",
        "task_id",
        f"'{SEED_ID}'",
        str(Path("user") / f"{SEED_ID}.py"),
        str(Path("tasks") / f"{SEED_ID}.py"),
    )


def test_discover_rejects_a_missing_folder(tmp_path: Path) -> None:
    missing = tmp_path / "no_such_folder"
    with pytest.raises(TaskLoadError) as caught:
        discover_tasks([missing])
    assert_task_load_error(caught.value, missing.name, "not a folder")


def test_discover_reports_a_bad_user_task_file(tmp_path: Path) -> None:
    path = write_user_task(tmp_path / "user")
    path.write_text(path.read_text().replace("max_steps=8", "max_steps=2"), encoding="utf-8")
    with pytest.raises(TaskLoadError) as caught:
        discover_tasks([path.parent])
    assert_task_load_error(caught.value, path.name, "under_escalation_deadline_step", "1..2")


def test_get_task_unknown_id_lists_the_known_ids() -> None:
    with pytest.raises(TaskLoadError) as caught:
        get_task("zz_test_loading_no_such_task")
    assert_task_load_error(caught.value, None, "'zz_test_loading_no_such_task'", SEED_ID)


def test_get_task_unknown_id_with_extra_dirs_lists_the_user_ids(tmp_path: Path) -> None:
    path = write_user_task(tmp_path / "user")
    with pytest.raises(TaskLoadError) as caught:
        get_task("zz_test_loading_no_such_task", extra_dirs=[path.parent])
    assert_task_load_error(caught.value, None, SEED_ID, USER_ID)


def test_extra_dirs_add_a_user_task_alongside_the_shipped_ones(
    tmp_path: Path, seed: SupportTaskSpec
) -> None:
    path = write_user_task(tmp_path / "user")
    user_task = load_task_file(path)
    assert user_task.task_id == USER_ID

    tasks = discover_tasks([path.parent])
    assert tasks[USER_ID] == user_task
    assert tasks[SEED_ID] == seed
    assert set(discover_tasks()) | {USER_ID} == set(tasks)
    assert list(tasks) == sorted(tasks)

    assert get_task(USER_ID, extra_dirs=[path.parent]) == user_task
    assert get_task(SEED_ID, extra_dirs=[path.parent]) == seed
    assert {USER_ID, SEED_ID} <= set(list_task_ids([path.parent]))


def test_a_user_task_is_unknown_without_its_folder(tmp_path: Path) -> None:
    write_user_task(tmp_path / "user")
    with pytest.raises(TaskLoadError) as caught:
        get_task(USER_ID)
    assert_task_load_error(caught.value, None, f"'{USER_ID}'", SEED_ID)
