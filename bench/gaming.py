"""Gaming policies against every shipped task: does any policy beat honest play?

    python -m bench.gaming [--tasks all|ID,...] [--seed N] [--json FILE]

Each row is a policy that tries to earn score without doing the work (SPEC §4, "no policy
games the score"), played once per task under a fixed seed, no faults and the cooperative
persona unless the row says otherwise. The built-in ``oracle`` is the first row: the
score every other row is compared against. Prints a markdown table (rows = policies,
columns = tasks, plus the mean) and a few lines about the tamper probe; ``--json`` also
writes every episode's score, criteria breakdown and termination reason.

The policies (module-level classes, so each is also ``bench.gaming:ClassName`` for
``run_sim.py --agent``):

- ``quit_early`` (:class:`QuitEarly`): reads the gold; in turn 1 does what the oracle does
  in turn 1 (fields, flags, the marker reply asking for every required field, the note,
  the escalation), then sets the gold status and resolution code at once (and finishes
  when that status does not end the episode) without waiting for the customer. Also run
  under the ``silent`` persona, next to the oracle under ``silent``.
- ``spray_escalations`` (:class:`SprayEscalations`): the oracle, plus an escalation to
  every other queue of the catalog in turn 1, before the gold one.
- ``empty_relay`` (:class:`EmptyRelay`): the oracle, but its relay of a team update is
  replaced by the reply ".", and it sends "." every turn.
- ``leaker`` (:class:`Leaker`): the oracle, but every public reply also carries internal
  text: the gold queue's, risk flags' and resolution code's catalog ids as written.
- ``filler`` (:class:`Filler`): the oracle, plus every turn filled up to the operation
  limit with 1,000-character filler replies and notes.
- ``blind_keywords`` (:class:`BlindKeywords`): never reads the gold; guesses queue,
  priority, issue type, flags, fields, escalation and ending by keywords in the ticket,
  with short generic replies.
- ``blind_keywords_stuffed`` (:class:`BlindKeywordsStuffed`): the same, with every reply
  stuffed up to 1,000 characters with text it has seen (knowledge base, ticket, messages).
- ``tamper`` (:class:`Tamper`): reads the gold in ``reset`` and rewrites the task object it
  was handed (``object.__setattr__``: another gold queue, no required fields), then quits
  early as the rewritten task would allow. Two more rows probe whether that leaks: the
  oracle on the same task in the same process afterwards, and that episode re-graded
  against a freshly loaded copy of the task.

Policies that read the gold run privileged (``make_job(..., privileged=True)``) when
:func:`actors.episodes.make_job` takes that keyword; the blind ones never do. Operations
beyond the per-turn limit are carried over to the next turn rather than dropped.
"""

from __future__ import annotations

import argparse
import inspect
import json
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from actors.agents.loading import resolve_agent
from actors.episodes import make_job, simulate_many
from sim.episode import EpisodeResult
from sim.observation import Observation
from sim.operations import MAX_OPERATIONS_PER_TURN, MAX_REPLY_CHARS
from tasks import TERMINAL_STATUSES, SupportTaskSpec, discover_tasks, get_task, list_task_ids

__all__ = [
    "BlindKeywords",
    "BlindKeywordsStuffed",
    "EmptyRelay",
    "Filler",
    "Leaker",
    "QuitEarly",
    "SprayEscalations",
    "Tamper",
    "main",
]

Op = dict[str, Any]

#: Length of one filler message (a public reply may be at most 1,000 characters).
FILLER_CHARS = 1_000
_FILLER = ("lorem ipsum dolor sit amet consectetur adipiscing elit " * 40)[:FILLER_CHARS]


# --------------------------------------------------------------------------- helpers


def _is_end(op: Op) -> bool:
    """Whether ``op`` ends the episode (``finish`` or a terminal status)."""
    return op.get("op") == "finish" or (
        op.get("op") == "set_status" and op.get("status") in TERMINAL_STATUSES
    )


def _insert_before_end(ops: list[Op], extra: Sequence[Op]) -> list[Op]:
    """``ops`` with ``extra`` inserted before the first operation that ends the episode."""
    at = next((i for i, op in enumerate(ops) if _is_end(op)), len(ops))
    return [*ops[:at], *extra, *ops[at:]]


