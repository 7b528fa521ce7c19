"""Reading one knowledge-base article as a runbook: which catalog values it assigns,
what it blocks, which fields it asks for, and what it says to tell the customer, to
write in the note and never to say.

A value is *assigned* by the phrase that names it ("set queue billing", "escalate to
platform_engineering", "priority high for free tier", "issue type bug", "resolution code
duplicate", "raise churn_risk when ...", "request the invoice_id"), and *blocked* when
its clause negates it ("do not send the ticket to billing", "do not raise p1_incident").
An assignment is *weak* (a fallback, not an instruction) when it says "only" or its
condition does not hold for the ticket. Each sentence is read by a fixed sequence of
readers, one a kind of instruction; positions count ``sentence index * 10_000`` plus the
offset in the sentence, so mentions order by where the article said them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import attrs

from actors.agents.heuristic.prose import (
    NEGATION,
    QUOTED,
    alternation,
    canonical,
    clause_end,
    clause_start,
    negated,
    sentence_case,
    sentences,
)
from actors.agents.heuristic.ticket import TicketFacts, condition_holds
from tasks.base import KnowledgeSnippet
from tasks.catalog import Catalog

#: Sentences further apart than this never compare positions within one another.
_SENTENCE_SPAN = 10_000


@attrs.frozen
class Mention:
    """A catalog value an article assigns, with where it said so."""

    value: str
    position: int
    weak: bool = False  # "only if ...": a fallback, not an instruction


@attrs.define
class ArticleFacts:
    """What one knowledge-base article instructs."""

    article_id: str
    content: str
    queues: list[Mention] = attrs.field(factory=list)
    escalations: list[Mention] = attrs.field(factory=list)
    no_escalation: bool = False
    blocked_queues: list[str] = attrs.field(factory=list)
    priorities: list[Mention] = attrs.field(factory=list)
    issue_types: list[Mention] = attrs.field(factory=list)
    statuses: list[Mention] = attrs.field(factory=list)
    resolution_codes: list[Mention] = attrs.field(factory=list)
    flags: list[Mention] = attrs.field(factory=list)
    blocked_flags: list[str] = attrs.field(factory=list)
    mentions_flags: bool = False
    fields: list[str] = attrs.field(factory=list)
    reply_lines: list[str] = attrs.field(factory=list)
    note_lines: list[str] = attrs.field(factory=list)
    deferred_note_lines: list[str] = attrs.field(factory=list)
    banned: list[str] = attrs.field(factory=list)
    mentions_status_page: bool = False

    @property
    def instructs(self) -> bool:
        """Whether the article tells the agent where the ticket goes or how it ends."""
        return bool(self.escalations or self.statuses or self.queues or self.issue_types)


@attrs.frozen
class _Sentence:
    """One sentence of an article: as written, lower-cased, and where it starts."""

    original: str
    text: str
    base: int


@attrs.frozen
class _Context:
    """What every reader needs besides the sentence: the catalog, a regex group for each
    kind of value in it, and the ticket (for conditions)."""

    catalog: Catalog
    facts: TicketFacts
    queues: str
    issue_types: str
    statuses: str
    codes: str
    flags: str
    fields: str
    priorities: str

    @classmethod
    def of(cls, catalog: Catalog, facts: TicketFacts) -> _Context:
        priorities = "(" + "|".join(re.escape(p) for p in catalog.priorities) + ")" \
            if catalog.priorities else "(?!x)x"
        return cls(catalog=catalog, facts=facts, queues=alternation(catalog.queues),
                   issue_types=alternation(catalog.issue_types),
                   statuses=alternation(catalog.statuses),
                   codes=alternation(catalog.resolution_codes),
                   flags=alternation(catalog.risk_flags), fields=alternation(catalog.fields),
                   priorities=priorities)


def read_article(article: KnowledgeSnippet, catalog: Catalog, facts: TicketFacts) -> ArticleFacts:
    """Read one article's instructions, sentence by sentence."""
    out = ArticleFacts(article_id=article.article_id, content=article.content)
    context = _Context.of(catalog, facts)
    for index, original in enumerate(sentences(article.content)):
        sentence = _Sentence(original, original.lower(), index * _SENTENCE_SPAN)
        for reader in _READERS:
            reader(sentence, context, out)
    return out


def _assign(target: list[Mention], values: Sequence[str], sentence: _Sentence,
            match: re.Match[str], group: int = 1) -> str | None:
    """Record the value ``match`` names as assigned; return it instead when its clause
    negates it (the caller decides whether that blocks it)."""
    s = sentence.text
    value = canonical(match.group(group), values)
    if value is None:
        return None
    pos = match.start(group)
    if negated(s, pos):
        return value
    weak = re.search(r"\bonly\b", s[pos:clause_end(s, pos + len(match.group(group))) + 40]) \
        is not None
    target.append(Mention(value, sentence.base + pos, weak))
    return None


