"""One episode: the agent's turn loop, the SLA monitor, and the world around them.

:func:`run_episode` builds an :class:`~sim.kernel.environment.Environment`, spawns the
agent actor and the SLA monitor, lets a :class:`World` add the other actors
(customer, teams), runs it, grades the trace and returns an :class:`EpisodeResult`.
Nothing here knows which customer or team actors a world uses.

An agent that counts what it spends (an LLM agent: requests, tokens, cost) reports it
through an optional ``usage() -> dict[str, float]``, asked once at the episode's end
(inline and thread agents only: a process agent's code never runs here). The report
goes in the result (``agent_usage``), never in the trace, which stays deterministic.
"""

from __future__ import annotations

import hashlib
import inspect
import math
import time
from collections.abc import Callable
from functools import partial
from importlib import metadata
from typing import Any, Protocol, TypeVar

import attrs
import trio
from pydantic import BaseModel, ConfigDict, Field

from sim.event_log import EventLog
from sim.grading import GradeAccumulator
from sim.kernel.draws import Draws
from sim.kernel.environment import (
    ActorContext,
    Environment,
    SimulationError,
)
from sim.kernel.executors import (
    AgentFailure,
    AgentTimeout,
    Executor,
    ResolvedExecutor,
    as_agent_failure,
    decide,
    describe_exception,
    pick_executor,
    reset_agent,
)
from sim.kernel.taskpool import TaskPool
from sim.knowledge import search_knowledge_base
from sim.messages import (
    AGENT,
    CUSTOMER,
    EscalationRequest,
    Inbound,
    PublicReply,
    SlaBreached,
    team_address,
)
from sim.observation import ObservationMaker, Outcome
from sim.operations import bounded, parse_turn_entries
from sim.outlook import WorldOutlook, outlook_as_written
from sim.spec import PRIORITY_CHECK, PRIORITY_TURN
from sim.ticket import TicketState, apply_operation, check_operation
from sim.trace import DeferredPayload, Trace, TraceHeader, TraceResult
from tasks.base import TERMINAL_STATUSES, KnowledgeSnippet, SupportTaskSpec

__all__ = [
    "CODE_VERSION",
    "EpisodeConfig",
    "EpisodeResult",
    "EpisodeState",
    "World",
    "run_episode",
    "stable_seed",
    "trust_with_task",
]

SYSTEM = "system"
_T = TypeVar("_T")


def _code_version() -> str:
    try:
        return metadata.version("support-sim")
    except metadata.PackageNotFoundError:  # running from a source tree
        return "0+unknown"


CODE_VERSION = _code_version()


def stable_seed(*parts: object) -> int:
    """A 64-bit integer from ``parts``, the same in every process (unlike ``hash``)."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")


class EpisodeConfig(BaseModel):
    """Knobs of one episode that are not part of the task."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Real seconds an agent may take for one decision before the episode ends.
    agent_timeout: float = Field(default=60.0, gt=0, allow_inf_nan=False)
    #: How decisions run: ``auto`` runs async and built-in agents inline, others in a thread.
    agent_executor: Executor = "auto"
    #: Sees the grade so far as each turn after the first begins (the grade of the turns
    #: before it, which the agent never sees), then the score as the episode ends: the
    #: differences of successive values are the step rewards
    #: (:func:`sim.grading.step_rewards`), live, for learners. Not part of the trace.
    on_grade: Callable[[float], None] | None = Field(default=None, exclude=True, repr=False)

    def trace_view(self) -> dict[str, Any]:
        # The timeout only matters when it fires, and then the trace says so.
        return {"agent_executor": self.agent_executor}


#: The defaults, shared (a config is frozen): a sweep of a million jobs holds one, not a million.
DEFAULT_CONFIG = EpisodeConfig()


@attrs.define(slots=True)
class EpisodeState:
    """What every actor of one episode may read: the task, the ticket, the clock's facts."""

    task: SupportTaskSpec
    seed: int
    #: What the world lets any agent reach (the grader's view of it, too).
    outlook: WorldOutlook = attrs.field(
        default=attrs.Factory(lambda self: outlook_as_written(self.task), takes_self=True)
    )
    ticket: TicketState = attrs.field(factory=TicketState)
    reply_times: list[int] = attrs.field(factory=list)
    sla_breached: bool = False
    turns_taken: int = 0
    ended_at: int = 0
    termination_reason: str = "sim_error"
    error: str | None = None
    latencies: list[float] = attrs.field(factory=list)

    def rng(self, purpose: str) -> Draws:
        """Random draws private to this episode and ``purpose``."""
        return Draws(self.task.task_id, self.seed, purpose)

    def sla_met_now(self) -> bool:
        task = self.task
        return self.outlook.sla_met(task, replied=bool(self.reply_times),
                                    status=self.ticket.effective_status(task.gold_queue))


