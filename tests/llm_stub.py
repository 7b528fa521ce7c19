"""A scripted OpenAI-compatible server for tests: ``POST /v1/chat/completions`` and
``GET /v1/models`` on 127.0.0.1, on a free port, in a background thread.

Each chat request takes the next scripted :class:`StubReply` (a reply, or a function of
the request body that makes one) and, once the script is spent, the server's default
behaviour, which is a function of the request too. The stub records what tests assert
on: every request body, how many requests came, and the most that were in flight at once.

    with StubServer(latency=0.5) as stub:          # answers "note" twice, then "finish"
        config = LLMConfig(model=stub.model, base_url=stub.base_url)
        stub.script(error(429, retry_after=0.1), tool_call("finish"))
        ...
        assert stub.max_in_flight <= 16

Run it alone to measure a sweep against it: ``python tests/llm_stub.py --latency 0.5
--turns 3`` prints its base URL, then on Ctrl-C or SIGTERM its counts as JSON (requests,
the most in flight at once, its own CPU seconds).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import signal
import socket
import sys
import threading
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import attrs

__all__ = [
    "StubReply",
    "StubServer",
    "error",
    "finish_after",
    "json_answer",
    "text_answer",
    "tool_call",
    "tool_calls",
]

DEFAULT_MODEL = "stub-model"


@attrs.frozen
class StubReply:
    """One HTTP answer: a JSON ``body`` (or ``raw`` bytes), after ``delay`` seconds."""

    status: int = 200
    body: Any = None
    raw: bytes | None = None
    headers: dict[str, str] = attrs.field(factory=dict)
    delay: float = 0.0


Behaviour = Callable[[dict[str, Any]], StubReply]


def _completion(message: dict[str, Any], finish_reason: str, request: dict[str, Any] | None,
                usage: tuple[int, int] | None) -> dict[str, Any]:
    if usage is None:  # deterministic, roughly proportional to the text
        prompt = len(json.dumps((request or {}).get("messages", []))) // 4
        usage = (prompt, max(1, len(json.dumps(message)) // 4))
    return {
        "id": "chatcmpl-stub", "object": "chat.completion", "created": 0,
        "model": (request or {}).get("model", DEFAULT_MODEL),
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1],
                  "total_tokens": usage[0] + usage[1]},
    }


def tool_calls(*calls: tuple[str, dict[str, Any] | str], content: str | None = None,
               usage: tuple[int, int] | None = None, delay: float = 0.0) -> Behaviour:
    """An answer calling these tools, in order: ``(name, arguments)``, where arguments
    given as a string are sent as they are (malformed JSON, say)."""
    def reply(request: dict[str, Any]) -> StubReply:
        message = {"role": "assistant", "content": content, "tool_calls": [
            {"id": f"call_{i}", "type": "function", "function": {
                "name": name,
                "arguments": args if isinstance(args, str) else json.dumps(args)}}
            for i, (name, args) in enumerate(calls)
        ]}
        return StubReply(body=_completion(message, "tool_calls", request, usage), delay=delay)

    return reply


def tool_call(name: str, arguments: dict[str, Any] | str | None = None, **kw: Any) -> Behaviour:
    """An answer calling one tool."""
    return tool_calls((name, {} if arguments is None else arguments), **kw)


def json_answer(content: str | dict[str, Any], usage: tuple[int, int] | None = None,
                delay: float = 0.0) -> Behaviour:
    """A JSON-mode answer: ``content`` as the message text (a dict is dumped)."""
    text = content if isinstance(content, str) else json.dumps(content)
    return text_answer(text, usage=usage, delay=delay)


def text_answer(text: str, usage: tuple[int, int] | None = None,
                delay: float = 0.0) -> Behaviour:
    """A plain text answer, no tool call."""
    def reply(request: dict[str, Any]) -> StubReply:
        message = {"role": "assistant", "content": text}
        return StubReply(body=_completion(message, "stop", request, usage), delay=delay)

    return reply


def error(status: int, *, retry_after: str | float | None = None, message: str = "stub error",
          delay: float = 0.0) -> StubReply:
    """An error answer in OpenAI's shape, with ``Retry-After`` if given."""
    headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
    return StubReply(status=status, body={"error": {"message": message, "type": "stub"}},
                     headers=headers, delay=delay)


def _turn(request: dict[str, Any]) -> int:
    """Which turn of its episode a request is: its number of user messages."""
    return sum(1 for m in request.get("messages", ()) if m.get("role") == "user")


