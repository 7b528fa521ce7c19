"""The LLM agent against a scripted OpenAI-compatible stub (tests/llm_stub.py): tool calls
and JSON answers become operations, what cannot be read is reported back to the model,
failures are retried or end the episode with a reason, the cache replays byte-identical
traces with no request, the server check gives one line, requests in flight stay under
the bound, and the API key appears nowhere but in the request's header.
"""

from __future__ import annotations

import json
import os
import pickle
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
import trio
from llm_stub import (
    StubReply,
    StubServer,
    error,
    json_answer,
    text_answer,
    tool_call,
    tool_calls,
)

from actors import make_job, simulate_many
from actors.agents.llm import LLMAgent, LLMConfig, LLMSetupError, check_server, llm_agent
from actors.agents.llm import client as llm_client
from actors.agents.llm.answers import ChatAnswer
from actors.agents.llm.cache import ResponseCache, request_key
from actors.agents.llm.tools import json_mode_format, operation_tools
from sim.episode import EpisodeResult
from sim.operations import parse_operation
from tasks import get_task

ROOT = Path(__file__).resolve().parent.parent
#: Made of words, so the simulator's own redaction of credential-like values (a safety
#: net for traces) would not hide it: a leak of this key shows.
SECRET = "stubkey-words-only-keyvalue"
TASK = get_task("api_incident_hard")


@pytest.fixture(autouse=True)
def _fast_retries_and_a_known_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.setattr(llm_client, "BACKOFF_SECONDS", 0.01)


@pytest.fixture
def stub() -> Any:
    with StubServer(api_key=SECRET) as server:
        yield server


def config(stub: StubServer, tmp_path: Path | None = None, **options: Any) -> LLMConfig:
    return LLMConfig(model=stub.model, base_url=stub.base_url,
                     cache_dir=str(tmp_path / "cache") if tmp_path else None, **options)


