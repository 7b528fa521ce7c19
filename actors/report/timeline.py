"""An episode's timeline, laid out: where each event's mark goes on the simulated clock.

The picture (drawn by the episode template; this module only computes it) has a lane
per actor — the customer, the agent, each team that spoke, and the system (the SLA
monitor) — and one **mark per trace event**, at ``x`` = the event's simulated time.
Events at the same instant (a turn's operations, all at the turn's time) or too close
to tell apart are stacked in rows inside their lane (:func:`_pack`), so no mark hides
another and the time stays exact; a lane is as tall as its busiest moment needs.
Turn events are the badges on the time axis, and each turn is a boundary line through
the lanes. The SLA deadline is a line, the time after it shaded when the SLA was
breached. Under the lanes, a band of bars: the step reward of each turn (they sum to
the score).

Every mark has a shape for its kind as well as a colour for its lane (see
:mod:`actors.report.palette`): an invalid operation is a vermillion cross wherever it
is, and nothing is told by colour alone.

Geometry is in SVG user units (the page scales the picture to its width); every number
is rounded to a tenth when drawn, so the same trace draws the same bytes.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import attrs

from actors.report.palette import ACTOR_COLOURS, NEGATIVE, POSITIVE
from sim.messages import AGENT
from sim.trace import TraceEvent

__all__ = [
    "Lane",
    "LegendEntry",
    "Mark",
    "Tick",
    "Timeline",
    "TurnBar",
    "lane_of",
    "layout_timeline",
    "legend",
    "shape_of",
]

WIDTH = 1240
#: Room for the lane names on the left, and a margin on the right.
LEFT = 200
RIGHT = 24
#: The strip above the lanes: the SLA's labels, the time ticks, the turn badges.
SLA_LABEL_Y = 12
TICK_LABEL_Y = 28
TURN_BADGE_Y = 40
LANES_TOP = 52
ROW_HEIGHT = 15
LANE_PAD = 7
#: The least horizontal room between two marks of one row, in user units.
MARK_GAP = 13
#: A lane never grows past this many rows: beyond it (a hand-made trace with hundreds of
#: events at one instant), marks share the emptiest row.
MAX_ROWS = 24
REWARD_HEIGHT = 96
BOTTOM = 30
#: Tick spacings, in simulated minutes: the first that gives at most MAX_TICKS ticks.
TICK_STEPS = (1, 2, 5, 10, 15, 20, 30, 60, 120, 180, 240, 360, 720, 1440, 2880, 10080)
MAX_TICKS = 12
#: The least room between two labelled turn badges or reward values.
LABEL_ROOM = 26.0

SYSTEM_LANE = "system"
CUSTOMER_LANE = "customer"
TEAM_PREFIX = "team:"


@attrs.frozen
class Lane:
    key: str
    label: str
    #: ``agent``, ``customer``, ``team`` or ``system``: its colour.
    kind: str
    top: float
    height: float
    rows: int
    colour: str


@attrs.frozen
class Mark:
    """One trace event's mark: ``path`` is its shape, already placed."""

    seq: int
    t: int
    x: float
    y: float
    lane: str
    kind: str
    #: The shape's name (the legend's word for it) and its drawing.
    shape: str
    path: str
    fill: str
    stroke: str
    #: What hovering shows (the page's event list holds the same text, whole).
    title: str
    invalid: bool
    penalised: bool


@attrs.frozen
class Tick:
    x: float
    label: str


@attrs.frozen
class TurnBar:
    """A turn: its boundary line, and the bar of its step reward."""

    turn: int
    seq: int
    x: float
    reward: float | None
    bar_x: float
    bar_y: float
    bar_width: float
    bar_height: float
    colour: str
    #: Whether the badge and the reward have room for their text.
    labelled: bool
    value_y: float


@attrs.frozen
class Timeline:
    width: int
    height: float
    left: float
    right: float
    lanes_top: float
    lanes_bottom: float
    lanes: tuple[Lane, ...]
    marks: tuple[Mark, ...]
    turns: tuple[TurnBar, ...]
    ticks: tuple[Tick, ...]
    sla_x: float
    sla_minutes: int
    breached: bool
    reward_top: float
    reward_zero: float
    #: The largest step reward in size, which a full-height bar shows.
    reward_scale: float
    #: The reward bar drawn when the episode ended before its first turn.
    lone_reward: TurnBar | None