# --------------------------------------------------------------------------- routing

_QUEUE_VERBS = (
    r"\b(?:keep|leave|put|move|route|send|assign|transfer|forward)\w*\b"
    r"(?:\s+[\w'-]+){0,4}?\s+(?:in|to|into|with)\s+(?:the\s+)?"
)


def _read_routing(sentence: _Sentence, context: _Context, out: ArticleFacts) -> None:
    """"escalate to X", "queue X", "X queue", "send it to X", "belongs to X"; a negated
    one blocks X."""
    queues = context.queues
    for pattern, escalation in (
        (r"\b(?:escalat\w*|hand(?:s|ed|ing)?|pass(?:es|ed|ing)?)\b(?:\s+[\w'-]+){0,3}?\s+to\s+"
         r"(?:the\s+)?" + queues, True),
        (r"\bqueue\s+(?:to\s+)?" + queues, False),
        (queues + r"\s+queue\b", False),
        (_QUEUE_VERBS + queues, False),
        (r"\b(?:belongs?|go(?:es)?|owned\s+by|handled\s+by|stays?\s+with)\s+(?:in\s+|to\s+)?"
         r"(?:the\s+)?" + queues, False),
    ):
        for match in re.finditer(pattern, sentence.text):
            blocked = _assign(out.escalations if escalation else out.queues,
                              context.catalog.queues, sentence, match, match.lastindex or 1)
            if blocked:
                out.blocked_queues.append(blocked)


def _read_blocked_queues(sentence: _Sentence, context: _Context, out: ArticleFacts) -> None:
    """A negated queue that is unmistakably one ("not billing", an id with "_", or after
    "escalate/send/route" in its clause) is blocked."""
    s = sentence.text
    for match in re.finditer(context.queues, s):
        value = canonical(match.group(1), context.catalog.queues)
        if value and negated(s, match.start()) and (
            "_" in match.group(1) or re.search(r"\bnot\s+" + re.escape(match.group(1)), s)
            or re.search(r"\b(?:escalat|send|route)\w*", s[clause_start(s, match.start()):
                                                           match.start()])
        ):
            out.blocked_queues.append(value)


def _read_no_escalation(sentence: _Sentence, context: _Context, out: ArticleFacts) -> None:
    """"no escalation", "do not escalate" (without a "to": that one blocks a queue)."""
    s = sentence.text
    if re.search(r"\bno\s+escalation\b", s) or re.search(
        r"\b(?:do\s+not|don't|never)\s+escalate\b(?![^.;:]*\bto\b)", s
    ):
        out.no_escalation = True


# --------------------------------------------------------------------------- ticket fields


def _read_priorities(sentence: _Sentence, context: _Context, out: ArticleFacts) -> None:
    """"priority low for free tier, normal for paid tiers (otherwise high)", each with its
    condition; and "high priority"."""
    s, base, priorities = sentence.text, sentence.base, context.priorities
    for match in re.finditer(r"\bpriority\s+(?:to\s+|of\s+|is\s+)?" + priorities + r"\b", s):
        rest = s[match.start(1):]
        candidates = [(match.group(1), match.start(1))] + [
            (m.group(1), match.start(1) + m.start(1))
            for m in re.finditer(r"(?:,|\(|\botherwise)\s*" + priorities + r"\b", rest)
        ]
        for value, pos in candidates:
            condition = s[pos + len(value):clause_end(s, pos + len(value))]
            if value == "otherwise":
                continue
            weak = re.search(r"\bonly\b", condition) is not None
            if not condition_holds(condition, context.facts):
                weak = True
            if not negated(s, pos):
                out.priorities.append(Mention(value, base + pos, weak))
    for match in re.finditer(priorities + r"\s+priority\b", s):
        if not negated(s, match.start()):
            out.priorities.append(Mention(match.group(1), base + match.start()))


def _read_issue_types(sentence: _Sentence, context: _Context, out: ArticleFacts) -> None:
    """"issue type X"; and, weakly, "is a X" for an id written with "_"."""
    s, issue_types = sentence.text, context.catalog.issue_types
    for match in re.finditer(r"\bissue\s+type\s+(?:to\s+|is\s+)?" + context.issue_types, s):
        _assign(out.issue_types, issue_types, sentence, match)
    for match in re.finditer(r"\b(?:is|as)\s+an?\s+" + context.issue_types, s):
        value = canonical(match.group(1), issue_types)
        if value and "_" in value and not negated(s, match.start()):
            out.issue_types.append(Mention(value, sentence.base + match.start(1), weak=True))