def run(cfg: LLMConfig, seeds: range = range(1), **job: Any) -> list[EpisodeResult]:
    return simulate_many([make_job(TASK, llm_agent(cfg), seed=s, agent_name="llm", **job)
                          for s in seeds])


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (a port just freed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def events(result: EpisodeResult, kind: str) -> list[dict[str, Any]]:
    return [e.payload for e in result.trace.events if e.kind == kind]


def one(results: list[EpisodeResult]) -> EpisodeResult:
    (result,) = results
    return result


# --- tools mode -------------------------------------------------------------------------


def test_parallel_tool_calls_are_one_turn_of_valid_operations(stub: StubServer) -> None:
    stub.script(
        tool_calls(("set_fields", {"queue": "platform_engineering", "priority": "urgent"}),
                   ("reply", {"message": "We are on it.", "request_fields": ["request_ids"]}),
                   ("note", {"text": "triaged"})),
        tool_call("finish"),
    )
    result = one(run(config(stub)))
    assert result.termination_reason == "finished" and result.steps == 2
    ops = [(p["turn"], p["op"]["op"]) for p in events(result, "operation")]
    assert ops == [(1, "set_fields"), (1, "reply"), (1, "note"), (2, "finish")]
    assert result.invalid_operations == 0
    # Each call of turn 1 got its outcome as a tool message before turn 2's update.
    second = stub.requests[1]["messages"]
    tool_messages = [m for m in second if m["role"] == "tool"]
    assert [(m["tool_call_id"], m["content"]) for m in tool_messages] == [
        ("call_0", "ok"), ("call_1", "ok"), ("call_2", "ok")]
    assert [m["role"] for m in second] == ["user", "assistant", "tool", "tool", "tool", "user"]


def test_the_request_has_one_tool_per_operation_and_the_job_in_the_first_message(
    stub: StubServer,
) -> None:
    stub.script(tool_call("finish"))
    one(run(config(stub, max_tokens=77, temperature=0.0)))
    request = stub.requests[0]
    names = [t["function"]["name"] for t in request["tools"]]
    assert names == ["set_fields", "reply", "note", "search_kb", "flag_risk", "escalate",
                     "set_status", "finish"]
    for tool in request["tools"]:
        parameters = tool["function"]["parameters"]
        assert parameters["type"] == "object" and "op" not in parameters["properties"]
        assert "title" not in json.dumps(parameters)
        assert tool["function"]["description"]
    reply = next(t for t in request["tools"] if t["function"]["name"] == "reply")
    assert reply["function"]["parameters"]["required"] == ["message"]
    assert set(reply["function"]["parameters"]["properties"]) == {"message", "request_fields"}
    assert request["max_tokens"] == 77 and request["temperature"] == 0.0
    assert "seed" not in request and "response_format" not in request
    (first,) = request["messages"]
    assert first["role"] == "user"
    text = first["content"]
    for value in (*TASK.catalog.queues, *TASK.catalog.statuses, *TASK.catalog.fields,
                  TASK.ticket.subject, TASK.ticket.body, "SLA deadline in 90 min",
                  "Turn 1 of 8"):
        assert value in text
    assert TASK.knowledge_base[0].content not in text  # found by search_kb, not handed over


def test_malformed_tool_arguments_are_invalid_and_the_model_is_told_why(
    stub: StubServer,
) -> None:
    stub.script(
        tool_calls(("escalate", '{"queue": "platform_engineering"'),  # cut short
                   ("flag_risk", "[1, 2]"),
                   ("note", {"text": "fine"})),
        tool_call("finish"),
    )
    result = one(run(config(stub)))
    assert result.invalid_operations == 2
    rejected = events(result, "invalid_operation")
    assert [r["index"] for r in rejected] == [0, 1]
    assert rejected[0]["op"]["invalid_arguments"] == '{"queue": "platform_engineering"'
    outcomes = [m["content"] for m in stub.requests[1]["messages"] if m["role"] == "tool"]
    assert outcomes[0].startswith("rejected: the arguments are not valid JSON")
    assert outcomes[1] == "rejected: the arguments are a JSON array, not an object"
    assert outcomes[2] == "ok"


def test_an_operation_the_simulator_rejects_is_reported_with_its_error(stub: StubServer) -> None:
    stub.script(tool_call("set_fields", {"queue": "nowhere"}), tool_call("finish"))
    result = one(run(config(stub)))
    assert result.invalid_operations == 1
    (outcome,) = [m["content"] for m in stub.requests[1]["messages"] if m["role"] == "tool"]
    assert outcome.startswith("rejected: ") and "nowhere" in outcome and "billing" in outcome


def test_text_without_a_tool_call_is_one_invalid_operation_reported_next_turn(
    stub: StubServer,
) -> None:
    stub.script(text_answer("Dear customer, we are looking into it."), tool_call("finish"))
    result = one(run(config(stub)))
    assert result.invalid_operations == 1 and events(result, "message") == []
    update = stub.requests[1]["messages"][-1]["content"]
    assert "#1 your answer: rejected: your answer called no tool" in update


# --- JSON mode --------------------------------------------------------------------------


def test_json_mode_asks_for_json_object_with_the_schema_and_applies_the_ops(
    stub: StubServer,
) -> None:
    stub.script(
        json_answer({"ops": [{"op": "set_fields", "priority": "urgent"},
                             {"op": "reply", "message": "On it."}]}),
        text_answer("```json\n{\"ops\": [{\"op\": \"finish\"}]}\n```"),  # fenced: still read
    )
    result = one(run(config(stub, mode="json")))
    assert result.termination_reason == "finished" and result.invalid_operations == 0
    assert [p["op"]["op"] for p in events(result, "operation")] == ["set_fields", "reply",
                                                                    "finish"]
    request = stub.requests[0]
    assert "tools" not in request
    assert request["response_format"] == json_mode_format()
    assert request["response_format"]["type"] == "json_object"
    schema = request["response_format"]["schema"]
    variants = schema["properties"]["ops"]["items"]["anyOf"]
    assert [v["properties"]["op"]["const"] for v in variants] == [
        t["function"]["name"] for t in operation_tools()]
    assert '{"ops": [' in request["messages"][0]["content"]  # the prompt shows the shape
    update = stub.requests[1]["messages"][-1]["content"]
    assert "- #1 set_fields: ok\n- #2 reply: ok" in update


def test_json_mode_invalid_json_is_one_invalid_operation_reported_next_turn(
    stub: StubServer,
) -> None:
    stub.script(text_answer('{"ops": [{"op": "note", '), json_answer({"ops": [{"op": "finish"}]}))
    result = one(run(config(stub, mode="json")))
    assert result.invalid_operations == 1 and result.termination_reason == "finished"
    update = stub.requests[1]["messages"][-1]["content"]
    assert "#1 your answer: rejected: your answer is not valid JSON" in update


# --- failures: retries, timeouts, refusals ---------------------------------------------


def test_429_is_retried_after_its_retry_after(stub: StubServer,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[float | None] = []
    real = llm_client._wait_before_retry

    def spy(attempt: int, retry_after: float | None) -> float:
        asked.append(retry_after)
        return real(attempt, retry_after)

    monkeypatch.setattr(llm_client, "_wait_before_retry", spy)
    stub.script(error(429, retry_after="0.2"), tool_call("finish"))
    result = one(run(config(stub)))
    assert result.termination_reason == "finished"
    assert asked == [0.2] and stub.request_count == 2


def test_a_500_is_retried_then_succeeds(stub: StubServer) -> None:
    stub.script(error(500), error(503), tool_call("finish"))
    agents: list[LLMAgent] = []

    def make() -> LLMAgent:
        agents.append(LLMAgent(config(stub)))
        return agents[-1]

    result = one(simulate_many([make_job(TASK, make)]))
    assert result.termination_reason == "finished" and stub.request_count == 3
    assert agents[0].usage()["llm_requests"] == 3


def test_a_persistent_500_ends_the_episode_as_agent_error_with_the_reason(
    stub: StubServer,
) -> None:
    stub.script(*[error(500, message="model overloaded")] * 3)
    result = one(run(config(stub, max_retries=2)))
    assert result.termination_reason == "agent_error" and stub.request_count == 3
    assert result.error is not None and "\n" not in result.error
    assert "failed 3 attempts" in result.error and "HTTP 500: model overloaded" in result.error


def test_a_slow_answer_is_retried_and_a_persistently_slow_one_ends_the_episode(
    stub: StubServer,
) -> None:
    slow = StubReply(delay=5.0, body={})
    stub.script(slow, tool_call("finish"))
    result = one(run(config(stub, request_timeout=0.3)))
    assert result.termination_reason == "finished" and stub.request_count == 2

    stub.script(slow, slow)
    result = one(run(config(stub, request_timeout=0.3, max_retries=1)))
    assert result.termination_reason == "agent_error"
    assert result.error is not None and "no answer within 0.3 s" in result.error


def test_a_server_gone_mid_sweep_ends_the_episode_with_the_reason() -> None:
    result = one(run(LLMConfig(model="m", base_url=closed_port_url(), cache_dir=None,
                               max_retries=1)))
    assert result.termination_reason == "agent_error"
    assert "failed 2 attempts; last: connection failed" in (result.error or "")


def test_a_client_error_is_not_retried(stub: StubServer) -> None:
    stub.script(error(400, message="context length exceeded"))
    result = one(run(config(stub)))
    assert result.termination_reason == "agent_error" and stub.request_count == 1
    assert result.error is not None and "HTTP 400: context length exceeded" in result.error


def test_an_answer_that_is_no_chat_completion_ends_the_episode(stub: StubServer) -> None:
    stub.script(StubReply(body={"object": "list", "data": []}))
    result = one(run(config(stub)))
    assert result.termination_reason == "agent_error" and stub.request_count == 1
    assert "answered with something other than a chat completion" in (result.error or "")


def test_tool_calls_without_ids_or_with_object_arguments_are_read() -> None:
    answer = llm_client._answer({"choices": [{"finish_reason": "tool_calls", "message": {
        "content": None, "tool_calls": [
            {"function": {"name": "note", "arguments": {"text": "as an object"}}},
            {"id": "", "function": {"name": "finish", "arguments": ""}},
        ]}}], "usage": {"prompt_tokens": 5, "completion_tokens": "many"}})
    assert [(c.id, c.name, c.arguments) for c in answer.tool_calls] == [
        ("call_0", "note", '{"text": "as an object"}'), ("call_1", "finish", "")]
    assert (answer.prompt_tokens, answer.completion_tokens) == (5, 0)


def test_retry_after_reads_seconds_milliseconds_and_http_dates() -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=7), usegmt=True)
    assert llm_client.retry_after_seconds({"retry-after": "3"}) == 3.0
    assert llm_client.retry_after_seconds({"retry-after-ms": "250"}) == 0.25
    assert llm_client.retry_after_seconds({"retry-after": later}, now=now.timestamp()) == 7.0
    assert llm_client.retry_after_seconds({"retry-after": "soon"}) is None
    assert llm_client.retry_after_seconds({}) is None
    assert llm_client._wait_before_retry(0, 10_000.0) == llm_client.MAX_WAIT_SECONDS
    assert 2.0 <= llm_client._wait_before_retry(0, 2.0) <= 2.2


