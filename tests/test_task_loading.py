"""Loading task files (SPEC §2).

The seed task loads unchanged and reads back exactly; every validation rule rejects a
bad task file with a one-line :class:`TaskLoadError` naming the file, the field, the bad
value and what is allowed. The bad files are the seed's source with one thing changed,
written to ``tmp_path``, so each case isolates one rule.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tasks import (
    DEFAULT_CATALOG,
    Catalog,
    SupportTaskSpec,
    TaskLoadError,
    discover_tasks,
    get_task,
    list_task_ids,
    load_task_file,
)

SEED_ID = "api_incident_hard"
REPO_TASKS_DIR = Path(__file__).parents[1] / "tasks"
REPO_SEED = REPO_TASKS_DIR / f"{SEED_ID}.py"
SHARED_DIR = Path(__file__).parents[2] / "shared"
SHARED_SEED = SHARED_DIR / "seed" / f"{SEED_ID}.py"

#: An id no shipped task will take, for the user tasks these tests write.
USER_ID = "zz_test_loading_user_task"

# --------------------------------------------------------------------------- the seed

#: Every field the seed file sets, copied literally from the seed (model_dump form).
SEED_FIELDS: dict[str, Any] = {
    "task_id": "api_incident_hard",
    "difficulty": "hard",
    "title": "Production API incident triage",
    "objective": (
        "Triage a production API latency/5xx incident affecting multiple customers; "
        "collect diagnostics, apply runbook mitigations, and escalate to platform "
        "engineering appropriately."
    ),
    "ticket": {
        "customer_name": "Marco Alvarez",
        "customer_tier": "enterprise",
        "company": "Northwind Labs",
        "subject": "API timeouts for createOrder",
        "body": (
            "Since 3 hours ago, createOrder calls are timing out or returning 500s across "
            "regions. We rolled back our last deploy and still see issues. Need RCA and "
            "mitigation ASAP."
        ),
        "region": "us-west-2",
        "affected_users": 4200,
        "sla_minutes_remaining": 90,
    },
    "knowledge_base": (
        {
            "article_id": "kb-api-runbook",
            "title": "API latency/5xx runbook",
            "content": (
                "Capture request IDs, time window, regions, and payload samples. "
                "Check current status page and incident channel. "
                "If multiple regions impacted, escalate to platform_engineering and set "
                "customer expectations."
            ),
        },
        {
            "article_id": "kb-status-page",
            "title": "Status page policy",
            "content": (
                "If 2+ enterprise customers report API errors, post a preliminary status "
                "within 15 minutes."
            ),
        },
    ),
    "gold_queue": "platform_engineering",
    "gold_priority": "urgent",
    "gold_issue_type": "production_incident",
    "gold_status": "escalated",
    "gold_resolution_code": "runbook_investigation",
    "required_requested_fields": ("request_ids", "time_window", "regions", "payload_sample"),
    "required_reply_markers": (
        ("acknowledge", "incident"),
        ("collect", "request ids"),
        ("status", "page"),
        ("escalate", "platform"),
    ),
    "required_note_markers": (
        ("status page",),
        ("platform escalation",),
        ("request ids",),
    ),
    "risk_flags": ("sla_breach", "p1_incident"),
    "follow_up_outcome": "partial",
    "follow_up_message": "Platform team investigating elevated DB latency; ETA 20 minutes.",
    "follow_up_provided_fields": ("request_ids", "time_window"),
    "follow_up_wrong_fields": ("payload_sample",),
    "sla_step_cost": 20,
    "over_escalation_queues": (),
    "under_escalation_deadline_step": 3,
    "max_steps": 8,
}

#: The optional fields' defaults, as documented in tasks/base.py.
DOCUMENTED_DEFAULTS: dict[str, Any] = {
    "forbidden_reply_markers": (),
    "catalog_extension": Catalog(),
    "default_persona": "cooperative",
    "customer_reply_delay_minutes": 10,
    "team_ack_delay_minutes": 5,
    "team_update_delay_minutes": 30,
    "team_bounce_delay_minutes": 10,
}


@pytest.fixture(scope="module")
def seed() -> SupportTaskSpec:
    return load_task_file(REPO_SEED)


def seed_source() -> str:
    return REPO_SEED.read_text(encoding="utf-8")


#: sha256 of ../shared/seed/api_incident_hard.py, the file the project was created from.
SEED_SHA256 = "8bc6aca97e5835fc86a4d53f8d573aea7a1ca54e2dfd79efb2f52b3b9708cc40"


def test_seed_file_is_the_shared_seed_unchanged() -> None:
    shipped = REPO_SEED.read_bytes()
    assert hashlib.sha256(shipped).hexdigest() == SEED_SHA256
    if SHARED_DIR.is_dir():  # CI lays shared/ beside the checkout: compare the bytes too
        assert shipped == SHARED_SEED.read_bytes()


def test_shared_seed_loads_to_the_same_task(seed: SupportTaskSpec, tmp_path: Path) -> None:
    source = SHARED_SEED if SHARED_DIR.is_dir() else REPO_SEED
    copy = tmp_path / "api_incident_hard.py"
    copy.write_bytes(source.read_bytes())
    shared = load_task_file(copy)
    assert shared == seed
    assert shared.content_hash == seed.content_hash


def test_seed_fields_read_back_exactly(seed: SupportTaskSpec) -> None:
    assert isinstance(seed, SupportTaskSpec)
    dumped = seed.model_dump()
    for name, expected in SEED_FIELDS.items():
        assert dumped[name] == expected, name


def test_seed_fields_spot_checks(seed: SupportTaskSpec) -> None:
    assert seed.task_id == "api_incident_hard"
    assert seed.difficulty == "hard"
    assert seed.ticket.customer_tier == "enterprise"
    assert seed.ticket.affected_users == 4200
    assert seed.ticket.sla_minutes_remaining == 90
    assert [kb.article_id for kb in seed.knowledge_base] == ["kb-api-runbook", "kb-status-page"]
    assert (seed.gold_queue, seed.gold_priority, seed.gold_issue_type) == (
        "platform_engineering",
        "urgent",
        "production_incident",
    )
    assert (seed.gold_status, seed.gold_resolution_code) == ("escalated", "runbook_investigation")
    assert seed.required_requested_fields == (
        "request_ids",
        "time_window",
        "regions",
        "payload_sample",
    )
    assert seed.required_reply_markers[1] == ("collect", "request ids")
    assert seed.required_note_markers == (
        ("status page",),
        ("platform escalation",),
        ("request ids",),
    )
    assert seed.risk_flags == ("sla_breach", "p1_incident")
    assert seed.follow_up_outcome == "partial"
    assert seed.follow_up_provided_fields == ("request_ids", "time_window")
    assert seed.follow_up_wrong_fields == ("payload_sample",)
    assert seed.sla_step_cost == 20
    assert seed.over_escalation_queues == ()
    assert seed.under_escalation_deadline_step == 3
    assert seed.max_steps == 8
    # Derived values.
    assert seed.needs_escalation is True
    assert seed.sla_deadline_seconds == 90 * 60
    assert seed.step_seconds == 20 * 60


def test_seed_optional_fields_take_the_documented_defaults(seed: SupportTaskSpec) -> None:
    for name, expected in DOCUMENTED_DEFAULTS.items():
        assert getattr(seed, name) == expected, name
    assert seed.catalog == DEFAULT_CATALOG


def test_every_field_the_seed_omits_is_optional(seed: SupportTaskSpec) -> None:
    """Fields added after the seed's format must have defaults, or the seed would not load."""
    for name, info in SupportTaskSpec.model_fields.items():
        if name in SEED_FIELDS:
            continue
        assert not info.is_required(), name
        assert getattr(seed, name) == info.get_default(call_default_factory=True), name


