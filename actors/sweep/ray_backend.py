"""The ``ray`` backend of a sweep (the optional ``ray`` extra): batches of episodes as Ray
tasks, on a local Ray instance or on an existing cluster.

What runs where. :func:`~actors.sweep.run.run_sweep` cuts the episodes a results file
lacks into batches (``batch_size`` episodes each, in index order). Each batch is one
Ray task, :func:`stream_batch`, which runs its episodes in one ``trio.run`` through
:func:`~actors.sweep.worker.run_batch` (what a local worker process runs too) and
streams their rows back (a streaming generator, ``num_returns="streaming"``) with each
trace's text when traces are asked for, so a cluster needs no shared folder. This
process, the driver (:class:`RayPool`), alone writes: each trace, then its row, through
the same results writer, resume scan, plan check and summary as a local sweep.

No row is lost or written twice:

- A batch streams in a fixed order, whatever order its episodes end in: item ``j`` of
  the stream holds the rows of the batch's episodes ``j*CHUNK`` to ``(j+1)*CHUNK - 1``,
  sent once they have all ended (:func:`chunks_in_order`). When a worker dies
  mid-batch, Ray runs the task again (``max_retries``); it keeps the items the stream
  already delivered and drops a retry's items at those positions, which, in this
  order, hold the very same episodes, so the retry adds exactly the items the dead
  attempt never sent.
- The driver keeps a bit per episode and writes a row only the first time its episode
  arrives, whatever Ray does; a batch whose stream ends without a row for one of its
  episodes counts as failed.
- A batch whose retries are spent (an episode that kills its worker every time, a task
  that raises) is split in halves that run again, down to single episodes: the episode
  that kills its worker is singled out and reported lost, with why, and every other
  episode gets its row (the local backend singles it out the same way). When failed
  tasks outnumber finished episodes by more than
  :data:`~actors.sweep.pool.DEATH_ALLOWANCE`, the sweep gives up on the rest.

Ctrl-C (or SIGTERM) cancels the batches in flight (``ray.cancel(force=True)``), and
the sweep keeps and summarises what finished, as a local sweep does.

Where Ray runs (:func:`ray_session`): without an address, a new local instance
(``ray.init(address="local", num_cpus=...)``, never a running instance found on the
machine), no dashboard, a small object store (rows are small; the machine may be
shared), usage statistics off, and token authentication (``RAY_AUTH_MODE=token`` with a
token made for this process, which its Ray processes inherit) unless ``RAY_AUTH_MODE``
is set, when Ray's own settings apply. With an address, an existing cluster on its own
settings (``RAY_AUTH_MODE``, ``RAY_AUTH_TOKEN`` or ``~/.ray/auth_token``). Either way
Ray's messages to the driver (a worker died, a task is retried) stay in Ray's logs, off
the console, so ``sweep --json`` prints JSON alone, and workers' output goes to Ray's log
files (``log_to_driver=False``). A process already connected to Ray (a ``ray.init`` of
its own, with the ``runtime_env`` it likes) uses that connection as it is
(:func:`ray_connection`).

A batch task takes one CPU, and runs its ``trio.run`` in a thread: a streaming
generator yields from its own thread, and rows must leave while episodes still run. Its
stream runs at most :data:`AHEAD` items ahead of the driver (Ray's backpressure), so a
cluster that outruns its one driver waits for it instead of filling its memory.

This module imports ``ray`` only inside its functions, so it imports without the extra;
using it without the extra is a :class:`~actors.sweep.plan.SweepError` naming it.
"""

from __future__ import annotations

import logging
import os
import queue
import secrets
import signal
import socket
import sys
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from actors.sweep.folder import write_atomically
from actors.sweep.plan import EpisodeBits, SweepError, SweepPlan
from actors.sweep.pool import DEATH_ALLOWANCE
from actors.sweep.worker import run_batch, trace_name
from sim.episode import EpisodeResult