class World(Protocol):
    """The actors around the agent. ``populate`` spawns them into a fresh environment."""

    @property
    def persona(self) -> str: ...

    @property
    def faults(self) -> tuple[str, ...]: ...

    def outlook(self, task: SupportTaskSpec) -> WorldOutlook:
        """What this world lets any agent reach on ``task`` (see :mod:`sim.outlook`)."""
        ...

    def populate(self, env: Environment, state: EpisodeState) -> None: ...


class EpisodeResult(BaseModel):
    """The outcome of one episode, with real-time figures the trace leaves out."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    task_id: str
    #: The content hash of the task run: which variant of a family (SPEC §7).
    variant_hash: str
    seed: int
    agent: str
    persona: str
    faults: tuple[str, ...]
    score: float
    breakdown: dict[str, float | None]
    termination_reason: str
    steps: int
    sim_minutes: int
    sla_breached: bool
    invalid_operations: int
    privileged: bool = False
    error: str | None = None
    #: What the agent's ``usage()`` reported at the end (an LLM agent: requests, tokens,
    #: latency, cost); ``None`` without one, or when it failed (then ``error`` says why).
    agent_usage: dict[str, float] | None = None
    wall_seconds: float
    agent_latency_mean: float
    agent_latency_max: float
    trace: Trace = Field(exclude=True, repr=False)

    def summary(self) -> dict[str, Any]:
        """The result as a JSON-ready dict (no trace)."""
        return self.model_dump(mode="json")


class _Episode:
    """One episode's own parts: the agent's turn loop, the recorder, the SLA check.

    One slotted object whose bound methods the environment calls, rather than three
    closures: thousands of episodes in flight each save their cells and functions.
    """

    __slots__ = ("agent", "config", "events", "executor", "fold", "fold_operation", "observe",
                 "state")

    def __init__(self, agent: Any, state: EpisodeState, config: EpisodeConfig,
                 grader: GradeAccumulator) -> None:
        self.agent = agent
        self.state = state
        self.config = config
        #: Chosen by ``run_episode`` once the agent is reset (choosing reads agent code).
        self.executor: ResolvedExecutor = "inline"
        self.observe = ObservationMaker(state)
        #: The events so far (see :mod:`sim.event_log`).
        self.events = EventLog()
        self.fold = grader.fold
        self.fold_operation = grader.fold_operation

    def record(self, now: int, actor: str, kind: str,
               payload: dict[str, Any] | DeferredPayload) -> None:
        seq = self.events.append_event(now, actor, kind, payload)
        if isinstance(payload, DeferredPayload):
            payload = payload()
        self.fold(now, seq, actor, kind, payload)  # graded as it happens

    def grade_so_far(self) -> float:
        """The score of the events so far (for ``config.on_grade``; the grader is the one
        ``fold`` belongs to, which spares every episode a slot for it)."""
        grader: GradeAccumulator = self.fold.__self__  # type: ignore[attr-defined]
        return grader.summary()[0]

    def check_sla(self, ctx: ActorContext) -> None:
        """The SLA monitor: a check at the deadline, after any turn at that same instant."""
        state = self.state
        if state.sla_met_now():
            ctx.record("sla_met", {})
            return
        state.sla_breached = True
        ctx.record("sla_breach", {"deadline_minutes": state.task.ticket.sla_minutes_remaining})
        text = "SLA deadline passed without the SLA being met."
        ctx.send(AGENT, Inbound(SYSTEM, "sla_breach", text, time=ctx.now))
        ctx.send(CUSTOMER, SlaBreached())

    def _apply_turn(
        self, ctx: ActorContext, turn: int, decision: Any
    ) -> tuple[list[Outcome], tuple[KnowledgeSnippet, ...], bool]:
        """Apply every operation of a turn in order; report each one's outcome (as the
        data of the next observation's :class:`OperationResult` entries)."""
        state = self.state
        task = state.task
        entries, extra_rejected, turn_error = parse_turn_entries(decision)
        results: list[Outcome] = []
        kb: tuple[KnowledgeSnippet, ...] = ()
        done = False
        if turn_error is not None:
            ctx.record("invalid_turn", {
                "turn": turn, "error": turn_error, "rejected": max(1, extra_rejected)
            })
            results.append((-1, None, False, turn_error))
        for index, (operation, error, raw) in enumerate(entries):
            if operation is not None:
                error = check_operation(operation, task.catalog)
                name: str | None = operation.op
            else:
                name = raw.get("op") if isinstance(raw.get("op"), str) else None
            if error is not None:
                ctx.record("invalid_operation", {"turn": turn, "index": index,
                                                 "op": bounded(raw), "error": error})
                results.append((index, name, False, error))
                continue
            apply_operation(state.ticket, operation)
            # Parsed once already, by the turn: the grader takes it and reads no payload.
            self.fold_operation(
                ctx.now, self.events.append_operation(ctx.now, turn, index, raw), operation
            )
            results.append((index, name, True, None))
            kind = operation.op
            if kind == "reply":
                state.reply_times.append(ctx.now)
                ctx.send(CUSTOMER, PublicReply(operation.message, operation.request_fields, turn))
            elif kind == "escalate":
                ctx.send(team_address(operation.queue),
                         EscalationRequest(operation.queue, operation.summary, turn))
            elif kind == "search_kb":
                kb = search_knowledge_base(task.knowledge_base, operation.query)
                ctx.record("kb_results", {"turn": turn, "index": index,
                                          "article_ids": [a.article_id for a in kb]})
            elif kind == "finish" or (
                kind == "set_status" and operation.status in TERMINAL_STATUSES
            ):
                done = True
        return results, kb, done

    async def agent_turns(self, ctx: ActorContext) -> None:
        """The agent's actor: a turn every ``step_seconds`` until the episode ends."""
        state, config, observe = self.state, self.config, self.observe
        task = state.task
        inbox: list[Inbound] = []
        results: list[Outcome] = []
        kb: tuple[KnowledgeSnippet, ...] = ()
        reason: str = "max_steps"
        for turn in range(1, task.max_steps + 1):
            arrived = await ctx.sleep(
                (turn - 1) * task.step_seconds - ctx.now, priority=PRIORITY_TURN
            )
            inbox.extend(m for m in arrived if isinstance(m, Inbound))
            observation = observe(ctx.now, turn, inbox, results, kb)
            inbox = []
            if config.on_grade is not None and turn > 1:
                # Before this turn's event, where step_rewards takes the grade too.
                config.on_grade(self.grade_so_far())
            self.fold(ctx.now, self.events.append_turn(ctx.now, turn), AGENT, "turn",
                      {"turn": turn})
            state.turns_taken = turn
            started = time.perf_counter()
            try:
                self.agent, decision = await decide(
                    self.agent, observation, timeout=config.agent_timeout,
                    executor=self.executor,
                )
            except AgentTimeout as error:
                reason, state.error = "agent_timeout", str(error)
                ctx.record("agent_timeout", {"turn": turn, "limit_seconds": config.agent_timeout})
                break
            except AgentFailure as error:  # anything else is the simulator's: sim_error
                reason, state.error = "agent_error", str(error)
                ctx.record("agent_error", {
                    "turn": turn, "type": error.name, "message": error.message,
                    "traceback": error.trace,
                })
                break
            finally:
                state.latencies.append(time.perf_counter() - started)
                # Not held while waiting for the next turn: thousands of episodes in
                # flight would each keep one.
                del observation
            results, kb, done = self._apply_turn(ctx, turn, decision)
            del decision, arrived  # likewise: the trace keeps what matters of them
            if done:
                reason = "finished"
                break
        state.termination_reason = reason
        state.ended_at = ctx.now
        ctx.record("end", {"reason": reason, "turn": state.turns_taken})
        ctx.stop()


