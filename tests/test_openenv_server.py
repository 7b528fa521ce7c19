"""``run_sim.py serve``: the OpenEnv server, on a free loopback port, through openenv's
own client and validator."""

from __future__ import annotations

import asyncio
import hashlib
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import trio
from cli_helpers import one_line_error, run_cli
from hypothesis import HealthCheck, given, settings
from openenv_helpers import running_server
from readme_helpers import readme_block
from websockets.sync.client import ClientConnection, connect

from actors.episodes import simulate
from actors.openenv_env import SupportAction, SupportSimClient
from sim.scripted import ScriptedAgent, turns_of
from sim.testing.strategies import turn_sequences
from tasks import PERSONAS, get_task


@pytest.fixture(scope="module")
def trace_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("served-traces")


@pytest.fixture(scope="module")
def server(trace_dir: Path) -> Iterator[str]:
    with running_server("--trace-dir", str(trace_dir), "--max-sessions", "80") as url:
        yield url


def oracle_turns(seed: int, persona: str) -> list[list[dict[str, Any]]]:
    task = get_task("api_incident_hard", seed=seed)
    return turns_of(trio.run(lambda: simulate(task, "oracle", seed=seed, persona=persona)).trace)


def replayed(turns: list[Any], seed: int, persona: str) -> str:
    """The trace ``run`` writes for these turns, under the server's agent name."""
    task = get_task("api_incident_hard", seed=seed)
    result = trio.run(lambda: simulate(task, lambda: ScriptedAgent(turns), seed=seed,
                                       persona=persona, agent_name="openenv"))
    return result.trace.to_jsonl()


