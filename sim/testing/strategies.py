"""Hypothesis strategies for what an agent sends and what a trace file holds.

Everything is built from one task's own catalog and markers, so draws hit the interesting
cases: gold values often, marker terms assembled into replies and notes (and near misses
such as ``request_ids`` for ``request ids``), texts at and over the length limits, values
outside the catalog, wrong types, unknown operations, turns of more than
:data:`~sim.operations.MAX_OPERATIONS_PER_TURN` operations and turns that are not lists.

- :func:`valid_operations`, :func:`invalid_operations`, :func:`operations`: one entry;
- :func:`turns`, :func:`turn_sequences`: what a scripted agent plays;
- :func:`gold_operations`: the perfect first turn, as a plain list;
- :func:`trace_events`: events as a trace file could hold them, well-formed or garbage.

The order in which each strategy draws is part of its contract: a counterexample found
once is found again from the same seed. Hypothesis also mixes the literals (short strings,
large numbers) of every project module it sees loaded into its draws of text and numbers,
so adding or removing a literal anywhere shifts those draws too; docstrings and comments
do not count.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, TypeVar

from hypothesis import strategies as st
from hypothesis.strategies import DrawFn, SearchStrategy

from sim.operations import MAX_NOTE_CHARS, MAX_OPERATIONS_PER_TURN, MAX_REPLY_CHARS
from sim.spec import EVENT_KINDS
from sim.trace import TraceEvent
from tasks.base import SupportTaskSpec

_FILLER = ("hello", "thanks", "we", "are", "looking", "into", "this", "please", "update",
           "soon", "the", "team", "your", "ticket")
_NOT_IN_CATALOG = ("not_in_catalog", "", " ", "Billing", "URGENT", "Resolved", "request ids",
                   "p1 incident", "none", "null")
_UNKNOWN_OPS = ("close", "refund", "Reply", "REPLY", "escalate_to", "", "op", "set-fields")
_NON_OPERATIONS: tuple[Any, ...] = (42, "reply", None, 3.5, True, ["reply", "hi"], b"finish")
_NON_LIST_TURNS: tuple[Any, ...] = ("finish", 7, 2.5, True, b"[]")
#: Separators agents do emit: newline, tab, no-break space, NEL, line and paragraph separators.
_SEPARATORS = ("\n", "\t", "\u00a0", "\u0085", "\u2028", "\u2029")

_T = TypeVar("_T")


# --------------------------------------------------------------------------- combinators


def named(name: str, strategy: SearchStrategy[_T]) -> SearchStrategy[_T]:
    """``strategy`` behind the short repr ``name()``.

    Hypothesis formats the repr of a strategy eagerly in some internal paths (re-encoding
    values while shrinking); for these deeply nested strategies that costs megabytes of text
    per draw and a warning.
    """

    def draw_it(draw: DrawFn) -> _T:
        return draw(strategy)

    draw_it.__name__ = draw_it.__qualname__ = name
    return st.composite(draw_it)()


def weighted(*branches: tuple[int, SearchStrategy[Any]]) -> SearchStrategy[Any]:
    """``one_of`` where a branch of weight w is w times as likely as one of weight 1."""
    return st.one_of([strategy for weight, strategy in branches for _ in range(weight)])


def subsets(items: Sequence[_T]) -> SearchStrategy[list[_T]]:
    """``items`` with each one kept or dropped, in their order."""
    return st.lists(st.booleans(), min_size=len(items), max_size=len(items)).map(
        lambda keep: [item for item, kept in zip(items, keep, strict=True) if kept])


def _sampled(values: Sequence[str], fallback: Sequence[str] = _FILLER) -> SearchStrategy[str]:
    return st.sampled_from(tuple(values) or tuple(fallback))


def _pick(gold: str, allowed: Sequence[str]) -> SearchStrategy[str]:
    """The gold value half the time, any catalog value otherwise."""
    return st.one_of(st.just(gold), st.sampled_from(tuple(allowed)))


def json_values() -> SearchStrategy[Any]:
    """Anything JSON can hold, a few levels deep."""
    scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(),
                        st.text(max_size=12))
    return st.recursive(
        scalars,
        lambda inner: st.one_of(st.lists(inner, max_size=3),
                                st.dictionaries(st.text(max_size=8), inner, max_size=3)),
        max_leaves=8,
    )


# --------------------------------------------------------------------------- texts


def marker_texts(groups: tuple[tuple[str, ...], ...]) -> list[str]:
    """Each marker group as one text, its terms joined by spaces."""
    return [" ".join(group) for group in groups]


def marker_sentences(groups: tuple[tuple[str, ...], ...]) -> str:
    """Every marker group as a sentence of its own, in one text."""
    return " ".join(text + "." for text in marker_texts(groups))


def _all_terms(task: SupportTaskSpec) -> tuple[str, ...]:
    groups = (task.required_reply_markers + task.required_note_markers
              + task.forbidden_reply_markers)
    return tuple(dict.fromkeys(term for group in groups for term in group)) or ("update",)


def message_text(task: SupportTaskSpec, channel: Literal["reply", "note"]) -> SearchStrategy[str]:
    """Text assembled from the task's marker terms: whole groups of ``channel`` often,
    terms of the other channel and forbidden ones, filler, and near misses."""
    own = task.required_reply_markers if channel == "reply" else task.required_note_markers
    other = task.required_note_markers if channel == "reply" else task.required_reply_markers
    terms = _all_terms(task)
    chunk = st.one_of(
        _sampled(marker_texts(own)),
        st.just(" ".join(marker_texts(own)) or "hello"),
        st.sampled_from(terms),
        st.sampled_from(_FILLER),
        _sampled(marker_texts(other) + marker_texts(task.forbidden_reply_markers)),
        st.sampled_from(terms).map(str.upper),
        st.sampled_from(terms).map(lambda term: term.replace(" ", "_")),  # a near miss
        st.sampled_from(terms).map(lambda term: term + "s"),  # a near miss
        st.sampled_from(_SEPARATORS),
    )
    return named(f"{channel}_text", st.lists(chunk, min_size=1, max_size=6).map(" ".join))


def padded(text: str, length: int) -> str:
    """``text`` repeated, then cut or padded to exactly ``length`` characters."""
    repeated = (text + " ") * (length // (len(text) + 1) + 1)
    return repeated[:length]


# --------------------------------------------------------------------------- operations


def _request_fields(task: SupportTaskSpec) -> SearchStrategy[list[str]]:
    required = list(task.required_requested_fields)
    catalog = task.catalog.fields
    branches: list[SearchStrategy[list[str]]] = [
        st.just(required),
        st.lists(st.sampled_from(catalog), max_size=4, unique=True),
        st.just([]),
        st.just(list(catalog)),
    ]
    if required:
        branches.insert(1, st.lists(st.sampled_from(required), min_size=1, unique=True))
    return st.one_of(branches)


def _flags(task: SupportTaskSpec) -> SearchStrategy[list[str]]:
    catalog = task.catalog.risk_flags
    branches: list[SearchStrategy[list[str]]] = [
        st.lists(st.sampled_from(catalog), min_size=1, max_size=3, unique=True),
        st.just(list(catalog)),
    ]
    if task.risk_flags:
        branches.insert(0, st.just(list(task.risk_flags)))
    return st.one_of(branches)


def _escalation_queue(task: SupportTaskSpec) -> SearchStrategy[str]:
    branches = [st.just(task.gold_queue), st.sampled_from(task.catalog.queues)]
    if task.over_escalation_queues:
        branches.insert(1, st.sampled_from(task.over_escalation_queues))
    return st.one_of(branches)


def _set_fields(task: SupportTaskSpec) -> SearchStrategy[dict[str, Any]]:
    catalog = task.catalog

    def at_least_one(op: dict[str, Any]) -> dict[str, Any]:
        return op if len(op) > 1 else {**op, "queue": task.gold_queue}

    return st.fixed_dictionaries(
        {"op": st.just("set_fields")},
        optional={
            "queue": _pick(task.gold_queue, catalog.queues),
            "priority": _pick(task.gold_priority, catalog.priorities),
            "issue_type": _pick(task.gold_issue_type, catalog.issue_types),
        },
    ).map(at_least_one)


def valid_by_kind(task: SupportTaskSpec) -> dict[str, SearchStrategy[dict[str, Any]]]:
    """A strategy of valid operations for each operation kind, by its name."""
    catalog = task.catalog
    kb_words = [w for snippet in task.knowledge_base for w in snippet.title.split()]
    return {
        "set_fields": _set_fields(task),
        "reply": st.one_of(
            st.fixed_dictionaries(
                {"op": st.just("reply"), "message": message_text(task, "reply")},
                optional={"request_fields": _request_fields(task)},
            ),
            # Boundary: a reply of exactly the limit is valid.
            message_text(task, "reply").map(
                lambda text: {"op": "reply", "message": padded(text, MAX_REPLY_CHARS)}),
        ),
        "note": st.fixed_dictionaries({"op": st.just("note"),
                                       "text": message_text(task, "note")}),
        "search_kb": st.fixed_dictionaries({
            "op": st.just("search_kb"),
            "query": st.lists(_sampled(kb_words + list(_all_terms(task))), min_size=1,
                              max_size=3).map(" ".join),
        }),
        "flag_risk": st.fixed_dictionaries({"op": st.just("flag_risk"), "flags": _flags(task)}),
        "escalate": st.fixed_dictionaries(
            {"op": st.just("escalate"), "queue": _escalation_queue(task)},
            optional={"summary": message_text(task, "note")},
        ),
        "set_status": st.fixed_dictionaries(
            {"op": st.just("set_status"), "status": _pick(task.gold_status, catalog.statuses)},
            optional={"resolution_code": st.one_of(
                _pick(task.gold_resolution_code, catalog.resolution_codes), st.none())},
        ),
        "finish": st.just({"op": "finish"}),
    }


def valid_operations(task: SupportTaskSpec) -> SearchStrategy[dict[str, Any]]:
    """Operations the simulator accepts, as dicts: every kind, with catalog values
    (gold ones often) and text built from the task's markers."""
    return named("valid_operations", st.one_of(list(valid_by_kind(task).values())))