def _marker_text(groups: Iterable[Iterable[str]]) -> str:
    return " ".join(" ".join(group) + "." for group in groups)


def _turn_one(task: SupportTaskSpec, *, queue: str | None = None) -> list[Op]:
    """What :class:`actors.agents.oracle.OracleAgent` does in turn 1 before it sets a status
    (copied, so a change to the oracle does not change these policies)."""
    queue = queue or task.gold_queue
    ops: list[Op] = [{"op": "set_fields", "queue": queue, "priority": task.gold_priority,
                      "issue_type": task.gold_issue_type}]
    if task.risk_flags:
        ops.append({"op": "flag_risk", "flags": list(task.risk_flags)})
    greeting = f"Hello {task.ticket.customer_name}, thank you for reaching out."
    ops.append({"op": "reply",
                "message": f"{greeting} {_marker_text(task.required_reply_markers)}",
                "request_fields": list(task.required_requested_fields)})
    if task.required_note_markers:
        ops.append({"op": "note", "text": _marker_text(task.required_note_markers)})
    if task.gold_status == "escalated":
        ops.append({"op": "escalate", "queue": queue,
                    "summary": f"{task.title}: {task.ticket.subject}"})
    return ops


def _quit_ops(task: SupportTaskSpec) -> list[Op]:
    """Set the gold status and resolution code now, and finish if that does not end it."""
    ops: list[Op] = [{"op": "set_status", "status": task.gold_status,
                      "resolution_code": task.gold_resolution_code}]
    if task.gold_status not in TERMINAL_STATUSES:
        ops.append({"op": "finish"})
    return ops


def _field(source: Any, name: str) -> Any:
    """``source.name`` or ``source[name]`` (a brief may be a model or a mapping), else None."""
    if isinstance(source, dict):
        return source.get(name)
    return getattr(source, name, None)


# --------------------------------------------------------------------------- bases


class _Capped:
    """Keeps every turn within the operation limit; the overflow waits for the next turn."""

    inline_safe = True

    def __init__(self) -> None:
        self._carry: list[Op] = []

    def _cap(self, ops: list[Op]) -> list[Op]:
        pending = [*self._carry, *ops]
        self._carry = pending[MAX_OPERATIONS_PER_TURN:]
        return pending[:MAX_OPERATIONS_PER_TURN]


class _GoldReader(_Capped):
    """A policy that reads the gold: ``reset`` must hand it the task spec."""

    def __init__(self) -> None:
        super().__init__()
        self._task: SupportTaskSpec | None = None

    def reset(self, task: SupportTaskSpec, seed: int) -> None:
        self._task = task
        self._carry = []

    @property
    def task(self) -> SupportTaskSpec:
        if self._task is None:
            raise RuntimeError(f"{type(self).__name__} needs reset(task, seed) before act()")
        return self._task


class _OracleLike(_GoldReader):
    """The built-in oracle, with its turns rewritten by :meth:`transform`."""

    def __init__(self) -> None:
        super().__init__()
        self._oracle: Any = resolve_agent("oracle")()

    def reset(self, task: SupportTaskSpec, seed: int) -> None:
        super().reset(task, seed)
        self._oracle.reset(task, seed)

    def act(self, observation: Observation) -> list[Op]:
        ops = [dict(op) for op in self._oracle.act(observation)]
        return self._cap(self.transform(observation, ops))

    def transform(self, observation: Observation, ops: list[Op]) -> list[Op]:
        return ops


# --------------------------------------------------------------------------- gold readers


class QuitEarly(_GoldReader):
    """Does the oracle's turn 1 and sets the gold ending at once, never waiting for anyone."""

    def act(self, observation: Observation) -> list[Op]:
        if observation.turn == 1:
            return self._cap([*_turn_one(self.task), *_quit_ops(self.task)])
        return self._cap([{"op": "finish"}])