# --- the cache --------------------------------------------------------------------------


def test_a_rerun_replays_from_the_cache_byte_identical_with_no_request(tmp_path: Path) -> None:
    with StubServer() as stub:
        cfg = config(stub, tmp_path)
        first = run(cfg, seeds=range(3))
        # Up to 3 turns x 3 episodes: equal conversations may meet in the cache already.
        assert 3 <= stub.request_count <= 9
    assert all(r.termination_reason == "finished" for r in first)
    # The server is gone: every answer must come from the cache.
    second = run(cfg, seeds=range(3))
    assert [r.trace.to_jsonl() for r in second] == [r.trace.to_jsonl() for r in first]
    assert [r.score for r in second] == [r.score for r in first]


def test_usage_counts_requests_tokens_cost_and_cache_hits(stub: StubServer,
                                                          tmp_path: Path) -> None:
    stub.script(tool_call("note", {"text": "a"}, usage=(1000, 10)),
                tool_call("finish", usage=(2000, 20)))
    cfg = config(stub, tmp_path, prices={stub.model: (2.0, 10.0)})
    agent = LLMAgent(cfg)
    one(simulate_many([make_job(TASK, lambda: agent)]))
    assert agent.usage() == {
        "llm_requests": 2.0, "llm_cache_hits": 0.0, "llm_prompt_tokens": 3000.0,
        "llm_completion_tokens": 30.0, "llm_latency_seconds": pytest.approx(
            agent.usage()["llm_latency_seconds"]),
        "llm_cost_usd": pytest.approx((3000 * 2.0 + 30 * 10.0) / 1e6),
    }
    assert agent.usage()["llm_latency_seconds"] > 0
    replay = LLMAgent(cfg)
    one(simulate_many([make_job(TASK, lambda: replay)]))
    assert replay.usage() == {"llm_requests": 0.0, "llm_cache_hits": 2.0,
                              "llm_prompt_tokens": 0.0, "llm_completion_tokens": 0.0,
                              "llm_latency_seconds": 0.0, "llm_cost_usd": 0.0}


