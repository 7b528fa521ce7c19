"""Running a sweep: :func:`run_sweep` and what it returns.

Only this process (the parent) writes the results file, one flushed line per episode
as it ends, so a crash loses nothing that finished; traces, if asked for, are written
one file per episode (by the local backend's workers; by this process for the ray
backend's). KeyboardInterrupt (Ctrl-C) and SIGTERM stop the sweep as one: what
finished is kept and summarised, and the outcome names the signal.

Two backends run the episodes, with the same folder, rows and summary: ``local``
(worker processes on this machine, :mod:`~actors.sweep.pool`) and ``ray`` (batches as
Ray tasks, on a local Ray instance or a cluster, :mod:`~actors.sweep.ray_backend`;
the optional ``ray`` extra, imported only when asked for).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, get_args

import attrs

from actors.sweep.folder import (
    PLAN_FILE,
    RESULTS_FILE,
    SUMMARY_FILE,
    locked,
    scan,
    write_atomically,
)
from actors.sweep.plan import EpisodeBits, SweepError, SweepPlan
from actors.sweep.pool import WorkerPool
from actors.sweep.summary import sweep_summary
from sim.metrics import DEFAULT_PASS_THRESHOLD
from sim.results import ResultsWriter
from sim.trace import dumps_line

__all__ = ["BACKENDS", "Backend", "SweepOutcome", "SweepTerminated", "backend_session",
           "check_backend", "run_sweep"]

Backend = Literal["local", "ray"]
BACKENDS: tuple[str, ...] = get_args(Backend)


@attrs.frozen
class SweepOutcome:
    #: Episodes of the plan that have a row (after this run).
    recorded: int
    ran: int
    skipped: int
    dropped_lines: int
    #: Rows read twice for one episode (two sweeps once wrote one folder): counted once.
    duplicates: int
    interrupted: bool
    #: The signal that stopped the sweep (SIGINT, SIGTERM), if one did.
    stop_signal: int | None
    #: Episodes that did not get a row because their worker process died, with why.
    lost: list[dict[str, Any]]
    summary: dict[str, Any]


class SweepTerminated(KeyboardInterrupt):
    """SIGTERM during a sweep: it stops as Ctrl-C stops it."""


@contextmanager
def _sigterm_as_interrupt(received: list[int]) -> Iterator[None]:
    """Raise :class:`SweepTerminated` on SIGTERM (in the main thread only: signals are
    delivered there), so that a stopped sweep still writes its summary. The signal is
    also noted in ``received``: Ray, waiting, turns whatever a handler raises into a
    plain KeyboardInterrupt."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: Any) -> None:
        received.append(signum)
        raise SweepTerminated

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def check_backend(backend: str, *, address: str | None = None, batch_size: int | None = None,
                  workers: int | None = None) -> None:
    """Raise :class:`SweepError` (one line) unless these options go together: ``address``
    and ``batch_size`` are the ray backend's; ``workers`` sizes a local Ray instance, so
    not with an ``address`` (a cluster runs on all its CPUs); and ray needs its extra."""
    if backend not in BACKENDS:
        raise SweepError(f"--backend {backend}: allowed: {', '.join(BACKENDS)}")
    if batch_size is not None and batch_size < 1:
        raise SweepError(f"--batch-size {batch_size}: allowed: a whole number >= 1")
    if backend == "local":
        for flag, value in (("--address", address), ("--batch-size", batch_size)):
            if value is not None:
                raise SweepError(f"{flag} {value}: the ray backend's option; allowed: "
                                 f"--backend ray {flag} ..., or no {flag}")
        return
    if address is not None and workers is not None:
        raise SweepError(f"--workers {workers}: sizes a local Ray instance, and a cluster "
                         "(--address) runs on all its CPUs; allowed: --workers or --address, "
                         "not both")
    from actors.sweep.ray_backend import ray_module

    ray_module()  # the extra is there, or say which to install


@contextmanager
def backend_session(backend: str, *, address: str | None = None,
                    workers: int | None = None) -> Iterator[None]:
    """What ``backend`` needs connected while a sweep runs: nothing for ``local``; for
    ``ray``, this process's Ray connection, or a new one for the block (the cluster at
    ``address``, or a local instance of ``workers`` CPUs). The command line opens it
    before its progress bar, so that a cluster that cannot be reached is one line."""
    if backend != "ray":
        yield
        return
    from actors.sweep.ray_backend import ray_connection

    with ray_connection(address, 1 if workers is None else workers):
        yield


