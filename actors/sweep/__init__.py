"""Sweeps: one agent across tasks × personas × seeds, concurrently and on every core.

:func:`run_sweep` runs the episodes a results file does not hold yet (all of them
without ``resume``), ``concurrency`` at once per worker process, over ``workers``
processes. Only the parent writes the results file, one flushed line per episode as
it ends, so a crash loses nothing that finished. Traces, if asked for, are written
one file per episode.

The plan (tasks and their hashes, agent, seeds, personas, faults, privilege, timeout,
executor) is written to ``plan.json`` before the first episode; ``resume`` finishes
that plan only, and refuses a different one (or a task changed since) rather than mix
two plans' rows in one results file. The folder is locked while a sweep runs
(``flock``, which the system releases when the process dies, however it dies), so two
sweeps never write one results file; a row read twice counts once.

Episodes always run in worker processes, even with one worker, because an agent (or a
C extension) can end its process: ``os._exit``, a segfault. The parent then knows
which episodes the dead worker had not finished. Those it had not started run again
in a new worker; those in flight run again one at a time, so the episode that kills
its worker is singled out and reported as lost (the summary says the plan is
incomplete, and ``--resume`` tries it again) while every other episode gets its row.
A sweep whose workers keep dying without finishing episodes gives up on the rest.

Workers die with the parent (``PR_SET_PDEATHSIG`` on Linux, and everywhere a pipe
from the parent whose end-of-file ends them), and the process executor's processes with
their worker; SIGTERM to the parent stops the sweep as Ctrl-C does: what finished is
kept and summarised. The summary is a fold over the results file
(:func:`summarize_results`): its memory does not grow with the number of episodes.
"""

from __future__ import annotations

import ctypes
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

import attrs
import trio

from actors.agents.loading import PRIVILEGED_AGENTS, resolve_agent
from actors.episodes import make_job
from actors.world import StandardWorld
from sim.episode import EpisodeConfig, EpisodeResult
from sim.kernel.executors import Executor
from sim.metrics import DEFAULT_PASS_THRESHOLD, SummaryFold
from sim.results import ReadCounts, ResultsWriter, iter_results
from sim.runner import run_episodes
from sim.trace import dumps_line
from tasks.registry import discover_families

__all__ = [
    "PLAN_FILE",
    "RESULTS_FILE",
    "SUMMARY_FILE",
    "SweepOutcome",
    "SweepPlan",
    "SweepTerminated",
    "check_out_dir",
    "run_sweep",
    "summarize_results",
]

RESULTS_FILE = "results.jsonl"
SUMMARY_FILE = "summary.json"
PLAN_FILE = "plan.json"
#: Lost episodes the summary names (all of them are counted).
LOST_SHOWN = 20
#: Worker deaths a sweep tolerates beyond one per episode finished: past that, workers
#: die faster than episodes finish and the sweep gives up on what is left.
_DEATH_ALLOWANCE = 4
#: Seconds a worker gets to exit after it said it is done, or after SIGTERM.
_EXIT_GRACE = 5.0
#: Seconds between the parent's looks at the clock while it waits for rows.
_TICK = 0.5


def _once_each(names: Sequence[str]) -> tuple[str, ...]:
    """``names`` in order, each once: an episode named twice runs once."""
    return tuple(dict.fromkeys(names))


@attrs.frozen
class SweepPlan:
    """What to run. ``tasks`` and ``personas`` are explicit lists (the CLI expands ``all``)."""

    tasks: tuple[str, ...] = attrs.field(converter=_once_each)
    agent: str
    seeds: int
    personas: tuple[str, ...] = attrs.field(converter=_once_each)
    faults: tuple[str, ...] = ()
    tasks_dirs: tuple[str, ...] = ()
    agent_timeout: float = 60.0
    agent_executor: Executor = "auto"
    #: Hand the agent the whole task (gold included) in ``reset``; see ``make_job``.
    privileged: bool = False

    def episodes(self) -> list[tuple[str, str, int]]:
        """(task, persona, seed) of every episode, in a fixed order."""
        return [(t, p, s) for t in self.tasks for p in self.personas for s in range(self.seeds)]

    def size(self) -> int:
        """How many episodes the plan runs."""
        return len(self.tasks) * len(self.personas) * self.seeds

    def episode(self, index: int) -> tuple[str, str, int]:
        """(task, persona, seed) of episode ``index`` of :meth:`episodes`, without the list."""
        rest, seed = divmod(index, self.seeds)
        task, persona = divmod(rest, len(self.personas))
        return self.tasks[task], self.personas[persona], seed

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