def test_a_copy_with_changes_recomputes_what_derives_from_the_fields(
    seed: SupportTaskSpec,
) -> None:
    derived = (seed.content_hash, seed.step_seconds, seed.sla_deadline_seconds,
               seed.needs_escalation, seed.catalog)  # computed, and cached, on the original
    ticket = seed.ticket.model_copy(update={"sla_minutes_remaining": 7})
    copy = seed.model_copy(update={"sla_step_cost": 1, "ticket": ticket,
                                   "gold_status": "resolved"})
    assert copy.step_seconds == 60 and copy.sla_deadline_seconds == 7 * 60
    assert not copy.needs_escalation
    assert copy.content_hash != seed.content_hash
    assert (seed.content_hash, seed.step_seconds, seed.sla_deadline_seconds,
            seed.needs_escalation, seed.catalog) == derived  # the original is untouched
    assert seed.model_copy().content_hash == seed.content_hash


def test_seed_is_found_by_get_task(seed: SupportTaskSpec) -> None:
    assert get_task(SEED_ID) == seed
    assert SEED_ID in list_task_ids()


# ------------------------------------------------------------------ the error messages


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


@dataclass(frozen=True)
class Bad:
    """The seed with ``replacements`` applied; the error must name ``field`` and ``shows``."""

    replacements: tuple[tuple[str, str], ...]
    field: str
    shows: tuple[str, ...] = ()