def finish_after(turns: int) -> Behaviour:
    """The default: a ``note`` on each turn before ``turns``, ``finish`` on that one —
    as tool calls, or as JSON when the request has no tools."""
    def reply(request: dict[str, Any]) -> StubReply:
        turn = _turn(request)
        op: dict[str, Any] = ({"op": "finish"} if turn >= turns
                              else {"op": "note", "text": f"stub note on turn {turn}"})
        if "tools" in request:
            name = op.pop("op")
            return tool_call(name, op)(request)
        return json_answer({"ops": [op]})(request)

    return reply


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Hundreds of episodes connect at once: the default backlog of 5 drops connections.
    request_queue_size = 1024
    stub: StubServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # otherwise each answer waits ~40 ms for a delayed ACK
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        self.server.stub._opened(self.connection)

    def finish(self) -> None:
        self.server.stub._closed(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def _send(self, reply: StubReply) -> None:
        payload = reply.raw if reply.raw is not None else json.dumps(reply.body).encode()
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except OSError:  # the client gave up (a timeout test): nothing to answer
            self.close_connection = True

    def _authorized(self) -> bool:
        stub = self.server.stub
        stub.authorizations.append(self.headers.get("Authorization", ""))
        if stub.api_key is None or self.headers.get("Authorization") == f"Bearer {stub.api_key}":
            return True
        self._send(error(401, message="Incorrect API key provided"))
        return False

    def do_GET(self) -> None:
        stub = self.server.stub
        if self.path.rstrip("/") != "/v1/models":
            self._send(error(404, message=f"no route {self.path}"))
            return
        with stub.lock:
            stub.model_requests += 1
            reply = stub.models_reply
        if reply is not None:
            self._send(reply)
        elif self._authorized():
            self._send(StubReply(body={"object": "list", "data": [
                {"id": m, "object": "model", "created": 0, "owned_by": "stub"}
                for m in stub.models]}))

    def do_POST(self) -> None:
        stub = self.server.stub
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length)
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send(error(404, message=f"no route {self.path}"))
            return
        if not self._authorized():
            return
        try:
            request = json.loads(data)
        except ValueError:
            self._send(error(400, message="the body is not JSON"))
            return
        with stub.lock:
            stub.requests.append(request)
            stub.in_flight += 1
            stub.max_in_flight = max(stub.max_in_flight, stub.in_flight)
            planned = stub._script.popleft() if stub._script else stub.default
            latency = stub.latency
        try:
            reply = planned if isinstance(planned, StubReply) else planned(request)
            stub._stopping.wait(latency + reply.delay)
            self._send(reply)
        finally:
            with stub.lock:
                stub.in_flight -= 1


@attrs.define(eq=False)
class StubServer:
    """The stub (see the module's docstring); a context manager that starts and stops it."""

    models: tuple[str, ...] = (DEFAULT_MODEL,)
    #: Required as the bearer token when set; ``None`` takes any.
    api_key: str | None = None
    #: Answers every chat request once the script is spent.
    default: Behaviour = attrs.field(factory=lambda: finish_after(3))
    #: Real seconds added to every chat answer.
    latency: float = 0.0
    #: Answers ``GET /v1/models`` with this instead of the list (a 500, say).
    models_reply: StubReply | None = None
    requests: list[dict[str, Any]] = attrs.field(factory=list)
    authorizations: list[str] = attrs.field(factory=list)
    model_requests: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = attrs.field(factory=threading.Lock)
    _script: deque[StubReply | Behaviour] = attrs.field(factory=deque)
    _stopping: threading.Event = attrs.field(factory=threading.Event)
    _connections: set[socket.socket] = attrs.field(factory=set)
    _server: _Server | None = None
    _thread: threading.Thread | None = None

    @property
    def model(self) -> str:
        return self.models[0]

    @property
    def base_url(self) -> str:
        assert self._server is not None, "the stub is not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    @property
    def request_count(self) -> int:
        with self.lock:
            return len(self.requests)

    def script(self, *replies: StubReply | Behaviour) -> None:
        """Answer the next chat requests with these, in order."""
        with self.lock:
            self._script.extend(replies)

    def start(self) -> StubServer:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.stub = self
        self._server = server
        self._stopping.clear()
        self._thread = threading.Thread(target=server.serve_forever, name="llm-stub",
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening, wake delayed answers and drop every open connection."""
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        with self.lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join()
        self._server = None

    def _opened(self, connection: socket.socket) -> None:
        with self.lock:
            self._connections.add(connection)

    def _closed(self, connection: socket.socket) -> None:
        with self.lock:
            self._connections.discard(connection)

    def __enter__(self) -> StubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--turns", type=int, default=3, help="finish on this turn")
    parser.add_argument("--model", default=DEFAULT_MODEL)
    args = parser.parse_args(argv)
    stub = StubServer(models=(args.model,), latency=args.latency,
                      default=finish_after(args.turns)).start()
    print(stub.base_url, flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    with contextlib.suppress(KeyboardInterrupt):
        while not stopped.wait(0.5):
            pass
    stub.stop()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"requests": stub.request_count, "max_in_flight": stub.max_in_flight,
                      "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
