"""The heuristic agent: a runbook-reading baseline that sees only what an agent sees.

It never reads a task's gold fields: everything it does comes from the brief ``reset``
hands it (the knowledge base, the ticket, the title and objective, the turn length;
handed the whole task in a privileged run, it reads those fields alone), the catalog,
knowledge-base search results and the messages in each observation.

How it plays an episode:

1. Turn 1 (triage): rank the brief's knowledge base as ``search_kb`` would (the
   ticket's words, then two follow-up queries that surface the articles about what
   never to say and which risk flags to raise) and read the articles as runbooks.
   Catalog values are found by the phrases that assign them ("set queue billing",
   "escalate to platform_engineering", "priority high for free tier", "issue type
   bug", "resolution code duplicate", "raise churn_risk when ...", "request the
   invoice_id and the transaction date"), and dropped when the sentence negates them
   ("do not send the ticket to billing", "do not raise p1_incident"). The runbook is
   the first article that gives such instructions; other articles only fill gaps
   (risk flags are collected from all of them). What the runbook says to tell the
   customer becomes the public reply (what it says was done, "say you have sent a
   reset link", waits for the customer's details and is announced as the next step
   meanwhile), what it says to write internally becomes the note (in the agent's own
   words: the runbook is quoted, not pasted), and every word the knowledge base says a
   reply must never contain is kept out of every reply. Where the knowledge base is
   silent, the ticket's own signals (tier, affected users, linked tickets, keywords)
   decide. Without a brief, turn 1 searches the knowledge base and acknowledges the
   ticket, and the triage waits for the articles (turn 2).
2. Later turns: re-request fields whose answers are malformed or missing (checked with
   :func:`~actors.field_values.looks_valid`); where no answer at all has come by the
   time even a slow customer would have answered (a reply delay of up to a turn, plus
   a turn: two turns after the request), chase the fields once; pass each team update
   on to the customer with its facts; answer nudges; keep the ticket ``pending`` while
   the customer owes fields for a resolved/closed ending, and resolve or close only
   once every requested field came back valid; finish once nothing is owed (never
   while a field is outstanding, unless a silent customer was chased and stayed silent
   for two more turns).
3. Every public reply: at most one a turn and no more than one per customer message or
   team update plus two; catalog ids are written as words (``platform engineering``)
   and knowledge-base article ids never appear.

The agent is deterministic (no randomness, no global state) and never raises: a
failure inside a turn makes it wait for that turn instead.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from actors.field_values import looks_valid
from sim.knowledge import search_knowledge_base
from sim.observation import Observation, TicketView
from sim.operations import MAX_NOTE_CHARS, MAX_OPERATIONS_PER_TURN, MAX_REPLY_CHARS
from sim.text_checks import copied_share, shingles, update_facts
from tasks.base import KnowledgeSnippet
from tasks.catalog import Catalog

__all__ = ["HeuristicAgent", "Plan", "derive_plan"]

TERMINAL = ("resolved", "closed")
#: Follow-up searches, one a turn after triage: they surface the articles about what
#: never to say and which risk flags to raise, which the ticket's words can miss.
FOLLOW_UP_QUERIES = (
    "customer communications reply never word say",
    "risk flags raise severity",
)
NOT_RELEVANT = "not relevant"
#: Messages that call for a public reply: each allows one, and the agent allows itself
#: ``REPLY_ALLOWANCE`` more (the first reply, a chase).
CALLS_FOR_A_REPLY = frozenset({"customer_answer", "customer_nudge", "customer_complaint",
                               "team_update"})
REPLY_ALLOWANCE = 2
#: The largest share of a note's word 5-grams that may come from text the agent was
#: shown: a note quotes the runbook's words, it does not paste the runbook.
OWN_WORDS_SHARE = 0.4
#: How often one field is asked for again before the agent gives up on it.
MAX_REQUESTS_PER_FIELD = 3
_STOP = frozenset(
    "a an and are as at be by for from how i in is it of on or the to we what with our "
    "your you this that these those they them their has have had was were will would "
    "can could please hi hello thanks thank".split()
)
_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
            "eight": 8, "nine": 9, "ten": 10}
_TIERS = ("free", "starter", "pro", "business", "enterprise")
_NEGATION = re.compile(
    r"\b(?:not|never|no|don't|doesn't|cannot|can't|instead of|rather than)\b"
)
_CLAUSE_BREAK = re.compile(r"[,;:()]|\bbut\b|\bso\b|\bthen\b")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[A-Z\[(\"'])")
_QUOTED = re.compile(r"(?<![\w])'([^']{2,60})'(?![\w])")
_WORD = re.compile(r"[a-z0-9]+")


# --------------------------------------------------------------------------- text


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_BREAK.split(text) if s.strip()]


def _clause_start(text: str, pos: int) -> int:
    """Where the clause that contains ``text[pos]`` starts."""
    start = 0
    for match in _CLAUSE_BREAK.finditer(text, 0, pos):
        start = match.end()
    return start


def _clause_end(text: str, pos: int) -> int:
    match = _CLAUSE_BREAK.search(text, pos)
    return match.start() if match else len(text)


def _negated(text: str, pos: int) -> bool:
    """Whether a negation precedes ``text[pos]`` inside its clause."""
    return _NEGATION.search(text, _clause_start(text, pos), pos) is not None


@functools.lru_cache(maxsize=4096)  # pure, and asked for the same catalog values every turn
def _value_regex(value: str) -> str:
    """A value as written in prose: ``request_ids`` also matches "request IDs"."""
    words = value.split("_")
    last = words[-1]
    stem = last[:-1] if last.endswith("s") and len(last) > 3 else last
    parts = [re.escape(w) for w in words[:-1]] + [re.escape(stem) + "s?"]
    parts = [re.sub(r"(?<=[a-z])(\d)", r" ?\1", p) for p in parts]
    return r"(?<![\w-])" + r"[_ ]+".join(parts) + r"(?![\w-])"


def _alternation(values: Iterable[str]) -> str:
    return _alternation_of(tuple(values))


@functools.lru_cache(maxsize=256)
def _alternation_of(values: tuple[str, ...]) -> str:
    ordered = sorted(dict.fromkeys(values), key=len, reverse=True)
    return "(" + "|".join(_value_regex(v) for v in ordered) + ")" if ordered else "(?!x)x"


def _canonical(found: str, values: Sequence[str]) -> str | None:
    """The catalog value a matched phrase stands for."""
    for value in sorted(values, key=len, reverse=True):
        if re.fullmatch(_value_regex(value), found):
            return value
    return None


def _content_words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 2]


def _human(value: str) -> str:
    special = {"ids": "IDs", "id": "ID", "ip": "IP", "sdk": "SDK", "api": "API", "utc": "UTC"}
    return " ".join(special.get(w, w) for w in value.split("_"))


def _human_list(values: Sequence[str]) -> str:
    names = [_human(v) for v in values]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def _has_term(text: str, term: str) -> bool:
    words = [re.escape(w) for w in term.lower().split()]
    return re.search(r"(?<![\w])" + r"\s+".join(words) + r"(?![\w])", text.lower()) is not None


def _sentence_case(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip().rstrip(".;:,")
    if not text:
        return ""
    end = "" if text.endswith(("?", "!")) else "."
    return text[0].upper() + text[1:] + end


# --------------------------------------------------------------------------- ticket facts


@dataclass(frozen=True)
class TicketFacts:
    """What the agent reads off the ticket itself."""

    text: str
    tier: str
    affected_users: int
    minutes_to_sla: int
    customers_reporting: int

    @classmethod
    def of(cls, ticket: TicketView, minutes_to_sla: int) -> TicketFacts:
        text = f"{ticket.subject}\n{ticket.body}"
        return cls(text=text.lower(), tier=ticket.customer_tier.lower(),
                   affected_users=ticket.affected_users, minutes_to_sla=minutes_to_sla,
                   customers_reporting=1 + _linked_tickets(text))


def _number(word: str) -> int | None:
    word = word.lower()
    if word.isdigit():
        return int(word)
    return _NUMBERS.get(word)


def _linked_tickets(text: str) -> int:
    """How many other tickets the helpdesk linked to this one (0 when it says nothing)."""
    pattern = re.compile(
        r"\b(\d+|" + "|".join(_NUMBERS) + r")\s+(?:similar\s+|other\s+|more\s+)*tickets?\b"
        r"[^.\]]*?\b(?:linked|auto-linked|from other)", re.IGNORECASE)
    best = 0
    for match in pattern.finditer(text):
        count = _number(match.group(1))
        if count is not None:
            best = max(best, count)
    return best


def _condition_holds(condition: str, facts: TicketFacts) -> bool:
    """Check the parts of a runbook condition a ticket can answer; the rest pass."""
    condition = condition.lower()
    if not condition.strip():
        return True
    match = re.search(r"\bunder\s+(\d+)\s+minutes\b", condition)
    if match and not facts.minutes_to_sla < int(match.group(1)):
        return False
    match = re.search(r"\b(\d+|" + "|".join(_NUMBERS) + r")\s+or\s+more\b[^.;]*?\bcustomers\b",
                      condition)
    if match:
        needed = _number(match.group(1)) or 0
        if facts.customers_reporting < needed:
            return False
    match = re.search(r"\b(?:more than|over|at least)\s+([\d,]+)\s+users\b", condition)
    if match and not facts.affected_users >= int(match.group(1).replace(",", "")):
        return False
    tiers = [t for t in _TIERS if re.search(rf"\b{t}\b", condition)]
    if re.search(r"\bpaid\b", condition):
        tiers += [t for t in _TIERS if t != "free"]
    if tiers and facts.tier not in tiers:
        if not any(re.search(rf"\b{t}\s+customers\b", facts.text) for t in tiers):
            return False
    match = re.search(r"\btagged\s+([a-z][\w-]*)", condition)
    if match and not re.search(rf"\b{re.escape(match.group(1))}\b", facts.text):
        return False
    match = re.search(r"\bmentions?\s+([^;.]+)", condition)
    if match:
        wanted = [w for w in _content_words(match.group(1)) if w not in ("customer",)]
        stems = {w[:6] for w in wanted}
        if stems and not any(w[:6] in stems for w in _content_words(facts.text)):
            return False
    return True


# --------------------------------------------------------------------------- articles


@dataclass(frozen=True)
class Mention:
    """A catalog value an article assigns, with where it said so."""

    value: str
    position: int
    weak: bool = False  # "only if ...": a fallback, not an instruction


@dataclass
class ArticleFacts:
    """What one knowledge-base article instructs."""

    article_id: str
    content: str
    queues: list[Mention] = field(default_factory=list)
    escalations: list[Mention] = field(default_factory=list)
    no_escalation: bool = False
    blocked_queues: list[str] = field(default_factory=list)
    priorities: list[Mention] = field(default_factory=list)
    issue_types: list[Mention] = field(default_factory=list)
    statuses: list[Mention] = field(default_factory=list)
    resolution_codes: list[Mention] = field(default_factory=list)
    flags: list[Mention] = field(default_factory=list)
    blocked_flags: list[str] = field(default_factory=list)
    mentions_flags: bool = False
    fields: list[str] = field(default_factory=list)
    reply_lines: list[str] = field(default_factory=list)
    note_lines: list[str] = field(default_factory=list)
    deferred_note_lines: list[str] = field(default_factory=list)
    banned: list[str] = field(default_factory=list)
    mentions_status_page: bool = False

    @property
    def instructs(self) -> bool:
        """Whether the article tells the agent where the ticket goes or how it ends."""
        return bool(self.escalations or self.statuses or self.queues or self.issue_types)


_QUEUE_VERBS = (
    r"\b(?:keep|leave|put|move|route|send|assign|transfer|forward)\w*\b"
    r"(?:\s+[\w'-]+){0,4}?\s+(?:in|to|into|with)\s+(?:the\s+)?"
)


def _scan(article: KnowledgeSnippet, catalog: Catalog, facts: TicketFacts) -> ArticleFacts:
    """Read one article's instructions."""
    out = ArticleFacts(article_id=article.article_id, content=article.content)
    queues = _alternation(catalog.queues)
    issue_types = _alternation(catalog.issue_types)
    statuses = _alternation(catalog.statuses)
    codes = _alternation(catalog.resolution_codes)
    flags = _alternation(catalog.risk_flags)
    fields = _alternation(catalog.fields)
    priorities = "(" + "|".join(re.escape(p) for p in catalog.priorities) + ")" \
        if catalog.priorities else "(?!x)x"
    for index, original in enumerate(_sentences(article.content)):
        s = original.lower()
        base = index * 10_000

        def add(target: list[Mention], values: Sequence[str], match: re.Match[str],
                group: int = 1, *, s: str = s, base: int = base) -> str | None:
            value = _canonical(match.group(group), values)
            if value is None:
                return None
            pos = match.start(group)
            if _negated(s, pos):
                return value
            weak = re.search(r"\bonly\b", s[pos:_clause_end(s, pos + len(match.group(group)))
                                             + 40]) is not None
            target.append(Mention(value, base + pos, weak))
            return None

        # -- queues and escalations
        for pattern, escalation in (
            (r"\b(?:escalat\w*|hand(?:s|ed|ing)?|pass(?:es|ed|ing)?)\b(?:\s+[\w'-]+){0,3}?\s+to\s+(?:the\s+)?"
             + queues, True),
            (r"\bqueue\s+(?:to\s+)?" + queues, False),
            (queues + r"\s+queue\b", False),
            (_QUEUE_VERBS + queues, False),
            (r"\b(?:belongs?|go(?:es)?|owned\s+by|handled\s+by|stays?\s+with)\s+(?:in\s+|to\s+)?"
             r"(?:the\s+)?"
             + queues, False),
        ):
            for match in re.finditer(pattern, s):
                group = match.lastindex or 1
                blocked = add(out.escalations if escalation else out.queues,
                              catalog.queues, match, group)
                if blocked:
                    out.blocked_queues.append(blocked)
        for match in re.finditer(queues, s):
            value = _canonical(match.group(1), catalog.queues)
            if value and _negated(s, match.start()) and (
                "_" in match.group(1) or re.search(r"\bnot\s+" + re.escape(match.group(1)), s)
                or re.search(r"\b(?:escalat|send|route)\w*", s[_clause_start(s, match.start()):
                                                               match.start()])
            ):
                out.blocked_queues.append(value)
        if re.search(r"\bno\s+escalation\b", s) or re.search(
            r"\b(?:do\s+not|don't|never)\s+escalate\b(?![^.;:]*\bto\b)", s
        ):
            out.no_escalation = True
        # -- priority, with its conditions ("low for free tier, normal for paid tiers")
        for match in re.finditer(r"\bpriority\s+(?:to\s+|of\s+|is\s+)?" + priorities + r"\b", s):
            rest = s[match.start(1):]
            cands = [(match.group(1), match.start(1))] + [
                (m.group(1), match.start(1) + m.start(1))
                for m in re.finditer(r"(?:,|\(|\botherwise)\s*" + priorities + r"\b", rest)
            ]
            for value, pos in cands:
                condition = s[pos + len(value):_clause_end(s, pos + len(value))]
                if value == "otherwise":
                    continue
                weak = re.search(r"\bonly\b", condition) is not None
                if not _condition_holds(condition, facts):
                    weak = True
                if not _negated(s, pos):
                    out.priorities.append(Mention(value, base + pos, weak))
        for match in re.finditer(priorities + r"\s+priority\b", s):
            if not _negated(s, match.start()):
                out.priorities.append(Mention(match.group(1), base + match.start()))
        # -- issue type, status, resolution code
        for match in re.finditer(r"\bissue\s+type\s+(?:to\s+|is\s+)?" + issue_types, s):
            add(out.issue_types, catalog.issue_types, match)
        for match in re.finditer(r"\b(?:is|as)\s+an?\s+" + issue_types, s):
            value = _canonical(match.group(1), catalog.issue_types)
            if value and "_" in value and not _negated(s, match.start()):
                out.issue_types.append(Mention(value, base + match.start(1), weak=True))
        for match in re.finditer(r"\bstatus\s+(?:to\s+)?" + statuses, s):
            add(out.statuses, catalog.statuses, match)
        for match in re.finditer(r"\b(?:mark|set|move|put)\s+(?:it|the\s+ticket|this)\s+"
                                 r"(?:as\s+|to\s+)?" + statuses, s):
            add(out.statuses, catalog.statuses, match)
        for match in re.finditer(r"\b(resolve|close)\s+(?:it\s+|the\s+ticket\s+)?"
                                 r"(?:with|as|using)\b", s):
            if not _negated(s, match.start()):
                verb = "resolved" if match.group(1) == "resolve" else "closed"
                if verb in catalog.statuses:
                    out.statuses.append(Mention(verb, base + match.start()))
        for match in re.finditer(r"\bresolution\s+code\s+(?:to\s+|is\s+|of\s+)?" + codes, s):
            add(out.resolution_codes, catalog.resolution_codes, match)
        for match in re.finditer(r"\b(?:resolv|clos|mark)\w*\b(?:\s+[\w'-]+){0,4}?\s+"
                                 r"(?:as|with|using)\s+" + codes, s):
            add(out.resolution_codes, catalog.resolution_codes, match)
        for match in re.finditer(codes, s):
            value = _canonical(match.group(1), catalog.resolution_codes)
            if value and "_" in match.group(1) and not any(
                m.value == value for m in out.resolution_codes
            ) and not _negated(s, match.start()):
                out.resolution_codes.append(Mention(value, base + match.start(), weak=True))
        # -- risk flags: "raise X [and Y] [when ...]", blocked by "do not raise X"
        if re.search(flags, s):
            out.mentions_flags = True
        for segment_match in re.finditer(r"[^;:]+", s):
            segment, offset = segment_match.group(0), segment_match.start()
            raise_at = re.search(r"\b(?:raise|flag)\w*\b", segment)
            if not raise_at:
                continue
            found = list(re.finditer(flags, segment[raise_at.end():]))
            for match in found:
                value = _canonical(match.group(1), catalog.risk_flags)
                if value is None:
                    continue
                if _negated(segment, raise_at.start()):
                    out.blocked_flags.append(value)
                    continue
                condition = segment[:raise_at.start()] + " " + segment[
                    raise_at.end() + found[-1].end():]
                weak = re.search(r"\bonly\b", condition) is not None
                if not _condition_holds(condition, facts):
                    weak = True
                out.flags.append(Mention(value, base + offset + raise_at.end() + match.start(),
                                         weak))
        # -- fields the runbook asks for
        asks = re.search(r"\b(?:request|capture|collect|gather|ask\s+(?:the\s+customer\s+)?for)"
                         r"\b", s)
        if asks:
            for match in re.finditer(fields, s[asks.end():]):
                pos = asks.end() + match.start()
                value = _canonical(match.group(1), catalog.fields)
                if value and not _negated(s, pos) and value not in out.fields:
                    out.fields.append(value)
        # -- what to say, what to write, what never to say
        _instructions(original, out)
        if "status page" in s:
            out.mentions_status_page = True
    return out


