"""The helpdesk's dropdowns: every value a task, an agent or the grader may use.

The catalog is shown to the agent in every observation. A task may add values
only explicitly, through its ``catalog_extension`` field; it can never remove one.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["CATALOG_DIMENSIONS", "DEFAULT_CATALOG", "Catalog", "merge_catalog"]

#: The catalog's dimensions, in the order the spec lists them.
CATALOG_DIMENSIONS: tuple[str, ...] = (
    "queues",
    "priorities",
    "issue_types",
    "statuses",
    "resolution_codes",
    "risk_flags",
    "fields",
)


class Catalog(BaseModel):
    """The allowed values of each ticket dimension, in display order."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    queues: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()
    issue_types: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    resolution_codes: tuple[str, ...] = ()
    risk_flags: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()

    def values(self, dimension: str) -> tuple[str, ...]:
        """The allowed values of one dimension, e.g. ``catalog.values("queues")``."""
        if dimension not in CATALOG_DIMENSIONS:
            raise KeyError(f"unknown catalog dimension {dimension!r}")
        result: tuple[str, ...] = getattr(self, dimension)
        return result


DEFAULT_CATALOG = Catalog(
    queues=(
        "general_support",
        "billing",
        "account_management",
        "platform_engineering",
        "security",
        "data_privacy",
        "product_feedback",
        "sales",
    ),
    priorities=("low", "normal", "high", "urgent"),
    issue_types=(
        "how_to",
        "bug",
        "billing_dispute",
        "refund_request",
        "account_access",
        "production_incident",
        "security_incident",
        "data_request",
        "feature_request",
    ),
    statuses=("open", "pending", "escalated", "resolved", "closed"),
    resolution_codes=(
        "answered",
        "refund_issued",
        "credential_reset",
        "runbook_investigation",
        "workaround_provided",
        "bug_filed",
        "feature_logged",
        "data_export_sent",
        "duplicate",
        "no_action_needed",
        "security_review",
    ),
    risk_flags=(
        "sla_breach",
        "p1_incident",
        "data_exposure",
        "churn_risk",
        "legal_risk",
        "vip_customer",
        "fraud_suspected",
        "compliance_deadline",
    ),
    fields=(
        "request_ids",
        "time_window",
        "regions",
        "payload_sample",
        "error_message",
        "account_email",
        "invoice_id",
        "last4_digits",
        "transaction_date",
        "screenshot",
        "browser_version",
        "user_ids",
        "login_timestamps",
        "ip_addresses",
        "export_scope",
        "legal_basis",
        "org_id",
        "api_key_prefix",
        "sdk_version",
        "reproduction_steps",
    ),
)


def merge_catalog(base: Catalog, extension: Catalog) -> Catalog:
    """``base`` with the values of ``extension`` appended, keeping order and dropping repeats."""
    merged = {
        dim: tuple(dict.fromkeys(base.values(dim) + extension.values(dim)))
        for dim in CATALOG_DIMENSIONS
    }
    return Catalog(**merged)