async def run_episode(
    task: SupportTaskSpec,
    agent: Any,
    *,
    world: World,
    seed: int = 0,
    agent_name: str = "custom",
    config: EpisodeConfig | None = None,
    pool: TaskPool | None = None,
    privileged: bool = False,
) -> EpisodeResult:
    """Run one episode to its end and grade it. Never raises for the agent's faults, nor
    for the world's or the grader's: the agent's end the episode as ``agent_error`` or
    ``agent_timeout``, the others as ``sim_error``, with the error. Only a cancellation
    (a real Ctrl-C) goes through.

    The agent's ``reset(brief, seed)`` gets a :class:`~tasks.base.TaskBrief` (no gold),
    or, when ``privileged``, the whole task as a private copy. The grader judges against
    ``task`` itself; a task changed by the end of the episode (trusted in-process code
    reaching it some other way) ends the episode as ``sim_error``, scored 0.

    ``pool`` lends the actors their tasks (see :mod:`sim.kernel.taskpool`); by default the
    episode opens its own.

    ``config.on_grade``, if set, sees the grade as the episode goes (see
    :class:`EpisodeConfig`): the step rewards live, for learners (the RL adapters).
    """
    # A run being stopped (Ctrl-C) starts no new episode: an episode may otherwise run
    # to its end without meeting a checkpoint (inline agents, the kernel's own deliveries).
    await trio.lowlevel.checkpoint_if_cancelled()
    config = config or DEFAULT_CONFIG
    started = time.perf_counter()
    fingerprint = _task_hash(task)
    try:
        outlook = world.outlook(task)
        failure = None
    except Exception as error:  # the world's code: this episode cannot run
        outlook, failure = outlook_as_written(task), _failed("the world", error)
    state = EpisodeState(task=task, seed=seed, outlook=outlook)
    grader = GradeAccumulator(task, outlook)
    episode = _Episode(agent, state, config, grader)
    env = Environment(trace=episode.record)
    started_agent = False
    if failure is None:
        try:  # reading the agent's attributes runs its code
            resets = callable(getattr(agent, "reset", None))
            episode.executor = pick_executor(agent, config.agent_executor)
        except BaseException as error:  # (a cancellation or a real Ctrl-C is raised again)
            state.termination_reason, state.error = "agent_error", str(as_agent_failure(error))
        else:
            try:
                if resets:
                    agent = episode.agent = await reset_agent(
                        agent, _agent_view(task, agent, privileged), seed,
                        timeout=config.agent_timeout, executor=episode.executor,
                    )
                started_agent = True
            except AgentTimeout as error:
                state.termination_reason, state.error = "agent_timeout", str(error)
            except AgentFailure as error:
                state.termination_reason, state.error = "agent_error", str(error)
            except Exception as error:  # not the agent's: a worker process that cannot start
                failure = _failed("the simulation", error)
    if started_agent:
        try:
            env.spawn(AGENT, episode.agent_turns)
            env.call_at(task.sla_deadline_seconds, "sla_monitor", episode.check_sla,
                        priority=PRIORITY_CHECK)
            world.populate(env, state)
        except Exception as error:
            failure = _failed("the world", error)
        else:
            try:
                await env.run(pool)
            except SimulationError as error:  # an actor (the grader in it) raised
                failure = str(error)
            except Exception as error:  # the kernel itself
                failure = _failed("the simulation", error)
            if failure is not None:
                state.ended_at = env.now
    if _task_hash(task) != fingerprint:
        failure = (f"the task {task.task_id!r} changed during the episode (its hash no "
                   "longer matches); agents must not write to the task they are handed")
        grader.void(failure)  # nothing is graded against a changed task
    try:
        score, breakdown, sla_breached = grader.summary()
    except Exception as error:  # a grader bug (or a task broken under it) ends this episode
        failure = _failed("the grader", error)
        score, breakdown, sla_breached = 0.0, {}, True
        grader.void(failure)
    if failure is not None:
        state.termination_reason, state.error = "sim_error", failure
    if config.on_grade is not None:
        config.on_grade(score)
    usage: dict[str, float] | None = None
    row_error = state.error
    if started_agent and episode.executor != "process":
        usage, usage_error = await _agent_usage(episode.agent, episode.executor,
                                                config.agent_timeout)
        if usage_error is not None:  # reported in the row: usage is no part of the trace
            row_error = (usage_error if row_error is None
                         else f"{row_error}; also {usage_error}")
    # The header and the result line (with the full grade report) are made when the
    # trace is first read: a run that only wants scores never builds them.
    header = partial(
        TraceHeader, task_id=task.task_id, task_hash=task.content_hash, seed=seed,
        agent=agent_name, persona=world.persona, faults=tuple(world.faults),
        config=config.trace_view(), code_version=CODE_VERSION, privileged=privileged,
        world=outlook, family=task.family, variant_hash=task.content_hash,
    )
    result_line = partial(
        _result_line, grader, termination_reason=state.termination_reason,
        steps=state.turns_taken, sim_minutes=state.ended_at // 60, error=state.error,
    )
    # The events too: only the flat list is kept (not the episode, which holds the agent).
    trace = Trace(header=header, events=episode.events.trace_events,
                  result=result_line)
    latencies = state.latencies or [0.0]
    return EpisodeResult(
        task_id=task.task_id, variant_hash=task.content_hash, seed=seed, agent=agent_name,
        persona=world.persona, faults=tuple(world.faults), score=score, breakdown=breakdown,
        termination_reason=state.termination_reason, steps=state.turns_taken,
        sim_minutes=state.ended_at // 60, sla_breached=sla_breached,
        invalid_operations=len(grader.invalid_seqs), privileged=privileged, error=row_error,
        agent_usage=usage, wall_seconds=time.perf_counter() - started,
        agent_latency_mean=sum(latencies) / len(latencies), agent_latency_max=max(latencies),
        trace=trace,
    )