def _instructions(sentence: str, out: ArticleFacts) -> None:
    s = sentence.lower()
    reply_at = re.search(r"\bin\s+(?:your|the|a)\s+(?:public\s+)?repl(?:y|ies),?\s*", s)
    if reply_at is None:
        reply_at = re.match(r"\s*(?:reply\b|(?=(?:tell|let|remind|inform)\s+the\s+customer\b)|"
                            r"(?=explain\s+that\b))\s*", s)
    if reply_at is not None and not _NEGATION.search(s, 0, reply_at.start()):
        line = _reply_line(sentence[reply_at.end():])
        if line:
            out.reply_lines.append(line)
    note_at = re.search(r"\b(?:in|add|write|leave)\s+(?:an|the|your)\s+internal\s+note\b,?\s*"
                        r"(?:saying\s+|that\s+says\s+)?", s)
    if note_at is not None:
        instruction = sentence[note_at.end():]
        quoted = _QUOTED.findall(instruction)
        starts = re.search(r"\bstart\w*\s+with\b", instruction.lower()) is not None
        lines = [_sentence_case(f"{q}: {{subject}}" if starts else q) for q in quoted] \
            or [_sentence_case(instruction)]
        lines.append(_sentence_case("Runbook: " + instruction))
        if re.search(r"\b(?:once|after|when)\b", instruction.lower()):
            out.deferred_note_lines.extend(lines)
        else:
            out.note_lines.extend(lines)
    if _NEGATION.search(s) and re.search(
        r"\b(?:repl(?:y|ies)|word|words|say|mention|write|use|promise)\b", s
    ):
        for term in _QUOTED.findall(sentence):
            if term.strip() and term.lower() not in out.banned:
                out.banned.append(term.lower())
        match = re.search(r"\b(?:suggest|advise)\w*\s+(?:the\s+customer\s+)?to\s+([\w ]+)", s)
        if match and "repl" in s:
            out.banned.append(match.group(1).strip())
    workaround = re.search(r"\bworkaround\s*\(([^)]+)\)", sentence)
    if workaround:
        out.reply_lines.append(_sentence_case("Workaround: " + workaround.group(1)))


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