def invalid_operations(task: SupportTaskSpec) -> SearchStrategy[Any]:
    """Entries the simulator must reject (each counts as one invalid operation): messages
    over the length limits (full of markers), values outside the catalog, wrong types,
    missing or extra keys, unknown ops, and things that are not operations at all."""
    catalog = task.catalog
    bad = st.sampled_from(_NOT_IN_CATALOG)
    reply_text, note_text = message_text(task, "reply"), message_text(task, "note")
    extra = st.integers(1, 200)
    return named("invalid_operations", st.one_of(
        st.builds(lambda text, n, fields: {"op": "reply", "request_fields": fields,
                                           "message": padded(text, MAX_REPLY_CHARS + n)},
                  reply_text, extra, _request_fields(task)),
        st.builds(lambda text, n: {"op": "note", "text": padded(text, MAX_NOTE_CHARS + n)},
                  note_text, extra),
        st.builds(lambda text, n: {"op": "search_kb", "query": padded(text, MAX_REPLY_CHARS + n)},
                  reply_text, extra),
        st.builds(lambda text, n: {"op": "escalate", "queue": task.gold_queue,
                                   "summary": padded(text, MAX_NOTE_CHARS + n)}, note_text, extra),
        st.builds(lambda key, value: {"op": "set_fields", key: value},
                  st.sampled_from(("queue", "priority", "issue_type")), bad),
        bad.map(lambda queue: {"op": "escalate", "queue": queue, "summary": "x"}),
        bad.map(lambda status: {"op": "set_status", "status": status}),
        bad.map(lambda code: {"op": "set_status", "status": task.gold_status,
                              "resolution_code": code}),
        bad.map(lambda flag: {"op": "flag_risk", "flags": [flag]}),
        st.builds(lambda field, fields: {"op": "reply", "message": "Please send these.",
                                         "request_fields": [*fields, field]},
                  bad, st.lists(st.sampled_from(catalog.fields), max_size=2, unique=True)),
        st.sampled_from((
            {"op": "set_fields"},
            {"op": "reply", "message": ""},
            {"op": "note", "text": ""},
            {"op": "search_kb", "query": ""},
            {"op": "flag_risk", "flags": []},
            {"op": "escalate"},
            {"op": "set_status"},
            {"op": "reply", "message": "hi", "request_fields": "request_ids"},
            {"op": "flag_risk", "flags": "p1_incident"},
            {"op": "finish", "now": True},
            {"message": "no op key"},
        )),
        st.builds(lambda key, value: {"op": "reply", key: value},
                  st.sampled_from(("message", "request_fields")), json_values()),
        st.builds(lambda key, value: {"op": "set_fields", key: value},
                  st.sampled_from(("queue", "priority", "issue_type")),
                  st.one_of(st.integers(), st.booleans(), st.lists(st.just(task.gold_queue)))),
        st.builds(lambda op, rest: {**rest, "op": op},
                  st.one_of(st.sampled_from(_UNKNOWN_OPS), st.integers(), st.none()),
                  st.dictionaries(st.text(max_size=8), json_values(), max_size=2)),
        st.sampled_from(_NON_OPERATIONS),
    ))