async def _agent_usage(agent: Any, executor: ResolvedExecutor, timeout: float
                       ) -> tuple[dict[str, float] | None, str | None]:
    """``(report, None)`` from the agent's ``usage()``, if it has one (else ``(None,
    None)``), or ``(None, why)`` when it raised, took longer than ``timeout`` or returned
    something other than a dict of name -> finite number. A sync ``usage()`` of a thread
    agent runs in a thread too; an awaitable result is awaited. Never the episode's end:
    usage is reporting, and the episode's outcome is decided by then."""
    late = f"the agent's usage() took longer than {timeout:g} s"
    try:
        usage = getattr(agent, "usage", None)
        if not callable(usage):
            return None, None
        with trio.fail_after(timeout):
            if executor == "thread" and not inspect.iscoroutinefunction(usage):
                # Its own limiter: an abandoned thread holds no token anyone else needs.
                value = await trio.to_thread.run_sync(usage, abandon_on_cancel=True,
                                                      limiter=trio.CapacityLimiter(1))
            else:
                value = usage()
            if inspect.isawaitable(value):
                value = await value
    except trio.TooSlowError:
        return None, late
    except BaseException as error:  # agent code (a cancellation or a real Ctrl-C goes on)
        return None, f"the agent's usage() raised {as_agent_failure(error)}"
    if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, int | float) and not isinstance(v, bool)
            and math.isfinite(v) for k, v in value.items()):
        return None, (f"the agent's usage() returned a {type(value).__name__} that is not a "
                      "dict of name -> finite number; allowed: a dict of str -> float")
    return {k: float(v) for k, v in value.items()}, None


