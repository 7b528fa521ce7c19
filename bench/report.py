"""The report's cost and size: ``python -m bench.report [--episodes N] [--out DIR]``.

Runs a sweep of N episodes (default 10,000: every shipped task × every persona × as many
seeds as it takes, the heuristic agent, each trace kept) into ``--out`` (a temporary
folder by default; a folder given again is reused: ``sweep --resume`` runs only what it
lacks), plus the seed task's episode (heuristic, seed 0), then times whole processes:

- ``floor``: ``run_sim.py schema`` — the command line's start-up, nothing read;
- ``summary``: the sweep's own summary of its results file
  (:func:`actors.sweep.summarize_results`, in a fresh process) — the read that any
  report of the sweep must make at least;
- ``sweep report``: ``run_sim.py report RUN --trace-dir TRACES -o sweep.html``;
- ``episode report``: ``run_sim.py report seed.jsonl -o episode.html``.

Each figure is the median of ``--repeats`` runs, with its process's peak memory; the
page sizes are the files' bytes, and both pages are built twice to check they come out
byte-identical. ``--screenshots DIR`` also saves both pages as a browser shows them at
1280 px (``episode.png``, ``sweep.png``; playwright driving /usr/bin/chromium).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tasks.base import PERSONAS
from tasks.registry import discover_families

ROOT = Path(__file__).resolve().parent.parent
RUN_SIM = ROOT / "run_sim.py"
#: Runs ``run_sim.py``'s main in this child and reports its peak memory on stderr's last line.
_MEASURED = ("import resource, sys, run_sim; code = run_sim.main(sys.argv[1:]); "
             "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr); "
             "sys.exit(code)")
_SUMMARY = ("import json, resource, sys; from actors.sweep import SweepPlan, "
            "summarize_results; p = json.load(open(sys.argv[1] + '/plan.json')); "
            "plan = SweepPlan(tasks=tuple(p['tasks']), agent=p['agent'], seeds=p['seeds'], "
            "personas=tuple(p['personas']), faults=tuple(p['faults'])); "
            "summarize_results(plan, sys.argv[1] + '/results.jsonl'); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)")
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run"]


def _timed(argv: list[str]) -> tuple[float, float]:
    """(seconds, peak MB) of one child process running ``argv`` (after the interpreter)."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, *argv], cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr[-2000:]}")
    peak_kb = int(done.stderr.strip().splitlines()[-1])
    return seconds, peak_kb / 1024


def _median(argv: list[str], repeats: int) -> tuple[float, float]:
    runs = [_timed(argv) for _ in range(repeats)]
    return statistics.median(s for s, _ in runs), max(m for _, m in runs)


def _sweep(folder: Path, episodes: int, workers: int) -> tuple[int, float]:
    """Run (or finish) the sweep; (episodes in it, seconds this run took)."""
    tasks = list(discover_families())
    seeds = -(-episodes // (len(tasks) * len(PERSONAS)))
    started = time.perf_counter()
    subprocess.run([sys.executable, str(RUN_SIM), "sweep", "--tasks", "all", "--agent",
                    "heuristic", "--personas", "all", "--seeds", str(seeds), "--workers",
                    str(workers), "--out", str(folder / "run"), "--trace-dir",
                    str(folder / "traces"), "--resume", "--json"],
                   cwd=ROOT, check=True, capture_output=True)
    seconds = time.perf_counter() - started
    summary = json.loads((folder / "run" / "summary.json").read_text(encoding="utf-8"))
    return int(summary["overall"]["episodes"]), seconds


def screenshots(pages: dict[str, Path], folder: Path) -> list[Path]:
    """Each page as chromium shows it at 1280 px, whole, as ``NAME.png`` in ``folder``."""
    from playwright.sync_api import sync_playwright

    folder.mkdir(parents=True, exist_ok=True)
    shots = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        for name, path in pages.items():
            page.goto(path.as_uri())
            shot = folder / f"{name}.png"
            page.screenshot(path=str(shot), full_page=True)
            shots.append(shot)
        browser.close()
    return shots


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--episodes", type=int, default=10_000,
                        help="episodes in the sweep, at least (default 10000)")
    parser.add_argument("--out", type=Path, default=None,
                        help="the folder for the sweep, its traces and the pages (reused if "
                             "given again; default: a temporary folder)")
    parser.add_argument("--workers", type=int, default=2, help="sweep workers (default 2)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="runs per timed figure, the median shown (default 3)")
    parser.add_argument("--screenshots", type=Path, default=None,
                        help="save episode.png and sweep.png of the pages in this folder")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.out or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        episodes, sweep_seconds = _sweep(folder, args.episodes, args.workers)
        seed = folder / "seed.jsonl"
        subprocess.run([sys.executable, str(RUN_SIM), "run", "--trace", str(seed), "--json"],
                       cwd=ROOT, check=True, capture_output=True)
        run, traces = folder / "run", folder / "traces"
        sweep_page, episode_page = folder / "sweep.html", folder / "episode.html"
        rows = {
            "floor (run_sim.py schema)": ["-c", _MEASURED, "schema"],
            "summary (the sweep's own fold)": ["-c", _SUMMARY, str(run)],
            "sweep report": ["-c", _MEASURED, "report", str(run), "--trace-dir", str(traces),
                             "-o", str(sweep_page)],
            "episode report (seed task)": ["-c", _MEASURED, "report", str(seed), "-o",
                                           str(episode_page)],
        }
        figures = {name: _median(command, args.repeats) for name, command in rows.items()}
        first = {path: path.read_bytes() for path in (sweep_page, episode_page)}
        for name in ("sweep report", "episode report (seed task)"):
            _timed(rows[name])
        identical = all(path.read_bytes() == data for path, data in first.items())
        plain = folder / "sweep_plain.html"
        _timed(["-c", _MEASURED, "report", str(run), "-o", str(plain)])

        floor = figures["floor (run_sim.py schema)"][0]
        summary = figures["summary (the sweep's own fold)"][0]
        print(f"sweep: {episodes:,} episodes in {run} (this run: {sweep_seconds:.1f} s), "
              f"{sum(1 for _ in traces.iterdir()):,} traces; median of {args.repeats} runs")
        print(f"{'figure':<34} {'seconds':>8} {'peak MB':>8} {'- floor':>8} {'/ summary':>10}")
        for name, (seconds, peak) in figures.items():
            print(f"{name:<34} {seconds:>8.2f} {peak:>8.1f} {seconds - floor:>8.2f} "
                  f"{seconds / summary:>10.2f}")
        print(f"sweep page:   {sweep_page.stat().st_size:>10,} bytes (with --trace-dir links)"
              f"; {plain.stat().st_size:,} bytes without")
        print(f"episode page: {episode_page.stat().st_size:>10,} bytes (seed task, heuristic, "
              "seed 0)")
        print(f"built twice, byte-identical: {'yes' if identical else 'NO'}")
        if args.screenshots is not None:
            shots = screenshots({"episode": episode_page, "sweep": sweep_page},
                                args.screenshots)
            print("screenshots: " + ", ".join(str(shot) for shot in shots))
        return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
