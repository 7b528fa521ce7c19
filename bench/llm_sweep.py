"""An LLM sweep against the stub server, then its cached rerun: ``python -m bench.llm_sweep
[--episodes 200] [--latency 0.5] [--bounds 200,50] [--workers 2]``.

For each bound B on requests in flight, one sweep of ``--episodes`` episodes (every
shipped task, seeds to make up the number) with ``--agent llm`` at ``--concurrency``
``--episodes`` (all at once), through the real command line (``run_sim.py sweep`` in a
subprocess, ``--max-requests-in-flight B``), against the scripted stub of the tests,
which answers each request after ``--latency`` seconds and plays three turns per
episode: a reply with set_fields, a note, finish. It prints:

- the sweep's wall time (the whole subprocess: start, workers, summary), and the time
  from the first request the stub saw to its last answer, against the ideal of
  ``3 × latency`` (every episode's three turns in lockstep) and, when B is below the
  episodes, against the bound's own floor: ceil(requests / B) × latency;
- the most requests the stub had in flight at once, against B;
- the rerun into a new folder with the same cache: its wall time, the requests it made
  (0: every answer comes from the cache) and whether every trace is byte-identical to
  the first run's.

Requests are chat completions; each sweep also makes one ``GET /models`` (the server
check before any episode), counted apart. It exits 1 if a bound was exceeded, a rerun
made a request or a trace differs.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# The stub server is the tests' own (tests/llm_stub.py), not a library module: tests/ is
# not a package on the import path, so it is put there for this script.
sys.path.insert(0, str(ROOT / "tests"))
import llm_stub  # type: ignore[import-not-found]  # noqa: E402

from tasks.registry import discover_families  # noqa: E402

TURNS = 3


def three_turns(request: dict[str, Any]) -> Any:
    """The stub's answer to ``request``: by its turn (its count of user messages), a
    reply with set_fields, then a note, then finish."""
    turn = sum(1 for m in request.get("messages", ()) if m.get("role") == "user")
    if turn <= 1:
        answer = llm_stub.tool_calls(
            ("reply", {"message": "We are looking into it; could you send the request IDs?",
                       "request_fields": ["request_ids"]}),
            ("set_fields", {"priority": "urgent"}))
    elif turn == 2:
        answer = llm_stub.tool_call("note", {"text": "Customer asked for request IDs."})
    else:
        answer = llm_stub.tool_call("finish")
    return answer(request)


class _Timed:
    """The stub's behaviour, with the time each request arrived."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.arrivals: list[float] = []

    def __call__(self, request: dict[str, Any]) -> Any:
        with self.lock:
            self.arrivals.append(time.perf_counter())
        return three_turns(request)


def _sweep(base_url: str, bound: int, args: argparse.Namespace, seeds: int, tasks: int,
           out: Path, traces: Path, cache: Path) -> tuple[float, dict[str, Any]]:
    """One ``run_sim.py sweep`` in a subprocess: its wall time and its summary."""
    command = [
        sys.executable, "run_sim.py", "sweep", "--agent", "llm", "--model", "stub-model",
        "--base-url", base_url, "--tasks", "all", "--seeds", str(seeds),
        "--concurrency", str(seeds * tasks), "--workers", str(args.workers),
        "--max-requests-in-flight", str(bound), "--llm-cache", str(cache),
        "--out", str(out), "--trace-dir", str(traces), "--json",
    ]
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_BASE_URL"}
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                          check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"the sweep failed (exit {done.returncode}): {done.stderr.strip()}")
    return seconds, json.loads(done.stdout)


def _identical(first: Path, second: Path) -> tuple[int, int]:
    """(traces in ``first``, how many of them ``second`` holds byte for byte)."""
    names = sorted(p.name for p in first.iterdir())
    same = sum(1 for n in names
               if (second / n).is_file() and (second / n).read_bytes() == (first / n).read_bytes())
    return len(names), same


def _usage(summary: dict[str, Any]) -> dict[str, float]:
    return summary["overall"].get("agent_usage") or {}


def _one_bound(bound: int, args: argparse.Namespace, seeds: int, tasks: int,
               folder: Path) -> bool:
    timed = _Timed()
    cache = folder / f"cache-{bound}"
    with llm_stub.StubServer(latency=args.latency, default=timed) as stub:
        wall, summary = _sweep(stub.base_url, bound, args, seeds, tasks, folder / f"out-{bound}",
                               folder / f"traces-{bound}", cache)
        requests, peak = stub.request_count, stub.max_in_flight
        span = (max(timed.arrivals) + args.latency - min(timed.arrivals)
                if timed.arrivals else 0.0)
        rerun_wall, rerun_summary = _sweep(
            stub.base_url, bound, args, seeds, tasks, folder / f"rerun-{bound}",
            folder / f"rerun-traces-{bound}", cache)
        rerun_requests = stub.request_count - requests
        checks = stub.model_requests
    episodes = summary["overall"]["episodes"]
    ideal = TURNS * args.latency
    floor = math.ceil(requests / bound) * args.latency if bound < episodes else ideal
    total, same = _identical(folder / f"traces-{bound}", folder / f"rerun-traces-{bound}")
    usage, rerun_usage = _usage(summary), _usage(rerun_summary)
    print(f"bound B = {bound} requests in flight, {args.workers} worker(s), "
          f"{episodes} episodes at once, {args.latency:g} s per request")
    print(f"  sweep: {wall:.2f} s wall; first request to last answer {span:.2f} s; ideal "
          f"{TURNS} turns x {args.latency:g} s = {ideal:.2f} s"
          + (f" (with B = {bound}: ceil({requests}/{bound}) x {args.latency:g} s = "
             f"{floor:.2f} s)" if bound < episodes else ""))
    print(f"  requests: {requests} sent, {usage.get('llm_cache_hits', 0):.0f} cache hits; "
          f"{usage.get('llm_prompt_tokens', 0):.0f} prompt + "
          f"{usage.get('llm_completion_tokens', 0):.0f} completion tokens")
    print(f"  most in flight at the stub: {peak} (bound {bound}): "
          f"{'within' if peak <= bound else 'ABOVE'} the bound")
    print(f"  cached rerun: {rerun_wall:.2f} s wall; {rerun_requests} requests sent, "
          f"{rerun_usage.get('llm_cache_hits', 0):.0f} cache hits; traces byte-identical: "
          f"{same} of {total}; ({checks} GET /models server checks in all)")
    return bool(peak <= bound and rerun_requests == 0 and same == total == episodes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.llm_sweep", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--episodes", type=int, default=200,
                        help="episodes per sweep, at least (default 200)")
    parser.add_argument("--latency", type=float, default=0.5,
                        help="the stub's seconds per request (default 0.5)")
    parser.add_argument("--bounds", default="200,50",
                        help="bounds on requests in flight to measure, a comma list "
                             "(default 200,50)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    args = parser.parse_args(argv)
    tasks = len(discover_families())
    seeds = math.ceil(args.episodes / tasks)
    ok = True
    with tempfile.TemporaryDirectory(prefix="llm-sweep-") as folder:
        for bound in (int(b) for b in args.bounds.split(",")):
            ok &= _one_bound(bound, args, seeds, tasks, Path(folder))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
