"""Tasks: the spec model, the catalog, the registry and one file per shipped task."""

from tasks.base import PERSONAS, TERMINAL_STATUSES, KnowledgeSnippet, SupportTaskSpec, SupportTicket
from tasks.catalog import CATALOG_DIMENSIONS, DEFAULT_CATALOG, Catalog
from tasks.registry import (
    SHIPPED_TASKS_DIR,
    TaskLoadError,
    discover_tasks,
    get_task,
    list_task_ids,
    load_task_file,
)

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
    "TaskLoadError",
    "discover_tasks",
    "get_task",
    "list_task_ids",
    "load_task_file",
]
