"""Reports: an episode or a sweep as one HTML page people read (``run_sim.py report``).

An incident is a story in time and a sweep is a grid of tasks × personas; both read
better as pictures than as JSON lines. Two pages, each one self-contained file (inline
SVG and CSS, no network, printable):

- :func:`episode_page` — a trace (and its task): the timeline on the simulated clock,
  a lane per actor and a mark per event, the SLA deadline, turns and their step
  rewards, beside the grade report; every event's text also in a list.
- :func:`sweep_page` — a sweep's folder: mean score by task × persona (a heatmap with
  counts), the SLA breach rate, per-criterion means, pass^k, termination reasons, the
  score distribution, and each cell's worst episodes, linked to their traces.

How it is built, one idea a module: :mod:`~actors.report.timeline` and
:mod:`~actors.report.charts` compute the pictures' geometry;
:mod:`~actors.report.episode` and :mod:`~actors.report.sweep` gather what each page
shows (:mod:`~actors.report.sweep_fold` reads a sweep's folder as a fold, so its page
grows with tasks × personas, not with episodes); :mod:`~actors.report.render` renders
the templates (``*_template``) with jinja2, autoescaped; :mod:`~actors.report.palette`
holds colours that are checked for contrast. Needs the ``report`` extra (jinja2).

The same input gives the same bytes: nothing of the moment is written, and a sweep's
figures do not depend on the order its rows were written in.
"""

from actors.report.episode import EpisodeView, episode_page, episode_view
from actors.report.sweep import SweepView, sweep_page, sweep_view
from actors.report.sweep_fold import SweepData, read_sweep

__all__ = [
    "EpisodeView",
    "SweepData",
    "SweepView",
    "episode_page",
    "episode_view",
    "read_sweep",
    "sweep_page",
    "sweep_view",
]