def test_openenv_validate_passes(server: str) -> None:
    validator = Path(sys.executable).with_name("openenv")
    done = subprocess.run([str(validator), "validate", "--url", server], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Verdict: PASS" in done.stdout and "FAIL" not in done.stdout


def test_binds_loopback_by_default(server: str) -> None:
    assert server.startswith("http://127.0.0.1:")


def test_an_episode_over_websocket_is_the_run_episode(server: str, trace_dir: Path) -> None:
    turns = oracle_turns(seed=3, persona="confused")
    with SupportSimClient(base_url=server).sync() as env:
        result = env.reset(seed=3, persona="confused", episode_id="oracle-3")
        assert result.observation.observation is not None and not result.done
        rewards = []
        for turn in turns:
            result = env.step(SupportAction(ops=turn))
            rewards.append(result.reward)
            if result.done:
                break
        state = env.state()
    assert result.done and result.metadata["score"] == 1.0
    assert result.metadata["terminated"] is True
    assert sum(rewards) == pytest.approx(1.0)
    expected = replayed(turns, seed=3, persona="confused")
    assert (trace_dir / "oracle-3.jsonl").read_text() == expected
    assert result.metadata["trace_sha256"] == hashlib.sha256(expected.encode()).hexdigest()
    assert (state.episode_id, state.seed, state.done, state.score) == ("oracle-3", 3, True, 1.0)


def test_64_concurrent_sessions_each_get_their_own_episode(server: str) -> None:
    plans = [(seed, PERSONAS[seed % len(PERSONAS)]) for seed in range(64)]
    turns = {plan: oracle_turns(*plan) for plan in plans}

    async def session(seed: int, persona: str) -> dict[str, Any]:
        async with SupportSimClient(base_url=server) as env:
            result = await env.reset(seed=seed, persona=persona)
            for turn in turns[seed, persona]:
                result = await env.step(SupportAction(ops=turn))
                if result.done:
                    break
            return dict(result.metadata or {})

    async def all_sessions() -> list[dict[str, Any]]:
        return await asyncio.gather(*(session(*plan) for plan in plans))

    outcomes = asyncio.run(all_sessions())
    assert [o["score"] for o in outcomes] == [1.0] * 64
    for (seed, persona), outcome in zip(plans, outcomes, strict=True):
        expected = replayed(turns[seed, persona], seed, persona)
        assert outcome["trace_sha256"] == hashlib.sha256(expected.encode()).hexdigest()


def _send(ws: ClientConnection, message: dict[str, Any]) -> dict[str, Any]:
    ws.send(json.dumps(message))
    reply: dict[str, Any] = json.loads(ws.recv(timeout=60))
    return reply


def _ws_url(server: str) -> str:
    return server.replace("http://", "ws://") + "/ws"


def test_bad_actions_get_the_invalid_operation_treatment(server: str) -> None:
    with connect(_ws_url(server)) as ws:
        _send(ws, {"type": "reset", "data": {"seed": 0}})
        reply = _send(ws, {"type": "step", "data": {"ops": [{"op": "teleport"},
                                                            {"op": "reply"}]}})
        data = reply["data"]
        assert reply["type"] == "observation" and data["done"] is False
        errors = [bad["error"] for bad in data["observation"]["invalid_operations"]]
        assert errors[0].startswith("op: 'teleport' is unknown") and len(errors) == 2
        # Not a turn at all: the protocol says so, and the session goes on.
        reply = _send(ws, {"type": "step", "data": {"ops": "finish"}})
        assert reply["type"] == "error" and reply["data"]["code"] == "VALIDATION_ERROR"
        reply = _send(ws, {"type": "step", "data": {"ops": [{"op": "finish"}]}})
        assert reply["data"]["done"] is True
        assert reply["data"]["metadata"]["invalid_operations_total"] == 2


def test_a_bad_reset_is_a_clear_error(server: str) -> None:
    with connect(_ws_url(server)) as ws:
        reply = _send(ws, {"type": "reset", "data": {"persona": "grumpy"}})
        assert reply["type"] == "error"
        assert "persona 'grumpy' is unknown; allowed" in reply["data"]["message"]
        reply = _send(ws, {"type": "reset", "data": {"episode_id": "../escape"}})
        assert "episode_id '../escape' is not allowed" in reply["data"]["message"]
        reply = _send(ws, {"type": "step", "data": {"ops": []}})
        assert "reset first" in reply["data"]["message"]


def test_a_client_that_vanishes_frees_its_episode() -> None:
    with running_server("--max-sessions", "2") as url, ExitStack() as stack:
        for _ in range(3):  # more rounds than sessions: each round's must have been freed
            sockets = []
            for seed in range(2):
                ws = _connect_when_free(url, stack)
                reply = _send(ws, {"type": "reset", "data": {"seed": seed}})
                assert reply["type"] == "observation"
                sockets.append(ws)
            for ws in sockets:  # gone mid-episode, without a close handshake
                ws.socket.shutdown(socket.SHUT_RDWR)
                ws.socket.close()


def _connect_when_free(url: str, stack: ExitStack) -> ClientConnection:
    """A session, once the server has noticed the vanished ones (it may take a moment)."""
    deadline = time.monotonic() + 60
    while True:
        ws = stack.enter_context(connect(_ws_url(url)))
        reply = _send(ws, {"type": "state"})
        if reply["type"] != "error":
            return ws
        ws.close()
        assert reply["data"]["code"] == "CAPACITY_REACHED", reply
        assert time.monotonic() < deadline, "the vanished sessions were never freed"
        time.sleep(0.2)


def test_serve_refuses_bad_input_in_one_line() -> None:
    done = run_cli("serve", "--task", "api_incident_hrad")
    assert done.returncode == 2
    assert "task 'api_incident_hrad' is unknown; did you mean" in one_line_error(done)
    done = run_cli("serve", "--port", "70000")
    assert done.returncode == 2 and "allowed: 0 to 65535" in one_line_error(done)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        done = run_cli("serve", "--port", str(taken.getsockname()[1]))
    assert done.returncode == 2
    assert "cannot listen on 127.0.0.1:" in one_line_error(done)


def test_the_readmes_client_loop_runs(server: str, capsys: pytest.CaptureFixture[str]) -> None:
    block = readme_block("SupportSimClient(base_url=")
    block = block.replace("http://127.0.0.1:8000", server)

    def my_policy(observation: Any) -> list[dict[str, Any]]:
        return [{"op": "finish"}] if observation.turn >= 2 else []

    exec(compile(block, "README.md", "exec"), {"my_policy": my_policy})
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 3 and all(line.endswith(" finished") for line in printed)


def test_openenv_yaml_names_the_app_and_passes_static_validation() -> None:
    import importlib

    import yaml

    root = Path(__file__).resolve().parent.parent
    manifest = yaml.safe_load((root / "openenv.yaml").read_text(encoding="utf-8"))
    module, _, name = manifest["app"].partition(":")
    app = getattr(importlib.import_module(module), name)
    assert {"/ws", "/reset", "/step", "/state"} <= {route.path for route in app.routes}
    validator = Path(sys.executable).with_name("openenv")
    done = subprocess.run([str(validator), "validate", str(root), "--level", "static",
                           "--skip-build"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "PASS  static.manifest" in done.stdout, done.stdout


def _as_ops(turn: Any) -> list[dict[str, Any]] | None:
    """``turn`` as the wire's ops (a list of JSON objects), or ``None`` if it is not one."""
    if not isinstance(turn, list) or not all(isinstance(op, dict) for op in turn):
        return None
    try:
        result: list[dict[str, Any]] = json.loads(json.dumps(turn))
    except (TypeError, ValueError):
        return None
    return result


@settings(max_examples=10, suppress_health_check=[HealthCheck.too_slow],
          deadline=None)
@given(turns=turn_sequences(get_task("api_incident_hard", seed=2)))
def test_any_turns_over_the_wire_give_the_run_trace(turns: list[Any]) -> None:
    wire = [ops for ops in map(_as_ops, turns) if ops is not None]
    from fastapi.testclient import TestClient

    from actors.openenv_env import create_server_app

    with TestClient(create_server_app()) as client, client.websocket_connect("/ws") as ws:
        ws.send_json({"type": "reset", "data": {"seed": 2, "persona": "impatient"}})
        reply = ws.receive_json()
        for k in range(100):
            ws.send_json({"type": "step", "data": {"ops": wire[k] if k < len(wire) else []}})
            reply = ws.receive_json()
            assert reply["type"] == "observation", reply  # bad operations never an error
            if reply["data"]["done"]:
                break
    expected = replayed(wire, seed=2, persona="impatient")
    metadata = reply["data"]["metadata"]
    assert metadata["trace_sha256"] == hashlib.sha256(expected.encode()).hexdigest()