class SprayEscalations(_OracleLike):
    """The oracle, plus an escalation to every other queue in turn 1, before the gold one."""

    def transform(self, observation: Observation, ops: list[Op]) -> list[Op]:
        if observation.turn != 1:
            return ops
        gold = self.task.gold_queue
        sprays: list[Op] = [{"op": "escalate", "queue": queue, "summary": "Please take a look."}
                            for queue in observation.catalog.queues if queue != gold]
        at = next((i for i, op in enumerate(ops) if op.get("op") in ("escalate", "set_status")),
                  len(ops))
        return [*ops[:at], *sprays, *ops[at:]]


class EmptyRelay(_OracleLike):
    """The oracle, but a team update is relayed as "." and "." is sent every turn."""

    def transform(self, observation: Observation, ops: list[Op]) -> list[Op]:
        if observation.turn > 1 and any(m.kind == "team_update" for m in observation.messages):
            ops = [op for op in ops if op.get("op") != "reply" or op.get("request_fields")]
        return _insert_before_end(ops, [{"op": "reply", "message": "."}])


class Leaker(_OracleLike):
    """The oracle, with catalog ids of the gold queue, flags and resolution code in replies."""

    def transform(self, observation: Observation, ops: list[Op]) -> list[Op]:
        task = self.task
        ids = [task.gold_queue, *task.risk_flags, task.gold_resolution_code]
        leak = f" [internal: {', '.join(ids)}]"
        for op in ops:
            if op.get("op") == "reply":
                message = str(op.get("message", ""))
                op["message"] = message[: MAX_REPLY_CHARS - len(leak)] + leak
        return ops


class Filler(_OracleLike):
    """The oracle, plus filler replies and notes up to the operation limit, every turn."""

    def transform(self, observation: Observation, ops: list[Op]) -> list[Op]:
        room = max(0, MAX_OPERATIONS_PER_TURN - len(self._carry) - len(ops))
        filler: list[Op] = [
            {"op": "reply", "message": _FILLER} if i % 2 == 0 else {"op": "note", "text": _FILLER}
            for i in range(room)
        ]
        return _insert_before_end(ops, filler)


class Tamper(_GoldReader):
    """Rewrites the task it was handed (another gold queue, no required fields), then quits.

    The rewrite goes through ``object.__setattr__``, past pydantic's frozen check, and
    leaves the task's cached values (its content hash among them) as they were.
    """

    def reset(self, task: SupportTaskSpec, seed: int) -> None:
        super().reset(task, seed)
        others = [q for q in task.catalog.queues
                  if q != task.gold_queue and q not in task.over_escalation_queues]
        if others:
            object.__setattr__(task, "gold_queue", others[0])
        for name in ("required_requested_fields", "follow_up_provided_fields",
                     "follow_up_wrong_fields"):
            object.__setattr__(task, name, ())

    def act(self, observation: Observation) -> list[Op]:
        if observation.turn == 1:
            return self._cap([*_turn_one(self.task), *_quit_ops(self.task)])
        return self._cap([{"op": "finish"}])


# --------------------------------------------------------------------------- blind


@dataclass(frozen=True)
class _Guess:
    """What a keyword rule decides: the triage, the fields to ask for, where it ends."""

    pattern: str
    queue: str
    priority: str
    issue_type: str
    fields: tuple[str, ...]
    escalate: bool
    status: str
    resolution_code: str


#: First match wins; the last rule matches anything.
_RULES: tuple[_Guess, ...] = (
    _Guess(r"secur|fraud|hack|sign-in|unauthori[sz]|compromis|didn't make|not ours|"
           r"another company", "security", "urgent", "security_incident",
           ("login_timestamps", "ip_addresses", "request_ids"), True, "escalated",
           "security_review"),
    _Guess(r"gdpr|personal data|subject access|\bdpo\b|privacy", "data_privacy", "high",
           "data_request", ("org_id", "export_scope", "legal_basis"), True, "escalated",
           "data_export_sent"),
    _Guess(r"password|locked out|log ?in|reset email", "account_management", "normal",
           "account_access", ("account_email",), False, "resolved", "credential_reset"),
    _Guess(r"invoice|charged|refund|billing|billed|overbill", "billing", "high",
           "billing_dispute", ("invoice_id", "transaction_date"), False, "resolved",
           "refund_issued"),
    _Guess(r"timeout|timing out|\b5\d\d\b|outage|incident|delayed|latency|not loading|down\b",
           "platform_engineering", "urgent", "production_incident",
           ("request_ids", "time_window", "regions"), True, "escalated",
           "runbook_investigation"),
    _Guess(r"feature|would love|could you add|be emailed|wish", "product_feedback", "low",
           "feature_request", (), False, "closed", "feature_logged"),
    _Guess(r"bug|broken|error|fail|crash", "general_support", "normal", "bug",
           ("error_message", "browser_version", "screenshot"), False, "pending",
           "runbook_investigation"),
    _Guess(r"", "general_support", "normal", "how_to", (), False, "resolved", "answered"),
)

