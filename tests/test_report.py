"""The HTML report (``run_sim.py report``): an episode's timeline and grade, a sweep's grid.

What the pages must get right, checked on the pages' data and on their HTML: one mark
per trace event, laid out on the simulated clock without hiding one another; the grade
report with the events that caused each penalty; every text from a trace escaped (an
agent's ``<script>`` is text, never markup); the same input giving the same bytes (a
sweep's rows in any order); a sweep's figures equal to its own summary, one heatmap
cell per task × persona, and a page whose size follows the cells, not the episodes;
colours readable by contrast; and the command's files and one-line errors.
"""

from __future__ import annotations

import functools
import itertools
import json
import random
import re
import shutil
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import trio
from cli_helpers import ROOT, one_line_error, run_cli
from episode_helpers import SEED_TASK, play, variant
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from actors import ScriptedAgent
from actors.commands import INPUT_ERRORS, report_command
from actors.report import episode_page, episode_view, read_sweep, sweep_page, sweep_view
from actors.report.episode import ReasonPart, reason_parts
from actors.report.palette import (
    ACTOR_COLOURS,
    BACKGROUND,
    BREACH_SCALE,
    INK,
    MIN_MARK_CONTRAST,
    MIN_TEXT_CONTRAST,
    MUTED,
    SCORE_SCALE,
    TERMINATION_COLOURS,
    contrast,
    ink_for,
    scale_colour,
)
from actors.report.timeline import LEFT, MARK_GAP, MAX_ROWS, WIDTH, layout_timeline
from actors.sweep import SweepPlan, run_sweep
from sim.grading import grade, step_rewards
from sim.trace import Trace, TraceEvent
from tasks import SupportTaskSpec

#: Text an attacker would put in a reply, a note, a ticket: each must arrive as text.
HOSTILE = ('<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
           ' & </title></textarea><!-- "quoted" \'single\'')
#: The tags the pages are made of: anything else in a page came from its data.
PAGE_TAGS = frozenset({
    "html", "head", "meta", "title", "style", "body", "main", "header", "footer", "h1", "h2",
    "h3", "p", "b", "small", "strong", "code", "span", "div", "dl", "dt", "dd", "section",
    "figure", "figcaption", "ul", "li", "a", "table", "thead", "tbody", "tr", "th", "td",
    "svg", "desc", "defs", "lineargradient", "stop", "rect", "text", "line", "path", "circle",
    "g", "script",
})
EASY = "duplicate_charge_easy"


