"""Validating a task file (SPEC §2): every rule rejects a bad task file with a one-line
:class:`TaskLoadError` naming the file, the field, the bad value and what is allowed.

The bad files are the seed's source with one thing changed, written to ``tmp_path``, so
each case isolates one rule. Counts are strict: a ticket or task count given as a bool,
a float or text is refused (never coerced), and the seed still loads with its hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import ROOT
from episode_helpers import SEED_TASK
from pydantic import ValidationError
from task_file_helpers import (
    assert_task_load_error,
    mutate,
    seed_fixture,  # noqa: F401  (the ``seed`` fixture)
    seed_source,
)

from tasks import DEFAULT_CATALOG, Catalog, TaskLoadError, load_task_file
from tasks.base import SupportTicket


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


TICKET = {"customer_name": "A", "customer_tier": "pro", "company": "C", "subject": "S",
          "body": "B", "region": "eu", "affected_users": 3, "sla_minutes_remaining": 90}


@pytest.mark.parametrize(("field", "value"), [
    ("affected_users", True), ("affected_users", "90"), ("affected_users", 3.0),
    ("sla_minutes_remaining", "90"), ("sla_minutes_remaining", 90.0),
])
def test_ticket_counts_are_strict(field: str, value: object) -> None:
    # Before: True became 1 and "90" became 90, silently.
    with pytest.raises(ValidationError, match=field):
        SupportTicket(**{**TICKET, field: value})  # type: ignore[arg-type]


@pytest.mark.parametrize(("field", "value"), [
    ("max_steps", "8"), ("max_steps", 8.0), ("sla_step_cost", 20.0),
    ("under_escalation_deadline_step", "2"), ("customer_reply_delay_minutes", True),
    ("team_update_delay_minutes", "30"),
])
def test_task_counts_are_strict(field: str, value: object) -> None:
    with pytest.raises(ValidationError, match=field):
        type(SEED_TASK).model_validate({**SEED_TASK.model_dump(), field: value})


def test_strict_counts_keep_the_seed_task_and_its_hash() -> None:
    # The seed as shipped (and as ../shared/seed has it) loads, hashing as stored traces say.
    seed = load_task_file(ROOT / "tasks" / "api_incident_hard.py")
    assert seed.content_hash == "f76d793109d35dbe"
    shared = ROOT.parent / "shared" / "seed" / "api_incident_hard.py"
    if shared.is_file():
        assert load_task_file(shared).content_hash == seed.content_hash