def case(case_id: str, field: str, shows: tuple[str, ...], *replacements: tuple[str, str]) -> Any:
    return pytest.param(Bad(tuple(replacements), field, shows), id=case_id)


GOLD_QUEUE = 'gold_queue="platform_engineering"'
REQUIRED = 'required_requested_fields=("request_ids", "time_window", "regions", "payload_sample")'
RISKS = 'risk_flags=("sla_breach", "p1_incident")'
OVER = "over_escalation_queues=()"
OUTCOME = 'follow_up_outcome="partial"'
PROVIDED = 'follow_up_provided_fields=("request_ids", "time_window")'
WRONG = 'follow_up_wrong_fields=("payload_sample",)'
DEADLINE = "under_escalation_deadline_step=3"
LAST_REPLY_GROUP = '("escalate", "platform"),'
FIRST_NOTE_GROUP = '("status page",),'
FOLLOW_UP_MESSAGE = (
    '    follow_up_message="Platform team investigating elevated DB latency; ETA 20 minutes.",\n'
)
TASK_START = "TASK = SupportTaskSpec("
#: The seed's line of ``TASK_START``; a statement inserted before it takes this number.
TASK_START_LINE = seed_source().splitlines().index(TASK_START) + 1

BAD_SPECS = [
    # Catalog membership of the single-valued gold fields.
    case(
        "gold_queue-not-in-catalog",
        "gold_queue",
        ("tier3_ops", "platform_engineering", "general_support"),
        (GOLD_QUEUE, 'gold_queue="tier3_ops"'),
    ),
    case(
        "gold_priority-not-in-catalog",
        "gold_priority",
        ("critical", "urgent", "low"),
        ('gold_priority="urgent"', 'gold_priority="critical"'),
    ),
    case(
        "gold_issue_type-not-in-catalog",
        "gold_issue_type",
        ("outage", "production_incident"),
        ('gold_issue_type="production_incident"', 'gold_issue_type="outage"'),
    ),
    case(
        "gold_status-not-in-catalog",
        "gold_status",
        ("waiting", "escalated", "closed"),
        ('gold_status="escalated"', 'gold_status="waiting"'),
    ),
    case(
        "gold_resolution_code-not-in-catalog",
        "gold_resolution_code",
        ("fixed", "runbook_investigation"),
        ('gold_resolution_code="runbook_investigation"', 'gold_resolution_code="fixed"'),
    ),
    # Catalog membership of the multi-valued fields.
    case(
        "required_requested_fields-unknown-field",
        "required_requested_fields",
        ("stack_trace", "request_ids", "reproduction_steps"),
        (REQUIRED, REQUIRED[:-1] + ', "stack_trace")'),
    ),
    case(
        "risk_flags-unknown-flag",
        "risk_flags",
        ("p0_incident", "sla_breach"),
        (RISKS, 'risk_flags=("sla_breach", "p0_incident")'),
    ),
    case(
        "over_escalation_queues-unknown-queue",
        "over_escalation_queues",
        ("tier3_ops", "billing"),
        (OVER, 'over_escalation_queues=("tier3_ops",)'),
    ),
    case(
        "over_escalation_queues-contains-gold_queue",
        "over_escalation_queues",
        ("platform_engineering", "gold_queue"),
        (OVER, 'over_escalation_queues=("security", "platform_engineering")'),
    ),
    # Repeated values.
    case(
        "required_requested_fields-repeated",
        "required_requested_fields",
        ("'payload_sample', 'regions']", "each once"),
        (REQUIRED, REQUIRED[:-1] + ', "regions")'),
    ),
    case(
        "risk_flags-repeated",
        "risk_flags",
        ("'sla_breach', 'sla_breach'", "each once"),
        (RISKS, 'risk_flags=("sla_breach", "sla_breach")'),
    ),
    case(
        "over_escalation_queues-repeated",
        "over_escalation_queues",
        ("'security', 'security'", "each once"),
        (OVER, 'over_escalation_queues=("security", "security")'),
    ),
    case(
        "follow_up_provided_fields-repeated",
        "follow_up_provided_fields",
        ("'request_ids', 'request_ids'", "each once"),
        (PROVIDED, 'follow_up_provided_fields=("request_ids", "request_ids")'),
    ),
    # Follow-up subsets and outcome.
    case(
        "follow_up_provided_fields-not-a-required-field",
        "follow_up_provided_fields",
        ("org_id", "request_ids, time_window, regions, payload_sample"),
        (PROVIDED, 'follow_up_provided_fields=("request_ids", "org_id")'),
    ),
    case(
        "follow_up_wrong_fields-not-a-required-field",
        "follow_up_wrong_fields",
        ("org_id", "request_ids, time_window, regions, payload_sample"),
        (WRONG, 'follow_up_wrong_fields=("org_id",)'),
    ),
    case(
        "follow_up_wrong_fields-also-provided",
        "follow_up_wrong_fields",
        ("time_window", "follow_up_provided_fields"),
        (WRONG, 'follow_up_wrong_fields=("time_window",)'),
    ),
    case(
        "follow_up_provided_fields-with-outcome-complete",
        "follow_up_provided_fields",
        ("'complete'", "'partial'"),
        (OUTCOME, 'follow_up_outcome="complete"'),
    ),
    case(
        "follow_up_wrong_fields-with-outcome-none",
        "follow_up_wrong_fields",
        ("'none'", "payload_sample", "'partial'"),
        (OUTCOME, 'follow_up_outcome="none"'),
        (PROVIDED, "follow_up_provided_fields=()"),
        ('gold_status="escalated"', 'gold_status="pending"'),
    ),
    # Deadlines.
    case(
        "under_escalation_deadline_step-after-max_steps",
        "under_escalation_deadline_step",
        ("9", "max_steps 8", "1..8"),
        (DEADLINE, "under_escalation_deadline_step=9"),
    ),
    case(
        "under_escalation_deadline_step-missing-when-escalated",
        "under_escalation_deadline_step",
        ("missing", "'escalated'", "1..8"),
        (DEADLINE, "under_escalation_deadline_step=None"),
    ),
    # Marker groups.
    case(
        "required_reply_markers-empty-group",
        "required_reply_markers",
        ("group 4 is empty",),
        (LAST_REPLY_GROUP, LAST_REPLY_GROUP + "\n        (),"),
    ),
    case(
        "required_note_markers-empty-term",
        "required_note_markers",
        ("group 0 has an empty term", "('status page', '')"),
        (FIRST_NOTE_GROUP, '("status page", "  "),'),
    ),
    case(
        "required_note_markers-empty-string-term",
        "required_note_markers",
        ("group 0 has an empty term in ('',)"),
        (FIRST_NOTE_GROUP, '("",),'),
    ),
    # A terminal gold status that needs fields a silent customer never gives.
    case(
        "gold_status-resolved-needs-fields-from-outcome-none",
        "gold_status",
        ("'resolved'", "'none'", "request_ids"),
        ('gold_status="escalated"', 'gold_status="resolved"'),
        (OUTCOME, 'follow_up_outcome="none"'),
        (PROVIDED, "follow_up_provided_fields=()"),
        (WRONG, "follow_up_wrong_fields=()"),
    ),
    case(
        "gold_status-closed-needs-fields-from-outcome-none",
        "gold_status",
        ("'closed'", "'none'", "request_ids"),
        ('gold_status="escalated"', 'gold_status="closed"'),
        (OUTCOME, 'follow_up_outcome="none"'),
        (PROVIDED, "follow_up_provided_fields=()"),
        (WRONG, "follow_up_wrong_fields=()"),
    ),
    # Identity.
    case(
        "task_id-bad-shape",
        "task_id",
        ("API-Incident", "lowercase letters"),
        ('task_id="api_incident_hard"', 'task_id="API-Incident"'),
    ),
    # Knowledge base.
    case(
        "knowledge_base-duplicate-article-ids",
        "knowledge_base",
        ("kb-api-runbook", "each once"),
        ('article_id="kb-status-page"', 'article_id="kb-api-runbook"'),
    ),
    # A gold queue that only a catalog extension would allow.
    case(
        "gold_queue-vip_desk-without-catalog_extension",
        "gold_queue",
        ("vip_desk", "platform_engineering"),
        (GOLD_QUEUE, 'gold_queue="vip_desk"'),
    ),
    # Pydantic's own checks: literals, bounds, unknown and missing fields, types.
    case(
        "difficulty-not-allowed",
        "difficulty",
        ("'extreme'", "'easy', 'medium' or 'hard'"),
        ('difficulty="hard"', 'difficulty="extreme"'),
    ),
    case(
        "max_steps-zero",
        "max_steps",
        ("(got 0)", ">= 1"),
        ("max_steps=8", "max_steps=0"),
    ),
    case(
        "sla_step_cost-negative",
        "sla_step_cost",
        ("(got -5)", "> 0"),
        ("sla_step_cost=20", "sla_step_cost=-5"),
    ),
    case(
        "field-name-misspelled",
        "over_escalation_qeueus",
        ("(got ())", "over_escalation_queues", "task_id", "max_steps", "team_bounce_delay_minutes"),
        (OVER, "over_escalation_qeueus=()"),
    ),
    case(
        "follow_up_message-missing",
        "follow_up_message",
        ("required",),
        (FOLLOW_UP_MESSAGE, ""),
    ),
    case(
        "max_steps-wrong-type",
        "max_steps",
        ("'eight'", "a whole number"),
        ("max_steps=8", 'max_steps="eight"'),
    ),
    case(
        "ticket-customer_tier-not-allowed",
        "ticket.customer_tier",
        ("'gold'", "'enterprise'"),
        ('customer_tier="enterprise"', 'customer_tier="gold"'),
    ),
    case(
        "knowledge_base-empty-article_id",
        "knowledge_base[].article_id",
        ("(got '')", "at least 1 character"),
        ('article_id="kb-status-page"', 'article_id=""'),
    ),
    # Any other exception while the file runs, reported at its line.
    case(
        "file-runtime-error",
        "ZeroDivisionError",
        (f"bad_task.py:{TASK_START_LINE}: ZeroDivisionError", "division by zero", "defines TASK"),
        (TASK_START, f"RATIO = 1 / 0\n{TASK_START}"),
    ),
]