class _Tags(HTMLParser):
    """Every start tag of a page, with its attributes, and the text of its scripts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)


def parse(page: str) -> _Tags:
    parser = _Tags()
    parser.feed(page)
    parser.close()
    return parser


def assert_only_page_markup(page: str) -> _Tags:
    """The page holds its own tags only, one script at most, no event-handler attribute."""
    parsed = parse(page)
    assert {tag for tag, _ in parsed.tags} <= PAGE_TAGS
    assert sum(tag == "script" for tag, _ in parsed.tags) <= 1
    handlers = [(tag, name) for tag, attrs in parsed.tags for name in attrs
                if name.startswith("on")]
    assert handlers == []
    return parsed


# -- an episode with everything a page must show --------------------------------------

def hostile_task() -> SupportTaskSpec:
    """The seed task, its title and ticket written by an attacker."""
    ticket = {**SEED_TASK.ticket.model_dump(), "subject": f"Subject {HOSTILE}",
              "body": f"Body {HOSTILE}\nsecond line"}
    return variant(SEED_TASK, title=f"Title {HOSTILE}", ticket=ticket)


#: A reply (hostile text), an invalid operation, an escalation to a wrong queue (a
#: penalty), a note; then a turn that is not a list; then more replies and the end.
HOSTILE_TURNS: list[Any] = [
    [{"op": "reply", "message": f"Hello {HOSTILE}",
      "request_fields": ["request_ids", "time_window"]},
     {"op": "frobnicate"},
     {"op": "escalate", "queue": "billing", "summary": f"summary {HOSTILE}"},
     {"op": "note", "text": f"note {HOSTILE}"}],
    "not a list of operations",
    [{"op": "reply", "message": "Any news?"}, {"op": "reply", "message": "Still there?"}],
    [{"op": "reply", "message": "Hello again"}, {"op": "reply", "message": "And again"},
     {"op": "finish"}],
]


def hostile_episode() -> tuple[Trace, SupportTaskSpec]:
    task = hostile_task()
    result = trio.run(lambda: play(ScriptedAgent(HOSTILE_TURNS), task))
    return result.trace, task


@pytest.fixture(scope="module")
def hostile() -> tuple[Trace, SupportTaskSpec]:
    return hostile_episode()


@pytest.fixture(scope="module")
def seed_trace() -> Trace:
    from actors import simulate

    return trio.run(lambda: simulate(SEED_TASK, "heuristic", seed=0)).trace


def test_the_page_is_one_self_contained_document(seed_trace: Trace) -> None:
    page = episode_page(seed_trace, SEED_TASK, source="seed.jsonl")
    parsed = assert_only_page_markup(page)
    assert page.startswith("<!DOCTYPE html>")
    # Nothing is fetched: no src, no external href, no @import; the policy forbids fetches.
    assert not [a for _, a in parsed.tags if "src" in a]
    hrefs = [a["href"] for _, a in parsed.tags if a.get("href")]
    assert hrefs and all(str(h).startswith("#") for h in hrefs)
    assert "@import" not in page and "url(http" not in page
    policy = next(a["content"] for t, a in parsed.tags
                  if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    assert policy is not None and "default-src 'none'" in policy
    assert "script-src 'sha256-" in policy


def test_the_timeline_has_one_mark_per_event_and_the_list_holds_each(
        seed_trace: Trace) -> None:
    view = episode_view(seed_trace, SEED_TASK)
    seqs = [e.seq for e in seed_trace.events]
    assert sorted(m.seq for m in view.timeline.marks) == sorted(seqs)
    assert [e.seq for e in view.events] == seqs
    page = episode_page(seed_trace, SEED_TASK)
    marks = [a for t, a in parse(page).tags if t == "a" and "data-seq" in a]
    assert sorted(int(str(a["data-seq"])) for a in marks) == sorted(seqs)
    for seq in seqs:
        assert f'id="ev-{seq}"' in page


def test_marks_sit_at_their_time_in_their_lane(seed_trace: Trace) -> None:
    view = episode_view(seed_trace, SEED_TASK)
    tl = view.timeline
    by_seq = {e.seq: e for e in seed_trace.events}
    lanes = {lane.key: lane for lane in tl.lanes}
    assert list(lanes)[:2] == ["customer", "agent"] and list(lanes)[-1] == "system"
    assert "team:platform_engineering" in lanes
    for mark in tl.marks:
        event = by_seq[mark.seq]
        assert mark.t == event.t and tl.left <= mark.x <= tl.right
        if event.kind != "turn":
            lane = lanes[mark.lane]
            assert lane.top <= mark.y <= lane.top + lane.height
    # Later is further right.
    ordered = sorted(tl.marks, key=lambda m: m.t)
    assert all(a.x <= b.x for a, b in itertools.pairwise(ordered))
    assert tl.sla_x > tl.left and tl.sla_minutes == SEED_TASK.ticket.sla_minutes_remaining


def test_the_grade_report_and_the_step_rewards_are_the_graders(seed_trace: Trace) -> None:
    view = episode_view(seed_trace, SEED_TASK)
    report = grade(SEED_TASK, seed_trace)
    assert view.score == report.score
    assert [(c.name, c.value) for c in view.criteria] == list(report.breakdown().items())
    rewards = step_rewards(SEED_TASK, seed_trace)
    assert [t.reward for t in view.turns] == rewards
    assert view.reward_total == pytest.approx(report.score)
    assert [t.turn for t in view.turns] == [1, 2, 3]


def test_penalties_link_the_events_that_caused_them(
        hostile: tuple[Trace, SupportTaskSpec]) -> None:
    trace, task = hostile
    view = episode_view(trace, task)
    penalties = {p.name: p for p in view.penalties}
    assert {"invalid_operations", "wrong_queue", "spam"} <= set(penalties)
    escalation = next(e for e in trace.events if e.kind == "operation"
                      and e.payload["op"]["op"] == "escalate")
    assert penalties["wrong_queue"].causes == (escalation.seq,)
    invalid = [e.seq for e in trace.events if e.kind in ("invalid_operation", "invalid_turn")]
    assert len(invalid) == 2 and set(penalties["invalid_operations"].causes) == set(invalid)
    marks = {m.seq: m for m in view.timeline.marks}
    assert all(marks[seq].shape == "cross" and marks[seq].invalid for seq in invalid)
    assert marks[escalation.seq].penalised and not marks[invalid[0] - 1].penalised
    page = episode_page(trace, task)
    assert f'<a href="#ev-{escalation.seq}">{escalation.seq}</a>' in page
    assert view.invalid_operations == 2


def test_reason_parts_link_only_events_the_trace_holds() -> None:
    parts = reason_parts("3 invalid operation(s), events 4, 7, 99 and 2 more", frozenset({4, 7}))
    assert "".join(p.text for p in parts) == "3 invalid operation(s), events 4, 7, 99 and 2 more"
    assert [(p.text, p.seq) for p in parts if p.seq is not None] == [("4", 4), ("7", 7)]
    parts = reason_parts("escalated to billing (turn 1, event 12)", frozenset({12}))
    assert [p.seq for p in parts if p.seq is not None] == [12]
    assert reason_parts("no event named", frozenset({1})) == (ReasonPart("no event named"),)


def test_text_from_a_trace_and_a_task_is_escaped_never_markup(
        hostile: tuple[Trace, SupportTaskSpec]) -> None:
    trace, task = hostile
    page = episode_page(trace, task)
    parsed = assert_only_page_markup(page)
    assert "window.__pwned" not in "".join(parsed.scripts)
    escaped = "&lt;script&gt;window.__pwned = 1&lt;/script&gt;"
    # The title, the ticket, the reply, the note and the escalation's summary.
    assert page.count(escaped) >= 5
    assert "<img" not in page and "</textarea>" not in page


def _with_reply(trace: Trace, text: str) -> Trace:
    """``trace`` whose first public reply says ``text``."""
    events = list(trace.events)
    index = next(i for i, e in enumerate(events) if e.kind == "operation"
                 and e.payload["op"]["op"] == "reply")
    event = events[index]
    op = {**event.payload["op"], "message": text}
    events[index] = TraceEvent(event.t, event.seq, event.actor, event.kind,
                               {**event.payload, "op": op})
    return Trace(header=trace.header, events=events, result=trace.result)


@settings(deadline=None)
@given(st.text(min_size=1, max_size=120))
def test_any_reply_text_arrives_as_text(text: str) -> None:
    trace = _with_reply(short_seed_trace(), text)
    page = episode_page(trace, SEED_TASK)
    parsed = assert_only_page_markup(page)
    assert len(parsed.scripts) == 1


def test_the_same_trace_gives_the_same_bytes(seed_trace: Trace, tmp_path: Path) -> None:
    path = tmp_path / "seed.jsonl"
    seed_trace.write(path)
    again = Trace.read(path)
    assert episode_page(seed_trace, SEED_TASK) == episode_page(again, SEED_TASK)


def test_an_episode_cut_short_still_reads(seed_trace: Trace) -> None:
    cut = Trace(header=seed_trace.header, events=seed_trace.events[:5], result=None)
    view = episode_view(cut, SEED_TASK)
    assert view.termination is None and len(view.timeline.marks) == 5
    assert "no result line" in episode_page(cut, SEED_TASK)


def test_an_episode_without_a_turn_draws_its_one_reward(seed_trace: Trace) -> None:
    # The agent failed before its first turn: one reward, the whole score.
    events = (TraceEvent(0, 0, "agent", "agent_error", {"type": "X", "message": "<b>no</b>"}),
              TraceEvent(0, 1, "agent", "end", {"reason": "agent_error", "turn": 0}))
    failed = Trace(header=seed_trace.header, events=events, result=None)
    view = episode_view(failed, SEED_TASK)
    assert view.turns == () and len(view.timeline.marks) == 2
    assert view.timeline.marks[0].shape == "cross"
    lone = view.timeline.lone_reward
    assert lone is not None and lone.reward == step_rewards(SEED_TASK, failed)[0]
    page = episode_page(failed, SEED_TASK)
    assert "(no turn)" in page and "&lt;b&gt;no&lt;/b&gt;" in page


# -- the timeline's layout, for any events ---------------------------------------------

ACTORS = ("agent", "customer", "team:billing", "team:platform_engineering", "sla_monitor",
          "system")
KINDS = ("operation", "invalid_operation", "kb_results", "customer_answer", "team_update",
         "sla_breach", "end")


@st.composite
def event_lists(draw: st.DrawFn) -> list[TraceEvent]:
    """Events as any trace could hold them: turns and others, times in order, bunched."""
    count = draw(st.integers(0, 60))
    t = 0
    events = []
    for seq in range(count):
        t += draw(st.sampled_from([0, 0, 0, 1, 30, 300, 1200]))
        if draw(st.booleans()) and draw(st.booleans()):
            events.append(TraceEvent(t, seq, "agent", "turn", {"turn": seq}))
        else:
            events.append(TraceEvent(t, seq, draw(st.sampled_from(ACTORS)),
                                     draw(st.sampled_from(KINDS)), {}))
    return events


@settings(deadline=None)
@given(event_lists(), st.integers(1, 100_000))
def test_the_layout_places_every_event_once_without_overlap(
        events: list[TraceEvent], sla_minutes: int) -> None:
    turns = sum(e.kind == "turn" for e in events)
    tl = layout_timeline(events, titles={}, sla_deadline_seconds=sla_minutes * 60,
                         rewards=[0.1] * max(1, turns))
    assert sorted(m.seq for m in tl.marks) == [e.seq for e in events]
    assert all(LEFT <= m.x <= tl.right <= WIDTH for m in tl.marks)
    assert LEFT <= tl.sla_x <= tl.right
    # Lanes follow each other without overlapping, and each holds its marks.
    for above, below in zip(tl.lanes, tl.lanes[1:], strict=False):
        assert above.top + above.height == below.top
    lanes = {lane.key: lane for lane in tl.lanes}
    rows: dict[tuple[str, float], list[float]] = {}
    for mark in tl.marks:
        if mark.kind == "turn":
            continue
        lane = lanes[mark.lane]
        assert lane.top < mark.y < lane.top + lane.height
        rows.setdefault((mark.lane, mark.y), []).append(mark.x)
    # Marks of one row keep their distance, unless a lane is full (MAX_ROWS rows).
    for (lane_key, _), xs in rows.items():
        if lanes[lane_key].rows < MAX_ROWS:
            xs.sort()
            assert all(b - a >= MARK_GAP - 1e-9 for a, b in itertools.pairwise(xs))
    assert len(tl.turns) == turns


# -- colours ----------------------------------------------------------------------------

def test_marks_and_text_stand_out_from_the_page() -> None:
    for colour in (*ACTOR_COLOURS.values(), *TERMINATION_COLOURS.values()):
        assert contrast(colour, BACKGROUND) >= MIN_MARK_CONTRAST, colour
    for colour in (INK, MUTED, "#b34700"):  # text: body, muted, the SLA's labels
        assert contrast(colour, BACKGROUND) >= MIN_TEXT_CONTRAST, colour
    assert contrast("#000000", "#ffffff") == pytest.approx(21)


@given(st.floats(-1, 2, allow_nan=False), st.sampled_from([SCORE_SCALE, BREACH_SCALE]))
def test_a_heat_cells_number_is_readable_whatever_its_value(
        value: float, scale: tuple[str, ...]) -> None:
    fill = scale_colour(value, scale)
    assert re.fullmatch(r"#[0-9a-f]{6}", fill)
    assert contrast(fill, ink_for(fill)) >= MIN_TEXT_CONTRAST


def test_a_scale_runs_from_its_first_stop_to_its_last() -> None:
    assert scale_colour(0, SCORE_SCALE) == SCORE_SCALE[0]
    assert scale_colour(1, SCORE_SCALE) == SCORE_SCALE[-1]
    assert scale_colour(0.5, SCORE_SCALE) == SCORE_SCALE[5]


# -- sweeps -----------------------------------------------------------------------------

SWEEP_TASKS = (EASY, "password_reset_easy")
PERSONAS = ("cooperative", "silent", "impatient")


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real sweep: 2 tasks × 3 personas × 3 seeds of the random agent, with traces."""
    root = tmp_path_factory.mktemp("sweep")
    plan = SweepPlan(tasks=SWEEP_TASKS, agent="random", seeds=3, personas=PERSONAS)
    run_sweep(plan, root / "run", trace_dir=root / "traces", workers=1)
    return root