def _reply_line(instruction: str) -> str:
    """Turn "say X and tell the customer to Y" into customer-facing text."""
    text = instruction.strip()
    if not text:
        return ""
    lowered = text[0].lower() + text[1:]
    for pattern, replacement in _REPLY_REWRITES:
        lowered = re.sub(pattern, replacement, lowered)
    parts = [p.strip() for p in re.split(r"(?<=\.)\s+", lowered) if p.strip()]
    return " ".join(_sentence_case(p) for p in parts)


# --------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class Plan:
    """What the agent means to do with the ticket."""

    queue: str
    priority: str
    issue_type: str
    status: str
    resolution_code: str | None
    escalate_to: str | None
    fields: tuple[str, ...]
    flags: tuple[str, ...]
    blocked_queues: tuple[str, ...]
    banned: tuple[str, ...]
    reply_lines: tuple[str, ...]
    note_lines: tuple[str, ...]
    deferred_note_lines: tuple[str, ...]
    status_page: bool
    runbook: str | None
    runbook_text: str


def _first(mentions: Iterable[Mention]) -> str | None:
    """The first instruction, preferring unconditional ones over "only if" ones."""
    pool = list(mentions)
    strong = [m for m in pool if not m.weak]
    chosen = strong[0] if strong else (pool[0] if pool else None)
    return chosen.value if chosen else None


