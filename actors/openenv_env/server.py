"""``run_sim.py serve``: the OpenEnv HTTP and WebSocket server (FastAPI on uvicorn).

openenv's ``create_app`` provides the protocol: ``POST /reset``, ``POST /step``,
``GET /state``, ``/schema``, ``/metadata``, ``/health``, ``/mcp`` and the WebSocket
``/ws``, where each connection is a session with its own
:class:`~actors.openenv_env.environment.SupportSimEnvironment` (its own episode). A
client that disconnects ends its session and frees its episode; at most
``max_sessions`` sessions are open at once. Over plain HTTP every request is a new
session, so episodes are played over ``/ws`` (openenv's clients do).

The server binds 127.0.0.1 unless told otherwise: it runs whatever episodes anyone who
reaches it asks for.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Sequence
from functools import partial

import uvicorn
from fastapi import FastAPI

from actors.openenv_env.environment import SupportSimEnvironment
from actors.openenv_env.models import SupportAction, SupportObservation, SupportState

__all__ = ["DEFAULT_MAX_SESSIONS", "create_server_app", "serve"]

#: Sessions (episodes) a server holds at once unless told otherwise.
DEFAULT_MAX_SESSIONS = 256


def create_server_app(*, task: str = "api_incident_hard", tasks_dirs: Sequence[str] = (),
                      trace_dir: str | None = None,
                      max_sessions: int = DEFAULT_MAX_SESSIONS) -> FastAPI:
    """The ASGI app: serve it with any ASGI server (``uvicorn``), or call :func:`serve`."""
    # openenv reads this at app creation: its Gradio playground stays off (it would
    # need a browser's assets from the internet, and nothing here uses it).
    os.environ.setdefault("ENABLE_WEB_INTERFACE", "false")
    from openenv.core.env_server.http_server import create_app
    from openenv.core.env_server.types import ConcurrencyConfig

    factory = partial(SupportSimEnvironment, task=task, tasks_dirs=tuple(tasks_dirs),
                      trace_dir=trace_dir)
    app: FastAPI = create_app(
        factory, SupportAction, SupportObservation, env_name="support_sim",
        state_cls=SupportState,
        concurrency_config=ConcurrencyConfig(max_concurrent_envs=max_sessions))
    return app


def serve(*, host: str = "127.0.0.1", port: int = 8000, task: str = "api_incident_hard",
          tasks_dirs: Sequence[str] = (), trace_dir: str | None = None,
          max_sessions: int = DEFAULT_MAX_SESSIONS,
          on_ready: Callable[[str], None] | None = None) -> None:
    """Serve until interrupted (Ctrl-C or SIGTERM, then a graceful shutdown).

    The socket is bound before the server starts, so ``port=0`` picks a free port:
    ``on_ready(url)`` is told the URL once the server accepts connections.
    """
    app = create_server_app(task=task, tasks_dirs=tasks_dirs, trace_dir=trace_dir,
                            max_sessions=max_sessions)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    url = f"http://{shown}:{sock.getsockname()[1]}"
    config = uvicorn.Config(app, log_level="warning", ws_max_size=16 * 1024 * 1024)
    _Server(config, lambda: on_ready(url) if on_ready is not None else None).run(
        sockets=[sock])


class _Server(uvicorn.Server):
    """uvicorn's server, telling ``on_ready`` once it accepts connections."""

    def __init__(self, config: uvicorn.Config, on_ready: Callable[[], None]) -> None:
        super().__init__(config)
        self.on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if not self.should_exit:
            self.on_ready()