__all__ = [
    "AHEAD",
    "CHUNK",
    "MAX_BATCH",
    "RETRIES",
    "RayPool",
    "chunks_in_order",
    "default_batch_size",
    "ray_connection",
    "ray_module",
    "ray_session",
    "stream_batch",
]

T = TypeVar("T")
#: What a batch streams per episode: its index, its row, its trace's text (or None).
Shipped = tuple[int, dict[str, Any], str | None]

#: Rows per item of a batch's stream: fewer items cost the driver less, more let rows
#: arrive sooner (an item waits for the slowest of its episodes).
CHUNK = 25
#: Items a batch's stream may run ahead of the driver before it waits: a cluster faster
#: than its one driver then waits for it, rather than filling the driver's memory.
AHEAD = 4
#: Episodes per batch, at most, when the batch size is not given.
MAX_BATCH = 1000
#: Times Ray runs a batch again when its worker dies, before the batch is split.
RETRIES = 3
#: The local instance's object store (Ray's minimum is 75 MiB): an item is about 17 kB of
#: rows (a few hundred kB with traces), at most AHEAD of them unread a batch.
_OBJECT_STORE_BYTES = 128 * 1024 * 1024
#: Seconds to wait for a cluster's address to answer before calling it unreachable.
_CONNECT_TIMEOUT = 5.0
#: Seconds between the driver's looks at the clock while it waits for rows.
_TICK = 0.5
_INSTALL_HINT = "the ray extra is not installed; pip install -e '.[ray]'"
_ADDRESS_ALLOWED = ("allowed: HOST:PORT of a running Ray cluster's head (`ray start --head` "
                    "prints it), auto (the cluster this machine belongs to), or no --address "
                    "for a local Ray instance")
_log = logging.getLogger(__name__)
#: The token of the local instances this process starts (one, so that Ray's cached token
#: never goes stale within the process).
_process_token: str | None = None


def ray_module() -> ModuleType:
    """``ray``, or :class:`SweepError` naming the extra to install."""
    try:
        import ray
    except ImportError:
        raise SweepError(_INSTALL_HINT) from None
    return ray


# ======================================================== the session: where Ray runs