def _ordered(articles: list[ArticleFacts], attr: str) -> list[Mention]:
    """Mentions of one kind, runbook first, then article order, then position."""
    result: list[Mention] = []
    for article in articles:
        found: list[Mention] = getattr(article, attr)
        result.extend(sorted(found, key=lambda m: m.position))
    return result


_ISSUE_KEYWORDS: tuple[tuple[str, str], ...] = (
    ("security_incident", r"unauthori[sz]ed|takeover|hacked|phishing|another company's|"
                          r"leaked|compromised|didn't make|nobody .{0,30}bought"),
    ("production_incident", r"\boutage|\bincident|\b5\d\d\b|\b5xx|\b500s\b|timing out|"
                            r"timeouts?\b|\bdown\b|latency|across regions"),
    ("data_request", r"\bgdpr\b|subject access|personal data|delete (?:my|our) data"),
    ("account_access", r"password|locked out|can't log ?in|cannot log ?in|sign[- ]?in fails"),
    ("refund_request", r"\brefund"),
    ("billing_dispute", r"\bcharged?\b|\binvoice|\bbilled\b|overbill"),
    ("feature_request", r"\bfeature\b|would love|is this planned|could you add|roadmap"),
    ("bug", r"\bbug\b|broken|\berror\b|doesn't work|not working|fails?\b|crash"),
    ("how_to", r"\bhow (?:do|can|to)\b"),
)
_DEFAULT_QUEUE = {
    "security_incident": "security", "production_incident": "platform_engineering",
    "data_request": "data_privacy", "account_access": "account_management",
    "refund_request": "billing", "billing_dispute": "billing",
    "feature_request": "product_feedback",
}
_DEFAULT_CODE = {
    "security_incident": "security_review", "production_incident": "runbook_investigation",
    "data_request": "data_export_sent", "account_access": "credential_reset",
    "refund_request": "refund_issued", "billing_dispute": "refund_issued",
    "feature_request": "feature_logged", "bug": "bug_filed", "how_to": "answered",
}


def _infer_issue_type(text: str, catalog: Catalog) -> str | None:
    for value, pattern in _ISSUE_KEYWORDS:
        if value in catalog.issue_types and re.search(pattern, text):
            return value
    return None


def _infer_priority(issue_type: str | None, facts: TicketFacts, catalog: Catalog) -> str | None:
    incident = issue_type in ("production_incident", "security_incident")
    big = facts.affected_users >= 1000 or facts.customers_reporting >= 2
    if incident and (big or facts.tier == "enterprise"):
        wanted = "urgent"
    elif incident or facts.tier in ("business", "enterprise") or re.search(
        r"\basap\b|\burgent|\bblocked|\bblocking", facts.text
    ):
        wanted = "high"
    elif facts.tier == "free" or issue_type in ("feature_request", "how_to"):
        wanted = "low"
    else:
        wanted = "normal"
    return wanted if wanted in catalog.priorities else None


def _infer_flags(issue_type: str | None, priority: str | None, facts: TicketFacts,
                 catalog: Catalog) -> list[str]:
    """Risk flags from the ticket alone, for a knowledge base that names none."""
    text = facts.text
    incident = issue_type in ("production_incident", "security_incident")
    rules = (
        ("p1_incident", incident and (facts.affected_users >= 1000
                                      or facts.customers_reporting >= 2)),
        ("sla_breach", priority == "urgent" and facts.minutes_to_sla <= 120),
        ("fraud_suspected", bool(re.search(r"didn't make|did not make|unauthori[sz]ed|"
                                           r"don't recogni[sz]e|nobody .{0,30}bought", text))),
        ("data_exposure", bool(re.search(r"another company's|other customer's data", text))),
        ("churn_risk", bool(re.search(r"\bcancel|alternatives|competitor|switch(?:ing)? to",
                                      text))),
        ("vip_customer", "strategic" in text),
        ("legal_risk", bool(re.search(r"\blawyer|legal action|\bsue\b|regulator", text))),
        ("compliance_deadline", bool(re.search(r"statutory deadline", text))),
    )
    return [flag for flag, hit in rules if hit and flag in catalog.risk_flags]


