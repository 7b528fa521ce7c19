"""Talking to an OpenAI-compatible server: one chat completion with retries, and the
check made before any episode runs.

Built on ``httpx2`` (the HTTP client the ``openai`` package itself uses), called
directly: it runs under trio (through anyio), and the agent needs no more of the SDK
than one POST and one GET — it keeps the raw answer for the cache, reads ``Retry-After``
itself and does its own retries — while the SDK's request building and typed parsing
cost about twice the CPU per request and a second of import in every sweep worker.

- **Retries**: on 408, 409, 429 and 5xx answers, timeouts and dropped connections, up to
  ``max_retries`` times, after an exponential backoff with jitter, or after the
  server's ``Retry-After`` (seconds or an HTTP date; ``retry-after-ms`` too), capped at
  :data:`MAX_WAIT_SECONDS`. Any other answer ends the episode at once.
- **Timeout**: ``request_timeout`` real seconds per request, from sending it to having
  the whole answer.
- **Requests in flight**: at most ``max_requests_in_flight`` per server in one process
  (one ``trio.CapacityLimiter`` per server URL and bound, per trio run — a process runs
  one); a request holds its slot only while it is sent, never while it waits to retry.
- **One connection pool** per server per trio run, closed when the run ends.
- **The key** comes from ``$OPENAI_API_KEY`` when a pool is made (a placeholder when it
  is unset, for local servers that take none). It is sent as a header and nowhere else;
  every message this module raises is scrubbed of it.

Errors: :class:`LLMRequestError` (the episode ends as ``agent_error`` with its one-line
reason) and, from :func:`check_server`, :class:`~actors.agents.llm.config.LLMSetupError`.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import os
import random
import time
from datetime import UTC, datetime
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import attrs
import trio
from trio.lowlevel import RunVar

from actors.agents.llm.answers import ChatAnswer, ToolCall
from actors.agents.llm.config import LLMConfig, LLMSetupError
from actors.agents.llm.usage import Usage

__all__ = [
    "BACKOFF_SECONDS",
    "MAX_BACKOFF_SECONDS",
    "MAX_WAIT_SECONDS",
    "PLACEHOLDER_KEY",
    "LLMRequestError",
    "check_server",
    "complete",
    "httpx2_module",
]

#: The first backoff; each retry doubles it, up to :data:`MAX_BACKOFF_SECONDS`.
BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 30.0
#: The longest wait before a retry, whatever ``Retry-After`` asks for.
MAX_WAIT_SECONDS = 60.0
#: Sent when ``$OPENAI_API_KEY`` is unset: local servers want some bearer token or none.
PLACEHOLDER_KEY = "no-key"
_RETRIED_STATUSES = frozenset({408, 409, 429})
_INSTALL_HINT = "the llm extra is not installed; pip install -e '.[llm]'"
_SHOWN_CHARS = 300
_MODELS_SHOWN = 20


class LLMRequestError(RuntimeError):
    """A request that failed for good: the episode ends as ``agent_error`` with this
    one-line reason (which never holds the API key)."""


def httpx2_module() -> ModuleType:
    """``httpx2``, or :class:`LLMSetupError` naming the extra to install."""
    try:
        import httpx2
    except ImportError:
        raise LLMSetupError(_INSTALL_HINT) from None
    return httpx2


def _api_key() -> str:
    return os.environ.get("OPENAI_API_KEY") or PLACEHOLDER_KEY


def _scrub(text: str) -> str:
    """``text`` on one line, cut short, without the API key."""
    key = os.environ.get("OPENAI_API_KEY")
    if key:
        text = text.replace(key, "[redacted]")
    text = " ".join(text.split())
    return text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS] + "…"


def shown_url(url: str) -> str:
    """``url`` without any user or password in it."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc))


def _server_message(response: Any) -> str:
    """The error message of an answer: OpenAI's ``{"error": {"message"}}`` or its text."""
    try:
        data = response.json()
        error = data.get("error") if isinstance(data, dict) else None
        message = error.get("message") if isinstance(error, dict) else error
        if isinstance(message, str) and message:
            return _scrub(message)
    except Exception:  # not JSON: the text, if any
        pass
    try:
        return _scrub(response.text) or "(no message)"
    except Exception:
        return "(no message)"


# --- per-run state: connection pools and request slots --------------------------------