def test_a_corrupt_cache_entry_is_a_miss_and_is_replaced(tmp_path: Path) -> None:
    with StubServer() as stub:
        cfg = config(stub, tmp_path)
        first = one(run(cfg))
        entries = sorted((tmp_path / "cache").glob("*/*.json"))
        assert len(entries) == 3
        entries[0].write_bytes(entries[0].read_bytes()[:20])  # torn
        entries[1].write_text('{"format": 1, "key": "another", "answer": {}}')  # not its own
        before = stub.request_count
        second = one(run(cfg))
        assert stub.request_count == before + 2
    assert second.trace.to_jsonl() == first.trace.to_jsonl()
    cache = ResponseCache(tmp_path / "cache")
    assert all(cache.get(path.stem) is not None for path in entries)


def test_the_first_answer_stored_wins(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path)
    key = request_key({"model": "m", "messages": []})
    first, second = ChatAnswer(content="first"), ChatAnswer(content="second")
    assert cache.put(key, first) == first
    assert cache.put(key, second) == first  # a concurrent request takes the stored answer
    assert cache.get(key) == first
    assert list(tmp_path.glob("*/.tmp-*")) == []


def test_the_cache_key_covers_model_messages_tools_and_parameters(stub: StubServer) -> None:
    base = {"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": 0.0}
    keys = {request_key(base), request_key({**base, "model": "n"}),
            request_key({**base, "messages": []}), request_key({**base, "temperature": 0.5}),
            request_key({**base, "tools": operation_tools()}),
            request_key({**base, "response_format": json_mode_format()})}
    assert len(keys) == 6
    assert request_key(dict(reversed(base.items()))) == request_key(base)


