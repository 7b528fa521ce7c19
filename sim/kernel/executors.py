"""Calling the agent under test: sync or async, inline, in a thread, or in a process.

An agent is any object with ``act(observation) -> turn`` (sync or ``async``), and
optionally ``reset(brief, seed)``. A decision that takes longer than the real-time
limit raises :class:`AgentTimeout`; anything the agent's code raises (``SystemExit``
and ``KeyboardInterrupt`` too) comes out as :class:`AgentFailure`, which ends that
episode only. How a decision runs is the executor:

``inline``
    In the episode's own trio task: the fastest. An ``async`` agent is interrupted at
    its next checkpoint when the limit passes; a sync agent cannot be interrupted.
``thread``
    A sync agent runs in a worker thread. When the limit passes the episode ends at
    once and the thread is abandoned: it may go on running (its answer is discarded),
    but it can no longer change anything, and it no longer counts against the
    :data:`AGENT_THREADS` decisions that may run at once. A CPU-bound thread still holds
    the GIL while it runs, which slows every other episode in the process.
``process``
    Each decision runs in a worker process (trio-parallel), which is killed when the
    limit passes, so even a CPU-bound agent that never yields is stopped. The agent is
    pickled there and back with every decision (its state travels with it), which costs
    about a millisecond or more per decision and needs a picklable, importable agent.
    At most as many decisions run at once as trio-parallel's worker limiter allows (the
    number of CPUs); the limit counts from the moment a started worker has the decision,
    so neither waiting for a free worker nor starting one counts against it.
``auto`` (the default)
    ``inline`` for ``async`` agents and agents marked ``inline_safe`` (the built-ins),
    ``thread`` for any other sync agent.

A real Ctrl-C still stops a run: trio raises the ``KeyboardInterrupt`` of a SIGINT
from its own code, and that one is passed on, never taken for the agent's.
"""

from __future__ import annotations

import atexit
import contextlib
import inspect
import os
import sys
import threading
import traceback
from collections.abc import AsyncIterator, Callable
from typing import Any, Literal, NoReturn, Protocol, runtime_checkable

import trio
from trio.lowlevel import RunVar

__all__ = [
    "AGENT_THREADS",
    "Agent",
    "AgentFailure",
    "AgentTimeout",
    "Executor",
    "as_agent_failure",
    "decide",
    "describe_exception",
    "exit_leaving_stray_threads",
    "pick_executor",
    "reset_agent",
]

#: Longest exception message and traceback kept in results and traces.
MAX_ERROR_CHARS = 2_000
MAX_TRACEBACK_CHARS = 20_000
#: Thread-executor decisions that may run at once in one trio run. A decision abandoned
#: at its limit gives its slot back then, though its thread may run on: hung agents
#: never starve the decisions after them.
AGENT_THREADS = 64

Executor = Literal["auto", "inline", "thread", "process"]
ResolvedExecutor = Literal["inline", "thread", "process"]


@runtime_checkable
class Agent(Protocol):
    """The support agent under test."""

    def act(self, observation: Any) -> Any: ...


class AgentTimeout(Exception):
    """The agent took longer than the per-decision real-time limit."""


class AgentFailure(Exception):
    """Agent code raised: the type name, message and traceback of what it raised, as text.

    Text rather than the exception itself: it may be a ``SystemExit`` (which must not
    end the run), unpicklable (from a worker process), or unprintable.
    """

    def __init__(self, name: str, message: str, trace: str) -> None:
        super().__init__(name, message, trace)
        self.name, self.message, self.trace = name, message, trace

    def __str__(self) -> str:
        return f"{self.name}: {self.message}"


def describe_exception(error: BaseException) -> tuple[str, str, str]:
    """(type name, message, traceback) of an agent's exception, bounded; never raises.

    Agent code can raise anything, including exceptions whose ``str`` raises.
    """
    name = type(error).__name__
    try:
        message = str(error)
    except Exception:
        message = f"<unprintable {name}>"
    try:
        trace = "".join(traceback.format_exception(error))
    except Exception:
        trace = f"<traceback of {name} unavailable>"
    return (name, message[:MAX_ERROR_CHARS], trace[-MAX_TRACEBACK_CHARS:])


_TRIO_CODE = os.path.dirname(trio.__file__) + os.sep