def derive_plan(
    articles: Sequence[KnowledgeSnippet], ticket: TicketView, catalog: Catalog,
    minutes_to_sla: int, title: str = "", objective: str = "",
) -> Plan:
    """The plan for a ticket, from the articles found so far (in the order found)."""
    facts = TicketFacts.of(ticket, minutes_to_sla)
    scanned = [_scan(a, catalog, facts) for a in articles]
    blocked_queues = list(dict.fromkeys(q for a in scanned for q in a.blocked_queues))
    blocked_flags = list(dict.fromkeys(f for a in scanned for f in a.blocked_flags))
    banned = list(dict.fromkeys(t for a in scanned for t in a.banned))

    def unblocked(m: Mention) -> bool:
        return m.value not in blocked_queues

    for article in scanned:
        article.queues = [m for m in article.queues if unblocked(m)]
        article.escalations = [m for m in article.escalations if unblocked(m)]
    runbook = next((a for a in scanned if a.instructs), scanned[0] if scanned else None)
    order = ([runbook] if runbook else []) + [a for a in scanned if a is not runbook]

    escalate_to: str | None = None
    escalating_article: ArticleFacts | None = None
    for article in order:
        if article.escalations:
            escalate_to = _first(article.escalations)
            escalating_article = article
            break
        if article.no_escalation:
            break
    issue_type = _first(_ordered(order, "issue_types")) or _infer_issue_type(
        f"{title} {objective} {facts.text}".lower(), catalog)
    queue = escalate_to or _first(_ordered(order, "queues"))
    if queue is None:
        fallback = _DEFAULT_QUEUE.get(issue_type or "", "general_support")
        queue = fallback if fallback in catalog.queues and fallback not in blocked_queues \
            else ticket.queue
    priority = _first(_ordered(order, "priorities")) or _infer_priority(
        issue_type, facts, catalog) or ticket.priority
    status: str | None = None
    for article in order:
        candidates = sorted(article.statuses, key=lambda m: m.position)
        if article is escalating_article and escalate_to is not None:
            at = min(m.position for m in article.escalations)
            candidates = sorted([*candidates, Mention("escalated", at)],
                                key=lambda m: m.position)
        if candidates:
            status = _first(candidates)
            break
    fields: list[str] = list(runbook.fields) if runbook else []
    if not fields:
        fields = next((list(a.fields) for a in order if a.fields), [])
    if status is None:
        status = "escalated" if escalate_to else ("pending" if fields else "resolved")
    if status not in catalog.statuses:
        status = "open" if "open" in catalog.statuses else ticket.status
    code = _first(_ordered(order, "resolution_codes"))
    if code is None:
        fallback_code = _DEFAULT_CODE.get(issue_type or "")
        code = fallback_code if fallback_code in catalog.resolution_codes else None
    if any(a.mentions_flags for a in scanned):
        flags = list(dict.fromkeys(
            m.value for m in _ordered(order, "flags")
            if not m.weak and m.value not in blocked_flags
        ))
    else:
        flags = _infer_flags(issue_type, priority, facts, catalog)
    # Only catalog values leave the plan; "" means "leave it as it is".
    queue = queue if queue in catalog.queues else ""
    priority = priority if priority in catalog.priorities else ""
    status = status if status in catalog.statuses else ""
    issue_type = issue_type if issue_type in catalog.issue_types else ""
    fields = [f for f in fields if f in catalog.fields]
    flags = [f for f in flags if f in catalog.risk_flags]
    return Plan(
        queue=queue, priority=priority, issue_type=issue_type or "", status=status,
        resolution_code=code, escalate_to=escalate_to, fields=tuple(fields),
        flags=tuple(flags), blocked_queues=tuple(blocked_queues), banned=tuple(banned),
        reply_lines=tuple(sorted(runbook.reply_lines if runbook else (),
                                 key=lambda line: line.startswith("Workaround:"))),
        note_lines=tuple(runbook.note_lines if runbook else ()),
        deferred_note_lines=tuple(runbook.deferred_note_lines if runbook else ()),
        status_page=any(a.mentions_status_page for a in scanned),
        runbook=runbook.article_id if runbook else None,
        runbook_text=runbook.content if runbook else "",
    )


# --------------------------------------------------------------------------- the agent


def _first_name(ticket: TicketView) -> str:
    name = ticket.customer_name.strip().split()
    return name[0] if name else "there"


def _team(queue: str) -> str:
    return queue.replace("_", " ")


def _search_query(observation: Observation) -> str:
    ticket = observation.ticket
    words = _content_words(
        f"{observation.title} {observation.objective} {ticket.subject} {ticket.body}"
    )
    query = " ".join(dict.fromkeys(words))
    return query[:MAX_REPLY_CHARS].rsplit(" ", 1)[0] if len(query) > MAX_REPLY_CHARS \
        else (query or "help")


def _internal_ids(catalog: Catalog) -> tuple[str, ...]:
    """Catalog ids a customer must never read as written (``platform_engineering``)."""
    return tuple(v for v in (*catalog.queues, *catalog.risk_flags, *catalog.resolution_codes)
                 if "_" in v)


def _public(text: str, internal: Sequence[str], articles: Iterable[str]) -> str:
    """``text`` with every internal catalog id written as words, and no knowledge-base
    article id (internal references a customer cannot open)."""
    capital = text[:1].isupper()
    for value in sorted(internal, key=len, reverse=True):
        if value.lower() in text.lower():
            text = re.sub(r"(?<![\w])" + re.escape(value) + r"(?![\w])", _team(value), text,
                          flags=re.IGNORECASE)
    for article_id in sorted(articles, key=len, reverse=True):
        if article_id.lower() in text.lower():
            text = re.sub(r"(?<![\w-])" + re.escape(article_id) + r"(?![\w-])",
                          "our help article", text, flags=re.IGNORECASE)
    return text[:1].upper() + text[1:] if capital else text