def test_sampling_sends_the_episode_seed(stub: StubServer) -> None:
    stub.script(tool_call("finish"), tool_call("finish"))
    run(config(stub, temperature=0.7), seeds=range(3, 5))
    assert sorted(r["seed"] for r in stub.requests) == [3, 4]


# --- the check before any episode ------------------------------------------------------


def _check(cfg: LLMConfig) -> str:
    with pytest.raises(LLMSetupError) as caught:
        trio.run(check_server, cfg)
    message = str(caught.value)
    assert "\n" not in message and SECRET not in message
    return message


def test_check_server_passes_for_a_known_model_and_sends_the_key(stub: StubServer) -> None:
    trio.run(check_server, config(stub))
    assert stub.authorizations == [f"Bearer {SECRET}"]


def test_check_server_names_an_unreachable_server() -> None:
    url = closed_port_url()
    message = _check(LLMConfig(model="m", base_url=url))
    assert message.startswith(f"cannot reach the model server at {url}: ")


def test_check_server_names_a_refused_key(stub: StubServer,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "wrong-" + SECRET)
    assert _check(config(stub)) == (f"the model server at {stub.base_url} refused the API "
                                    "key (OPENAI_API_KEY): HTTP 401")
    monkeypatch.delenv("OPENAI_API_KEY")
    assert _check(config(stub)).endswith("HTTP 401; OPENAI_API_KEY is not set")


def test_check_server_names_an_unknown_model_and_the_known_ones() -> None:
    with StubServer(models=("alpha", "beta")) as stub:
        message = _check(LLMConfig(model="gamma", base_url=stub.base_url))
        assert message == f"model 'gamma' is unknown to {stub.base_url}; allowed: alpha, beta"


def test_check_server_names_a_base_url_without_the_api(stub: StubServer) -> None:
    message = _check(LLMConfig(model=stub.model, base_url=stub.base_url.removesuffix("/v1")))
    assert "HTTP 404" in message and "/v1" in message


# --- the key, the bound, the extra ------------------------------------------------------


def test_the_key_appears_in_no_error_trace_result_or_cache_file(tmp_path: Path) -> None:
    with StubServer(api_key=SECRET) as stub:
        stub.script(tool_call("reply", {"message": "hello"}), tool_call("finish"),
                    error(400, message=f"invalid key {SECRET} for this model"))
        # Each its own cache: the second must ask (and meet the 400).
        results = run(config(stub, tmp_path / "a")) + run(config(stub, tmp_path / "b"))
    assert [r.termination_reason for r in results] == ["finished", "agent_error"]
    assert all(a == f"Bearer {SECRET}" for a in stub.authorizations)  # sent, as a header only
    assert "invalid key [redacted] for this model" in (results[1].error or "")
    written = [r.trace.to_jsonl() for r in results]
    written += [json.dumps(r.summary()) for r in results]
    written += [json.dumps(body) for body in stub.requests]
    written += [p.read_text() for p in tmp_path.rglob("*") if p.is_file()]
    assert written and not [text for text in written if SECRET in text]


