"""An agent for scenarios/agent_timeout.toml: it triages at turn 1, then stalls.

From turn 2 on, each decision waits an hour of real time, as a hung LLM call would; the
scenario's ``agent_timeout`` ends the episode long before. Load it as
``scenarios.stalling_agent:StallingAgent`` (from the project's root).
"""

from __future__ import annotations

from typing import Any

import trio

STALL_SECONDS = 3600.0


class StallingAgent:
    async def act(self, observation: Any) -> list[dict[str, Any]]:
        if observation.turn > 1:
            await trio.sleep(STALL_SECONDS)
        return [
            {"op": "set_fields", "queue": "platform_engineering", "priority": "urgent",
             "issue_type": "production_incident"},
            {"op": "reply", "message": "We acknowledge the incident and will collect what we "
             "need: please send the request IDs, the time window, the regions and a payload "
             "sample.",
             "request_fields": ["request_ids", "time_window", "regions", "payload_sample"]},
            {"op": "escalate", "queue": "platform_engineering",
             "summary": "createOrder 5xx and timeouts across regions"},
        ]
