"""The parent's side of a sweep: worker processes, and what to do when one dies.

Episodes always run in worker processes, even with one worker, because an agent (or a
C extension) can end its process: ``os._exit``, a segfault. The parent then knows
which episodes the dead worker had not finished. Those it had not started run again in
a new worker; those in flight run again one at a time, so the episode that kills its
worker is singled out and reported as lost while every other episode gets its row. A
sweep whose workers keep dying without finishing episodes gives up on the rest.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from typing import Any

import attrs

from actors.sweep.plan import SweepPlan
from actors.sweep.worker import work

__all__ = ["DEATH_ALLOWANCE", "WorkerPool"]

#: Worker deaths a sweep tolerates beyond one per episode finished: past that, workers
#: die faster than episodes finish and the sweep gives up on what is left.
DEATH_ALLOWANCE = 4
#: Seconds a worker gets to exit after it said it is done, or after SIGTERM.
_EXIT_GRACE = 5.0
#: Seconds between the parent's looks at the clock while it waits for rows.
_TICK = 0.5


@attrs.define(eq=False)
class _Worker:
    process: Any
    conn: Connection
    shard: list[int]
    #: Runs one episode at a time, to single out the one that kills its process.
    solo: bool
    started: set[int] = attrs.field(factory=set)
    finished: set[int] = attrs.field(factory=set)
    done: bool = False
    error: str | None = None


def _death(process: Any, error: str | None) -> str:
    """Why a worker ended without finishing its shard, in words."""
    if error is not None:
        return f"the worker process failed: {error}"
    code = process.exitcode
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"the worker process was killed by {name}"
    if code:
        return f"the worker process exited with status {code}"
    return "the worker process ended early"


class WorkerPool:
    """Runs a plan's episodes in worker processes and copes with workers that die.

    ``emit(row)`` sees each row as it arrives; ``idle()`` is called at least every
    half second while the pool waits (the results file's timed fsync).
    """

    def __init__(self, plan: SweepPlan, concurrency: int, workers: int,
                 trace_dir: str | None, emit: Callable[[dict[str, Any]], None],
                 idle: Callable[[], None]) -> None:
        self.plan = plan
        self.concurrency = concurrency
        self.workers = workers
        self.trace_dir = trace_dir
        self.emit = emit
        self.idle = idle
        self.context = multiprocessing.get_context("spawn")
        self.normal: list[int] = []
        self.suspects: list[int] = []
        self.lost: dict[int, str] = {}
        self.active: dict[Connection, _Worker] = {}
        self.deaths = 0
        self.finished = 0

    def run(self, todo: list[int]) -> dict[int, str]:
        """Run ``todo``; the episodes lost, with why. Workers are stopped however it ends."""
        self.normal = todo
        self._alive_reader, self._alive_writer = self.context.Pipe(duplex=False)
        try:
            while True:
                self._fill()
                if not self.active:
                    return self.lost
                workers = list(self.active.values())
                ready = set(wait([w.conn for w in workers]
                                 + [w.process.sentinel for w in workers], timeout=_TICK))
                self.idle()
                for worker in workers:
                    if worker.conn in ready:
                        self._receive(worker)
                    elif worker.process.sentinel in ready:
                        # Ended with nothing left to read, yet no end-of-file: a process
                        # it started still holds the pipe.
                        self._ended(worker)
        finally:
            for worker in list(self.active.values()):
                worker.process.terminate()
            for worker in list(self.active.values()):
                self._reap(worker)
            self._alive_reader.close()
            self._alive_writer.close()

    def _fill(self) -> None:
        """Start workers while there are free slots and work; suspects first."""
        while len(self.active) < self.workers and (self.suspects or self.normal):
            free = self.workers - len(self.active)
            solo = bool(self.suspects)
            queue = self.suspects if solo else self.normal
            shard, rest = queue[::free], [i for n, i in enumerate(queue) if n % free]
            queue[:] = rest
            self._launch(shard, solo)

    def _launch(self, shard: list[int], solo: bool) -> None:
        reader, writer = self.context.Pipe(duplex=False)
        # Not a daemon: daemons may not start processes, and the process executor does.
        # The pool stops its workers however it ends, and they die with the parent.
        process = self.context.Process(
            target=work, name="sweep worker", daemon=False,
            args=(self.plan, shard, 1 if solo else self.concurrency, self.trace_dir, writer,
                  self._alive_reader))
        try:
            process.start()
        finally:
            writer.close()  # the worker's end: the parent sees end-of-file when it exits
        self.active[reader] = _Worker(process=process, conn=reader, shard=shard, solo=solo)

    def _receive(self, worker: _Worker) -> None:
        """Handle what ``worker`` sent, up to what has arrived."""
        for _ in range(1000):  # then let the other workers have a turn
            try:
                message = worker.conn.recv()
            except Exception:  # end of file, or half a message from a worker that died
                self._ended(worker)
                return
            kind = message[0]
            if kind == "start":
                worker.started.add(message[1])
            elif kind == "row":
                worker.finished.add(message[1])
                self.finished += 1
                self.emit(message[2])
            elif kind == "error":
                worker.error = message[1]
            elif kind == "done":
                worker.done = True
            if not worker.conn.poll():
                return

    def _reap(self, worker: _Worker) -> None:
        del self.active[worker.conn]
        worker.conn.close()
        worker.process.join(_EXIT_GRACE)
        if worker.process.is_alive():  # an agent's thread keeps it up, or SIGTERM was ignored
            worker.process.kill()
            worker.process.join()

    def _ended(self, worker: _Worker) -> None:
        self._reap(worker)
        if worker.done:
            return
        why = _death(worker.process, worker.error)
        self.deaths += 1
        in_flight = sorted(worker.started - worker.finished)
        unstarted = [i for i in worker.shard if i not in worker.started]
        if worker.solo or len(in_flight) <= 1:
            self.lost.update(dict.fromkeys(in_flight, why))
        else:  # one of them killed it: run each alone to find out which
            self.suspects.extend(in_flight)
        (self.suspects if worker.solo else self.normal)[:0] = unstarted
        if self.deaths > DEATH_ALLOWANCE + self.finished:
            gave_up = (f"not run: {self.deaths} worker processes died and "
                       f"{self.finished} episodes finished (the last: {why})")
            self.lost.update(dict.fromkeys(self.suspects + self.normal, gave_up))
            self.suspects.clear()
            self.normal.clear()