def operations(task: SupportTaskSpec) -> SearchStrategy[Any]:
    """One entry of a turn: a valid operation most of the time, an invalid one otherwise."""
    return named("operations",
                 weighted((8, valid_operations(task)), (1, invalid_operations(task))))


# --------------------------------------------------------------------------- the gold turn


def gold_escalation(task: SupportTaskSpec) -> dict[str, Any]:
    """The escalation to the owning team, summarised by the task's title."""
    return {"op": "escalate", "queue": task.gold_queue, "summary": task.title}


def gold_operations(task: SupportTaskSpec) -> list[dict[str, Any]]:
    """What a perfect first turn looks like (gold fields, markers, flags, escalation)."""
    ops: list[dict[str, Any]] = [{"op": "set_fields", "queue": task.gold_queue,
                                  "priority": task.gold_priority,
                                  "issue_type": task.gold_issue_type}]
    if task.risk_flags:
        ops.append({"op": "flag_risk", "flags": list(task.risk_flags)})
    markers = marker_sentences(task.required_reply_markers)
    ops.append({"op": "reply", "message": f"Hello, thank you. {markers}".strip(),
                "request_fields": list(task.required_requested_fields)})
    if task.required_note_markers:
        ops.append({"op": "note", "text": marker_sentences(task.required_note_markers)})
    if task.needs_escalation:
        ops.append(gold_escalation(task))
    ops.append({"op": "set_status", "status": task.gold_status,
                "resolution_code": task.gold_resolution_code})
    return ops