class _PlanIndex:
    """A row's place in :meth:`SweepPlan.episodes` by arithmetic: no table of episodes,
    so finding a million rows' places takes a few small dicts."""

    def __init__(self, plan: SweepPlan) -> None:
        self.plan = plan
        self.tasks = {task: n for n, task in enumerate(plan.tasks)}
        self.personas = {persona: n for n, persona in enumerate(plan.personas)}
        self.faults = list(StandardWorld("cooperative", plan.faults).faults)

    def of(self, row: dict[str, Any]) -> int | None:
        """The index of ``row``'s episode, or ``None`` if the plan does not run it."""
        task = self.tasks.get(row["task_id"])
        persona = self.personas.get(row["persona"])
        seed = row["seed"]
        if (task is None or persona is None or row["agent"] != self.plan.agent
                or not 0 <= seed < self.plan.seeds or row["faults"] != self.faults):
            return None
        return int((task * len(self.personas) + persona) * self.plan.seeds + seed)


class _Bits:
    """One bit per episode: which episodes have a row (an eighth of a byte each)."""

    def __init__(self, size: int) -> None:
        self._bytes = bytearray((size + 7) // 8)

    def __contains__(self, index: int) -> bool:
        return bool(self._bytes[index >> 3] & (1 << (index & 7)))

    def add(self, index: int) -> None:
        self._bytes[index >> 3] |= 1 << (index & 7)


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


def _trace_name(row: dict[str, Any]) -> str:
    faults = "+".join(row["faults"]) or "nofault"
    return f"{row['task_id']}__{row['persona']}__{faults}__seed{row['seed']}.jsonl"


# ------------------------------------------------------------------------ the worker


class _Announced:
    """An agent factory that says when its episode starts (the runner calls it then), so
    the parent knows which episodes were in flight if the worker dies."""

    def __init__(self, factory: Callable[[], Any], index: int,
                 send: Callable[[Any], None]) -> None:
        self.factory = factory
        self.index = index
        self.send = send

    def __call__(self) -> Any:
        self.send(("start", self.index))
        return self.factory()


def _run_shard(plan: SweepPlan, indices: Sequence[int], concurrency: int,
               trace_dir: str | None, send: Callable[[Any], None]) -> None:
    families = discover_families(plan.tasks_dirs)
    config = EpisodeConfig(agent_timeout=plan.agent_timeout, agent_executor=plan.agent_executor)
    jobs = []
    for index in indices:
        task, persona, seed = plan.episode(index)
        job = make_job(families[task].variant(seed), plan.agent, seed=seed, persona=persona,
                       faults=plan.faults, config=config, privileged=plan.privileged)
        jobs.append(attrs.evolve(job, make_agent=_Announced(job.make_agent, index, send)))

    def on_result(position: int, result: EpisodeResult) -> None:
        row = result.summary()
        if trace_dir is not None:  # before the row: a row means its trace is whole
            result.trace.write(Path(trace_dir) / _trace_name(row))
        send(("row", indices[position], row))

    trio.run(lambda: run_episodes(jobs, concurrency=concurrency, on_result=on_result,
                                  collect=False))


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


def _worker(plan: SweepPlan, indices: list[int], concurrency: int, trace_dir: str | None,
            conn: Connection, parent_alive: Connection) -> None:
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


# ------------------------------------------------------------------------ the parent


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


class _Pool:
    """Runs episodes in worker processes and copes with workers that die."""

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
            target=_worker, name="sweep worker", daemon=False,
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
        if self.deaths > _DEATH_ALLOWANCE + self.finished:
            gave_up = (f"not run: {self.deaths} worker processes died and "
                       f"{self.finished} episodes finished (the last: {why})")
            self.lost.update(dict.fromkeys(self.suspects + self.normal, gave_up))
            self.suspects.clear()
            self.normal.clear()


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


# ------------------------------------------------------------------------ the folder


@contextmanager
def _locked(out: Path) -> Iterator[None]:
    """Hold the lock on the folder ``out``: the folder itself, so there is no lock file to
    leave behind, and ``flock``, which the system releases when the process ends, however
    it ends, so a lock is never stale. (Without ``fcntl``, not POSIX: no lock.)"""
    try:
        import fcntl
    except ImportError:
        yield
        return
    fd = os.open(out, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ValueError(f"{out}: another sweep is running on this folder; allowed: wait "
                             "for it to end, or a new --out") from None
        yield
    finally:
        os.close(fd)


def check_out_dir(plan: SweepPlan, out_dir: str | Path, *, resume: bool) -> tuple[int, int]:
    """Whether ``plan`` may write to ``out_dir`` (``ValueError``, one line, if not): no
    other sweep may be running there, and a results file there needs ``resume`` and the
    same plan. Returns how many of the plan's episodes have a row there, and how many
    torn or unreadable lines were dropped."""
    out = Path(out_dir)
    if out.is_dir():
        with _locked(out):
            pass
    done, counts = _scan(plan, out, resume=resume)
    return done, counts.dropped


def _scan(plan: SweepPlan, out: Path, *, resume: bool,
          done: _Bits | None = None) -> tuple[int, ReadCounts]:
    """Check the folder for ``plan`` (see :func:`check_out_dir`), marking in ``done`` the
    episodes that have a row; reads the results a line at a time."""
    results_path = out / RESULTS_FILE
    counts = ReadCounts()
    if not results_path.exists():
        return 0, counts
    if not resume:
        raise ValueError(f"{results_path} exists; allowed: --resume to finish it, or a new --out")
    judge_rows = not _check_recorded_plan(plan, out)
    allowed = "allowed: --resume with the same plan, or a new --out"
    privileged = plan.row_privileged() if judge_rows else False

    def judge(row: dict[str, Any], place: int | None) -> None:
        """A folder from before plan.json is judged by its rows."""
        if place is None:
            raise ValueError(f"{results_path}: holds {row['task_id']!r} seed {row['seed']} "
                             f"persona {row['persona']!r}, which this plan does not run; "
                             f"{allowed}")
        if "privileged" in row and bool(row["privileged"]) != privileged:
            raise ValueError(f"{results_path}: its rows are privileged="
                             f"{str(bool(row['privileged'])).lower()}, this plan's "
                             f"{str(privileged).lower()}; {allowed}")

    done = done if done is not None else _Bits(plan.size())
    rows = _episode_rows(plan, iter_results(results_path, counts), done, counts,
                         check=judge if judge_rows else None)
    return sum(1 for _ in rows), counts


def _episode_rows(plan: SweepPlan, rows: Iterable[dict[str, Any]], seen: _Bits,
                  counts: ReadCounts,
                  check: Callable[[dict[str, Any], int | None], None] | None = None,
                  ) -> Iterator[dict[str, Any]]:
    """The first row of each of ``plan``'s episodes among ``rows``, each marked in
    ``seen``: rows of other plans are left out, and an episode's repeated rows are
    counted in ``counts.duplicates``. ``check(row, place)`` sees every row first."""
    index = _PlanIndex(plan)
    for row in rows:
        place = index.of(row)
        if check is not None:
            check(row, place)
        if place is None:
            continue
        if place in seen:
            counts.duplicates += 1
            continue
        seen.add(place)
        yield row


def _check_recorded_plan(plan: SweepPlan, out: Path) -> bool:
    """Refuse to add ``plan``'s rows to a folder whose ``plan.json`` records another plan
    (``ValueError``, one line). False when there is no ``plan.json``."""
    allowed = "allowed: --resume with the same plan, or a new --out"
    plan_path = out / PLAN_FILE
    if not plan_path.exists():
        return False
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
            hashes = recorded.get(key)
            hashes = hashes if isinstance(hashes, dict) else {}
            changed = sorted(t for t, h in current[key].items() if hashes.get(t) != h)
            what = (f"task(s) {', '.join(changed)} changed since" if changed
                    else "its tasks differ")
        else:
            what = f"{key} was {recorded.get(key)!r}, now {current[key]!r}"
        raise ValueError(f"{out}: the sweep there ran a different plan ({what}); {allowed}")
    return True


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def summarize_results(plan: SweepPlan, results_path: str | Path, *,
                      threshold: float = DEFAULT_PASS_THRESHOLD
                      ) -> tuple[dict[str, Any], int, ReadCounts]:
    """The summary of ``plan``'s rows in a results file, a line at a time: memory stays
    flat however many episodes there are. Rows of other plans are left out, and an
    episode's repeated rows count once. Returns the summary, how many episodes it
    covers, and what reading left out."""
    fold = SummaryFold(threshold=threshold)
    counts = ReadCounts()
    for row in _episode_rows(plan, iter_results(results_path, counts), _Bits(plan.size()),
                             counts):
        fold.add(row)
    return fold.result(), fold.episodes, counts


def _describe_lost(plan: SweepPlan, index: int, why: str) -> dict[str, Any]:
    task, persona, seed = plan.episode(index)
    return {"task_id": task, "persona": persona, "seed": seed, "why": why}


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
    """Run the sweep, append results, write ``summary.json``; see the module docstring.

    ``on_row`` sees each row as it is written (for a progress bar). ``durable`` fsyncs
    the results file after every row (else every half second and at the end).
    KeyboardInterrupt (Ctrl-C) and SIGTERM stop the sweep cleanly: what finished is kept
    and summarised, and the outcome says which signal stopped it.
    """
    if concurrency < 1:
        raise ValueError(f"--concurrency {concurrency}: allowed: a whole number >= 1")
    if workers < 1:
        raise ValueError(f"--workers {workers}: allowed: a whole number >= 1")
    plan.validate()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with _locked(out):
        done = _Bits(plan.size())
        skipped, counts = _scan(plan, out, resume=resume, done=done)
        _write_atomically(out / PLAN_FILE, dumps_line(plan.identity()) + "\n")
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

            pool = _Pool(plan, concurrency, workers, tdir, emit, writer.sync_if_due)
            try:
                with _sigterm_as_interrupt():
                    if todo:
                        lost = pool.run(todo)
            except KeyboardInterrupt as stop:
                stop_signal = (signal.SIGTERM if isinstance(stop, SweepTerminated)
                               else signal.SIGINT)
        # The file is the truth: a stop may land between writing a row and counting it.
        summary, recorded, _ = summarize_results(plan, results_path, threshold=threshold)
        summary["plan"] = plan.describe()
        summary["complete"] = stop_signal is None and recorded == plan.size()
        summary["missing"] = plan.size() - recorded
        lost_rows = [_describe_lost(plan, i, why) for i, why in sorted(lost.items())]
        if lost_rows:
            summary["lost"] = {"episodes": len(lost_rows), "first": lost_rows[:LOST_SHOWN]}
        _write_atomically(out / SUMMARY_FILE, dumps_line(summary) + "\n")
    return SweepOutcome(recorded=recorded, ran=recorded - skipped, skipped=skipped,
                        dropped_lines=counts.dropped, duplicates=counts.duplicates,
                        interrupted=stop_signal is not None, stop_signal=stop_signal,
                        lost=lost_rows, summary=summary)