class HeuristicAgent:
    """A runbook-following baseline that reads only what an agent sees (see the module doc)."""

    inline_safe = True

    def __init__(self) -> None:
        self._clear()

    def _clear(self) -> None:
        #: The brief's knowledge base and turn length, when ``reset`` handed a brief.
        self.library: tuple[KnowledgeSnippet, ...] | None = None
        self.step_seconds: int | None = None
        #: Shingles of every text the agent was shown (for notes in its own words).
        self.seen: list[frozenset[tuple[str, ...]]] = []
        self.articles: dict[str, KnowledgeSnippet] = {}
        self.searched = False
        self.follow_ups: list[str] = list(FOLLOW_UP_QUERIES)
        self.minutes_at_triage: int | None = None
        self.plan: Plan | None = None
        self.flags_raised: list[str] = []
        self.requested: dict[str, int] = {}
        self.received: dict[str, str] = {}
        self.irrelevant: list[str] = []
        self.bad: dict[str, None] = {}
        self.last_request_turn = 0
        self.last_answer_turn = 0
        #: When fields were first asked for, whether any answer came, and when the
        #: agent chased a customer who stayed silent.
        self.asked_at: int | None = None
        self.answered = False
        self.chased_at: int | None = None
        self.escalated_to: str | None = None
        self.bounced: list[str] = []
        self.update_pending = False
        self.informed = False
        self.done = False
        self.deferred_written = False
        self.deferred_reply: list[str] = []
        #: Public replies sent, and the messages (customer's, teams' updates) that called
        #: for one: the agent never replies more than one per message, plus two.
        self.replies = 0
        self.inbound = 0

    def reset(self, brief: Any, seed: int) -> None:
        """Start a new episode with what a new support agent is handed: the brief.

        Only the brief's fields are read (its knowledge base, ticket texts, title,
        objective and turn length), never a gold value, even when the run hands the
        whole task.
        """
        del seed
        self._clear()
        try:
            library = tuple(article.model_copy() for article in brief.knowledge_base)
            step = int(brief.sla_step_cost) * 60
        except Exception:  # not a brief: play from the observations alone
            return
        self.library, self.step_seconds = library, step if step > 0 else None
        ticket = brief.ticket
        texts = [ticket.subject, ticket.body, brief.title, brief.objective]
        for article in library:
            texts += (article.title, article.content)
        self.seen = [shingles(text) for text in texts]

    # ------------------------------------------------------------------ entry point
    def act(self, observation: Observation) -> list[dict[str, Any]]:
        try:
            return self._act(observation)[:MAX_OPERATIONS_PER_TURN]
        except Exception:  # a baseline must never end an episode by raising
            return []

    def _act(self, observation: Observation) -> list[dict[str, Any]]:
        if self.done:
            return [{"op": "finish"}]
        if self.step_seconds is None and observation.turn > 1:
            self.step_seconds = observation.time_seconds // (observation.turn - 1) or None
        for article in observation.kb_results:
            self.articles.setdefault(article.article_id, article)
            self._saw(article.title, article.content)
        nudged = self._read_messages(observation)
        if self.plan is None and self.library is not None and not self.searched:
            # The brief's knowledge base, ranked as search_kb would rank it: triage now.
            self.searched = True
            self.follow_ups = []
            query = _search_query(observation)
            for text in (query, *FOLLOW_UP_QUERIES):
                for article in search_knowledge_base(self.library, text):
                    self.articles.setdefault(article.article_id, article)
        if not self.searched:
            self.searched = True
            return self._first_turn(observation)
        if self.minutes_at_triage is None:
            self.minutes_at_triage = observation.minutes_to_sla
        plan = derive_plan(
            list(self.articles.values()), observation.ticket, observation.catalog,
            self.minutes_at_triage, observation.title, observation.objective,
        )
        if self.plan is None:
            self.plan = plan
            return self._triage(observation, plan)
        self.plan = plan
        return self._follow_up(observation, plan, nudged)

    def _saw(self, *texts: str) -> None:
        self.seen.extend(shingles(text) for text in texts)

    # ------------------------------------------------------------------ messages
    def _read_messages(self, observation: Observation) -> bool:
        """Fold new messages into the state; whether the customer is waiting on us."""
        nudged = False
        for message in observation.messages:
            self._saw(message.text, *message.fields.values())
            if message.kind in CALLS_FOR_A_REPLY:
                self.inbound += 1
            if message.sender == "customer" and message.fields:
                self.last_answer_turn = observation.turn
                self.answered = True
                for name, value in message.fields.items():
                    if name not in self.requested or name in self.received:
                        continue
                    if value.strip().lower() == NOT_RELEVANT:
                        if name not in self.irrelevant:
                            self.irrelevant.append(name)
                        self.bad.pop(name, None)
                    elif looks_valid(name, value):
                        self.received[name] = value
                        self.bad.pop(name, None)
                    else:
                        self.bad[name] = None
            elif message.kind == "team_update":
                self.update_pending = True
            elif message.kind == "team_bounce":
                queue = message.sender.removeprefix("team:")
                if queue not in self.bounced:
                    self.bounced.append(queue)
                if self.escalated_to == queue:
                    self.escalated_to = None
            elif message.sender == "customer" or message.kind in (
                "customer_nudge", "customer_complaint"
            ):
                nudged = True
        return nudged

    # ------------------------------------------------------------------ turn 1
    def _first_turn(self, observation: Observation) -> list[dict[str, Any]]:
        """Without a brief: search the knowledge base and acknowledge the ticket."""
        name = _first_name(observation.ticket)
        message = (f"Hello {name}, thank you for contacting us. We have received your ticket "
                   "and are reviewing it now; we will follow up shortly with next steps.")
        return [
            {"op": "search_kb", "query": _search_query(observation)},
            self._reply(observation, [message], [], observation.turn),
        ]

    # ------------------------------------------------------------------ triage
    def _triage(self, observation: Observation, plan: Plan) -> list[dict[str, Any]]:
        ticket = observation.ticket
        ops: list[dict[str, Any]] = []
        fields_update = {key: value for key, value in (
            ("queue", plan.queue), ("priority", plan.priority), ("issue_type", plan.issue_type)
        ) if value}
        if fields_update:
            ops.append({"op": "set_fields", **fields_update})
        flags = [f for f in plan.flags if f not in self.flags_raised]
        if flags:
            ops.append({"op": "flag_risk", "flags": flags})
            self.flags_raised.extend(flags)
        wanted = [f for f in plan.fields if f in observation.catalog.fields]
        escalate = plan.escalate_to is not None and plan.escalate_to not in self.bounced
        ops.append(self._reply(observation, self._triage_reply(ticket, plan, wanted, escalate),
                               wanted, observation.turn))
        ops.append({"op": "note", "text": self._triage_note(ticket, plan, wanted, escalate)})
        if escalate and plan.escalate_to is not None:
            ops.append({"op": "escalate", "queue": plan.escalate_to,
                        "summary": _fit(f"{ticket.subject} ({ticket.company}, "
                                        f"{ticket.customer_tier} tier, {ticket.affected_users} "
                                        f"users affected). Runbook: {plan.runbook or 'none'}.",
                                        MAX_NOTE_CHARS)})
            self.escalated_to = plan.escalate_to
        ops.extend(self._status_ops(plan, observation.catalog.statuses, closing=not wanted))
        if not self.done and self.follow_ups:
            ops.append({"op": "search_kb", "query": self.follow_ups.pop(0)})
        return ops

    def _triage_reply(self, ticket: TicketView, plan: Plan, wanted: list[str],
                      escalate: bool) -> list[str]:
        lines = [f"Hello {_first_name(ticket)},"]
        runbook_lines = list(plan.reply_lines)
        if plan.status in TERMINAL and wanted:
            # "Say you have sent a reset link" waits until the fields are back; until
            # then the customer hears it as the next step.
            self.deferred_reply = [line for line in runbook_lines if _claims_done(line)]
            runbook_lines = [line for line in runbook_lines if not _claims_done(line)]
            runbook_lines += [step for step in map(_next_step, self.deferred_reply) if step]
        if plan.issue_type.endswith("_incident"):
            lines.append(f"We acknowledge the incident and are treating it with {plan.priority} "
                         "priority.")
        elif not (runbook_lines and runbook_lines[0].startswith("Thank you")):
            lines.append("Thank you for the details you shared.")
        lines.extend(runbook_lines)
        runbook_text = " ".join(plan.reply_lines).lower()
        if plan.status_page and plan.issue_type.endswith("_incident") \
                and "status page" not in runbook_text:
            lines.append("Please check our status page for live updates.")
        if escalate and plan.escalate_to:
            lines.append(f"We escalate this to our {_team(plan.escalate_to)} team now, and we "
                         "will send you the next update as soon as they report back.")
        if wanted:
            lines.append(f"To move forward, we need to collect the following details: "
                         f"{_human_list(wanted)}. Could you reply with them?")
        lines.append("Best regards, Support")
        return lines

    def _triage_note(self, ticket: TicketView, plan: Plan, wanted: list[str],
                     escalate: bool) -> str:
        lines = [f"Triage: queue {plan.queue}, priority {plan.priority}, issue type "
                 f"{plan.issue_type or 'unset'}, target status {plan.status}"
                 f"{', resolution ' + plan.resolution_code if plan.resolution_code else ''}."]
        optional: list[str] = []  # kept only while the note stays in the agent's own words
        for line in plan.note_lines:
            line = line.replace("{subject}", ticket.subject)
            (optional if line.startswith("Runbook:") else lines).append(line)
        if plan.flags:
            lines.append(f"Risk flags: {', '.join(plan.flags)}.")
        for bracket in re.findall(r"\[([^\]]{3,400})\]", ticket.body):
            label = "Linked tickets" if "link" in bracket.lower() else "Context"
            optional.append(f"{label}: {bracket.strip()}")
        if escalate and plan.escalate_to:
            short = plan.escalate_to.split("_")[0].capitalize()
            lines.append(f"{short} escalation: handed to {plan.escalate_to}.")
        if plan.blocked_queues:
            lines.append(f"Not for: {', '.join(plan.blocked_queues)}.")
        if wanted:
            lines.append(f"Requested from the customer: {_human_list(wanted)}.")
        if plan.runbook:
            lines.append(f"Runbook followed: {plan.runbook}.")
            optional.append(f"Runbook {plan.runbook}: {plan.runbook_text}")
        return self._own_words(lines, optional, MAX_NOTE_CHARS)

    def _own_words(self, lines: list[str], optional: list[str], limit: int) -> str:
        """``lines``, plus each of ``optional`` that keeps the text mostly the agent's own
        (quoting what it was shown is fine; pasting it wholesale is not)."""
        kept = list(lines)
        for line in optional:
            candidate = "\n".join([*kept, line])
            if len(candidate) <= limit and copied_share(candidate, self.seen) <= OWN_WORDS_SHARE:
                kept.append(line)
        return _fit("\n".join(kept), limit)

    def _status_ops(self, plan: Plan, statuses: Sequence[str], *,
                    closing: bool) -> list[dict[str, Any]]:
        """The status to set now: the target, or pending until the fields are back."""
        status = plan.status
        if not status:
            return []
        if status in TERMINAL and not closing:
            status = "pending" if "pending" in statuses else ""
        if status not in statuses:
            return []
        if status == "escalated" and self.escalated_to is None:
            return []
        op: dict[str, Any] = {"op": "set_status", "status": status}
        if plan.resolution_code:
            op["resolution_code"] = plan.resolution_code
        if status in TERMINAL:
            self.done = True
        return [op]

    # ------------------------------------------------------------------ later turns
    def _follow_up(self, observation: Observation, plan: Plan,
                   nudged: bool) -> list[dict[str, Any]]:
        ticket = observation.ticket
        ops: list[dict[str, Any]] = []
        flags = [f for f in plan.flags if f not in self.flags_raised]
        if flags:
            ops.append({"op": "flag_risk", "flags": flags})
            self.flags_raised.extend(flags)
        if self.escalated_to is None and self.bounced and plan.escalate_to is None and plan.queue:
            ops.append({"op": "set_fields", "queue": plan.queue})
        elif (self.escalated_to is None and plan.escalate_to is not None
              and plan.escalate_to not in self.bounced):
            ops.append({"op": "escalate", "queue": plan.escalate_to,
                        "summary": _fit(f"{ticket.subject} (re-triaged)", MAX_NOTE_CHARS)})
            if plan.escalate_to in observation.catalog.queues:
                ops.append({"op": "set_fields", "queue": plan.escalate_to})
            self.escalated_to = plan.escalate_to
        lines: list[str] = []
        again = [f for f in self.bad if self.requested.get(f, 0) < MAX_REQUESTS_PER_FIELD]
        chasing = not again and self._silence_to_chase(observation)
        if again:
            lines.append(f"Thank you for your answer. Some details were missing or not in the "
                         f"expected format: {_human_list(again)}. Could you send them again, "
                         "please?")
        elif chasing:
            again = self._outstanding()
            self.chased_at = observation.time_seconds
            lines.append(f"We have not received the details we asked for yet: "
                         f"{_human_list(again)}. Could you send them when you can, please?")
        relaying = self.update_pending
        if relaying:
            lines.append(self._update_line(plan, observation))
        fields_done = bool(self.requested) and not self._outstanding()
        closing = plan.status in TERMINAL and (fields_done or not self.requested) and not again
        if closing:
            lines.append("Thank you, we now have everything we need.")
            lines.extend(self.deferred_reply)
            lines.append(("We are resolving this ticket now."
                          if plan.status == "resolved" else "We are closing this ticket now.")
                         + " Reply any time if anything else comes up.")
        if nudged and not lines:
            lines.append("Sorry for the wait. We are actively working on your ticket and will "
                         "send the next update as soon as we have one.")
        # One reply a turn at most, and never more than the conversation called for (one
        # per customer message or team update, plus two); a request or a relay is owed.
        if lines and (again or relaying or self.replies < self.inbound + REPLY_ALLOWANCE):
            body = [f"Hello {_first_name(ticket)},", *lines, "Best regards, Support"]
            ops.append(self._reply(observation, body, again, observation.turn))
            if relaying:
                self.update_pending = False
                self.informed = True
        if fields_done and plan.deferred_note_lines and not self.deferred_written:
            self.deferred_written = True
            received = ", ".join(_human(f) for f in self.received)
            deferred = [line.replace("{subject}", ticket.subject)
                        for line in plan.deferred_note_lines]
            lines_kept = [d for d in deferred if not d.startswith("Runbook:")]
            optional = [d for d in deferred if d.startswith("Runbook:")]
            ops.append({"op": "note", "text": self._own_words(
                [*lines_kept, f"Received from the customer: {received}."], optional,
                MAX_NOTE_CHARS)})
        if closing:
            ops.extend(self._status_ops(plan, observation.catalog.statuses, closing=True))
        elif self._finished(plan, observation, again):
            ops.append({"op": "finish"})
            self.done = True
        if not self.done and self.follow_ups and len(ops) < MAX_OPERATIONS_PER_TURN:
            ops.append({"op": "search_kb", "query": self.follow_ups.pop(0)})
        return ops

    def _outstanding(self) -> list[str]:
        """Requested fields with no valid answer yet ("not relevant" is an answer)."""
        return [f for f in self.requested if f not in self.received and f not in self.irrelevant]

    def _silence_to_chase(self, observation: Observation) -> bool:
        """Whether to chase now: fields asked for, no answer at all, and the time even a
        slow customer would have answered (a reply delay of up to one turn, plus one
        turn) has passed. Once only."""
        step = self.step_seconds
        return (self.asked_at is not None and step is not None and not self.answered
                and self.chased_at is None and bool(self._outstanding())
                and observation.time_seconds >= self.asked_at + 2 * step)

    def _update_line(self, plan: Plan, observation: Observation) -> str:
        """The team's latest update, passed on with its facts (numbers, ETAs, ids)."""
        updates = [m for m in observation.messages if m.kind == "team_update"]
        text = updates[-1].text if updates else ""
        team = _team(self.escalated_to or plan.queue)
        body = re.sub(r"^[A-Za-z ]{2,40}:\s*", "", text).strip()
        line = f"An update from our {team} team: {body}" if body else ""
        if not line or any(_has_term(line, term) for term in plan.banned):
            facts = [f for f in update_facts(text)
                     if not any(_has_term(f, term) for term in plan.banned)]
            line = (f"Our {team} team has sent an update ({', '.join(facts)}) and is actively "
                    "working on this." if facts else
                    f"Our {team} team has sent an update and is actively working on this.")
        return line + " We will send you the next update as soon as we have one."

    def _finished(self, plan: Plan, observation: Observation, again: list[str]) -> bool:
        """Whether nothing more is owed: every field asked for is in (or a silent customer
        was chased and stayed silent for two turns), and any team update passed on."""
        if again or self.update_pending:
            return False
        step = self.step_seconds or 0
        settled = not self._outstanding() or (
            self.chased_at is not None and not self.answered
            and observation.time_seconds >= self.chased_at + 2 * step
        )
        if not settled:
            return False
        if plan.status == "escalated":
            return self.escalated_to is not None and self.informed
        # Resolved or closed comes with its fields; without them the ticket stays parked.
        return plan.status not in TERMINAL

    # ------------------------------------------------------------------ helpers
    def _reply(self, observation: Observation, lines: list[str], request: list[str],
               turn: int) -> dict[str, Any]:
        plan = self.plan
        banned = plan.banned if plan is not None else ()
        internal = _internal_ids(observation.catalog)
        articles = {*self.articles, *(a.article_id for a in self.library or ())}
        kept = [_public(line, internal, articles) for line in lines
                if line and not any(_has_term(line, term) for term in banned)]
        message = _fit_lines(kept, MAX_REPLY_CHARS) or "Thank you, we are on it."
        op: dict[str, Any] = {"op": "reply", "message": message}
        self.replies += 1
        if request:
            op["request_fields"] = list(request)
            for name in request:
                self.requested[name] = self.requested.get(name, 0) + 1
                self.bad.pop(name, None)
            self.last_request_turn = turn
            if self.asked_at is None:
                self.asked_at = observation.time_seconds
        return op