def gold_first_turn(task: SupportTaskSpec, *, escalate: bool = True) -> list[dict[str, Any]]:
    """:func:`gold_operations` without the status (the episode goes on), and without the
    escalation unless ``escalate``."""
    dropped = ("set_status",) if escalate else ("set_status", "escalate")
    return [op for op in gold_operations(task) if op["op"] not in dropped]


# --------------------------------------------------------------------------- turns


def turns(task: SupportTaskSpec) -> SearchStrategy[Any]:
    """One turn: usually a list of 0..8 operations; sometimes part of a perfect first turn;
    occasionally more than 8 operations or something that is not a list at all."""
    entries = operations(task)
    return named("turns", weighted(
        (12, st.lists(entries, max_size=MAX_OPERATIONS_PER_TURN)),
        (3, subsets(gold_operations(task))),
        (1, st.lists(entries, min_size=MAX_OPERATIONS_PER_TURN + 1,
                     max_size=MAX_OPERATIONS_PER_TURN + 3)),
        (1, st.one_of(st.sampled_from(_NON_LIST_TURNS), entries, st.none())),
    ))


def turn_sequences(task: SupportTaskSpec) -> SearchStrategy[list[Any]]:
    """What a scripted agent plays: up to ``max_steps`` turns (it waits afterwards)."""
    return named("turn_sequences", st.lists(turns(task), max_size=task.max_steps))


# --------------------------------------------------------------------------- trace events


def trace_events(task: SupportTaskSpec) -> SearchStrategy[TraceEvent]:
    """Events as a trace file could hold them, well-formed or garbage: real kinds with
    plausible or nonsensical payloads, unknown kinds, odd actors, any times."""
    queues = task.catalog.queues
    actor = st.one_of(
        st.sampled_from(("agent", "customer", "sla_monitor", "team:nobody",
                         *(f"team:{q}" for q in queues))),
        st.text(max_size=10),
    )
    answer = st.one_of(
        st.fixed_dictionaries({"value": st.text(max_size=10), "status": st.one_of(
            st.sampled_from(("correct", "wrong", "missing", "not_relevant")), json_values())}),
        json_values(),
    )
    field_name = st.one_of(st.sampled_from(task.catalog.fields), st.text(max_size=8))
    payloads: dict[str, SearchStrategy[dict[str, Any]]] = {
        "turn": st.fixed_dictionaries({"turn": st.one_of(st.integers(-2, 12), json_values())}),
        "operation": st.fixed_dictionaries({
            "turn": st.integers(0, 12), "index": st.integers(0, 9),
            "op": st.one_of(operations(task), json_values())}),
        "invalid_turn": st.fixed_dictionaries({"rejected": st.one_of(st.integers(-1, 5),
                                                                      json_values())}),
        "customer_answer": st.fixed_dictionaries({
            "request_turn": st.integers(0, 12),
            "fields": st.one_of(st.dictionaries(field_name, answer, max_size=4),
                                json_values())}),
        "team_bounce": st.fixed_dictionaries({"queue": st.one_of(st.sampled_from(queues),
                                                                  json_values())}),
    }

    garbage = st.dictionaries(st.text(max_size=8), json_values(), max_size=3)
    deadline = task.sla_deadline_seconds
    times = st.one_of(st.integers(-10, 2 * deadline + 10),
                      st.sampled_from((deadline, deadline + 1)))

    def events_of(kind: SearchStrategy[str], payload: SearchStrategy[Any]) -> SearchStrategy[Any]:
        return st.builds(TraceEvent, t=times, seq=st.integers(-1, 10_000), actor=actor,
                         kind=kind, payload=payload)

    known = [events_of(st.just(kind), st.one_of(payloads[kind], garbage)) for kind in payloads]
    others = st.sampled_from([k for k in EVENT_KINDS if k not in payloads])
    return named("trace_events", st.one_of(*known, events_of(others, garbage),
                                           events_of(st.text(max_size=10), garbage)))
