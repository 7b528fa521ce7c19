"""Tasks: the spec model, the catalog, families, the registry and the shipped task files."""

from tasks.base import PERSONAS, TERMINAL_STATUSES, KnowledgeSnippet, SupportTaskSpec, SupportTicket
from tasks.catalog import CATALOG_DIMENSIONS, DEFAULT_CATALOG, Catalog
from tasks.registry import (
    SHIPPED_TASKS_DIR,
    TaskLoadError,
    discover_families,
    discover_tasks,
    get_family,
    get_task,
    list_task_ids,
    load_task_file,
    load_task_source,
)
from tasks.family import TaskFamily

__all__ = [
    "CATALOG_DIMENSIONS",
    "DEFAULT_CATALOG",
    "PERSONAS",
    "SHIPPED_TASKS_DIR",
    "TERMINAL_STATUSES",
    "Catalog",
    "KnowledgeSnippet",
    "SupportTaskSpec",
    "SupportTicket",
    "TaskFamily",
    "TaskLoadError",
    "discover_families",
    "discover_tasks",
    "get_family",
    "get_task",
    "list_task_ids",
    "load_task_file",
    "load_task_source",
]
