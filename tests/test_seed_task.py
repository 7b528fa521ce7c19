"""The seed task file (SPEC §2): shipped unchanged from the shared seed, it loads and reads
back exactly, its optional fields take their documented defaults, and what derives from
its fields is recomputed on a changed copy.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from task_file_helpers import (
    REPO_SEED,
    SEED_ID,
    seed_fixture,  # noqa: F401  (the ``seed`` fixture)
)

from tasks import DEFAULT_CATALOG, Catalog, SupportTaskSpec, get_task, list_task_ids, load_task_file

SHARED_DIR = Path(__file__).parents[2] / "shared"
SHARED_SEED = SHARED_DIR / "seed" / f"{SEED_ID}.py"


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