#: Agent classes trusted with the grader's own task object in a privileged run.
_TRUSTED_WITH_TASK: set[type] = set()


def trust_with_task(cls: type[_T]) -> type[_T]:
    """Class decorator: privileged runs hand this agent class the task itself, not a copy.

    For library agents that read the task and never write to it (the built-in oracle):
    a copy per episode costs thousands of episodes in flight dearly. The end-of-episode
    hash check still catches a write. In-process code is trusted code either way (it
    could reach the task some other way); this only skips a safeguard for agents that
    do not need it.
    """
    _TRUSTED_WITH_TASK.add(cls)
    return cls


def _agent_view(task: SupportTaskSpec, agent: Any, privileged: bool) -> Any:
    """What ``reset`` hands the agent: the brief, or the task for a privileged run."""
    if not privileged:
        return task.brief()
    return task if type(agent) in _TRUSTED_WITH_TASK else task.private_copy()


def _result_line(grader: GradeAccumulator, **fields: Any) -> TraceResult:
    try:
        report = grader.report_data()
    except Exception as error:  # made after the episode, when its trace is written
        # The grader failed on this episode: say so in the trace rather than fail its
        # writer (and the run around it).
        fields.update(termination_reason="sim_error", error=_failed("the grader", error))
        return TraceResult(score=0.0, sla_breached=True, report=None, **fields)
    return TraceResult(score=report["score"], sla_breached=report["sla_breached"],
                       report=report, **fields)


def _failed(what: str, error: Exception) -> str:
    """The ``error`` of a ``sim_error`` that ``what`` raised."""
    name, message, _ = describe_exception(error)
    return f"{what} raised {name}: {message}"


def _task_hash(task: SupportTaskSpec) -> int | None:
    """The task's hash; ``None`` if a value written into it cannot be hashed (it changed)."""
    try:
        return hash(task)
    except Exception:
        return None