def _session_environment(address: str | None) -> dict[str, str]:
    """The environment a Ray session sets for its duration (its Ray processes inherit it)."""
    global _process_token
    changes = {}
    if os.environ.get("RAY_USAGE_STATS_ENABLED") is None:
        changes["RAY_USAGE_STATS_ENABLED"] = "0"
    if address is None and os.environ.get("RAY_AUTH_MODE") is None:
        # Ray 2.60 turns token authentication on for a new local instance anyway, writing
        # ~/.ray/auth_token if missing and warning about it; this keeps it on, silently,
        # with a token that lives in this process's environment only.
        changes["RAY_AUTH_MODE"] = "token"
        if not (os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH")):
            _process_token = _process_token or secrets.token_hex(32)
            changes["RAY_AUTH_TOKEN"] = _process_token
    return changes


@contextmanager
def _environment(changes: dict[str, str]) -> Iterator[None]:
    """``os.environ`` with ``changes``, restored after; Ray's cached configuration (the
    authentication mode) is re-read both times, as Ray does when it turns tokens on."""
    saved = {key: os.environ.get(key) for key in changes}
    os.environ.update(changes)
    _reread_ray_config()
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        _reread_ray_config()


def _reread_ray_config() -> None:
    from ray._raylet import Config  # type: ignore[attr-defined]  # not in Ray's stubs

    Config.initialize("")


@contextmanager
def _quiet_driver() -> Iterator[None]:
    """Keep Ray's messages to the driver (a worker died, a task is retried) off stdout,
    where Ray prints them: the sweep reports what it lost itself, and Ray's logs keep
    them. (Ray offers no switch for this: its listener calls this module function.)"""
    import ray._private.worker as ray_worker

    printed = ray_worker.print_to_stdstream

    def to_log(data: dict[str, Any], ignore_prefix: bool) -> None:
        for line in data.get("lines", ()):
            _log.info("ray (%s): %s", data.get("pid"), line)

    ray_worker.print_to_stdstream = to_log
    try:
        yield
    finally:
        ray_worker.print_to_stdstream = printed


def _check_reachable(address: str) -> None:
    """Fail fast, in one line, when nothing answers at ``address`` (Ray itself would
    retry for a minute, then print pages)."""
    if address == "auto":
        return  # Ray looks on this machine, and says at once if it finds nothing
    host, colon, port = address.split("://", 1)[-1].rpartition(":")
    if not colon or not host or not port.isdigit():
        raise SweepError(f"--address {address}: not an address; {_ADDRESS_ALLOWED}")
    try:
        socket.create_connection((host.strip("[]"), int(port)),
                                 timeout=_CONNECT_TIMEOUT).close()
    except OSError as error:
        why = error.strerror or type(error).__name__
        raise SweepError(f"--address {address}: no Ray cluster answers there ({why}); "
                         f"{_ADDRESS_ALLOWED}") from None


@contextmanager
def _captured_stderr(capture: bool) -> Iterator[Callable[[], str]]:
    """What is written to file descriptor 2 in the block (Ray's C++ side logs there, a
    line a second while a connection is refused), kept from the console, if ``capture``;
    the function yielded returns it once the block has ended. (Only around connecting:
    processes started in the block would inherit the file.)"""
    captured: list[str] = []
    if not capture:
        yield lambda: ""
        return
    with tempfile.TemporaryFile() as sink:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(sink.fileno(), 2)
        try:
            yield lambda: "".join(captured)
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            captured.append(sink.read().decode(errors="replace"))


def _refusal(address: str | None, error: BaseException, said: str) -> str:
    """One line for a connection Ray could not make, with the cause Ray logged, if known."""
    where = f"--address {address}" if address is not None else "a local Ray instance"
    if "InvalidAuthToken" in said or isinstance(error, ray_module().exceptions.AuthenticationError):
        return (f"{where}: the cluster refused this process's Ray token (InvalidAuthToken); "
                "allowed: RAY_AUTH_MODE=token, with the cluster's token in RAY_AUTH_TOKEN, "
                "RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token")
    return (f"{where}: Ray could not connect ({type(error).__name__}: {_one_line(error)}); "
            f"{_ADDRESS_ALLOWED}")


def _one_line(error: BaseException, limit: int = 200) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= limit else text[:limit - 3] + "..."


@contextmanager
def ray_session(address: str | None = None, cpus: int = 1) -> Iterator[None]:
    """Connect this process to Ray for the block, then disconnect: to the cluster at
    ``address``, or to a new local instance of ``cpus`` CPUs (see the module docstring
    for its settings); a local instance ends with the block. A missing extra, an
    address where no cluster answers or a connection Ray refuses is a
    :class:`SweepError`, one line, and nothing is left running."""
    ray = ray_module()
    if address is not None:
        _check_reachable(address)
    if address is None:
        options: dict[str, Any] = {"address": "local", "num_cpus": cpus,
                                   "object_store_memory": _OBJECT_STORE_BYTES}
    else:
        options = {"address": address}
    with _environment(_session_environment(address)), _quiet_driver():
        # ray.init replaces the SIGTERM handler (with sys.exit); the sweep's own stays.
        in_main = threading.current_thread() is threading.main_thread()
        sigterm = signal.getsignal(signal.SIGTERM) if in_main else None
        try:
            with _captured_stderr(address is not None) as said:
                ray.init(**options, include_dashboard=False, log_to_driver=False,
                         logging_level=logging.ERROR)
        except (ConnectionError, RuntimeError, ValueError, ray.exceptions.RayError) as error:
            ray.shutdown()
            raise SweepError(_refusal(address, error, said())) from None
        finally:
            if in_main:
                signal.signal(signal.SIGTERM, sigterm)
        try:
            yield
        finally:
            ray.shutdown()


@contextmanager
def ray_connection(address: str | None = None, cpus: int = 1) -> Iterator[None]:
    """This process's connection to Ray if it has one (``address`` and ``cpus`` then
    change nothing), else a :func:`ray_session` for the block."""
    ray = ray_module()
    if ray.is_initialized():
        yield
        return
    with ray_session(address, cpus):
        yield


# ============================================================ the task: one batch


def chunks_in_order(count: int, size: int, ended: Iterable[tuple[int, T]]) -> Iterator[list[T]]:
    """The items of ``count`` positions in chunks of ``size`` (the last one shorter), in
    position order, each chunk as soon as its positions have all ended. ``ended`` gives
    ``(position, item)`` in any order, each position once; what is yielded is the same
    whatever that order (a batch's stream, run again, says the same thing at the same
    place). Raises RuntimeError if ``ended`` stops before every position ended."""
    waiting: dict[int, T] = {}
    start = 0
    for position, item in ended:
        waiting[position] = item
        while start < count:
            end = min(start + size, count)
            if any(p not in waiting for p in range(start, end)):
                break
            yield [waiting.pop(p) for p in range(start, end)]
            start = end
    if start < count:
        raise RuntimeError(f"the batch ended with {count - start} of {count} episodes "
                           "unfinished")


def stream_batch(plan: SweepPlan, indices: Sequence[int], concurrency: int,
                 with_traces: bool) -> Iterator[list[Shipped]]:
    """A Ray task (a streaming generator): run episodes ``indices`` of ``plan`` (one
    ``trio.run``, in a thread of this worker) and yield their rows in chunks of
    :data:`CHUNK`, in index order (:func:`chunks_in_order`). Something that stops the
    batch (a task that fails to load here) is raised, after the chunks that were whole."""
    ended: queue.SimpleQueue[tuple[int, Shipped] | BaseException | None] = queue.SimpleQueue()
    position = {index: n for n, index in enumerate(indices)}

    def on_row(index: int, row: dict[str, Any], result: EpisodeResult) -> None:
        trace = result.trace.to_jsonl() if with_traces else None
        ended.put((position[index], (index, row, trace)))

    def run() -> None:
        try:
            run_batch(plan, indices, concurrency, on_row)
        except BaseException as error:  # raised again in the generator, for the driver
            ended.put(error)
        else:
            ended.put(None)

    def arrivals() -> Iterator[tuple[int, Shipped]]:
        while (item := ended.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item

    threading.Thread(target=run, name="sweep batch", daemon=True).start()
    yield from chunks_in_order(len(indices), CHUNK, arrivals())


# ================================================================ the driver


def default_batch_size(count: int, cpus: int) -> int:
    """Episodes per batch when not given: about four batches per CPU (a CPU that ends
    early takes another), at most :data:`MAX_BATCH` (a retried batch costs at most that)."""
    return max(1, min(MAX_BATCH, -(-count // (4 * max(1, cpus)))))


def _batches(indices: Iterable[int], size: int) -> Iterator[list[int]]:
    batch: list[int] = []
    for index in indices:
        batch.append(index)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _failure(error: BaseException, retries: int) -> str:
    """Why a batch's task failed, in words."""
    ray = ray_module()
    if isinstance(error, ray.exceptions.RayTaskError):
        cause = error.cause if error.cause is not None else error
        return f"the Ray task failed: {type(cause).__name__}: {_one_line(cause)}"
    if isinstance(error, ray.exceptions.WorkerCrashedError):
        return f"the Ray worker process died ({retries} retries spent)"
    return f"the Ray task was lost: {type(error).__name__}: {_one_line(error)}"


class RayPool:
    """Runs a plan's episodes as Ray tasks on the connected Ray (see the module
    docstring); ``emit(row)`` sees each row once, after its trace (if ``trace_dir``)
    is written whole, and ``idle()`` is called at least every half second while the
    driver waits (the results file's timed fsync)."""

    def __init__(self, plan: SweepPlan, concurrency: int, trace_dir: str | None,
                 emit: Callable[[dict[str, Any]], None], idle: Callable[[], None], *,
                 batch_size: int | None = None, retries: int = RETRIES) -> None:
        self.plan = plan
        self.concurrency = concurrency
        self.trace_dir = trace_dir
        self.emit = emit
        self.idle = idle
        self.batch_size = batch_size
        self.retries = retries
        self.seen = EpisodeBits(plan.size())
        self.lost: dict[int, str] = {}
        self.again: deque[list[int]] = deque()  # halves of failed batches: first
        self.fresh: Iterator[list[int]] = iter(())
        self.failures = 0
        self.finished = 0

    def run(self, todo: Iterable[int], count: int) -> dict[int, str]:
        """Run ``todo`` (``count`` episodes); the episodes lost, with why. The batches
        in flight are cancelled however it ends."""
        ray = ray_module()
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        plan, running = self.plan.split(cpus)  # an LLM's bound shared out
        size = self.batch_size or default_batch_size(count, running)
        self.fresh = _batches(todo, size)
        task = ray.remote(stream_batch).options(
            num_cpus=1, num_returns="streaming", max_retries=self.retries,
            retry_exceptions=False, _generator_backpressure_num_objects=AHEAD)
        plan_ref = ray.put(plan)
        # Queued batches keep every CPU busy between two batches; an LLM's share of the
        # bound is per running batch, so then no more than can run at once.
        limit = running if plan.llm is not None else 2 * running
        flight: dict[Any, list[int]] = {}
        try:
            while True:
                while len(flight) < limit and (batch := self._next()) is not None:
                    flight[task.remote(plan_ref, batch, self.concurrency,
                                       self.trace_dir is not None)] = batch
                if not flight:
                    return self.lost
                streams = list(flight)
                ready, _ = ray.wait(streams, num_returns=1, timeout=_TICK)
                if ready:  # and every other one ready by now, in one call
                    ready, _ = ray.wait(streams, num_returns=len(streams), timeout=0)
                self.idle()
                for stream in ready:
                    self._drain(stream, flight)
        finally:
            for stream in flight:
                try:
                    ray.cancel(stream, force=True)
                except Exception:  # already ended, or Ray is going down: nothing to stop
                    pass

    def _next(self) -> list[int] | None:
        if self.again:
            return self.again.popleft()
        return next(self.fresh, None)

    def _drain(self, stream: Any, flight: dict[Any, list[int]]) -> None:
        """Take what ``stream`` has ready: items, its end, or its failure."""
        ray = ray_module()
        while True:
            try:
                ref = next(stream)
            except StopIteration:
                self._ended(flight.pop(stream), None)
                return
            try:
                chunk: list[Shipped] = ray.get(ref)
            except ray.exceptions.RayError as error:
                self._ended(flight.pop(stream), _failure(error, self.retries))
                return
            self._accept(chunk)
            if not stream.next_ready():
                return

    def _accept(self, chunk: list[Shipped]) -> None:
        for index, row, trace in chunk:
            if index in self.seen:
                continue  # a retried batch's repeat: the first row stands
            self.seen.add(index)
            if trace is not None and self.trace_dir is not None:
                # Before the row: a row means its trace is whole.
                write_atomically(Path(self.trace_dir) / trace_name(row), trace)
            self.emit(row)
            self.finished += 1

    def _ended(self, batch: list[int], why: str | None) -> None:
        """A batch's stream ended: cleanly (``why`` None) or not. Its episodes without a
        row run again in halves, or, alone, are lost."""
        missing = [i for i in batch if i not in self.seen]
        if not missing:
            return
        why = why or "its Ray task ended without their rows"
        self.failures += 1
        if len(missing) == 1:
            self.lost[missing[0]] = why
        else:
            half = len(missing) // 2
            self.again.extendleft([missing[half:], missing[:half]])
        if self.failures > DEATH_ALLOWANCE + self.finished:
            gave_up = (f"not run: {self.failures} Ray tasks failed and {self.finished} "
                       f"episodes finished (the last: {why})")
            for rest in (*self.again, *self.fresh):
                self.lost.update(dict.fromkeys(rest, gave_up))
            self.again.clear()