def _read_statuses(sentence: _Sentence, context: _Context, out: ArticleFacts) -> None:
    """"status X", "mark the ticket as X", "resolve it with/as ..."."""
    s, statuses = sentence.text, context.catalog.statuses
    for match in re.finditer(r"\bstatus\s+(?:to\s+)?" + context.statuses, s):
        _assign(out.statuses, statuses, sentence, match)
    for match in re.finditer(r"\b(?:mark|set|move|put)\s+(?:it|the\s+ticket|this)\s+"
                             r"(?:as\s+|to\s+)?" + context.statuses, s):
        _assign(out.statuses, statuses, sentence, match)
    for match in re.finditer(r"\b(resolve|close)\s+(?:it\s+|the\s+ticket\s+)?"
                             r"(?:with|as|using)\b", s):
        if not negated(s, match.start()):
            verb = "resolved" if match.group(1) == "resolve" else "closed"
            if verb in statuses:
                out.statuses.append(Mention(verb, sentence.base + match.start()))


def _read_resolution_codes(sentence: _Sentence, context: _Context, out: ArticleFacts) -> None:
    """"resolution code X", "resolve it as X"; and, weakly, any id written with "_"."""
    s, codes = sentence.text, context.catalog.resolution_codes
    for match in re.finditer(r"\bresolution\s+code\s+(?:to\s+|is\s+|of\s+)?" + context.codes,
                             s):
        _assign(out.resolution_codes, codes, sentence, match)
    for match in re.finditer(r"\b(?:resolv|clos|mark)\w*\b(?:\s+[\w'-]+){0,4}?\s+"
                             r"(?:as|with|using)\s+" + context.codes, s):
        _assign(out.resolution_codes, codes, sentence, match)
    for match in re.finditer(context.codes, s):
        value = canonical(match.group(1), codes)
        if value and "_" in match.group(1) and not any(
            m.value == value for m in out.resolution_codes
        ) and not negated(s, match.start()):
            out.resolution_codes.append(Mention(value, sentence.base + match.start(), weak=True))


def _read_flags(sentence: _Sentence, context: _Context, out: ArticleFacts) -> None:
    """"raise X [and Y] [when ...]" per ``;``/``:`` segment, blocked by "do not raise X"."""
    s = sentence.text
    if re.search(context.flags, s):
        out.mentions_flags = True
    for segment_match in re.finditer(r"[^;:]+", s):
        segment, offset = segment_match.group(0), segment_match.start()
        raise_at = re.search(r"\b(?:raise|flag)\w*\b", segment)
        if not raise_at:
            continue
        found = list(re.finditer(context.flags, segment[raise_at.end():]))
        for match in found:
            value = canonical(match.group(1), context.catalog.risk_flags)
            if value is None:
                continue
            if negated(segment, raise_at.start()):
                out.blocked_flags.append(value)
                continue
            condition = segment[:raise_at.start()] + " " + segment[
                raise_at.end() + found[-1].end():]
            weak = re.search(r"\bonly\b", condition) is not None
            if not condition_holds(condition, context.facts):
                weak = True
            out.flags.append(Mention(value, sentence.base + offset + raise_at.end()
                                     + match.start(), weak))


def _read_fields(sentence: _Sentence, context: _Context, out: ArticleFacts) -> None:
    """The fields named after "request/capture/collect/gather/ask for"."""
    s = sentence.text
    asks = re.search(r"\b(?:request|capture|collect|gather|ask\s+(?:the\s+customer\s+)?for)"
                     r"\b", s)
    if not asks:
        return
    for match in re.finditer(context.fields, s[asks.end():]):
        pos = asks.end() + match.start()
        value = canonical(match.group(1), context.catalog.fields)
        if value and not negated(s, pos) and value not in out.fields:
            out.fields.append(value)


# --------------------------------------------------------------------------- wording


def _read_reply(sentence: _Sentence, context: _Context, out: ArticleFacts) -> None:
    """"In your reply, ...", "Tell the customer ...", "Explain that ...": a reply line."""
    s = sentence.text
    reply_at = re.search(r"\bin\s+(?:your|the|a)\s+(?:public\s+)?repl(?:y|ies),?\s*", s)
    if reply_at is None:
        reply_at = re.match(r"\s*(?:reply\b|(?=(?:tell|let|remind|inform)\s+the\s+customer\b)|"
                            r"(?=explain\s+that\b))\s*", s)
    if reply_at is not None and not NEGATION.search(s, 0, reply_at.start()):
        line = reply_line(sentence.original[reply_at.end():])
        if line:
            out.reply_lines.append(line)