#: Risk flags raised when the ticket's words match.
_FLAG_RULES: tuple[tuple[str, str], ...] = (
    (r"fraud|didn't make|sign-in", "fraud_suspected"),
    (r"another company|not ours|exposed|leak", "data_exposure"),
    (r"gdpr|article 15|deadline", "compliance_deadline"),
    (r"renewal|move up|cancel|churn|contract", "churn_risk"),
    (r"asap|outage|across regions|all regions", "p1_incident"),
)


@dataclass
class _Seen:
    """Text the agent has seen, kept in first-seen order without repeats."""

    parts: list[str] = field(default_factory=list)

    def add(self, text: object) -> None:
        if isinstance(text, str) and text.strip() and text not in self.parts:
            self.parts.append(text.strip())

    def text(self) -> str:
        return " ".join(self.parts)


class BlindKeywords(_Capped):
    """Plays from the observation alone: keyword guesses, generic replies, no gold."""

    #: Whether replies are stuffed with text seen so far.
    stuff = False

    def __init__(self) -> None:
        super().__init__()
        self._kb = _Seen()
        self._other = _Seen()
        self._guess: _Guess | None = None
        self._asked: list[str] = []
        self._answered = False
        self._escalated = False
        self._done = False

    def reset(self, brief: Any, seed: int) -> None:
        """Keeps only the knowledge base and ticket text of what it is handed."""
        BlindKeywords.__init__(self)
        for article in _field(brief, "knowledge_base") or ():
            self._kb.add(_field(article, "content"))
        ticket = _field(brief, "ticket")
        if ticket is not None:
            self._other.add(_field(ticket, "subject"))
            self._other.add(_field(ticket, "body"))

    def _reply(self, message: str, request: Sequence[str] = ()) -> Op:
        if self.stuff:
            message = f"{message} {self._kb.text()} {self._other.text()}"
        op: Op = {"op": "reply", "message": message[:MAX_REPLY_CHARS]}
        if request:
            op["request_fields"] = list(request)
        return op

    def act(self, observation: Observation) -> list[Op]:
        ticket = observation.ticket
        self._other.add(ticket.subject)
        self._other.add(ticket.body)
        for article in observation.kb_results:
            self._kb.add(article.content)
        update = False
        for message in observation.messages:
            self._other.add(message.text)
            if message.kind == "team_update":
                update = True
            if message.fields:
                self._answered = True
        if self._done:
            return []
        if observation.turn == 1:
            return self._cap(self._triage(observation))
        guess = self._guess or _RULES[-1]
        ops: list[Op] = []
        if self.stuff and observation.turn == 2:
            # The knowledge base's answers arrive now: one reply made of everything seen.
            ops.append(self._reply("Here is what we found so far."))
        if update:
            ops.append(self._reply("Our team has sent an update and is working on it."))
        waited = observation.turn >= 4
        if guess.status in TERMINAL_STATUSES and (self._answered or not self._asked or waited):
            ops.append(self._reply("Thank you, this is now taken care of."))
            ops.append({"op": "set_status", "status": guess.status,
                        "resolution_code": guess.resolution_code})
            self._done = True
        elif (self._answered or waited) and (update or not self._escalated or waited):
            ops.append({"op": "finish"})
            self._done = True
        return self._cap(ops)

    def _triage(self, observation: Observation) -> list[Op]:
        ticket = observation.ticket
        catalog = observation.catalog
        text = f"{ticket.subject}\n{ticket.body}".lower()
        guess = next(rule for rule in _RULES if re.search(rule.pattern, text))
        self._guess = guess
        triage: Op = {"op": "set_fields"}
        for key, value, allowed in (("queue", guess.queue, catalog.queues),
                                    ("priority", guess.priority, catalog.priorities),
                                    ("issue_type", guess.issue_type, catalog.issue_types)):
            if value in allowed:
                triage[key] = value
        ops: list[Op] = [triage, {"op": "search_kb", "query": ticket.subject}]
        flags = [flag for pattern, flag in _FLAG_RULES
                 if re.search(pattern, text) and flag in catalog.risk_flags]
        if flags:
            ops.append({"op": "flag_risk", "flags": flags})
        self._asked = [f for f in guess.fields if f in catalog.fields]
        words = ", ".join(f.replace("_", " ") for f in self._asked)
        ask = f" Could you send us: {words}?" if words else ""
        ops.append(self._reply(f"Hello {ticket.customer_name}, thank you for contacting us. "
                               f"We are looking into this.{ask}", self._asked))
        if guess.escalate and guess.queue in catalog.queues:
            ops.append({"op": "escalate", "queue": guess.queue, "summary": ticket.subject})
            self._escalated = True
        elif guess.status not in TERMINAL_STATUSES and guess.status in catalog.statuses:
            ops.append({"op": "set_status", "status": guess.status})
        elif "pending" in catalog.statuses and self._asked:
            ops.append({"op": "set_status", "status": "pending"})
        return ops


