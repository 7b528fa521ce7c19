"""Running a sweep: :func:`run_sweep` and what it returns.

Only this process (the parent) writes the results file, one flushed line per episode
as it ends, so a crash loses nothing that finished; traces, if asked for, are written
one file per episode by the workers. KeyboardInterrupt (Ctrl-C) and SIGTERM stop the
sweep as one: what finished is kept and summarised, and the outcome names the signal.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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

__all__ = ["SweepOutcome", "SweepTerminated", "run_sweep"]


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
def _sigterm_as_interrupt() -> Iterator[None]:
    """Raise :class:`SweepTerminated` on SIGTERM (in the main thread only: signals are
    delivered there), so that a stopped sweep still writes its summary."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: Any) -> None:
        raise SweepTerminated

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_sweep(
    plan: SweepPlan,
    out_dir: str | Path,
    *,
    concurrency: int = 50,
    workers: int = 1,
    resume: bool = False,
    trace_dir: str | Path | None = None,
    threshold: float = DEFAULT_PASS_THRESHOLD,
    durable: bool = False,
    on_row: Callable[[dict[str, Any]], None] | None = None,
) -> SweepOutcome:
    """Run the episodes ``out_dir`` does not hold yet (all of them without ``resume``),
    ``concurrency`` at once per worker process, over ``workers`` processes; append their
    rows to ``results.jsonl`` and write ``summary.json``.

    An ``llm`` plan's ``max_requests_in_flight`` bounds the whole sweep: each worker
    gets ``bound // workers`` of it, and no more than ``bound`` workers start.
    ``on_row`` sees each row as it is written (for a progress bar). ``durable`` fsyncs
    the results file after every row (else every half second and at the end). A plan or
    folder that cannot be used raises :class:`SweepError` (or the task's or agent's
    load error), one line, before any episode runs.
    """
    if concurrency < 1:
        raise SweepError(f"--concurrency {concurrency}: allowed: a whole number >= 1")
    if workers < 1:
        raise SweepError(f"--workers {workers}: allowed: a whole number >= 1")
    plan.validate()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with locked(out):
        done = EpisodeBits(plan.size())
        skipped, counts = scan(plan, out, resume=resume, done=done)
        write_atomically(out / PLAN_FILE, dumps_line(plan.identity()) + "\n")
        todo = [i for i in range(plan.size()) if i not in done]
        del done
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

            shard_plan, workers = plan.split(workers)  # an LLM's bound shared out
            pool = WorkerPool(shard_plan, concurrency, workers, tdir, emit,
                              writer.sync_if_due)
            try:
                with _sigterm_as_interrupt():
                    if todo:
                        lost = pool.run(todo)
            except KeyboardInterrupt as stop:
                stop_signal = (signal.SIGTERM if isinstance(stop, SweepTerminated)
                               else signal.SIGINT)
        summary, recorded, lost_rows = sweep_summary(
            plan, results_path, threshold=threshold, stopped=stop_signal is not None,
            lost=lost)
        write_atomically(out / SUMMARY_FILE, dumps_line(summary) + "\n")
    return SweepOutcome(recorded=recorded, ran=recorded - skipped, skipped=skipped,
                        dropped_lines=counts.dropped, duplicates=counts.duplicates,
                        interrupted=stop_signal is not None, stop_signal=stop_signal,
                        lost=lost_rows, summary=summary)
