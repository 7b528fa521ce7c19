"""The LLM agent against a real model: Gemma 3 270M on llama.cpp's OpenAI-compatible server
(tests/llm_server.py), on this CPU, in CI — never skipped.

The model plays the seed task end to end in JSON mode (llama.cpp's ``gemma`` chat format
has no tool calling: it ignores ``tools``), greedily (temperature 0, llama.cpp's repeat
penalty off). The episode must run to a regular end with valid operations parsed from the
model's answers and its tokens counted; then, with the server stopped, the same job
replays from the response cache: the same trace, byte for byte, with no request sent.

A 270M base model scores low; the score is printed (``pytest -s``), not asserted, with
the tokens, the wall time and an excerpt of the transcript.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import trio
from llm_server import LlamaServer, llama_server_fixture  # noqa: F401  (the fixture)

from actors import make_job, simulate_many
from actors.agents.llm import LLMConfig, check_server, llm_agent
from sim.episode import EpisodeConfig, EpisodeResult
from sim.transcript import describe_event
from tasks import get_task

TASK = get_task("api_incident_hard")
#: The config's default. Each generated token costs 0.05-0.2 s here (grammar-constrained
#: sampling over Gemma's 262k-token vocabulary), so a turn costs up to about a minute.
MAX_TOKENS = 512
EXCERPT_LINES = 30
EXCERPT_CHARS = 160


def _excerpt(result: EpisodeResult) -> str:
    lines = []
    for event in result.trace.events:
        text = " ".join(describe_event(event.kind, dict(event.payload)).split())
        if len(text) > EXCERPT_CHARS:
            text = text[:EXCERPT_CHARS] + "…"
        lines.append(f"  [{event.t // 60:>3} min] {event.actor}: {text}")
    shown = lines[:EXCERPT_LINES]
    if len(lines) > EXCERPT_LINES:
        shown.append(f"  … ({len(lines) - EXCERPT_LINES} more events)")
    return "\n".join(shown)


def test_gemma_plays_the_seed_task_and_the_cache_replays_it_without_the_server(
    llama_server: LlamaServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A developer's real key must never travel to the local server: the agent sends its
    # placeholder instead.
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    config = LLMConfig(
        model=llama_server.model, base_url=llama_server.base_url, mode="json",
        temperature=0.0, max_tokens=MAX_TOKENS, request_timeout=600.0, max_retries=1,
        cache_dir=str(tmp_path / "llm-cache"), extra_body={"repeat_penalty": 1.0},
    )
    trio.run(check_server, config)
    episode = EpisodeConfig(agent_timeout=config.worst_case_decision_seconds() + 60)
    job = make_job(TASK, llm_agent(config), seed=0, config=episode, agent_name="llm")

    started = time.perf_counter()
    [live] = simulate_many([job], concurrency=1)
    live_seconds = time.perf_counter() - started
    usage = live.agent_usage or {}
    print(
        f"\nreal model {llama_server.model} on {TASK.task_id}: score {live.score:.3f}, "
        f"{live.termination_reason} after {live.steps} turns, "
        f"{live.invalid_operations} invalid operations; "
        f"{usage.get('llm_requests', 0):.0f} requests, "
        f"{usage.get('llm_prompt_tokens', 0):.0f} prompt + "
        f"{usage.get('llm_completion_tokens', 0):.0f} completion tokens, "
        f"{usage.get('llm_latency_seconds', 0):.1f} s in requests; "
        f"wall {live_seconds:.1f} s\n{_excerpt(live)}"
    )
    assert live.termination_reason in ("finished", "max_steps"), (
        f"{live.termination_reason}: {live.error}\nthe server's log ends:\n"
        f"{llama_server.log_tail()}"
    )
    assert any(e.kind == "operation" for e in live.trace.events), (
        "no valid operation parsed from the model's answers:\n" + _excerpt(live)
    )
    assert live.agent_usage is not None
    assert usage["llm_requests"] > 0
    assert usage["llm_prompt_tokens"] > 0
    assert usage["llm_completion_tokens"] > 0

    llama_server.stop()
    assert not llama_server.running
    started = time.perf_counter()
    [replayed] = simulate_many([job], concurrency=1)
    replay_seconds = time.perf_counter() - started
    print(f"replayed from the cache with the server stopped: wall {replay_seconds:.2f} s")
    assert replayed.trace.to_jsonl() == live.trace.to_jsonl()
    assert replayed.agent_usage is not None
    assert replayed.agent_usage["llm_requests"] == 0
    assert replayed.agent_usage["llm_cache_hits"] == live.steps
    assert replayed.agent_usage["llm_prompt_tokens"] == 0