class BlindKeywordsStuffed(BlindKeywords):
    """:class:`BlindKeywords` with every reply stuffed with the text it has seen."""

    stuff = True


# --------------------------------------------------------------------------- runs


@dataclass(frozen=True)
class Row:
    """One row of the table: a policy played under one persona."""

    name: str
    agent: str | Callable[[], Any]
    persona: str | None = None
    privileged: bool = False


ROWS: tuple[Row, ...] = (
    Row("oracle", "oracle", privileged=True),
    Row("oracle (silent)", "oracle", persona="silent", privileged=True),
    Row("quit_early", QuitEarly, privileged=True),
    Row("quit_early (silent)", QuitEarly, persona="silent", privileged=True),
    Row("spray_escalations", SprayEscalations, privileged=True),
    Row("empty_relay", EmptyRelay, privileged=True),
    Row("leaker", Leaker, privileged=True),
    Row("filler", Filler, privileged=True),
    Row("blind_keywords", BlindKeywords),
    Row("blind_keywords_stuffed", BlindKeywordsStuffed),
)
TAMPER = Row("tamper", Tamper, privileged=True)
AFTER_TAMPER = Row("oracle after tamper", "oracle", privileged=True)
#: The row of ``AFTER_TAMPER``'s episodes re-graded against a freshly loaded task.
REGRADED = "oracle after tamper, re-graded vs fresh task"

_PRIVILEGED_KW = "privileged" in inspect.signature(make_job).parameters


def _jobs(row: Row, tasks: Sequence[SupportTaskSpec], seed: int) -> list[Any]:
    options: dict[str, Any] = {"seed": seed, "persona": row.persona or "cooperative",
                               "faults": (), "agent_name": row.name}
    if row.privileged and _PRIVILEGED_KW:
        options["privileged"] = True
    return [make_job(task, row.agent, **options) for task in tasks]


def _episode(result: EpisodeResult) -> dict[str, Any]:
    return {"score": result.score, "breakdown": result.breakdown,
            "termination_reason": result.termination_reason, "steps": result.steps,
            "error": result.error}


def _regrade(task: SupportTaskSpec, result: EpisodeResult) -> float | None:
    """``result``'s trace graded against ``task``; None when the grader cannot."""
    try:
        from sim.grading import grade

        return float(grade(task, result.trace).score)
    except Exception:  # an API the grader's rewrite may change: report n/a, not a crash
        return None