@attrs.define
class _RunState:
    clients: dict[str, Any] = attrs.Factory(dict)
    limiters: dict[tuple[str, int], trio.CapacityLimiter] = attrs.Factory(dict)


_STATE: RunVar[_RunState] = RunVar("llm_client_state")


async def _close_at_run_end(state: _RunState) -> None:
    try:
        await trio.sleep_forever()
    finally:  # cancelled when the run's main task returns
        with trio.CancelScope(shield=True):
            for client in state.clients.values():
                with contextlib.suppress(Exception):
                    await client.aclose()


def _state() -> _RunState:
    try:
        return _STATE.get()
    except LookupError:
        state = _RunState()
        _STATE.set(state)
        trio.lowlevel.spawn_system_task(_close_at_run_end, state)
        return state


def _new_client(httpx2: ModuleType, timeout: float | None = None) -> Any:
    return httpx2.AsyncClient(
        headers={"Authorization": f"Bearer {_api_key()}"},
        timeout=timeout,  # None: the trio deadline around each request is the limit
        limits=httpx2.Limits(max_connections=None, max_keepalive_connections=256),
    )


def _client(url: str) -> Any:
    state = _state()
    client = state.clients.get(url)
    if client is None:
        client = state.clients[url] = _new_client(httpx2_module())
    return client


def _limiter(url: str, bound: int) -> trio.CapacityLimiter:
    limiters = _state().limiters
    limiter = limiters.get((url, bound))
    if limiter is None:
        limiter = limiters[(url, bound)] = trio.CapacityLimiter(bound)
    return limiter


# --- one chat completion ---------------------------------------------------------------