def _from_signal(error: KeyboardInterrupt) -> bool:
    """Whether trio raised ``error`` for a SIGINT: from its signal handler or at a
    checkpoint, so the innermost frame is trio's. An agent's own ``raise
    KeyboardInterrupt`` ends in the agent's code."""
    tb = error.__traceback__
    if tb is None:
        return True  # never raised through Python code: not the agent's either
    while tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame.f_code.co_filename.startswith(_TRIO_CODE)


def _agents(error: BaseException) -> bool:
    """Whether ``error``, out of a call into agent code, is the agent's own failure:
    not a cancellation (a timeout, the run stopping) and not a real Ctrl-C."""
    if isinstance(error, BaseExceptionGroup):
        return all(_agents(e) for e in error.exceptions)
    if isinstance(error, (trio.Cancelled, GeneratorExit)):
        return False
    if isinstance(error, KeyboardInterrupt):
        return not _from_signal(error)
    return True


def as_agent_failure(error: BaseException) -> AgentFailure:
    """``error``, raised by agent code, as an :class:`AgentFailure`. A cancellation or a
    real Ctrl-C is not the agent's: it is raised again, as it is."""
    if not _agents(error):
        raise error
    if isinstance(error, AgentFailure):
        return error
    return AgentFailure(*describe_exception(error))


def pick_executor(agent: Any, executor: Executor) -> ResolvedExecutor:
    """Resolve ``auto``: async agents and agents marked ``inline_safe`` run inline."""
    if executor != "auto":
        return executor
    if inspect.iscoroutinefunction(agent.act) or getattr(agent, "inline_safe", False):
        return "inline"
    return "thread"


# -- in a worker process: what runs there, and what comes back ------------------------
def _settled(result: Any) -> Any:
    """``result``, awaited in a trio run of its own if the agent's method was async."""
    if inspect.isawaitable(result):
        async def wait() -> Any:
            return await result
        result = trio.run(wait)
    return result


def _act_in_process(agent: Any, observation: Any) -> tuple[Any, Any]:
    try:
        result = _settled(agent.act(observation))
    except BaseException as error:  # SIGINT is ignored in workers: all of it is the agent's
        raise AgentFailure(*describe_exception(error)) from None
    return agent, result


def _reset_in_process(agent: Any, view: Any, seed: int) -> Any:
    try:
        _settled(agent.reset(view, seed))
    except BaseException as error:
        raise AgentFailure(*describe_exception(error)) from None
    return agent


# -- the executors ------------------------------------------------------------------------
_thread_limiters: RunVar[tuple[trio.CapacityLimiter, trio.CapacityLimiter]] = RunVar(
    "support_sim_agent_threads")
#: What trio-parallel is given as its limiter: the caller holds a slot already.
_NO_LIMIT = contextlib.nullcontext()


@contextlib.asynccontextmanager
async def _slot(limiter: trio.CapacityLimiter) -> AsyncIterator[None]:
    """A token of ``limiter``, held for this call alone (not for the calling task)."""
    holder = object()
    await limiter.acquire_on_behalf_of(holder)
    try:
        yield
    finally:
        limiter.release_on_behalf_of(holder)


async def _timed(start: Callable[[], Any], timeout: float, late: str) -> Any:
    """``await start()`` within ``timeout``; agent failures as :class:`AgentFailure`."""
    try:
        with trio.fail_after(timeout):
            result = await start()
            if inspect.isawaitable(result):  # an async method, called in a thread
                result = await result
            return result
    except trio.TooSlowError:
        raise AgentTimeout(late) from None
    except BaseException as error:
        raise as_agent_failure(error) from None


async def _in_thread(method: Callable[..., Any], *args: Any, timeout: float, late: str) -> Any:
    """``method(*args)`` in a thread, abandoned at ``timeout``.

    Not under trio's default thread limiter, which keeps an abandoned thread's token
    until the thread returns (never, for a hung agent; 40 of them starve every thread
    in the process, trio-parallel's worker starts included). Here an abandoned thread
    holds a token of an unbounded limiter only, and gives its slot back at once.
    """
    if inspect.iscoroutinefunction(method):  # needs no thread (and trio refuses one)
        return await _timed(lambda: method(*args), timeout, late)
    try:
        slots, unbounded = _thread_limiters.get()
    except LookupError:
        slots, unbounded = trio.CapacityLimiter(AGENT_THREADS), trio.CapacityLimiter(float("inf"))
        _thread_limiters.set((slots, unbounded))
    async with _slot(slots):  # waiting for a slot is not the agent's time
        return await _timed(
            lambda: trio.to_thread.run_sync(method, *args, abandon_on_cancel=True,
                                            limiter=unbounded),
            timeout, late)