def lane_of(actor: str) -> str:
    """The lane an actor's events go in: its own, or ``system`` for anyone else."""
    if actor in (AGENT, CUSTOMER_LANE) or actor.startswith(TEAM_PREFIX):
        return actor
    return SYSTEM_LANE


def _lane_kind(key: str) -> str:
    return "team" if key.startswith(TEAM_PREFIX) else key


def _lane_label(key: str) -> str:
    if key.startswith(TEAM_PREFIX):
        return "team " + key[len(TEAM_PREFIX):]
    return {SYSTEM_LANE: "system (SLA)"}.get(key, key)


def shape_of(event: TraceEvent) -> str:
    """The shape an event's mark takes (the legend names them)."""
    kind = event.kind
    if kind in ("invalid_operation", "invalid_turn", "agent_error", "agent_timeout"):
        return "cross"
    if kind == "turn":
        return "badge"
    if kind == "end":
        return "stop"
    if kind == "operation":
        op = event.payload.get("op")
        name = op.get("op") if isinstance(op, dict) else None
        return {"reply": "reply", "note": "note", "escalate": "escalate"}.get(
            str(name), "change")
    if kind == "kb_results":
        return "results"
    if kind in ("sla_met", "sla_breach"):
        return "diamond"
    return "message"


def _n(value: float) -> str:
    """A coordinate as drawn: a tenth at most, no trailing zeros."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _path(shape: str, x: float, y: float) -> str:
    """The SVG path of ``shape`` centred on (x, y)."""
    if shape in ("reply", "note"):
        r = 5.0
        return (f"M{_n(x - r)} {_n(y)}a{_n(r)} {_n(r)} 0 1 0 {_n(2 * r)} 0"
                f"a{_n(r)} {_n(r)} 0 1 0 {_n(-2 * r)} 0Z")
    if shape == "results":
        return f"M{_n(x - 3.5)} {_n(y - 3.5)}h7v7h-7Z"
    if shape == "escalate":
        return f"M{_n(x)} {_n(y - 6)}L{_n(x + 6)} {_n(y + 5)}H{_n(x - 6)}Z"
    if shape == "change":
        return f"M{_n(x - 4.5)} {_n(y - 4.5)}h9v9h-9Z"
    if shape == "stop":
        return f"M{_n(x - 5)} {_n(y - 5)}h10v10h-10Z"
    if shape == "diamond":
        return f"M{_n(x)} {_n(y - 6)}L{_n(x + 6)} {_n(y)}L{_n(x)} {_n(y + 6)}L{_n(x - 6)} {_n(y)}Z"
    if shape == "cross":
        d = 4.5
        return (f"M{_n(x - d)} {_n(y - d)}L{_n(x + d)} {_n(y + d)}"
                f"M{_n(x + d)} {_n(y - d)}L{_n(x - d)} {_n(y + d)}")
    if shape == "badge":
        return f"M{_n(x - 5)} {_n(y - 6)}H{_n(x + 5)}L{_n(x)} {_n(y + 2)}Z"
    # a message: a rounded speech box
    return (f"M{_n(x - 5.5)} {_n(y - 4)}h11v7h-7l-3 3v-3h-1Z")


def _colours(shape: str, lane_colour: str) -> tuple[str, str]:
    """(fill, stroke) of a mark: hollow shapes are white inside."""
    if shape == "cross":
        return "none", ACTOR_COLOURS["invalid"]
    if shape in ("note", "results"):
        return "#ffffff", lane_colour
    if shape == "stop" or shape == "badge":
        return ACTOR_COLOURS["turn"], ACTOR_COLOURS["turn"]
    return lane_colour, lane_colour


def _pack(xs: Sequence[float]) -> tuple[list[int], int]:
    """Rows for marks at ``xs`` (in time order): each goes in the first row whose last
    mark is at least :data:`MARK_GAP` to its left. Returns each mark's row and how many
    rows there are."""
    last: list[float] = []
    rows: list[int] = []
    for x in xs:
        row = next((r for r, end in enumerate(last) if x - end >= MARK_GAP), None)
        if row is None:
            if len(last) < MAX_ROWS:
                row = len(last)
                last.append(x)
            else:
                row = min(range(len(last)), key=lambda r: (last[r], r))
        last[row] = x
        rows.append(row)
    return rows, max(1, len(last))


def _tick_step(end_minutes: float) -> int:
    return next((step for step in TICK_STEPS if end_minutes / step <= MAX_TICKS),
                TICK_STEPS[-1])


def layout_timeline(events: Sequence[TraceEvent], *, titles: Mapping[int, str],
                    sla_deadline_seconds: int, rewards: Sequence[float],
                    penalised: frozenset[int] = frozenset()) -> Timeline:
    """Lay out ``events``: a mark each (hover text from ``titles``, by seq), the lanes,
    the turns with their ``rewards`` (one per turn, as :func:`sim.grading.step_rewards`
    gives them; one alone when there was no turn), the SLA line at
    ``sla_deadline_seconds``. Marks of the ``penalised`` events are ringed."""
    last_t = max((e.t for e in events), default=0)
    step = _tick_step(max(last_t, sla_deadline_seconds, 60) / 60)
    end_minutes = max(1, -(-max(last_t, sla_deadline_seconds, 1) // (step * 60))) * step
    # A little room after the last tick, so a mark there is not cut in half.
    span_seconds = end_minutes * 60 * 1.02
    right = WIDTH - RIGHT
    plot = right - LEFT

    def x_of(t: int) -> float:
        return LEFT + plot * (max(0, t) / span_seconds)

    # Lanes: customer, agent, the teams by name, the system.
    keys = {lane_of(e.actor) for e in events if e.kind != "turn"}
    teams = sorted(k for k in keys if k.startswith(TEAM_PREFIX))
    order = [CUSTOMER_LANE, AGENT, *teams, SYSTEM_LANE]
    in_lane: dict[str, list[TraceEvent]] = {key: [] for key in order}
    turn_events: list[TraceEvent] = []
    for event in sorted(events, key=lambda e: (e.t, e.seq)):
        if event.kind == "turn":
            turn_events.append(event)
        else:
            in_lane[lane_of(event.actor)].append(event)

    lanes: list[Lane] = []
    marks: list[Mark] = []
    top = float(LANES_TOP)
    for key in order:
        kind = _lane_kind(key)
        colour = ACTOR_COLOURS[kind]
        lane_events = in_lane[key]
        xs = [x_of(e.t) for e in lane_events]
        rows, count = _pack(xs)
        height = count * ROW_HEIGHT + 2 * LANE_PAD
        lanes.append(Lane(key=key, label=_lane_label(key), kind=kind, top=top, height=height,
                          rows=count, colour=colour))
        for event, x, row in zip(lane_events, xs, rows, strict=True):
            y = top + LANE_PAD + row * ROW_HEIGHT + ROW_HEIGHT / 2
            marks.append(_mark(event, x, y, key, colour, titles, penalised))
        top += height
    lanes_bottom = top

    reward_top = lanes_bottom + 8
    reward_zero = reward_top + REWARD_HEIGHT / 2
    reward_scale = max([0.05, *(abs(r) for r in rewards)])
    half = REWARD_HEIGHT / 2 - 14
    turn_xs = [x_of(e.t) for e in turn_events]
    gaps = [b - a for a, b in itertools.pairwise(turn_xs)]
    bar_width = max(3.0, min(18.0, 0.7 * min(gaps, default=30.0)))

    def bar(turn: int, seq: int, x: float, reward: float | None,
            labelled: bool) -> TurnBar:
        size = 0.0 if reward is None else abs(reward) / reward_scale * half
        up = reward is not None and reward >= 0
        return TurnBar(
            turn=turn, seq=seq, x=x, reward=reward, bar_x=x - bar_width / 2,
            bar_y=reward_zero - size if up else reward_zero, bar_width=bar_width,
            bar_height=max(size, 0.8 if reward else 0.0),
            colour=POSITIVE if up else NEGATIVE, labelled=labelled,
            value_y=reward_zero - size - 4 if up else reward_zero + size + 11)

    turns: list[TurnBar] = []
    last_label = -LABEL_ROOM
    for index, (event, x) in enumerate(zip(turn_events, turn_xs, strict=True)):
        labelled = x - last_label >= LABEL_ROOM
        if labelled:
            last_label = x
        turn = event.payload.get("turn")
        number = turn if isinstance(turn, int) else index + 1
        reward = rewards[index] if index < len(rewards) else None
        turns.append(bar(number, event.seq, x, reward, labelled))
        marks.append(_mark(event, x, TURN_BADGE_Y, "turns", ACTOR_COLOURS["turn"], titles,
                           penalised))
    lone = bar(0, -1, x_of(0), rewards[0], True) if not turn_events and rewards else None

    ticks = tuple(Tick(x=x_of(minute * 60), label=f"{minute} min")
                  for minute in range(0, end_minutes + 1, step))
    breached = any(e.kind == "sla_breach" for e in events)
    return Timeline(
        width=WIDTH, height=reward_top + REWARD_HEIGHT + BOTTOM, left=LEFT, right=right,
        lanes_top=LANES_TOP, lanes_bottom=lanes_bottom, lanes=tuple(lanes),
        marks=tuple(sorted(marks, key=lambda m: m.seq)), turns=tuple(turns), ticks=ticks,
        sla_x=x_of(sla_deadline_seconds), sla_minutes=sla_deadline_seconds // 60,
        breached=breached, reward_top=reward_top, reward_zero=reward_zero,
        reward_scale=reward_scale, lone_reward=lone)


def _mark(event: TraceEvent, x: float, y: float, lane: str, colour: str,
          titles: Mapping[int, str], penalised: frozenset[int]) -> Mark:
    shape = shape_of(event)
    fill, stroke = _colours(shape, colour)
    return Mark(seq=event.seq, t=event.t, x=x, y=y, lane=lane, kind=event.kind, shape=shape,
                path=_path(shape, x, y), fill=fill, stroke=stroke,
                title=titles.get(event.seq, event.kind),
                invalid=shape == "cross", penalised=event.seq in penalised)


@attrs.frozen
class LegendEntry:
    """One line of the timeline's legend: a sample (16 × 16) and what it means."""

    label: str
    path: str = ""
    fill: str = "none"
    stroke: str = "none"
    width: float = 1.6
    dash: str = ""
    ring: bool = False