class _Retryable(Exception):
    """A failed attempt worth another: why, and how long the server asked us to wait."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason, self.retry_after = reason, retry_after


def retry_after_seconds(headers: Any, now: float | None = None) -> float | None:
    """The wait a 429/503 asks for: ``retry-after-ms``, or ``Retry-After`` in seconds or
    as an HTTP date; ``None`` when absent or unreadable."""
    millis = headers.get("retry-after-ms")
    if millis is not None:
        with contextlib.suppress(ValueError):
            return max(0.0, float(millis) / 1000)
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = datetime.now(UTC).timestamp() if now is None else now
    return max(0.0, when.timestamp() - current)


def _wait_before_retry(attempt: int, retry_after: float | None) -> float:
    if retry_after is not None:  # what the server asked, and a little spread
        return min(MAX_WAIT_SECONDS, retry_after * random.uniform(1.0, 1.1))
    ceiling = min(MAX_BACKOFF_SECONDS, BACKOFF_SECONDS * 2 ** attempt)
    return min(MAX_WAIT_SECONDS, random.uniform(ceiling / 2, ceiling))


def _answer(data: Any) -> ChatAnswer:
    """The :class:`ChatAnswer` of a chat-completion body; ``ValueError`` if it is not one."""
    if not isinstance(data, dict) or not isinstance(data.get("choices"), list) \
            or not data["choices"] or not isinstance(data["choices"][0], dict):
        raise ValueError("no choices")
    choice = data["choices"][0]
    message = choice.get("message")
    if not isinstance(message, dict):
        raise ValueError("no message")
    calls = []
    for index, call in enumerate(message.get("tool_calls") or ()):
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise ValueError("a tool call without a function name")
        arguments = function.get("arguments")
        if not isinstance(arguments, str):  # some servers send the object itself
            arguments = json.dumps(arguments if arguments is not None else {},
                                   ensure_ascii=False)
        call_id = call.get("id")
        calls.append(ToolCall(id=call_id if isinstance(call_id, str) and call_id
                              else f"call_{index}",
                              name=function["name"], arguments=arguments))
    reported = data.get("usage")
    usage: dict[str, Any] = reported if isinstance(reported, dict) else {}
    content = message.get("content")

    def tokens(name: str) -> int:
        value = usage.get(name)
        return value if isinstance(value, int) and value >= 0 else 0

    return ChatAnswer(
        content=content if isinstance(content, str) else None,
        tool_calls=tuple(calls),
        finish_reason=choice.get("finish_reason") if isinstance(
            choice.get("finish_reason"), str) else None,
        prompt_tokens=tokens("prompt_tokens"),
        completion_tokens=tokens("completion_tokens"),
    )


async def _attempt(config: LLMConfig, url: str, body: dict[str, Any]) -> ChatAnswer:
    httpx2 = httpx2_module()
    client = _client(url)
    timeout = config.request_timeout
    response = None
    with trio.move_on_after(timeout):
        try:
            response = await client.post(f"{url}/chat/completions", json=body)
        except httpx2.TimeoutException:
            pass
        except httpx2.RequestError as error:
            raise _Retryable(f"connection failed: {_scrub(str(error)) or type(error).__name__}"
                             ) from None
    if response is None:
        raise _Retryable(f"no answer within {timeout:g} s")
    status = response.status_code
    if status == 200:
        try:
            return _answer(response.json())
        except ValueError as error:
            raise LLMRequestError(
                f"the model server at {shown_url(url)} answered with something other than "
                f"a chat completion ({_scrub(str(error))})") from None
    reason = f"HTTP {status}: {_server_message(response)}"
    if status in _RETRIED_STATUSES or status >= 500:
        raise _Retryable(reason, retry_after_seconds(response.headers))
    raise LLMRequestError(f"the model server at {shown_url(url)} refused the request: {reason}")


async def complete(config: LLMConfig, body: dict[str, Any], usage: Usage) -> ChatAnswer:
    """One chat completion for ``body``, retried as the config allows; each attempt is
    counted in ``usage``. Raises :class:`LLMRequestError` when it fails for good."""
    url = config.server_url()
    limiter = _limiter(url, config.max_requests_in_flight)
    attempts = config.max_retries + 1
    for attempt in range(attempts):
        try:
            async with limiter:
                started = time.perf_counter()
                try:
                    return await _attempt(config, url, body)
                finally:
                    usage.requests += 1
                    usage.latency_seconds += time.perf_counter() - started
        except _Retryable as failure:
            if attempt + 1 == attempts:
                raise LLMRequestError(
                    f"the model server at {shown_url(url)} failed {attempts} "
                    f"attempt{'s' if attempts > 1 else ''}; last: {failure.reason}"
                ) from None
            await trio.sleep(_wait_before_retry(attempt, failure.retry_after))
    raise AssertionError("unreachable")  # the loop returns or raises


# --- the check before any episode ------------------------------------------------------


async def check_server(config: LLMConfig) -> None:
    """Check that the server answers, takes the key and knows the model (``GET
    {base}/models``); raise :class:`LLMSetupError` with one line if not."""
    httpx2 = httpx2_module()
    url = config.server_url()
    shown = shown_url(url)
    response = None
    async with _new_client(httpx2) as client:
        with trio.move_on_after(config.request_timeout):
            try:
                response = await client.get(f"{url}/models")
            except httpx2.TimeoutException:
                pass
            except httpx2.RequestError as error:
                reason = _scrub(str(error)) or type(error).__name__
                raise LLMSetupError(f"cannot reach the model server at {shown}: "
                                    f"{reason}") from None
    if response is None:
        raise LLMSetupError(f"cannot reach the model server at {shown}: no answer "
                            f"within {config.request_timeout:g} s")
    status = response.status_code
    if status in (401, 403):
        unset = "" if os.environ.get("OPENAI_API_KEY") else "; OPENAI_API_KEY is not set"
        raise LLMSetupError(f"the model server at {shown} refused the API key "
                            f"(OPENAI_API_KEY): HTTP {status}{unset}")
    if status == 404:
        raise LLMSetupError(f"the model server at {shown} has no model list (HTTP 404 for "
                            f"GET {shown}/models); OpenAI-compatible servers serve the API "
                            "under a base URL that usually ends in /v1")
    if status != 200:
        raise LLMSetupError(f"the model server at {shown} answered GET /models with HTTP "
                            f"{status}: {_server_message(response)}")
    try:
        listed = [m["id"] for m in response.json()["data"]]
        if not all(isinstance(name, str) for name in listed):
            raise TypeError
    except Exception:
        raise LLMSetupError(f"the model server at {shown} answered GET /models with "
                            "something other than a model list") from None
    if config.model not in listed:
        names = ", ".join(listed[:_MODELS_SHOWN]) or "(none)"
        more = f" and {len(listed) - _MODELS_SHOWN} more" if len(listed) > _MODELS_SHOWN else ""
        raise LLMSetupError(f"model {config.model!r} is unknown to {shown}; allowed: "
                            f"{names}{more}")
