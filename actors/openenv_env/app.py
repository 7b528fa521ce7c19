"""The server's ASGI app at module level, for ASGI servers and OpenEnv tooling
(``openenv.yaml`` names it): ``uvicorn actors.openenv_env.app:app --port 8000``.

It serves the seed task by default, like ``run_sim.py serve`` with no options (which
is the way to set the task, task folders and trace folder).
"""

from actors.openenv_env.server import create_server_app

app = create_server_app()