def legend() -> tuple[LegendEntry, ...]:
    """What each shape, line and ring of the timeline means."""
    agent, team = ACTOR_COLOURS["agent"], ACTOR_COLOURS["team"]

    def sample(shape: str, label: str, colour: str) -> LegendEntry:
        fill, stroke = _colours(shape, colour)
        return LegendEntry(label=label, path=_path(shape, 8, 8), fill=fill, stroke=stroke,
                           width=2.6 if shape == "cross" else 1.6)

    return (
        sample("reply", "public reply", agent),
        sample("note", "internal note", agent),
        sample("escalate", "escalation", agent),
        sample("change", "other operation (fields, status, flags, search, finish)", agent),
        sample("results", "knowledge-base results", agent),
        sample("message", "message (lane: customer or team)", team),
        sample("diamond", "SLA met or breached", ACTOR_COLOURS["system"]),
        sample("cross", "invalid operation or turn, agent error or timeout",
               ACTOR_COLOURS["invalid"]),
        sample("stop", "episode end", agent),
        sample("badge", "turn start", agent),
        LegendEntry(label="penalised (see the grade report)", ring=True),
        LegendEntry(label="SLA deadline", path="M8 0V16", stroke=NEGATIVE, width=2,
                    dash="4 2"),
        LegendEntry(label="turn boundary", path="M8 0V16", stroke="#777777", width=1,
                    dash="2 3"),
        LegendEntry(label="step reward gained", path="M5 2h6v12h-6Z", fill=POSITIVE,
                    stroke=POSITIVE, width=0),
        LegendEntry(label="step reward lost", path="M5 2h6v12h-6Z", fill=NEGATIVE,
                    stroke=NEGATIVE, width=0),
    )
