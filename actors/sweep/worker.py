"""Running a batch of a plan's episodes (:func:`run_batch`, what every backend runs), and
the local backend's worker process (:func:`work`, its entry point).

:func:`run_batch` runs episodes ``concurrency`` at once in one ``trio.run`` and hands
each one's row (and result) to a callback as it ends: a local worker process and a Ray
task (:mod:`actors.sweep.ray_backend`) run their episodes through it, so both run an
episode, and make its row and trace, the same way.

A local worker tells the parent, over a pipe, ``("start", i)`` when episode ``i``
starts, ``("row", i, row)`` when it ends (after its trace, if asked for, is written
whole), then ``("done",)`` or ``("error", why)``. It is a process's entry point, so it
sets what a process may:
the collector's tuning (:func:`sim.runner.tuned_collector`), SIGINT ignored (the
parent decides when a sweep stops), and death with the parent (``PR_SET_PDEATHSIG``
on Linux, and everywhere a pipe from the parent whose end-of-file ends it); the
process executor's processes die with their worker.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import attrs
import trio

from actors.agents.loading import resolve_agent
from actors.episodes import make_job
from actors.sweep.plan import SweepPlan
from sim.episode import EpisodeConfig, EpisodeResult
from sim.runner import run_episodes, tuned_collector
from tasks.registry import discover_families

__all__ = ["run_batch", "trace_name", "work"]


def trace_name(row: dict[str, Any]) -> str:
    """The file name of a row's trace in a sweep's trace folder."""
    faults = "+".join(row["faults"]) or "nofault"
    return f"{row['task_id']}__{row['persona']}__{faults}__seed{row['seed']}.jsonl"


class _Announced:
    """An agent factory that says when its episode starts (the runner calls it then), so
    the parent knows which episodes were in flight if the worker dies."""

    def __init__(self, factory: Callable[[], Any], index: int,
                 announce: Callable[[int], None]) -> None:
        self.factory = factory
        self.index = index
        self.announce = announce

    def __call__(self) -> Any:
        self.announce(self.index)
        return self.factory()


def run_batch(plan: SweepPlan, indices: Sequence[int], concurrency: int,
              on_row: Callable[[int, dict[str, Any], EpisodeResult], None],
              on_start: Callable[[int], None] | None = None) -> None:
    """Run episodes ``indices`` of ``plan``, ``concurrency`` at once, in one ``trio.run``:
    ``on_row(index, row, result)`` sees each one's results row as it ends, and
    ``on_start(index)`` each one as it starts. Episodes end in any order; each row is
    a function of its episode alone (``run_episodes``: its own clock and draws)."""
    families = discover_families(plan.tasks_dirs)
    config = EpisodeConfig(agent_timeout=plan.agent_timeout, agent_executor=plan.agent_executor)
    # Once per batch: the LLM agent's factory (its client, its bound) is built here, in
    # the process that runs the episodes, from the plan's configuration.
    factory = resolve_agent(plan.agent, llm=plan.llm)
    jobs = []
    for index in indices:
        task, persona, seed = plan.episode(index)
        job = make_job(families[task].variant(seed), factory, seed=seed, persona=persona,
                       faults=plan.faults, config=config, privileged=plan.privileged,
                       agent_name=plan.agent)
        if on_start is not None:
            job = attrs.evolve(job, make_agent=_Announced(job.make_agent, index, on_start))
        jobs.append(job)

    def on_result(position: int, result: EpisodeResult) -> None:
        on_row(indices[position], result.summary(), result)

    with tuned_collector():
        trio.run(lambda: run_episodes(jobs, concurrency=concurrency, on_result=on_result,
                                      collect=False))


def _run_shard(plan: SweepPlan, indices: Sequence[int], concurrency: int,
               trace_dir: str | None, send: Callable[[Any], None]) -> None:
    def on_row(index: int, row: dict[str, Any], result: EpisodeResult) -> None:
        if trace_dir is not None:  # before the row: a row means its trace is whole
            result.trace.write(Path(trace_dir) / trace_name(row))
        send(("row", index, row))

    run_batch(plan, indices, concurrency, on_row,
              on_start=lambda index: send(("start", index)))


def _die_with_parent(parent_alive: Connection) -> None:
    """End this worker when the parent ends, however it ends: the kernel sends SIGKILL
    (Linux), and a thread waiting on a pipe only the parent writes to sees end-of-file
    (everywhere; also covers a parent that died before ``prctl`` ran)."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass

    def watch() -> None:
        try:
            parent_alive.recv_bytes()
        except (EOFError, OSError):
            pass
        os._exit(3)

    threading.Thread(target=watch, name="sweep parent watch", daemon=True).start()


def _exit_when_orphaned() -> None:
    """Run in each process of the process executor (trio-parallel's ``init``): end it
    when its sweep worker has ended, checked twice a second, even in the middle of a
    decision that never returns. (Not ``PR_SET_PDEATHSIG``: trio-parallel starts these
    from a thread, and that signal comes when the starting thread ends.)"""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(3)

    threading.Thread(target=watch, name="sweep worker watch", daemon=True).start()


def work(plan: SweepPlan, indices: list[int], concurrency: int, trace_dir: str | None,
         conn: Connection, parent_alive: Connection) -> None:
    """The worker process's entry point: run episodes ``indices`` of ``plan`` and report
    on ``conn`` (see the module docstring); ``parent_alive`` reaches end-of-file when
    the parent dies."""
    _die_with_parent(parent_alive)
    if plan.agent_executor == "process":  # its processes die with this one
        import trio_parallel

        trio_parallel.configure_default_context(init=_exit_when_orphaned)
    # The parent decides when a sweep stops (Ctrl-C reaches the whole process group).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        try:
            _run_shard(plan, indices, concurrency, trace_dir, conn.send)
        except BaseException as error:  # reported: the parent re-runs or attributes
            conn.send(("error", f"{type(error).__name__}: {error}"))
        else:
            conn.send(("done",))
    except (BrokenPipeError, EOFError, OSError):
        pass  # the parent is gone
    finally:
        conn.close()
