"""Sweeps: one agent across tasks × personas × seeds, concurrently and on every core.

:func:`run_sweep` runs the episodes a results file does not hold yet (all of them
without ``resume``), ``concurrency`` at once per process, sharded over ``workers``
processes. Only the parent writes the results file, one flushed line per episode as
it ends, so a crash loses nothing that finished. Traces, if asked for, are written
one file per episode.

The plan (tasks and their hashes, agent, seeds, personas, faults, privilege, timeout,
executor) is written to ``plan.json`` before the first episode; ``resume`` finishes
that plan only, and refuses a different one (or a task changed since) rather than mix
two plans' rows in one results file.
"""

from __future__ import annotations

import json
import multiprocessing
import queue
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs
import trio

from actors.episodes import make_job
from actors.loading import PRIVILEGED_AGENTS, resolve_agent
from actors.world import StandardWorld
from sim.episode import EpisodeConfig, EpisodeResult
from sim.executors import Executor
from sim.metrics import DEFAULT_PASS_THRESHOLD, summarize
from sim.results import ResultsWriter, episode_key, read_results
from sim.runner import run_episodes
from sim.trace import dumps_line
from tasks.registry import discover_families

__all__ = [
    "PLAN_FILE",
    "RESULTS_FILE",
    "SUMMARY_FILE",
    "SweepOutcome",
    "SweepPlan",
    "check_out_dir",
    "run_sweep",
]

RESULTS_FILE = "results.jsonl"
SUMMARY_FILE = "summary.json"
PLAN_FILE = "plan.json"
_DONE = "done"


@attrs.frozen
class SweepPlan:
    """What to run. ``tasks`` and ``personas`` are explicit lists (the CLI expands ``all``)."""

    tasks: tuple[str, ...]
    agent: str
    seeds: int
    personas: tuple[str, ...]
    faults: tuple[str, ...] = ()
    tasks_dirs: tuple[str, ...] = ()
    agent_timeout: float = 60.0
    agent_executor: Executor = "auto"
    #: Hand the agent the whole task (gold included) in ``reset``; see ``make_job``.
    privileged: bool = False

    def episodes(self) -> list[tuple[str, str, int]]:
        """(task, persona, seed) of every episode, in a fixed order."""
        return [(t, p, s) for t in self.tasks for p in self.personas for s in range(self.seeds)]

    def key(self, task: str, persona: str, seed: int) -> tuple[Any, ...]:
        faults = tuple(StandardWorld(persona, self.faults).faults)
        return (task, self.agent, seed, persona, faults)

    def validate(self) -> None:
        """Raise ``ValueError``/``TaskLoadError``/``AgentLoadError`` with one line if unusable."""
        if not self.tasks:
            raise ValueError("no tasks to run; allowed: all, or a comma list of task ids")
        if not self.personas:
            raise ValueError("no personas to run; allowed: all, or a comma list of personas")
        if self.seeds < 1:
            raise ValueError(f"--seeds {self.seeds}: allowed: a whole number >= 1")
        known = discover_families(self.tasks_dirs)
        for task in self.tasks:
            if task not in known:
                raise ValueError(f"task {task!r} is unknown; allowed: {', '.join(known)}")
        for persona in self.personas:
            StandardWorld(persona, self.faults)
        resolve_agent(self.agent)

    def describe(self) -> dict[str, Any]:
        """The plan as JSON-ready data: what ``plan.json`` and the summary record."""
        return {"tasks": list(self.tasks), "agent": self.agent, "seeds": self.seeds,
                "personas": list(self.personas),
                "faults": list(StandardWorld("cooperative", self.faults).faults),
                "privileged": self.privileged}

    def identity(self) -> dict[str, Any]:
        """What a resumed sweep must share with the one it finishes: the plan, its
        episode settings and the hash of every task it runs (of a family: of the
        variants its seeds pick)."""
        known = discover_families(self.tasks_dirs)
        seeds = range(self.seeds)
        return {**self.describe(), "agent_timeout": self.agent_timeout,
                "agent_executor": self.agent_executor,
                "task_hashes": {t: known[t].fingerprint(seeds) for t in self.tasks}}

    def row_privileged(self) -> bool:
        """Whether this plan's result rows say ``privileged`` (a built-in agent that reads
        the gold is privileged by itself)."""
        return self.privileged or resolve_agent(self.agent) in PRIVILEGED_AGENTS


