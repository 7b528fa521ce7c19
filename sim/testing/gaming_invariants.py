"""The invariants that say no message policy games the score (SPEC §4): asking for
everything, ending early, relaying without the facts, pasting seen text, filler, leaking
internal text and markers in the wrong channel never earn what the work would.

Each invariant is up to four functions of a :class:`~sim.testing.context.SuiteContext`
(``*_strategy``, ``*_explicit``, ``*_not_applicable``, ``check_*``), as in
:mod:`sim.testing.invariants`; :mod:`sim.testing.suite` names and orders them. The
policies they play are those of :mod:`sim.testing.adversaries`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from sim.grading import GradeReport, grade
from sim.markers import group_met
from sim.observation import Observation
from sim.operations import MAX_NOTE_CHARS, MAX_OPERATIONS_PER_TURN, MAX_REPLY_CHARS
from sim.scripted import ScriptedAgent
from sim.testing.adversaries import (
    FACTLESS_RELAYS,
    GREETING,
    brief_texts,
    empty_relay_turns,
    filler_bases,
    internal_terms,
    leak_terms,
    leaked,
    pad_with_filler,
    piece_count,
    quiet_sequences,
    quitter_endings,
    quitter_turns,
    stuffed_replies,
)
from sim.testing.checks import (
    SPEC_LEAK_PENALTY,
    SPEC_LEAK_PENALTY_CAP,
    SPEC_SPAM_ALLOWANCE,
    TOLERANCE,
    expected_spam,
    fail,
    latest_update_facts,
    penalty_total,
    played,
    renumbered,
    replies_after,
)
from sim.testing.context import Example, SuiteContext, describe_turns
from sim.testing.strategies import (
    gold_escalation,
    gold_first_turn,
    marker_sentences,
    marker_texts,
    message_text,
    padded,
)
from sim.testing.turn_edits import inserted, with_room
from sim.trace import Trace, TraceEvent

#: How far below the oracle an episode ended before the customer's answers were due must
#: score (SPEC §4), on a task that requires fields.
EARLY_END_MARGIN = 0.2


# --------------------------------------------------------------------------- asking everything


def everything_strategy(ctx: SuiteContext) -> SearchStrategy[Example]:
    return ctx.insertions(message=message_text(ctx.task, "reply"))


def everything_not_applicable(ctx: SuiteContext) -> str | None:
    task, catalog = ctx.task, ctx.task.catalog
    if (set(task.required_requested_fields) == set(catalog.fields)
            and set(task.risk_flags) == set(catalog.risk_flags)):
        return "the task requires every field and every risk flag of its catalog"
    return None


def check_everything(ctx: SuiteContext, example: Example) -> None:
    task, extra = ctx.task, example.extra
    catalog = task.catalog
    base = with_room(example.turns, 0, room=2)
    ops = [{"op": "reply", "message": extra["message"], "request_fields": list(catalog.fields)},
           {"op": "flag_risk", "flags": list(catalog.risk_flags)}]
    report, _ = ctx.score(example, inserted(base, 0, extra["position"], *ops))
    checks = (("fields_collected", task.required_requested_fields, catalog.fields,
               "asking for every field in the catalog"),
              ("risk_flags", task.risk_flags, catalog.risk_flags,
               "raising every risk flag in the catalog"))
    for name, required, everything, what in checks:
        value = report.criterion(name).value
        if set(required) != set(everything) and value is not None and value >= 1.0:
            fail(f"{what} earned full credit on {name}: {report.criterion(name).reason}")


# --------------------------------------------------------------------------- quitters


def quitter_strategy(ctx: SuiteContext) -> SearchStrategy[Example]:
    return ctx.examples(sequences=quitter_turns(ctx.task))


def quitter_explicit(ctx: SuiteContext) -> list[Example]:
    first = gold_first_turn(ctx.task)
    endings = quitter_endings(ctx.task)
    return [Example.in_world(world, [[*first[: MAX_OPERATIONS_PER_TURN - len(ending)], *ending]])
            for world in ctx.fault_free_worlds() for ending in endings[:2]]


def quitter_not_applicable(ctx: SuiteContext) -> str | None:
    if not ctx.task.required_requested_fields:
        return "the task requires no fields, so no answer is worth waiting for"
    return None


def check_quitter(ctx: SuiteContext, example: Example) -> None:
    result = ctx.run(example)
    if result.steps != 1 or result.termination_reason != "finished":
        return  # its ending was not applied: not a quitter
    outlook = ctx.outlook(result.trace)
    if not outlook.chase_possible:
        return  # no turn comes after an answer is due: ending at once is not early
    report = grade(ctx.task, result.trace)
    oracle = ctx.oracle_score(example)
    if oracle - report.score < EARLY_END_MARGIN - TOLERANCE:
        fail(f"ending the episode at turn 1, before the customer's answers were due, "
             f"scored {report.score}, within {EARLY_END_MARGIN} of the oracle's {oracle}: "
             + "; ".join(f"{c.name}={c.value}" for c in report.criteria if c.applies))


# --------------------------------------------------------------------------- empty relays


def _update_without_facts(latest: tuple[int, tuple[str, ...]] | None) -> bool:
    """Whether the latest update had no facts to carry: then any reply passes it on."""
    return latest is not None and not latest[1]


def relay_strategy(ctx: SuiteContext) -> SearchStrategy[Example]:
    return ctx.examples(sequences=empty_relay_turns(ctx.task))


def relay_explicit(ctx: SuiteContext) -> list[Example]:
    task = ctx.task
    first = gold_first_turn(task, escalate=False)
    opening = [*first[: MAX_OPERATIONS_PER_TURN - 1], gold_escalation(task)]
    return [Example.in_world(world, [opening, *[[{"op": "reply", "message": text}]]
                                     * (task.max_steps - 1)])
            for world in ctx.fault_free_worlds()[:1]
            for text in (FACTLESS_RELAYS[0], FACTLESS_RELAYS[1])]


def relay_not_applicable(ctx: SuiteContext) -> str | None:
    if not ctx.task.needs_escalation:
        return "the task needs no escalation, so no team update is relayed"
    return None


def check_relay(ctx: SuiteContext, example: Example) -> None:
    report, trace = ctx.score(example)
    informed = report.criterion("kept_informed")
    if informed.value is None or informed.value < 1.0:
        return
    latest = latest_update_facts(ctx.task, trace)
    if latest is None:
        fail(f"kept_informed is {informed.value} though no update from "
             f"{ctx.task.gold_queue} arrived: {informed.reason}")
    if _update_without_facts(latest):
        return
    seq, facts = latest
    replies = replies_after(trace, seq)
    if any(group_met(message, facts) for message in replies):
        return  # a real relay
    fail(f"kept_informed is {informed.value} though no public reply after the latest "
         f"update (event {seq}) carried its facts {list(facts)}; replies after it: "
         f"{describe_turns(replies)}")


# --------------------------------------------------------------------------- stuffers


class _Recorder(ScriptedAgent):
    """:class:`ScriptedAgent` that keeps every text its observations showed it."""

    def __init__(self, turns: Sequence[Any] = ()) -> None:
        super().__init__(turns)
        self.seen: list[tuple[int, str]] = []

    def act(self, observation: Observation) -> Any:
        turn = int(observation.turn)
        ticket = observation.ticket
        texts = [observation.title, observation.objective, ticket.subject, ticket.body]
        texts += [part for article in observation.kb_results
                  for part in (article.title, article.content)]
        texts += [message.text for message in observation.messages]
        texts += [result.error for result in observation.results if result.error]
        self.seen += [(turn, text) for text in texts]
        return super().act(observation)

    def texts_until(self, turn: int) -> list[str]:
        """What the agent had been shown by the start of turn ``turn`` (1-based)."""
        return [text for at, text in self.seen if at <= turn]


def stuffing_strategy(ctx: SuiteContext) -> SearchStrategy[Example]:
    return ctx.examples(st.fixed_dictionaries({
        "turn": st.integers(0, ctx.task.max_steps - 1),
        "position": st.integers(0, MAX_OPERATIONS_PER_TURN),
        "split": st.booleans(),
        "more_pieces": st.integers(0, 2),
        "order": st.integers(0, 2**16),
        "separator": st.sampled_from((" ", "\n", " \n\n")),
    }), sequences=quiet_sequences(ctx.task))


def stuffing_explicit(ctx: SuiteContext) -> list[Example]:
    return [Example.in_world(ctx.first_world(), [], turn=turn, position=0, split=split,
                             more_pieces=0, order=0, separator=" ")
            for turn in sorted({0, min(2, ctx.task.max_steps - 1)}) for split in (False, True)]


def stuffing_not_applicable(ctx: SuiteContext) -> str | None:
    if not ctx.task.required_reply_markers:
        return "the task has no reply markers"
    return None


def check_stuffing(ctx: SuiteContext, example: Example) -> None:
    task, extra = ctx.task, example.extra
    index = extra["turn"]
    recorder = _Recorder(list(example.turns[:index]))
    ctx.run(example, agent=recorder)
    seen = [*brief_texts(task), *recorder.texts_until(index + 1)]
    pieces = piece_count(seen, extra["split"], extra["more_pieces"])
    replies = stuffed_replies(seen, pieces=pieces, order=extra["order"],
                              separator=extra["separator"])
    (before, _), (after, _) = ctx.score_insertion(example, index, extra["position"], replies)
    b, a = before.criterion("reply_markers"), after.criterion("reply_markers")
    if a.value != b.value:
        fail(f"{len(replies)} public repl{'y' if len(replies) == 1 else 'ies'} made of the "
             f"{len(seen)} texts the agent had seen by turn {index + 1} changed reply_markers "
             f"from {b.value} to {a.value} ({a.reason}); the replies: "
             f"{describe_turns([r['message'] for r in replies])}")


# --------------------------------------------------------------------------- fillers


def filler_strategy(ctx: SuiteContext) -> SearchStrategy[Example]:
    return ctx.examples(st.fixed_dictionaries({
        "start": st.integers(0, ctx.task.max_steps - 1),
        "notes": st.booleans(),
    }), sequences=filler_bases(ctx.task))


def filler_explicit(ctx: SuiteContext) -> list[Example]:
    first = gold_first_turn(ctx.task)
    return [Example.in_world(world, [[dict(GREETING), *first[: MAX_OPERATIONS_PER_TURN - 1]]],
                             start=0, notes=notes)
            for world in ctx.fault_free_worlds()[:2] for notes in (False, True)]


def check_filler(ctx: SuiteContext, example: Example) -> None:
    task, extra = ctx.task, example.extra
    base = list(example.turns)
    filled = pad_with_filler(base, start=extra["start"], notes=extra["notes"],
                             turns_total=task.max_steps)
    before, _ = ctx.score(example, base)
    after, trace = ctx.score(example, filled)
    for b, a in zip(before.criteria, after.criteria, strict=True):
        if b.value is None or a.value is None or a.value <= b.value + TOLERANCE:
            continue
        if a.name == "kept_informed" and _update_without_facts(latest_update_facts(task, trace)):
            continue
        fail(f"filler from turn {extra['start'] + 1} raised {a.name} from {b.value} to "
             f"{a.value}: {a.reason}")
    want = expected_spam(trace)
    got = penalty_total(after, "spam")
    if not math.isclose(got, want, abs_tol=TOLERANCE):
        fail(f"filler from turn {extra['start'] + 1}: the spam penalty is {got:.12g}; for "
             f"the public replies beyond the customer's messages, the team updates and "
             f"{SPEC_SPAM_ALLOWANCE} the spec says {want:.12g}")


# --------------------------------------------------------------------------- leakers


def leak_strategy(ctx: SuiteContext) -> SearchStrategy[Example]:
    return ctx.insertions(term=st.sampled_from(leak_terms(ctx.task)), how=st.integers(0, 2))


def leak_explicit(ctx: SuiteContext) -> list[Example]:
    return [Example.in_world(ctx.first_world(), [], turn=0, position=0,
                             term=leak_terms(ctx.task)[0], how=0)]


def leak_not_applicable(ctx: SuiteContext) -> str | None:
    if not internal_terms(ctx.task):
        return "the task has no internal-only terms (no catalog id with '_', no internal_terms)"
    return None


def check_leak(ctx: SuiteContext, example: Example) -> None:
    task, extra = ctx.task, example.extra
    index = extra["turn"]
    markers = marker_sentences(task.required_reply_markers)
    message = leaked(f"Hello, an update on your ticket. {markers}".strip(), [extra["term"]],
                     extra["how"])
    op = {"op": "reply", "message": message}
    (before, _), (after, trace) = ctx.score_insertion(example, index, extra["position"], [op])
    for name in ("reply_markers", "kept_informed"):
        if after.criterion(name).value != before.criterion(name).value:
            fail(f"a public reply leaking {extra['term']!r} at turn {index + 1} changed {name} "
                 f"from {before.criterion(name).value} to {after.criterion(name).value}")
    if not played(trace, index + 1, op):
        return
    had = penalty_total(before, "leak")
    want = min(SPEC_LEAK_PENALTY_CAP, had + SPEC_LEAK_PENALTY)
    got = penalty_total(after, "leak")
    if not math.isclose(got, want, abs_tol=TOLERANCE):
        fail(f"a public reply leaking {extra['term']!r} at turn {index + 1} brought the leak "
             f"penalties from {had:.12g} to {got:.12g}, not {want:.12g}")


# --------------------------------------------------------------------------- channels

_CHANNEL_KINDS = ("reply_terms_in_note", "note_terms_in_reply", "long_reply", "long_note",
                  "terms_in_search")


def channel_strategy(ctx: SuiteContext) -> SearchStrategy[Example]:
    return ctx.insertions(kind=st.sampled_from(_CHANNEL_KINDS), padding=st.integers(1, 200))


def channel_explicit(ctx: SuiteContext) -> list[Example]:
    return [Example.in_world(ctx.first_world(), [], turn=0, position=0, kind=kind, padding=1)
            for kind in _CHANNEL_KINDS]


def channel_not_applicable(ctx: SuiteContext) -> str | None:
    task = ctx.task
    if not (task.required_reply_markers or task.required_note_markers
            or task.forbidden_reply_markers):
        return "the task has no reply, note or forbidden markers"
    return None


def _channel_op(ctx: SuiteContext, kind: str, padding: int) -> tuple[dict[str, Any],
                                                                     tuple[str, ...]]:
    """The operation that puts markers where they must not count, and what it must leave
    unchanged."""
    task = ctx.task
    reply_text = " ".join(marker_texts(task.required_reply_markers)) or "hello"
    note_text = " ".join(marker_texts(task.required_note_markers)) or "hello"
    forbidden = " ".join(marker_texts(task.forbidden_reply_markers))
    everything = " ".join(filter(None, (reply_text, note_text, forbidden)))
    all_markers = ("reply_markers", "note_markers", "forbidden")
    if kind == "reply_terms_in_note":
        return ({"op": "note", "text": f"{reply_text} {forbidden}".strip()[:MAX_NOTE_CHARS]},
                ("reply_markers", "forbidden"))
    if kind == "note_terms_in_reply":
        return {"op": "reply", "message": note_text[:MAX_REPLY_CHARS]}, ("note_markers",)
    if kind == "long_reply":
        return ({"op": "reply", "message": padded(everything, MAX_REPLY_CHARS + padding)},
                all_markers)
    if kind == "long_note":
        return {"op": "note", "text": padded(everything, MAX_NOTE_CHARS + padding)}, all_markers
    return {"op": "search_kb", "query": everything[:MAX_REPLY_CHARS]}, all_markers


def _marker_view(report: GradeReport) -> dict[str, Any]:
    return {"reply_markers": report.criterion("reply_markers").value,
            "note_markers": report.criterion("note_markers").value,
            # Reasons name the event that said it; an inserted event shifts the numbers.
            "forbidden": sorted(re.sub(r"\bevent \d+", "event #", p.reason)
                                for p in report.penalties if p.name == "forbidden_reply")}


def check_channels(ctx: SuiteContext, example: Example) -> None:
    task, extra = ctx.task, example.extra
    kind, index = extra["kind"], extra["turn"]
    op, unchanged = _channel_op(ctx, kind, extra["padding"])
    (before, trace), (after, _) = ctx.score_insertion(example, index, extra["position"], [op])
    was, now = _marker_view(before), _marker_view(after)
    for name in unchanged:
        if was[name] != now[name]:
            fail(f"{kind}: a {op['op']} at turn {index + 1} changed {name} from "
                 f"{was[name]} to {now[name]}")
    if kind.startswith("long_"):
        # Straight into a trace, bypassing the simulator's own length check.
        events = list(trace.events)
        at = next((n for n, e in enumerate(events) if e.kind == "end"), len(events))
        time_at = events[at - 1].t if at else 0
        injected = TraceEvent(t=time_at, seq=at, actor="agent", kind="operation",
                              payload={"turn": index + 1, "index": 0, "op": op})
        spliced = renumbered([*events[:at], injected, *events[at:]])
        direct = _marker_view(grade(task, Trace(header=trace.header, events=tuple(spliced))))
        for name in unchanged:
            if was[name] != direct[name]:
                fail(f"{kind}: an over-long {op['op']} written into the trace changed {name} "
                     f"from {was[name]} to {direct[name]}")
