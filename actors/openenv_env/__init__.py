"""The simulator as an OpenEnv environment (the ``openenv`` extra): ``run_sim.py serve``.

- :mod:`.models` — the wire: :class:`SupportAction` (``{"ops": [...]}``, each operation
  discriminated on ``op``), :class:`SupportObservation` (the turn's observation with
  ``reward``, ``done`` and ``metadata``) and :class:`SupportState`.
- :mod:`.environment` — :class:`SupportSimEnvironment`, one episode per session.
- :mod:`.server` — the FastAPI app (openenv's ``create_app``) and :func:`serve`.
- :mod:`.client` — :class:`SupportSimClient`, openenv's WebSocket client for it.
"""

from actors.openenv_env.client import SupportSimClient
from actors.openenv_env.environment import SupportSimEnvironment
from actors.openenv_env.models import SupportAction, SupportObservation, SupportState
from actors.openenv_env.server import DEFAULT_MAX_SESSIONS, create_server_app, serve

__all__ = [
    "DEFAULT_MAX_SESSIONS",
    "SupportAction",
    "SupportObservation",
    "SupportSimClient",
    "SupportSimEnvironment",
    "SupportState",
    "create_server_app",
    "serve",
]