@attrs.frozen
class SweepOutcome:
    rows: list[dict[str, Any]]
    ran: int
    skipped: int
    dropped_lines: int
    interrupted: bool
    summary: dict[str, Any]


def _trace_name(row: dict[str, Any]) -> str:
    faults = "+".join(row["faults"]) or "nofault"
    return f"{row['task_id']}__{row['persona']}__{faults}__seed{row['seed']}.jsonl"


def _run_shard(plan: SweepPlan, shard: Sequence[tuple[str, str, int]], concurrency: int,
               trace_dir: str | None, emit: Callable[[dict[str, Any]], None]) -> None:
    families = discover_families(plan.tasks_dirs)
    config = EpisodeConfig(agent_timeout=plan.agent_timeout, agent_executor=plan.agent_executor)
    jobs = [make_job(families[t].variant(s), plan.agent, seed=s, persona=p,
                     faults=plan.faults, config=config, privileged=plan.privileged)
            for t, p, s in shard]

    def on_result(_: int, result: EpisodeResult) -> None:
        row = result.summary()
        if trace_dir is not None:
            result.trace.write(Path(trace_dir) / _trace_name(row))
        emit(row)

    trio.run(lambda: run_episodes(jobs, concurrency=concurrency, on_result=on_result,
                                  collect=False))


def _worker(plan: SweepPlan, shard: list[tuple[str, str, int]], concurrency: int,
            trace_dir: str | None, out: Any) -> None:
    try:
        _run_shard(plan, shard, concurrency, trace_dir, out.put)
    except KeyboardInterrupt:
        pass  # the parent was interrupted too, and summarises what finished
    except BaseException as error:  # the parent reports it; the worker must not hang it
        out.put({"__worker_error__": f"{type(error).__name__}: {error}"})
    finally:
        out.put(_DONE)


def run_sweep(
    plan: SweepPlan,
    out_dir: str | Path,
    *,
    concurrency: int = 50,
    workers: int = 1,
    resume: bool = False,
    trace_dir: str | Path | None = None,
    threshold: float = DEFAULT_PASS_THRESHOLD,
    on_row: Callable[[dict[str, Any]], None] | None = None,
) -> SweepOutcome:
    """Run the sweep, append results, write ``summary.json``; see the module docstring.

    ``on_row`` sees each row as it is written (for a progress bar). KeyboardInterrupt
    stops the sweep cleanly: what finished is kept and summarised.
    """
    if concurrency < 1:
        raise ValueError(f"--concurrency {concurrency}: allowed: a whole number >= 1")
    if workers < 1:
        raise ValueError(f"--workers {workers}: allowed: a whole number >= 1")
    plan.validate()
    out = Path(out_dir)
    previous, dropped = check_out_dir(plan, out, resume=resume)
    out.mkdir(parents=True, exist_ok=True)
    results_path = out / RESULTS_FILE
    wanted = {plan.key(*e): e for e in plan.episodes()}
    (out / PLAN_FILE).write_text(dumps_line(plan.identity()) + "\n", encoding="utf-8")
    done = {episode_key(r) for r in previous} & set(wanted)
    todo = [e for k, e in wanted.items() if k not in done]
    tdir = str(trace_dir) if trace_dir is not None else None
    if tdir is not None:
        Path(tdir).mkdir(parents=True, exist_ok=True)
    interrupted = False
    with ResultsWriter(results_path) as writer:
        def emit(row: dict[str, Any]) -> None:
            writer.write(row)
            if on_row is not None:
                on_row(row)

        try:
            if workers == 1 or len(todo) < 2:
                _run_shard(plan, todo, concurrency, tdir, emit)
            else:
                _run_workers(plan, todo, concurrency, workers, tdir, emit)
        except* KeyboardInterrupt:  # trio may deliver it inside an exception group
            interrupted = True
    # The file is the truth: an interrupt may land between writing a row and counting it.
    written, _ = read_results(results_path)
    rows = [r for r in written if episode_key(r) in wanted]
    summary = summarize(rows, threshold=threshold)
    summary["plan"] = plan.describe()
    summary["complete"] = not interrupted and len(rows) == len(wanted)
    (out / SUMMARY_FILE).write_text(dumps_line(summary) + "\n", encoding="utf-8")
    return SweepOutcome(rows=rows, ran=len(rows) - len(done), skipped=len(done),
                        dropped_lines=dropped, interrupted=interrupted, summary=summary)