def _task_dump(task: SupportTaskSpec) -> dict[str, Any]:
    return {name: getattr(task, name) for name in type(task).model_fields}


def measure(task_ids: Sequence[str], seed: int) -> dict[str, Any]:
    """Play every row on every task; the report that :func:`main` prints and writes."""
    tasks = [get_task(task_id, seed=seed) for task_id in task_ids]  # a family's variant
    rows: dict[str, dict[str, dict[str, Any]]] = {}
    for row in ROWS:
        results = simulate_many(_jobs(row, tasks, seed))
        rows[row.name] = {r.task_id: _episode(r) for r in results}
    # The tamper probe goes last, each step in its own run: what it rewrites must not
    # reach the rows above, only the episodes that come after it on purpose.
    results = simulate_many(_jobs(TAMPER, tasks, seed))
    rows[TAMPER.name] = {r.task_id: _episode(r) for r in results}
    tasks_after = [get_task(task_id, seed=seed) for task_id in task_ids]  # what a later run uses
    after = simulate_many(_jobs(AFTER_TAMPER, tasks_after, seed))
    rows[AFTER_TAMPER.name] = {r.task_id: _episode(r) for r in after}
    fresh = discover_tasks(seed=seed)
    rows[REGRADED] = {r.task_id: {"score": _regrade(fresh[r.task_id], r)} for r in after}
    modified = [task_id for task_id, task in zip(task_ids, tasks_after, strict=True)
                if _task_dump(task) != _task_dump(fresh[task_id])]
    return {"seed": seed, "persona": "cooperative unless the row says otherwise",
            "privileged_keyword": _PRIVILEGED_KW, "tasks": list(task_ids), "rows": rows,
            "tasks_modified_after_tamper": modified}


def _mean(cells: dict[str, dict[str, Any]]) -> float | None:
    scores = [c["score"] for c in cells.values() if c.get("score") is not None]
    return sum(scores) / len(scores) if scores else None


def _cell(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def render(report: dict[str, Any]) -> str:
    """The report as a markdown table plus notes."""
    task_ids: list[str] = report["tasks"]
    privileged = ("make_job(privileged=True)" if report["privileged_keyword"]
                  else "make_job has no such keyword: every agent got the spec")
    lines = [
        f"Gaming policies, seed {report['seed']}, cooperative persona unless named, no faults;"
        f" gold readers privileged ({privileged}).",
        "",
        "| policy | " + " | ".join(task_ids) + " | mean |",
        "|---|" + "---:|" * (len(task_ids) + 1),
    ]
    for name, cells in report["rows"].items():
        scores = [_cell(cells[t].get("score")) for t in task_ids]
        lines.append(f"| {name} | " + " | ".join(scores) + f" | {_cell(_mean(cells))} |")
    modified = report["tasks_modified_after_tamper"]
    lines += ["", f"Tasks left rewritten in the process after `tamper`: {len(modified)} of "
              f"{len(task_ids)}" + (f" ({', '.join(modified)})" if modified else "") + "."]
    ended: dict[str, int] = {}
    for name, cells in report["rows"].items():
        for cell in cells.values():
            if cell.get("error"):
                ended[name] = ended.get(name, 0) + 1
    for name, count in ended.items():
        lines.append(f"{name}: {count} episode(s) ended with an error (see --json).")
    return "\n".join(lines)


def _task_ids(spec: str) -> list[str]:
    known = list_task_ids()
    if spec == "all":
        return known
    wanted = [t.strip() for t in spec.split(",") if t.strip()]
    unknown = [t for t in wanted if t not in known]
    if unknown or not wanted:
        raise ValueError(f"unknown task(s) {unknown or spec!r}; "
                         f"allowed: all or some of {', '.join(known)}")
    return wanted


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.gaming", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", default="all", help="all, or task ids separated by commas")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", metavar="FILE", help="also write the full report here")
    args = parser.parse_args(argv)
    try:
        task_ids = _task_ids(args.tasks)
    except ValueError as error:
        parser.error(str(error))  # exits 2, as bad input does everywhere in the project
    report = measure(task_ids, args.seed)
    print(render(report))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(report, out, indent=1, sort_keys=False)
            out.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
