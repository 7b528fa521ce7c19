"""Gaming policies: turn lists that try to earn score without doing the work.

SPEC §4 says no policy games the score. Each policy here is a hypothesis strategy of turn
lists for :func:`~sim.testing.replaying.replay`, built from the task alone, so it runs
against any task (the suite plays them, so ``check-task`` does):

- :func:`quitter_turns`: anything at turn 1, then ``finish`` or a resolved/closed status;
- :func:`escalation_spray_turns`: an escalation to every queue of the catalog;
- :func:`empty_relay_turns`: the team's update "relayed" as "." or without its facts;
- :func:`leaker_turns`: marker replies carrying internal ids (:func:`internal_terms`);
- :func:`filler_turns`: turns filled to 8 operations of 1,000-character filler;
- :func:`stuffed_turns`: replies made of the text the agent is shown (:func:`brief_texts`,
  plus messages it received), cut to the limit or split over replies;
- :func:`gaming_turns`: any of them.

The plain builders they use (:func:`stuffed_replies`, :func:`spray_turns`,
:func:`pad_with_filler`, :func:`quitter_endings`) are public too, for explicit examples.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies import DrawFn, SearchStrategy

from sim.operations import MAX_OPERATIONS_PER_TURN, MAX_REPLY_CHARS
from sim.testing.strategies import (
    gold_escalation,
    gold_first_turn,
    marker_sentences,
    named,
    subsets,
    turn_sequences,
    valid_by_kind,
    valid_operations,
    weighted,
)
from sim.testing.turn_edits import before_end, inserted, spliced, with_room
from sim.text_checks import update_facts
from tasks.base import TERMINAL_STATUSES, SupportTaskSpec

#: One 1,000-character filler message (the longest public reply allowed).
FILLER_TEXT = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "
               * 20)[:MAX_REPLY_CHARS]
#: Acknowledgements that carry none of a team update's facts.
FACTLESS_RELAYS: tuple[str, ...] = (
    ".",
    "Thanks, the team is on it.",
    "An update from the team working on this: they are on it.",
    "Quick update: the team has replied and is working on your ticket.",
    "We heard back from the team. We will keep you posted.",
)
#: A public reply that carries nothing but courtesy.
GREETING = {"op": "reply", "message": "Hello, thank you for reaching out. We are on it."}
#: The summary every sprayed escalation carries.
SPRAY_SUMMARY = "Please take a look at this ticket."
#: The shortest piece a stuffer splits seen text into: shorter, a piece is a few words
#: that happen to be seen somewhere, not a paste.
MIN_STUFFED_PIECE = 200


def first_turn(task: SupportTaskSpec) -> SearchStrategy[list[dict[str, Any]]]:
    """Part of a perfect first turn without its status, or a few drawn valid operations."""
    ops = gold_first_turn(task)
    return weighted((3, st.just(ops)), (2, subsets(ops)),
                    (1, st.lists(valid_operations(task), max_size=4)))


def quiet_sequences(task: SupportTaskSpec, *, noisy: bool = True) -> SearchStrategy[list[Any]]:
    """Turn sequences without public replies (so what gets added is all that could count),
    and, when ``noisy``, any sequence now and then."""
    kinds = {k: v for k, v in valid_by_kind(task).items() if k not in ("reply", "finish")}
    quiet_turn = st.lists(st.one_of(list(kinds.values())), max_size=4)
    quiet = st.lists(quiet_turn, max_size=task.max_steps)
    return weighted((3, quiet), (1, turn_sequences(task))) if noisy else quiet


# --------------------------------------------------------------------------- what is seen


def internal_terms(task: SupportTaskSpec) -> tuple[str, ...]:
    """Internal-only text a public reply must never show (SPEC §4, leak): the catalog ids of
    queues, risk flags and resolution codes written as identifiers (with ``_``), and the
    task's own ``internal_terms``."""
    catalog = task.catalog
    ids = [value for value in (*catalog.queues, *catalog.risk_flags, *catalog.resolution_codes)
           if "_" in value]
    return tuple(dict.fromkeys((*ids, *task.internal_terms)))


def leak_terms(task: SupportTaskSpec) -> tuple[str, ...]:
    """What a leaker leaks: :func:`internal_terms`, or a stand-in when the task has none."""
    return internal_terms(task) or ("internal",)