def test_a_sweeps_figures_are_its_own_summarys(sweep_dir: Path) -> None:
    data = read_sweep(sweep_dir / "run")
    written = json.loads((sweep_dir / "run" / "summary.json").read_text(encoding="utf-8"))
    assert data.summary["overall"] == written["overall"]
    assert data.summary["per_task"] == written["per_task"]
    assert data.tasks == SWEEP_TASKS and data.personas == PERSONAS
    assert sum(cell["episodes"] for cell in data.cells.values()) == 18
    assert all(cell["episodes"] == 3 for cell in data.cells.values())
    assert sum(sum(bins) for bins in data.histograms.values()) == 18
    assert data.status == {"complete": True, "missing": 0}


def test_the_heatmap_has_one_cell_per_task_and_persona(sweep_dir: Path) -> None:
    view = sweep_view(read_sweep(sweep_dir / "run"))
    grid = [c for c in view.score_map.cells if not c.margin]
    assert sorted((c.row, c.column) for c in grid) == sorted(
        (t, p) for t in SWEEP_TASKS for p in PERSONAS)
    assert all(c.figure.sub == "n=3" for c in grid)
    page = sweep_page(sweep_dir / "run")
    cells = [a for t, a in parse(page).tags if t == "a" and a.get("class") == "cell"
             and str(a.get("href", "")).startswith("#cell-")]
    assert len(cells) == 2 * len(SWEEP_TASKS) * len(PERSONAS)  # scores and breaches
    for attrs in cells:
        assert f'id="{str(attrs["href"])[1:]}"' in page
    assert_only_page_markup(page)