@pytest.mark.parametrize("bad_spec", BAD_SPECS)
def test_bad_spec_is_rejected_with_a_one_line_error(tmp_path: Path, bad_spec: Bad) -> None:
    path = tmp_path / "bad_task.py"
    path.write_text(mutate(seed_source(), bad_spec.replacements), encoding="utf-8")
    with pytest.raises(TaskLoadError) as caught:
        load_task_file(path)
    assert_task_load_error(caught.value, path.name, bad_spec.field, *bad_spec.shows)


def test_catalog_extension_allows_a_new_gold_queue(tmp_path: Path) -> None:
    source = mutate(
        seed_source(),
        (
            (
                "from tasks.base import SupportTaskSpec, KnowledgeSnippet, SupportTicket\n",
                "from tasks.base import SupportTaskSpec, KnowledgeSnippet, SupportTicket\n"
                "from tasks.catalog import Catalog\n",
            ),
            (
                GOLD_QUEUE,
                'gold_queue="vip_desk",\n    catalog_extension=Catalog(queues=("vip_desk",))',
            ),
        ),
    )
    path = tmp_path / "vip_task.py"
    path.write_text(source, encoding="utf-8")
    task = load_task_file(path)
    assert task.gold_queue == "vip_desk"
    assert task.catalog_extension == Catalog(queues=("vip_desk",))
    assert task.catalog.queues == (*DEFAULT_CATALOG.queues, "vip_desk")
    assert "vip_desk" not in DEFAULT_CATALOG.queues