def brief_texts(task: SupportTaskSpec) -> list[str]:
    """The text every agent is shown before its first turn: the title and objective, the
    ticket's subject and body, and every knowledge-base article's title and content."""
    texts = [task.title, task.objective, task.ticket.subject, task.ticket.body]
    for article in task.knowledge_base:
        texts += [article.title, article.content]
    return texts


# --------------------------------------------------------------------------- stuffers


def stuffed_replies(texts: Sequence[str], *, pieces: int = 1, order: int = 0,
                    separator: str = " ") -> list[dict[str, Any]]:
    """Public replies made of ``texts`` (each once, in the order ``order`` shuffles them
    into: 0 keeps it), joined: one reply cut to the 1,000-character limit (``pieces`` 1),
    or the whole text split into ``pieces`` or more replies of equal length, each within
    the limit (at most :data:`~sim.operations.MAX_OPERATIONS_PER_TURN`)."""
    parts = list(dict.fromkeys(text.strip() for text in texts if text.strip()))
    if order:
        random.Random(order).shuffle(parts)
    whole = separator.join(parts)
    if not whole:
        return []
    if pieces <= 1:
        return [{"op": "reply", "message": whole[:MAX_REPLY_CHARS]}]
    count = min(max(pieces, -(-len(whole) // MAX_REPLY_CHARS)), MAX_OPERATIONS_PER_TURN)
    size = min(MAX_REPLY_CHARS, -(-len(whole) // count))
    chunks = [whole[i:i + size] for i in range(0, len(whole), size)][:count]
    return [{"op": "reply", "message": chunk} for chunk in chunks if chunk.strip()]


def piece_count(texts: Sequence[str], split: bool, more: int = 0) -> int:
    """How many replies a stuffer splits ``texts`` over: 1 (cut to the limit) unless
    ``split``; else enough to hold all of it, ``more`` on top, but no piece under
    :data:`MIN_STUFFED_PIECE` characters and at most a turn's worth."""
    if not split:
        return 1
    length = sum(len(t.strip()) + 1 for t in dict.fromkeys(texts) if t.strip())
    wanted = max(2, -(-length // MAX_REPLY_CHARS) + more)
    return min(wanted, max(2, length // MIN_STUFFED_PIECE), MAX_OPERATIONS_PER_TURN)


def stuffed_turns(task: SupportTaskSpec, seen: Sequence[str] = ()) -> SearchStrategy[list[Any]]:
    """A *stuffer*: turns whose public replies are made of all the text the agent is shown
    (:func:`brief_texts`, plus ``seen``: messages it received, if you have them), cut to
    the length limit or split over replies, at a drawn turn of a sequence that sends no
    other public reply."""
    texts = [*brief_texts(task), *seen]
    pieces = st.builds(lambda split, more: piece_count(texts, split, more), st.booleans(),
                       st.integers(0, 2))

    @st.composite
    def stuffers(draw: DrawFn) -> list[Any]:
        base = draw(quiet_sequences(task, noisy=False))
        index = draw(st.integers(0, task.max_steps - 1))
        replies = stuffed_replies(texts, pieces=draw(pieces),
                                  order=draw(st.integers(0, 2**16)),
                                  separator=draw(st.sampled_from((" ", "\n", " \n\n"))))
        turn_list = with_room(base, index, room=len(replies))
        return inserted(turn_list, index, draw(st.integers(0, MAX_OPERATIONS_PER_TURN)),
                        *replies)

    return named("stuffed_turns", stuffers())


# --------------------------------------------------------------------------- quitters


def quitter_endings(task: SupportTaskSpec) -> list[list[dict[str, Any]]]:
    """The ways a quitter ends its first turn: ``finish``; the gold status with the gold
    resolution code (then ``finish``, if that status does not end the episode); any other
    resolved or closed status with the gold resolution code."""
    gold = [{"op": "set_status", "status": task.gold_status,
             "resolution_code": task.gold_resolution_code}]
    if task.gold_status not in TERMINAL_STATUSES:
        gold.append({"op": "finish"})
    endings: list[list[dict[str, Any]]] = [[{"op": "finish"}], gold]
    endings += [[{"op": "set_status", "status": status,
                  "resolution_code": task.gold_resolution_code}]
                for status in task.catalog.statuses
                if status in TERMINAL_STATUSES and status != task.gold_status]
    return endings


def quitter_turns(task: SupportTaskSpec) -> SearchStrategy[list[Any]]:
    """A *quitter*: anything at turn 1 (often the perfect first turn: gold triage, flags,
    the marker reply asking for every required field, the note, the escalation), then it
    ends the episode in the same turn, before any customer answer can arrive."""

    @st.composite
    def quitters(draw: DrawFn) -> list[Any]:
        ending = draw(st.sampled_from(quitter_endings(task)))
        first = draw(first_turn(task))[: MAX_OPERATIONS_PER_TURN - len(ending)]
        return [[*first, *ending]]

    return named("quitter_turns", quitters())


# --------------------------------------------------------------------------- sprayers


def spray_turns(task: SupportTaskSpec, queues: Sequence[str]) -> list[list[dict[str, Any]]]:
    """Turns escalating to each of ``queues`` in order, as few turns as the limit allows."""
    ops = [{"op": "escalate", "queue": queue, "summary": SPRAY_SUMMARY} for queue in queues]
    size = MAX_OPERATIONS_PER_TURN
    return [ops[i:i + size] for i in range(0, len(ops), size)] or [[]]


def escalation_spray_turns(task: SupportTaskSpec) -> SearchStrategy[list[Any]]:
    """An *escalation sprayer*: at a drawn turn of a drawn sequence, escalations to every
    queue of the catalog (the gold one included), in a drawn order."""

    @st.composite
    def sprayers(draw: DrawFn) -> list[Any]:
        base = draw(weighted((1, first_turn(task).map(lambda ops: [ops])),
                             (1, turn_sequences(task))))
        index = draw(st.integers(0, task.max_steps - 1))
        queues = draw(st.permutations(task.catalog.queues))
        return spliced(base, index, spray_turns(task, queues))

    return named("escalation_spray_turns", sprayers())


# --------------------------------------------------------------------------- empty relays


def _stripped_update(task: SupportTaskSpec) -> str:
    """The owning team's update with every fact (number with unit, identifier) cut out."""
    text = task.follow_up_message
    facts = task.update_markers or update_facts(text)
    for fact in sorted(facts, key=len, reverse=True):
        text = re.sub(re.escape(fact), "", text, flags=re.IGNORECASE)
    return " ".join(text.split()) or "."


def empty_relay_turns(task: SupportTaskSpec, *,
                      echo_update: bool = True) -> SearchStrategy[list[Any]]:
    """An *empty relay*: escalates to the owning team at turn 1, then "relays" its update
    with replies that carry none of its facts ("." or "Thanks, the team is on it.", or,
    with ``echo_update``, the update with its numbers and identifiers cut out) at drawn
    later turns, or every turn.

    The echo is the team's words as the task states them: a policy that knows them sends
    them before it could have seen them, and then they are its own words, not a copy."""
    texts = (*FACTLESS_RELAYS, _stripped_update(task)) if echo_update else FACTLESS_RELAYS
    relay = st.sampled_from(texts).map(lambda text: {"op": "reply", "message": text})
    escalate = gold_escalation(task)

    @st.composite
    def relays(draw: DrawFn) -> list[Any]:
        first = [op for op in draw(first_turn(task)) if op.get("op") != "escalate"]
        later = draw(st.one_of(
            st.lists(relay.map(lambda op: [op]), min_size=task.max_steps - 1,
                     max_size=task.max_steps - 1),
            st.lists(st.one_of(st.just([]), relay.map(lambda op: [op])),
                     max_size=task.max_steps - 1),
        ))
        return [[*first[: MAX_OPERATIONS_PER_TURN - 1], escalate], *later]

    return named("empty_relay_turns", relays())


# --------------------------------------------------------------------------- leakers


def leaked(message: str, terms: Sequence[str], how: int) -> str:
    """``message`` cut to leave room for ``terms`` shown one of three ways (``how``)."""
    leak = {0: f" [internal: {', '.join(terms)}]", 1: f" Routed to {terms[0]}.",
            2: f" {terms[-1].upper()}"}[how % 3]
    return message[: MAX_REPLY_CHARS - len(leak)] + leak


def leaker_turns(task: SupportTaskSpec) -> SearchStrategy[list[Any]]:
    """A *leaker*: a first turn whose public replies carry every reply marker group plus
    internal-only text (:func:`internal_terms`: ``platform_engineering``, the task's own
    internal terms), then replies of marker text with internal text at drawn turns."""
    terms = leak_terms(task)
    markers = marker_sentences(task.required_reply_markers)

    @st.composite
    def leakers(draw: DrawFn) -> list[Any]:
        how = draw(st.integers(0, 2))
        chosen = draw(st.lists(st.sampled_from(terms), min_size=1, max_size=3, unique=True))
        first = [
            {**op, "message": leaked(str(op["message"]), chosen, how)}
            if op.get("op") == "reply" else op
            for op in draw(first_turn(task))
        ]
        later = draw(st.lists(st.one_of(st.just([]), st.just([{
            "op": "reply", "message": leaked(f"Update: {markers}", chosen, how)}])),
            max_size=task.max_steps - 1))
        return [first, *later]

    return named("leaker_turns", leakers())


# --------------------------------------------------------------------------- fillers


def pad_with_filler(turn_list: Sequence[Any], *, start: int = 0, notes: bool = True,
                    turns_total: int | None = None) -> list[Any]:
    """``turn_list`` with every turn from ``start`` (0-based) filled up to
    :data:`~sim.operations.MAX_OPERATIONS_PER_TURN` operations with 1,000-character filler
    replies (alternating with filler notes when ``notes``), before any entry that ends the
    episode. ``turns_total`` pads the list with waits first, so later turns fill too."""
    padded = [list(t) if isinstance(t, list | tuple) else t for t in turn_list]
    padded += [[] for _ in range((turns_total or 0) - len(padded))]
    for k in range(start, len(padded)):
        turn = padded[k]
        if not isinstance(turn, list) or len(turn) >= MAX_OPERATIONS_PER_TURN:
            continue
        filler = [{"op": "note", "text": FILLER_TEXT} if notes and i % 2 else
                  {"op": "reply", "message": FILLER_TEXT}
                  for i in range(MAX_OPERATIONS_PER_TURN - len(turn))]
        padded[k] = before_end(turn, filler)
    return padded


def filler_bases(task: SupportTaskSpec) -> SearchStrategy[list[Any]]:
    """Sequences whose first turn holds a public reply (so a filler reply cannot be the
    one that meets the SLA's "a public reply by the deadline")."""
    first = st.one_of(first_turn(task), st.lists(valid_operations(task), max_size=6)).map(
        lambda ops: [dict(GREETING), *ops[: MAX_OPERATIONS_PER_TURN - 1]])
    rest = st.lists(st.lists(valid_operations(task), max_size=4), max_size=task.max_steps - 1)
    return st.builds(lambda head, tail: [head, *tail], first, rest)


def filler_turns(task: SupportTaskSpec) -> SearchStrategy[list[Any]]:
    """A *filler*: every turn from a drawn one on filled up to 8 operations with
    1,000-character filler replies (and notes), on top of a drawn sequence."""
    return named("filler_turns", st.builds(
        lambda base, start, notes: pad_with_filler(base, start=start, notes=notes,
                                                   turns_total=task.max_steps),
        filler_bases(task), st.integers(0, task.max_steps - 1), st.booleans()))


# --------------------------------------------------------------------------- any of them


def gaming_turns(task: SupportTaskSpec, *, echo_update: bool = True) -> SearchStrategy[list[Any]]:
    """Any of the gaming policies above: quitters, escalation sprayers, empty relays,
    leakers, fillers and stuffers (``echo_update``: see :func:`empty_relay_turns`)."""
    return named("gaming_turns", st.one_of(
        quitter_turns(task), escalation_spray_turns(task),
        empty_relay_turns(task, echo_update=echo_update), leaker_turns(task),
        filler_turns(task), stuffed_turns(task),
    ))


def mixed_sequences(task: SupportTaskSpec) -> SearchStrategy[list[Any]]:
    """Random turn sequences, and a gaming policy one time in four. No echo of the team's
    update: sent before the update arrives it is the agent's own words, after it a copy,
    so moving the escalation (or anything that delays the update) rightly changes what the
    same words earn."""
    return weighted((3, turn_sequences(task)), (1, gaming_turns(task, echo_update=False)))
