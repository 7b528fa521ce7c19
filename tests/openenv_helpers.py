"""Starting ``run_sim.py serve`` for tests: on a free loopback port, stopped after."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

from cli_helpers import start_cli

#: Seconds a server may take to start: openenv's import alone takes several.
START_TIMEOUT = 120


@contextmanager
def running_server(*args: str) -> Iterator[str]:
    """``run_sim.py serve --port 0 *args`` until the block ends; its URL. The server is
    stopped with Ctrl-C (SIGINT), and must stop cleanly."""
    process = start_cli("serve", "--port", "0", *args)
    try:
        assert process.stdout is not None
        line = _first_line(process)
        assert line.startswith("serving "), line
        url = line.split(" on ", 1)[1].split()[0]
        yield url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
        try:
            _, errors = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise AssertionError("the server did not stop on Ctrl-C") from None
    # Ctrl-C is a server's ordinary end: a graceful stop, status 0, no traceback.
    assert process.returncode == 0, (process.returncode, errors[-2000:])
    assert "Traceback" not in errors, errors[-2000:]


def _first_line(process: subprocess.Popen[str]) -> str:
    import selectors

    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout=START_TIMEOUT):
            raise AssertionError("the server printed nothing in time")
    line = process.stdout.readline()
    if not line:
        assert process.stderr is not None
        raise AssertionError(f"the server ended: {process.wait()} {process.stderr.read()}")
    return line
