"""The random agent: valid-looking operations drawn from the catalog, seeded per episode."""

from __future__ import annotations

import random
from typing import Any

from sim.episode import stable_seed
from sim.observation import Observation
from tasks.base import SupportTaskSpec, TaskBrief

__all__ = ["RandomAgent"]

_WORDS = ("incident", "update", "status", "page", "refund", "account", "request", "ids",
          "escalate", "platform", "acknowledge", "collect", "security", "review", "we")


class RandomAgent:
    """A floor to beat: 0-4 random operations a turn; finishes with probability 0.1."""

    inline_safe = True

    def __init__(self) -> None:
        self.rng = random.Random(0)

    def reset(self, brief: TaskBrief | SupportTaskSpec, seed: int) -> None:
        """Seed the draws from the task's id and the seed (the brief is all it reads)."""
        self.rng = random.Random(stable_seed("random-agent", brief.task_id, seed))

    def act(self, observation: Observation) -> list[dict[str, Any]]:
        rng, catalog = self.rng, observation.catalog
        ops: list[dict[str, Any]] = []
        for _ in range(rng.randint(0, 4)):
            kind = rng.choice(("set_fields", "reply", "note", "search_kb", "flag_risk",
                               "escalate", "set_status"))
            text = " ".join(rng.choices(_WORDS, k=rng.randint(3, 10)))
            if kind == "set_fields":
                ops.append({"op": kind, "queue": rng.choice(catalog.queues),
                            "priority": rng.choice(catalog.priorities),
                            "issue_type": rng.choice(catalog.issue_types)})
            elif kind == "reply":
                ops.append({"op": kind, "message": text,
                            "request_fields": rng.sample(catalog.fields, rng.randint(0, 3))})
            elif kind == "note":
                ops.append({"op": kind, "text": text})
            elif kind == "search_kb":
                ops.append({"op": kind, "query": text})
            elif kind == "flag_risk":
                ops.append({"op": kind, "flags": rng.sample(catalog.risk_flags, 1)})
            elif kind == "escalate":
                ops.append({"op": kind, "queue": rng.choice(catalog.queues), "summary": text})
            else:
                ops.append({"op": kind, "status": rng.choice(catalog.statuses[:3]),
                            "resolution_code": rng.choice(catalog.resolution_codes)})
        if rng.random() < 0.1:
            ops.append({"op": "finish"})
        return ops