def _read_note(sentence: _Sentence, context: _Context, out: ArticleFacts) -> None:
    """"In an internal note, write 'X'": the quoted lines (or the instruction), and the
    instruction itself as an optional "Runbook:" line; deferred when it says "once"."""
    note_at = re.search(r"\b(?:in|add|write|leave)\s+(?:an|the|your)\s+internal\s+note\b,?\s*"
                        r"(?:saying\s+|that\s+says\s+)?", sentence.text)
    if note_at is None:
        return
    instruction = sentence.original[note_at.end():]
    quoted = QUOTED.findall(instruction)
    starts = re.search(r"\bstart\w*\s+with\b", instruction.lower()) is not None
    lines = [sentence_case(f"{q}: {{subject}}" if starts else q) for q in quoted] \
        or [sentence_case(instruction)]
    lines.append(sentence_case("Runbook: " + instruction))
    if re.search(r"\b(?:once|after|when)\b", instruction.lower()):
        out.deferred_note_lines.extend(lines)
    else:
        out.note_lines.extend(lines)


def _read_banned(sentence: _Sentence, context: _Context, out: ArticleFacts) -> None:
    """"Never say 'X' in a reply", "do not suggest to Y": words no reply may contain."""
    s = sentence.text
    if not (NEGATION.search(s) and re.search(
        r"\b(?:repl(?:y|ies)|word|words|say|mention|write|use|promise)\b", s
    )):
        return
    for term in QUOTED.findall(sentence.original):
        if term.strip() and term.lower() not in out.banned:
            out.banned.append(term.lower())
    match = re.search(r"\b(?:suggest|advise)\w*\s+(?:the\s+customer\s+)?to\s+([\w ]+)", s)
    if match and "repl" in s:
        out.banned.append(match.group(1).strip())


def _read_workaround(sentence: _Sentence, context: _Context, out: ArticleFacts) -> None:
    """"workaround (X)": a reply line that offers X."""
    workaround = re.search(r"\bworkaround\s*\(([^)]+)\)", sentence.original)
    if workaround:
        out.reply_lines.append(sentence_case("Workaround: " + workaround.group(1)))


def _read_status_page(sentence: _Sentence, context: _Context, out: ArticleFacts) -> None:
    if "status page" in sentence.text:
        out.mentions_status_page = True


_REPLY_REWRITES: tuple[tuple[str, str], ...] = (
    (r"^thanking the customer,?\s*", "thank you for your message. "),
    (r"\b(?:tell|ask) the customer to\b", "please"),
    (r"\b(?:tell|remind|inform) (?:the customer|them) (?:that\s+)?", ""),
    (r"\blet (?:the customer|them) know (?:that\s+)?", ""),
    (r"^explain that\s+", ""),
    (r"\bsay (?:that\s+)?", ""),
    (r"\band that\b", "and"),
    (r"\bpoint (?:them|the customer) to\b", "you can follow"),
    (r"\bpoint to\b", "please see"),
    (r"\bexplain how to\b", "you can"),
    (r"\bexplain\b", "we explain"),
    (r"\bsuggest\b", "we suggest"),
    (r"\bgive\b", "we will give you"),
    (r"\bconfirm\b", "we confirm"),
    (r"^acknowledge\b", "we acknowledge"),
    (r"\band acknowledge\b", "and we acknowledge"),
    (r"\bapologi([sz])e\b", r"we apologi\1e"),
    (r"\byou have\b", "we have"),
)


def reply_line(instruction: str) -> str:
    """Turn "say X and tell the customer to Y" into customer-facing text."""
    text = instruction.strip()
    if not text:
        return ""
    lowered = text[0].lower() + text[1:]
    for pattern, replacement in _REPLY_REWRITES:
        lowered = re.sub(pattern, replacement, lowered)
    parts = [p.strip() for p in re.split(r"(?<=\.)\s+", lowered) if p.strip()]
    return " ".join(sentence_case(p) for p in parts)


#: The readers, in the order their findings are recorded (order matters where two
#: write the same list: routing before blocked queues, reply before workaround).
_READERS: tuple[Callable[[_Sentence, _Context, ArticleFacts], None], ...] = (
    _read_routing, _read_blocked_queues, _read_no_escalation, _read_priorities,
    _read_issue_types, _read_statuses, _read_resolution_codes, _read_flags, _read_fields,
    _read_reply, _read_note, _read_banned, _read_workaround, _read_status_page,
)