async def _in_process(job: Callable[..., Any], *args: Any, timeout: float, late: str) -> Any:
    """``job(*args)`` in a worker process, which is killed at ``timeout``.

    The limit counts from when a started worker has the job: a slot of trio-parallel's
    worker limiter is taken first, and a worker started if none is idle, untimed. (The
    cache is last-in first-out and no other task runs between the two calls, so the
    timed call gets the worker just started.)
    """
    import trio_parallel  # only here: it brings multiprocessing with it

    async with _slot(trio_parallel.current_default_worker_limiter()):
        if not trio_parallel.default_context_statistics().idle_workers:
            await trio_parallel.run_sync(bool, kill_on_cancel=True, limiter=_NO_LIMIT)
        return await _timed(
            lambda: trio_parallel.run_sync(job, *args, kill_on_cancel=True, limiter=_NO_LIMIT),
            timeout, late)


async def reset_agent(agent: Any, view: Any, seed: int, *, timeout: float,
                      executor: ResolvedExecutor) -> Any:
    """``agent.reset(view, seed)`` where its decisions will run, within ``timeout``; the
    agent back (a copy, from a worker process). Under ``process`` the reset runs in the
    worker too, so an untrusted agent's code never runs in the simulator's process."""
    late = f"reset took longer than {timeout:g} s"
    if executor == "process":
        return await _in_process(_reset_in_process, agent, view, seed, timeout=timeout,
                                 late=late)
    if executor == "thread":
        await _in_thread(agent.reset, view, seed, timeout=timeout, late=late)
        return agent
    try:
        result = agent.reset(view, seed)
    except BaseException as error:
        raise as_agent_failure(error) from None
    if inspect.isawaitable(result):
        await _timed(lambda: result, timeout, late)
    return agent


async def decide(
    agent: Any, observation: Any, *, timeout: float, executor: ResolvedExecutor
) -> tuple[Any, Any]:
    """One decision of ``agent`` within ``timeout`` real seconds: ``(agent, turn)``.

    The agent comes back too because in a worker process it is a copy, whose state
    after the decision is the one to keep.
    """
    late = f"no decision within {timeout:g} s"
    if executor == "inline":
        # A run being stopped (Ctrl-C) makes no new decision: an inline episode may
        # otherwise meet no checkpoint, and a sync agent would run on regardless.
        await trio.lowlevel.checkpoint_if_cancelled()
        try:
            result = agent.act(observation)
        except BaseException as error:
            raise as_agent_failure(error) from None
        # A sync call cannot be interrupted: no timer to set. (A list, the usual answer,
        # is checked first: isawaitable's ABC check costs more than the call.)
        if type(result) is list or not inspect.isawaitable(result):
            return agent, result
        return agent, await _timed(lambda: result, timeout, late)
    if executor == "process":
        agent, result = await _in_process(_act_in_process, agent, observation,
                                          timeout=timeout, late=late)
        return agent, result
    return agent, await _in_thread(agent.act, observation, timeout=timeout, late=late)


def exit_leaving_stray_threads(status: int) -> NoReturn:
    """Exit the process with ``status``, even if agent code left threads running.

    Python waits for every non-daemon thread before it exits, so an agent that started
    one would keep the process alive after its summary. When such threads remain, the
    output is flushed and the exit handlers run, then the process ends without waiting.
    """
    stray = [t.name for t in threading.enumerate()
             if t is not threading.main_thread() and not t.daemon and t.is_alive()]
    if not stray:
        sys.exit(status)
    print(f"note: left {len(stray)} thread(s) the agent started still running "
          f"({', '.join(stray[:3])}{', ...' if len(stray) > 3 else ''}); exiting without "
          "waiting for them", file=sys.stderr)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    atexit._run_exitfuncs()
    os._exit(status)
