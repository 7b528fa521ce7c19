"""What an LLM agent is pointed at and how it asks: :class:`LLMConfig`, and
:class:`LLMSetupError`, the one-line error for a setup the user must fix.

The config is plain, frozen, picklable data: it travels to sweep workers and into the
agent factory. It never holds the API key: the key is read from ``$OPENAI_API_KEY`` when
a client is made (see :mod:`actors.agents.llm.client`), so no config, trace, cache file
or error message can carry it.
"""

from __future__ import annotations

import os
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["DEFAULT_BASE_URL", "LLMConfig", "LLMSetupError"]

#: Where requests go when neither the config nor ``$OPENAI_BASE_URL`` names a server.
DEFAULT_BASE_URL = "https://api.openai.com/v1"


class LLMSetupError(ValueError):
    """A setup the user must fix (missing extra, unreachable server, refused key,
    unknown model); ``str(error)`` is one line, and never holds the API key."""


class LLMConfig(BaseModel):
    """The model, the server and the request parameters of an LLM agent."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str = Field(min_length=1)
    #: ``None``: ``$OPENAI_BASE_URL``, else the OpenAI API.
    base_url: str | None = None
    temperature: float = Field(default=0.0, ge=0.0, le=2.0, allow_inf_nan=False)
    max_tokens: int = Field(default=512, ge=1)
    #: ``tools``: one tool per operation; ``json``: constrained JSON ``{"ops": [...]}``
    #: for servers without tool calling.
    mode: Literal["tools", "json"] = "tools"
    #: Real seconds one request may take, from its start to its whole answer.
    request_timeout: float = Field(default=60.0, gt=0, allow_inf_nan=False)
    #: Retries on 429, 5xx, timeouts and dropped connections (exponential backoff with
    #: jitter, ``Retry-After`` respected); other errors end the episode at once.
    max_retries: int = Field(default=4, ge=0)
    #: ``None``: no cache. Otherwise responses are stored here, content-addressed.
    cache_dir: str | None = ".llm-cache"
    #: Requests in flight at once in this process, per server (a sweep divides its bound
    #: between its workers).
    max_requests_in_flight: int = Field(default=16, ge=1)
    #: model -> (USD per million prompt tokens, USD per million completion tokens).
    prices: dict[str, tuple[float, float]] = {}
    #: Further request parameters a server understands beyond OpenAI's (llama.cpp's
    #: ``repeat_penalty``, say); part of the cache key like the others.
    extra_body: dict[str, Any] = {}

    def server_url(self) -> str:
        """The base URL requests go to, without a trailing slash."""
        url = self.base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
        return url.rstrip("/")

    def worst_case_decision_seconds(self) -> float:
        """An upper bound on the real seconds one decision may take once it holds a
        request slot: every attempt timing out, with the longest waits between them.
        (Waiting for a slot behind other episodes comes on top.)"""
        from actors.agents.llm.client import MAX_WAIT_SECONDS

        attempts = self.max_retries + 1
        return attempts * self.request_timeout + self.max_retries * MAX_WAIT_SECONDS
