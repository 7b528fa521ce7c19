"""The LLM agent: an OpenAI-compatible model as the agent under test.

One :class:`LLMAgent` plays one episode. Its conversation carries over the turns; per
turn: the outcome of each tool call of the last turn as its ``tool`` message (``ok`` or
why it was rejected), then the update rendering the observation (as the ``user``), then
the model's answer (as the ``assistant``). The first update opens with the job
description (built from the first observation's catalog) — in the user message, not a
system one, which some chat templates drop without a word (llama.cpp's ``gemma``).

In tools mode every tool call of an answer is one operation, and all of them form one
turn; in JSON mode the answer's ``{"ops": [...]}`` is the turn. What cannot be read
becomes an operation the simulator rejects, and the model is told why in its next
update, like any agent.

The conversation is a pure function of the observations and the answers, and every
answer goes through the response cache (when it is on), so a rerun of an episode sends
no request and writes the same trace, byte for byte. An error that ends the episode
(the server failing for good, the cache unwritable) is raised, so the episode ends as
``agent_error`` with a one-line reason.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from actors.agents.llm.answers import ChatAnswer, Entry, json_entries, tool_entries
from actors.agents.llm.cache import CacheError, ResponseCache, request_key
from actors.agents.llm.client import LLMRequestError, complete, httpx2_module
from actors.agents.llm.config import LLMConfig
from actors.agents.llm.prompt import job_description, render_update
from actors.agents.llm.tools import json_mode_format, operation_tools
from actors.agents.llm.usage import Usage
from sim.observation import Observation, OperationResult
from sim.operations import MAX_OPERATIONS_PER_TURN

__all__ = ["LLMAgent", "llm_agent"]

_NOT_APPLIED = (f"not applied: a turn holds at most {MAX_OPERATIONS_PER_TURN} operations")


class LLMAgent:
    """An agent whose every turn is one chat completion (see the module's docstring)."""

    def __init__(self, config: LLMConfig) -> None:
        httpx2_module()  # the extra is missing: say so now, not at the first turn
        self.config = config
        self._tools = operation_tools() if config.mode == "tools" else None
        self._format = json_mode_format() if config.mode == "json" else None
        self._cache = ResponseCache(config.cache_dir) if config.cache_dir else None
        self._seed = 0
        self._messages: list[dict[str, Any]] = []
        self._pending: list[Entry] = []
        self._usage = Usage()

    def reset(self, brief: Any, seed: int) -> None:
        """Start an episode: an empty conversation. The brief is not read — the first
        observation carries all the model is shown — so episodes that differ only in
        their seed share cached answers (unless sampling: see :meth:`_request`)."""
        self._seed = seed
        self._messages = []
        self._pending = []
        self._usage = Usage()

    async def act(self, observation: Observation) -> list[dict[str, Any]]:
        """Render the observation, ask the model, and return its turn as operation dicts."""
        first = not self._messages
        tool_messages, result_lines = self._outcomes(observation.results)
        self._messages.extend(tool_messages)
        update = render_update(observation, first=first, results=result_lines)
        if first:
            update = f"{job_description(observation.catalog, self.config.mode)}\n\n{update}"
        self._messages.append({"role": "user", "content": update})
        answer = await self._ask()
        self._messages.append(answer.assistant_message())
        entries = tool_entries(answer) if self.config.mode == "tools" else json_entries(answer)
        self._pending = entries
        return [entry.operation for entry in entries]

    def usage(self) -> dict[str, float]:
        """This episode's requests, cache hits, tokens, latency and cost (see
        :mod:`actors.agents.llm.usage`)."""
        return self._usage.as_dict(self.config.prices.get(self.config.model))

    def _outcomes(
        self, results: tuple[OperationResult, ...]
    ) -> tuple[list[dict[str, Any]], list[str]]:
        """The last turn's outcomes: a tool message per tool call, and lines for the rest
        (JSON mode, an answer without a tool call, an error of the turn as a whole)."""
        by_index = {r.index: r for r in results if r.index >= 0}
        lines = [f"- the turn: {r.error}" for r in results if r.index < 0 and r.error]
        messages = []
        for index, entry in enumerate(self._pending):
            result = by_index.get(index)
            if result is None:
                outcome = _NOT_APPLIED
            elif result.ok:
                outcome = "ok"
            else:
                outcome = f"rejected: {entry.problem or result.error}"
            if entry.call_id is not None:
                messages.append({"role": "tool", "tool_call_id": entry.call_id,
                                 "content": outcome})
            else:
                name = entry.operation.get("op")
                label = name if isinstance(name, str) else "your answer"
                lines.append(f"- #{index + 1} {label}: {outcome}")
        self._pending = []
        return messages, lines

    def _request(self) -> dict[str, Any]:
        config = self.config
        body: dict[str, Any] = {
            **config.extra_body,
            "model": config.model,
            "messages": self._messages,
            "temperature": config.temperature,
            "max_tokens": config.max_tokens,
        }
        if self._tools is not None:
            body["tools"] = self._tools
        if self._format is not None:
            body["response_format"] = self._format
        if config.temperature > 0:
            # Sampling: each seed its own draw (and its own cache entries), replayable.
            body["seed"] = self._seed % 2**31
        return body

    async def _ask(self) -> ChatAnswer:
        body = self._request()
        key = request_key({"mode": self.config.mode, **body}) if self._cache else ""
        if self._cache is not None:
            stored = self._cache.get(key)
            if stored is not None:
                self._usage.cache_hits += 1
                return stored
        answer = await complete(self.config, body, self._usage)
        self._usage.prompt_tokens += answer.prompt_tokens
        self._usage.completion_tokens += answer.completion_tokens
        if self._cache is not None:
            try:
                answer = self._cache.put(key, answer)
            except CacheError as error:
                raise LLMRequestError(str(error)) from None
        return answer


def llm_agent(config: LLMConfig) -> Callable[[], LLMAgent]:
    """A picklable factory of :class:`LLMAgent` for ``config``: one agent per episode."""
    return functools.partial(LLMAgent, config)