def _claims_done(line: str) -> bool:
    """Whether a reply line reports an action as done ("we have sent a reset link")."""
    return re.search(r"\bwe have (?:already |now )?(?:sent|issued|reset|refunded|processed|"
                     r"fixed|resolved|\w+ed)\b", line.lower()) is not None


#: Past participles a runbook's "say you have ..." uses, and their base forms.
_BASE_FORMS = {"sent": "send", "issued": "issue", "reset": "reset", "refunded": "refund",
               "processed": "process", "fixed": "fix", "resolved": "resolve", "made": "make",
               "opened": "open", "filed": "file", "logged": "log", "credited": "credit",
               "restored": "restore", "removed": "remove", "deleted": "delete",
               "exported": "export", "updated": "update", "applied": "apply"}


def _next_step(line: str) -> str | None:
    """A done-claim ("We have sent a reset link ...") as the step that follows once the
    details are in, or ``None`` where the verb is not one it knows how to turn."""
    match = re.match(r"\s*we have (?:already |now )?(\w+)\b(.*)$", line, re.IGNORECASE | re.DOTALL)
    if match is None or match.group(1).lower() not in _BASE_FORMS:
        return None
    rest = match.group(2).strip()
    return _sentence_case(f"once we have the details below, we will "
                          f"{_BASE_FORMS[match.group(1).lower()]} {rest}")


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _fit_lines(lines: list[str], limit: int) -> str:
    """Join lines, dropping the greeting and sign-off first, then trimming, to fit."""
    kept = list(lines)
    while len("\n".join(kept)) > limit and len(kept) > 1:
        drop = 0 if kept[0].startswith("Hello") else len(kept) - 1
        if kept[-1].startswith("Best regards"):
            drop = len(kept) - 1
        kept.pop(drop)
    return _fit("\n".join(kept), limit)