def test_requests_in_flight_stay_under_the_bound() -> None:
    with StubServer(latency=0.1) as stub:
        results = run(LLMConfig(model=stub.model, base_url=stub.base_url, cache_dir=None,
                                max_requests_in_flight=3), seeds=range(12))
        assert all(r.termination_reason == "finished" for r in results)
        assert stub.request_count == 36 and stub.max_in_flight <= 3
    with StubServer(latency=0.1) as stub:  # the bound is what held them back
        run(LLMConfig(model=stub.model, base_url=stub.base_url, cache_dir=None,
                      max_requests_in_flight=64), seeds=range(12))
        assert stub.max_in_flight > 3


def test_the_factory_is_picklable_and_the_config_holds_no_key(stub: StubServer) -> None:
    # Every attempt timing out, the longest wait between them: what an episode's
    # decision limit must allow once the request holds its slot.
    assert LLMConfig(model="m").worst_case_decision_seconds() == 5 * 60.0 + 4 * 60.0
    factory = pickle.loads(pickle.dumps(llm_agent(config(stub))))
    agent = factory()
    assert isinstance(agent, LLMAgent) and agent.config == config(stub)
    assert SECRET not in repr(agent.config) and SECRET not in pickle.dumps(agent.config).decode(
        "latin-1")


def test_without_the_extra_the_package_imports_and_using_it_names_the_extra() -> None:
    code = (
        "import sys; sys.modules['httpx2'] = None\n"
        "import actors.agents.llm as llm\n"
        "try:\n"
        "    llm.LLMAgent(llm.LLMConfig(model='m'))\n"
        "except llm.LLMSetupError as error:\n"
        "    print(error)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.stdout.strip() == "the llm extra is not installed; pip install -e '.[llm]'"


def test_every_tool_accepts_what_its_operation_accepts() -> None:
    examples = {
        "set_fields": {"queue": "billing"}, "reply": {"message": "hi"},
        "note": {"text": "n"}, "search_kb": {"query": "q"}, "flag_risk": {"flags": ["x"]},
        "escalate": {"queue": "billing"}, "set_status": {"status": "open"}, "finish": {},
    }
    for tool in operation_tools():
        function = tool["function"]
        example = examples[function["name"]]
        assert set(function["parameters"].get("required", ())) <= set(example)
        assert set(example) <= set(function["parameters"]["properties"])
        operation, problem, _ = parse_operation({"op": function["name"], **example})
        assert problem is None and operation is not None


def test_json_mode_caps_free_text_so_a_looping_model_still_ends_its_json() -> None:
    # Measured on Gemma 3 270M under llama.cpp: without a cap it looped inside one string
    # until max_tokens and every operation of every turn was lost.
    from actors.agents.llm.answers import json_entries
    from actors.agents.llm.tools import JSON_MODE_TEXT_CHARS, json_mode_schema

    variants = json_mode_schema()["properties"]["ops"]["items"]["anyOf"]
    capped = {(v["properties"]["op"]["const"], name) for v in variants
              for name, prop in v["properties"].items() if "maxLength" in prop}
    assert capped == {("reply", "message"), ("note", "text"), ("escalate", "summary"),
                      ("search_kb", "query")}
    assert all(v["properties"][name]["maxLength"] == JSON_MODE_TEXT_CHARS
               for v in variants for op, name in capped
               if v["properties"]["op"]["const"] == op)
    assert all("maxLength" not in json.dumps(tool) for tool in operation_tools())
    # A raw newline inside a string (the grammar lets it through) still reads.
    answer = ChatAnswer(content='{"ops": [{"op": "note", "text": "line one\nline two"}]}')
    [entry] = json_entries(answer)
    assert entry.problem is None
    assert parse_operation(entry.operation)[1] is None
    assert entry.operation["text"] == "line one\nline two"