def run_sweep(
    plan: SweepPlan,
    out_dir: str | Path,
    *,
    concurrency: int = 50,
    workers: int | None = None,
    resume: bool = False,
    trace_dir: str | Path | None = None,
    threshold: float = DEFAULT_PASS_THRESHOLD,
    durable: bool = False,
    on_row: Callable[[dict[str, Any]], None] | None = None,
    backend: str = "local",
    address: str | None = None,
    batch_size: int | None = None,
) -> SweepOutcome:
    """Run the episodes ``out_dir`` does not hold yet (all of them without ``resume``)
    and append their rows to ``results.jsonl``, then write ``summary.json``.

    The ``local`` backend runs them ``concurrency`` at once per worker process, over
    ``workers`` processes (default 1). The ``ray`` backend runs them as Ray tasks of
    ``batch_size`` episodes (default: about four batches per CPU, at most 1,000),
    ``concurrency`` at once per batch, on this process's Ray connection if it has one,
    else on the cluster at ``address``, else on a local Ray instance of ``workers`` CPUs
    (default 1) that ends with the sweep. Either way the rows, traces and summary are
    those of any other run of the plan (real-time fields aside).

    An ``llm`` plan's ``max_requests_in_flight`` bounds the whole sweep: each worker (or
    running batch) gets ``bound // workers`` (or ``// CPUs``) of it, and no more than
    ``bound`` run at once. ``on_row`` sees each row as it is written (for a progress
    bar). ``durable`` fsyncs the results file after every row (else every half second and
    at the end). A plan, folder or backend that cannot be used raises
    :class:`SweepError` (or the task's or agent's load error), one line, before any
    episode runs.
    """
    if concurrency < 1:
        raise SweepError(f"--concurrency {concurrency}: allowed: a whole number >= 1")
    if workers is not None and workers < 1:
        raise SweepError(f"--workers {workers}: allowed: a whole number >= 1")
    check_backend(backend, address=address, batch_size=batch_size, workers=workers)
    plan.validate()
    with backend_session(backend, address=address, workers=workers):
        return _run(plan, Path(out_dir), concurrency=concurrency,
                    workers=1 if workers is None else workers, resume=resume,
                    trace_dir=trace_dir, threshold=threshold, durable=durable,
                    on_row=on_row, backend=backend, batch_size=batch_size)


def _run(plan: SweepPlan, out: Path, *, concurrency: int, workers: int, resume: bool,
         trace_dir: str | Path | None, threshold: float, durable: bool,
         on_row: Callable[[dict[str, Any]], None] | None, backend: str,
         batch_size: int | None) -> SweepOutcome:
    out.mkdir(parents=True, exist_ok=True)
    with locked(out):
        done = EpisodeBits(plan.size())
        skipped, counts = scan(plan, out, resume=resume, done=done)
        write_atomically(out / PLAN_FILE, dumps_line(plan.identity()) + "\n")
        tdir = str(trace_dir) if trace_dir is not None else None
        if tdir is not None:
            Path(tdir).mkdir(parents=True, exist_ok=True)
        stop_signal: int | None = None
        lost: dict[int, str] = {}
        results_path = out / RESULTS_FILE
        with ResultsWriter(results_path, durable=durable) as writer:
            def emit(row: dict[str, Any]) -> None:
                writer.write(row)
                if on_row is not None:
                    on_row(row)

            terminated: list[int] = []
            try:
                with _sigterm_as_interrupt(terminated):
                    if backend == "ray":
                        lost = _ray_run(plan, done, plan.size() - skipped, concurrency, tdir,
                                        emit, writer.sync_if_due, batch_size)
                    else:
                        lost = _local_run(plan, done, concurrency, workers, tdir, emit,
                                          writer.sync_if_due)
            except KeyboardInterrupt as stop:
                stop_signal = (signal.SIGTERM
                               if isinstance(stop, SweepTerminated) or terminated
                               else signal.SIGINT)
        summary, recorded, lost_rows = sweep_summary(
            plan, results_path, threshold=threshold, stopped=stop_signal is not None,
            lost=lost)
        write_atomically(out / SUMMARY_FILE, dumps_line(summary) + "\n")
    return SweepOutcome(recorded=recorded, ran=recorded - skipped, skipped=skipped,
                        dropped_lines=counts.dropped, duplicates=counts.duplicates,
                        interrupted=stop_signal is not None, stop_signal=stop_signal,
                        lost=lost_rows, summary=summary)


Emit = Callable[[dict[str, Any]], None]


def _local_run(plan: SweepPlan, done: EpisodeBits, concurrency: int, workers: int,
               trace_dir: str | None, emit: Emit, idle: Callable[[], None]) -> dict[int, str]:
    """Run the episodes not ``done`` in local worker processes (each a shard of their
    list); the episodes lost, with why."""
    todo = [i for i in range(plan.size()) if i not in done]
    if not todo:
        return {}
    shard_plan, workers = plan.split(workers)  # an LLM's bound shared out
    return WorkerPool(shard_plan, concurrency, workers, trace_dir, emit, idle).run(todo)


def _ray_run(plan: SweepPlan, done: EpisodeBits, count: int, concurrency: int,
             trace_dir: str | None, emit: Emit, idle: Callable[[], None],
             batch_size: int | None) -> dict[int, str]:
    """Run the ``count`` episodes not ``done`` as Ray tasks, in batches cut as they are
    sent (a plan of millions is never held as a list); the episodes lost, with why."""
    from actors.sweep.ray_backend import RayPool

    if not count:
        return {}
    todo = (i for i in range(plan.size()) if i not in done)
    return RayPool(plan, concurrency, trace_dir, emit, idle, batch_size=batch_size).run(
        todo, count)