def check_out_dir(plan: SweepPlan, out_dir: str | Path, *, resume: bool
                  ) -> tuple[list[dict[str, Any]], int]:
    """Whether ``plan`` may write to ``out_dir`` (``ValueError``, one line, if not): a
    results file there needs ``resume`` and the same plan. Returns the rows already
    there and how many torn or unreadable lines were dropped."""
    out = Path(out_dir)
    results_path = out / RESULTS_FILE
    if not results_path.exists():
        return [], 0
    if not resume:
        raise ValueError(f"{results_path} exists; allowed: --resume to finish it, or a new --out")
    previous, dropped = read_results(results_path)
    _check_same_plan(plan, out, previous, {plan.key(*e) for e in plan.episodes()})
    return previous, dropped


def _check_same_plan(plan: SweepPlan, out: Path, previous: list[dict[str, Any]],
                     wanted: set[tuple[Any, ...]]) -> None:
    """Refuse to add ``plan``'s rows to a folder that holds another plan's (``ValueError``,
    one line). A folder from before ``plan.json`` is judged by its rows."""
    allowed = "allowed: --resume with the same plan, or a new --out"
    plan_path = out / PLAN_FILE
    if plan_path.exists():
        try:
            recorded = json.loads(plan_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ValueError(f"{plan_path}: unreadable ({type(error).__name__}); {allowed}") \
                from None
        if not isinstance(recorded, dict):
            raise ValueError(f"{plan_path}: not a plan; {allowed}")
        current = plan.identity()
        differs = [key for key in current if recorded.get(key) != current[key]]
        if differs:
            key = differs[0]
            if key == "task_hashes":
                changed = sorted(t for t, h in current[key].items()
                                 if recorded.get(key, {}).get(t) != h)
                what = (f"task(s) {', '.join(changed)} changed since" if changed
                        else "its tasks differ")
            else:
                what = f"{key} was {recorded.get(key)!r}, now {current[key]!r}"
            raise ValueError(f"{out}: the sweep there ran a different plan ({what}); {allowed}")
        return
    privileged = plan.row_privileged()
    for row in previous:
        if episode_key(row) not in wanted:
            raise ValueError(f"{out / RESULTS_FILE}: holds {row['task_id']!r} seed {row['seed']} "
                             f"persona {row['persona']!r}, which this plan does not run; "
                             f"{allowed}")
        if "privileged" in row and bool(row["privileged"]) != privileged:
            raise ValueError(f"{out / RESULTS_FILE}: its rows are privileged="
                             f"{str(bool(row['privileged'])).lower()}, this plan's "
                             f"{str(privileged).lower()}; {allowed}")


def _run_workers(plan: SweepPlan, todo: list[tuple[str, str, int]], concurrency: int,
                 workers: int, trace_dir: str | None,
                 emit: Callable[[dict[str, Any]], None]) -> None:
    context = multiprocessing.get_context("spawn")
    channel = context.Queue()
    shards = [todo[i::workers] for i in range(workers)]
    processes = [
        context.Process(target=_worker, args=(plan, shard, concurrency, trace_dir, channel),
                        daemon=True)
        for shard in shards if shard
    ]
    for process in processes:
        process.start()
    remaining = len(processes)
    failure: str | None = None
    try:
        while remaining:
            try:
                item = channel.get(timeout=1.0)
            except queue.Empty:
                if not any(p.is_alive() for p in processes):
                    break
                continue
            if item == _DONE:
                remaining -= 1
            elif "__worker_error__" in item:
                failure = failure or item["__worker_error__"]
            else:
                emit(item)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
            process.join(timeout=5)
    if failure is not None:
        raise RuntimeError(f"a sweep worker failed: {failure}")
