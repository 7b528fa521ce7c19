"""The report's pages in a real browser: Debian's chromium, driven by playwright.

The pages are opened from disk (``file://``), as a person opens them, with no network
(the flags below keep chromium from trying any), and checked as a person sees them:
a mark per trace event on the timeline, a click showing that event's text, a heatmap
cell per task × persona whose links lead somewhere, text from a trace that runs
nothing, no console error, and a printed page without its interactive parts.
Screenshots of both pages are saved in the test's folder.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright
from test_report import HOSTILE, PERSONAS, SWEEP_TASKS, hostile_episode

from actors.report import episode_page, sweep_page
from actors.sweep import SweepPlan, run_sweep
from sim.trace import Trace

CHROMIUM = "/usr/bin/chromium"
#: No sandbox (containers), no GPU, and nothing that would reach for the network.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", "--disable-default-apps", "--disable-extensions"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """An episode's page (the hostile scripted episode: invalid operations, a penalty,
    an attacker's text) and a real sweep's page, linked to its traces."""
    root = tmp_path_factory.mktemp("pages")
    trace, task = hostile_episode()
    trace.write(root / "episode.jsonl")
    (root / "episode.html").write_text(episode_page(trace, task, source="episode.jsonl"),
                                       encoding="utf-8")
    plan = SweepPlan(tasks=SWEEP_TASKS, agent="random", seeds=2, personas=PERSONAS)
    run_sweep(plan, root / "run", trace_dir=root / "traces", workers=1)
    (root / "sweep.html").write_text(sweep_page(root / "run", page_dir=root,
                                                trace_dir=root / "traces"), encoding="utf-8")
    return {"root": root, "trace": root / "episode.jsonl", "episode": root / "episode.html",
            "sweep": root / "sweep.html"}


class Opened:
    """A page opened in the browser, and every console message and error it gave."""

    def __init__(self, browser: Browser, path: Path) -> None:
        self.page: Page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.problems: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"error: {error}"))
        self.page.goto(path.as_uri())

    def _console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            self.problems.append(f"{message.type}: {message.text}")


def test_the_episode_page_shows_each_event_and_runs_no_one_elses_script(
        browser: Browser, pages: dict[str, Path], tmp_path: Path) -> None:
    opened = Opened(browser, pages["episode"])
    page = opened.page
    events = Trace.read(pages["trace"]).events
    assert page.locator("svg.timeline .mark").count() == len(events)
    assert page.locator("table.events tbody tr").count() == len(events)
    assert page.locator("svg.timeline .mark.invalid").count() == 2
    assert page.locator("svg.timeline .mark.penalised").count() >= 1
    # The attacker's script and image handler never ran; their text is on the page.
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator("img").count() == 0
    assert HOSTILE in page.locator("h1").inner_text()
    # A click on a mark shows its event, whole, in the details panel.
    reply = next(e for e in events if e.kind == "operation"
                 and e.payload["op"]["op"] == "reply")
    page.locator(f'svg.timeline .mark[data-seq="{reply.seq}"]').click()
    detail = page.locator("#detail").inner_text()
    assert f"event {reply.seq}" in detail and HOSTILE in detail
    assert page.evaluate("location.hash") == ""  # the click stayed on the picture
    page.screenshot(path=str(tmp_path / "episode.png"), full_page=True)
    assert (tmp_path / "episode.png").stat().st_size > 10_000
    assert opened.problems == []


def test_the_sweep_page_has_a_cell_per_task_and_persona_and_working_links(
        browser: Browser, pages: dict[str, Path], tmp_path: Path) -> None:
    opened = Opened(browser, pages["sweep"])
    page = opened.page
    cells = page.locator("svg.heat-score .cell")
    assert cells.count() == len(SWEEP_TASKS) * len(PERSONAS)
    pairs = {(cells.nth(i).get_attribute("data-task"), cells.nth(i).get_attribute("data-persona"))
             for i in range(cells.count())}
    assert pairs == {(t, p) for t in SWEEP_TASKS for p in PERSONAS}
    assert page.locator("svg.heat-breach .cell").count() == len(pairs)
    # A cell leads to its row, whose links lead to trace files that exist.
    cells.first.click()
    anchor = page.evaluate("location.hash")
    assert anchor.startswith("#cell-")
    row = page.locator(anchor)
    assert row.is_visible()
    links = row.locator("a[href$='.jsonl']")
    assert links.count() >= 1
    for i in range(links.count()):
        href = links.nth(i).get_attribute("href")
        assert href is not None and (pages["root"] / href).is_file()
    page.screenshot(path=str(tmp_path / "sweep.png"), full_page=True)
    assert (tmp_path / "sweep.png").stat().st_size > 10_000
    assert opened.problems == []


def test_printed_pages_drop_the_details_panel_and_keep_every_event(
        browser: Browser, pages: dict[str, Path]) -> None:
    opened = Opened(browser, pages["episode"])
    page = opened.page
    page.emulate_media(media="print")
    assert not page.locator("#detail").is_visible()
    assert page.locator("table.events tbody tr").last.is_visible()
    assert page.pdf()[:5] == b"%PDF-"
    assert opened.problems == []