# Files that are not a valid task module at all: (file name, text or None, fragments).
BAD_FILES = [
    pytest.param(
        "syntax_error.py",
        "from tasks.base import SupportTaskSpec\n\n"
        'TASK = SupportTaskSpec(task_id="x" difficulty="easy")\n',
        ("syntax error", ":3:", "valid Python"),
        id="file-syntax-error",
    ),
    pytest.param(
        "import_error.py",
        "from tasks.base import SupportTaskSpek\n",
        ("import failed", "SupportTaskSpek", "tasks.base"),
        id="file-imports-a-missing-name",
    ),
    pytest.param(
        "no_task.py",
        "from tasks.base import SupportTaskSpec\n\nTASKS = None\n",
        ("TASK", "missing", "SupportTaskSpec"),
        id="file-without-TASK",
    ),
    pytest.param(
        "wrong_type.py",
        'TASK = {"task_id": "wrong_type"}\n',
        ("TASK", "dict", "SupportTaskSpec"),
        id="TASK-of-the-wrong-type",
    ),
    pytest.param(
        "task.txt",
        None,  # the seed's text, under a non-.py name
        ("not a Python file", ".py"),
        id="path-not-a-py-file",
    ),
    pytest.param(
        "does_not_exist.py",
        "",  # never written
        ("no such file", ".py"),
        id="path-missing-file",
    ),
]


@pytest.mark.parametrize(("file_name", "text", "fragments"), BAD_FILES)
def test_bad_file_is_rejected_with_a_one_line_error(
    tmp_path: Path, file_name: str, text: str | None, fragments: tuple[str, ...]
) -> None:
    path = tmp_path / file_name
    if text is None:
        path.write_text(seed_source(), encoding="utf-8")
    elif text:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(TaskLoadError) as caught:
        load_task_file(path)
    assert_task_load_error(caught.value, file_name, *fragments)


# ----------------------------------------------------------------- discovery and lookup


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