def test_cells_link_their_worst_episodes_traces(sweep_dir: Path) -> None:
    page_dir = sweep_dir / "pages"
    page_dir.mkdir(exist_ok=True)
    page = sweep_page(sweep_dir / "run", page_dir=page_dir, trace_dir=sweep_dir / "traces")
    links = [str(a["href"]) for t, a in parse(page).tags
             if t == "a" and str(a.get("href", "")).endswith(".jsonl")]
    assert len(links) == 3 * len(SWEEP_TASKS) * len(PERSONAS)
    for link in links:
        assert link.startswith("../traces/")
        assert Trace.read(page_dir / link).header.task_id in SWEEP_TASKS
    # Without a trace folder there are no links, and the seeds are still named.
    plain = sweep_page(sweep_dir / "run")
    assert ".jsonl\"" not in plain and "seed 0" in plain


@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_a_sweeps_page_does_not_depend_on_the_order_of_its_rows(
        sweep_dir: Path, data: st.DataObject) -> None:
    source = sweep_dir / "run"
    lines = (source / "results.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    shuffled = data.draw(st.permutations(lines))
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / source.name
        shutil.copytree(source, folder)
        (folder / "results.jsonl").write_text("".join(shuffled), encoding="utf-8")
        assert sweep_page(folder) == sweep_page(source)


def test_repeated_rows_count_once_and_other_plans_rows_not_at_all(
        sweep_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "run"
    shutil.copytree(sweep_dir / "run", folder)
    lines = (folder / "results.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    stranger = json.loads(lines[0]) | {"task_id": "api_incident_hard"}
    with (folder / "results.jsonl").open("a", encoding="utf-8") as out:
        out.write(lines[0] + lines[1] + json.dumps(stranger) + "\n")
    data = read_sweep(folder)
    assert data.summary["overall"]["episodes"] == 18 and data.counts.duplicates == 2
    assert "api_incident_hard" not in data.tasks
    # Without plan.json, each episode still counts once, and the stranger counts too.
    (folder / "plan.json").unlink()
    data = read_sweep(folder)
    assert data.summary["overall"]["episodes"] == 19
    assert data.tasks == tuple(sorted((*SWEEP_TASKS, "api_incident_hard")))


def _fabricate(folder: Path, seeds: int) -> None:
    """A sweep folder of made-up rows: 4 tasks × 5 personas × ``seeds``."""
    tasks = ("t_alpha", "t_beta", "t_gamma", "t_delta")
    personas = ("cooperative", "silent", "slow", "confused", "impatient")
    draw = random.Random(seeds)
    folder.mkdir()
    rows = []
    for task in tasks:
        for persona in personas:
            for seed in range(seeds):
                rows.append(json.dumps({
                    "task_id": task, "seed": seed, "agent": "heuristic", "persona": persona,
                    "faults": [], "score": round(draw.random(), 6),
                    "breakdown": {"queue": draw.choice([0.0, 1.0]), "sla": None},
                    "termination_reason": draw.choice(["finished", "max_steps"]),
                    "sla_breached": draw.random() < 0.3}))
    (folder / "results.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")


def test_a_sweeps_page_grows_with_its_cells_not_its_episodes(tmp_path: Path) -> None:
    _fabricate(tmp_path / "small", 50)
    _fabricate(tmp_path / "big", 1000)
    small = sweep_page(tmp_path / "small")
    big = sweep_page(tmp_path / "big")
    assert "n=1000" in big and "n=50" in small
    assert len(big.encode()) < 1.05 * len(small.encode())


# -- the command line -------------------------------------------------------------------

def test_report_writes_the_episode_page_next_to_the_trace(tmp_path: Path) -> None:
    trace = tmp_path / "episode.jsonl"
    done = run_cli("run", "--task", EASY, "--agent", "random", "--trace", str(trace))
    assert done.returncode == 0, done.stderr
    done = run_cli("report", str(trace))
    assert done.returncode == 0, done.stderr
    page = tmp_path / "episode.html"
    assert done.stdout.strip().splitlines() == [
        f"episode report: {page} ({page.stat().st_size:,} bytes)"]
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    marks = [a for t, a in parse(text).tags if t == "a" and "data-seq" in a]
    assert len(marks) == len(Trace.read(trace).events)
    # Again: the same bytes.
    again = tmp_path / "again.html"
    assert run_cli("report", str(trace), "-o", str(again)).returncode == 0
    assert again.read_bytes() == page.read_bytes()


def test_report_writes_a_sweeps_page_linked_to_its_traces(sweep_dir: Path,
                                                          tmp_path: Path) -> None:
    out = tmp_path / "pages" / "sweep.html"
    out.parent.mkdir()
    done = run_cli("report", str(sweep_dir / "run"), "-o", str(out), "--trace-dir",
                   str(sweep_dir / "traces"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"sweep report: {out} (")
    links = re.findall(r'href="([^"#]+\.jsonl)"', out.read_text(encoding="utf-8"))
    assert links and all((out.parent / link).is_file() for link in links)
    # By default, report.html in the sweep's folder.
    folder = tmp_path / "copy"
    shutil.copytree(sweep_dir / "run", folder)
    assert run_cli("report", str(folder)).returncode == 0
    assert (folder / "report.html").read_text(encoding="utf-8").count('class="cell"') == 12


def _bad_inputs(sweep_dir: Path, tmp_path: Path) -> dict[tuple[str, ...], str]:
    """Arguments of ``report`` that are refused, and what the error must say."""
    trace = next((sweep_dir / "traces").iterdir())
    not_trace = tmp_path / "notes.txt"
    not_trace.write_text("hello\n", encoding="utf-8")
    foreign = tmp_path / "foreign.jsonl"
    foreign.write_text(trace.read_text(encoding="utf-8").replace(
        '"task_id":"', '"task_id":"no_such_'), encoding="utf-8")
    return {
        (str(tmp_path / "missing"),): "no such file or folder",
        (str(tmp_path),): "a folder without results.jsonl",
        (str(sweep_dir / "run" / "results.jsonl"),): "a sweep's results file, not a trace",
        (str(not_trace),): "not JSON",
        (str(trace), "--trace-dir", str(sweep_dir / "traces")): "--trace-dir: given with a "
                                                                  "trace file",
        (str(sweep_dir / "run"), "--task-file", str(trace)): "--task-file: given with a "
                                                              "sweep's folder",
        (str(sweep_dir / "run"), "--trace-dir", str(tmp_path / "nope")): "no such folder",
        (str(trace), "-o", str(tmp_path / "no" / "page.html")): "does not exist",
        (str(trace), "-o", str(trace)): "is the trace itself",
        (str(foreign),): "unknown",
    }


def test_report_refuses_bad_input_in_one_line(sweep_dir: Path, tmp_path: Path) -> None:
    cases = _bad_inputs(sweep_dir, tmp_path)
    options = {"-o": "out", "--trace-dir": "trace_dir", "--task-file": "task_file"}
    for args, expected in cases.items():
        given = {options[flag]: value for flag, value in zip(args[1::2], args[2::2],
                                                               strict=True)}
        with pytest.raises(INPUT_ERRORS) as refused:
            report_command(Console(), args[0], **{"out": None, "trace_dir": None,
                                                  "task_file": None, "tasks_dirs": [],
                                                  **given})
        message = str(refused.value)
        assert expected in message and "\n" not in message, (args, message)
        assert "allowed" in message or "did you mean" in message, message
    # As the command line says it: one line on stderr, exit 2 (a few of the cases).
    for args in list(cases)[::3]:
        line = one_line_error(run_cli("report", *args))
        assert line.startswith("run_sim.py: error: ") and cases[args] in line, (args, line)


def test_report_without_jinja2_names_the_extra(tmp_path: Path, seed_trace: Trace) -> None:
    shadow = tmp_path / "shadow" / "jinja2"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'jinja2'\", name='jinja2')\n",
        encoding="utf-8")
    trace = tmp_path / "seed.jsonl"
    seed_trace.write(trace)
    path = f"{shadow.parent}:{ROOT / 'tests'}"
    line = one_line_error(run_cli("report", str(trace), env={"PYTHONPATH": path}))
    assert 'pip install -e ".[report]"' in line and "jinja2" in line
    assert not (tmp_path / "seed.html").exists()


@functools.cache
def short_seed_trace() -> Trace:
    """A short scripted episode of the seed task: a reply, then the end."""
    return trio.run(lambda: play(ScriptedAgent([
        [{"op": "reply", "message": "Hello", "request_fields": ["request_ids"]}],
        [{"op": "finish"}]]), SEED_TASK)).trace
