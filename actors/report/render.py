"""Rendering a report page: jinja2, autoescaped, strict, with the page's own filters.

The one module of the report that imports jinja2 (the ``report`` extra). Templates are
Python strings (:mod:`~actors.report.page_template`, ``episode_template``,
``sweep_template``), so they install with the code and need no package data.

Safety and sameness:

- **Autoescape is on for everything**: a value from a trace or a results file is text,
  and ``<script>`` in an agent's reply arrives on the page as ``&lt;script&gt;``. Only
  the page's own stylesheet and script are marked safe.
- **Undefined is an error** (:class:`jinja2.StrictUndefined`): a misspelt field fails
  the render instead of printing nothing.
- **Numbers have one format each** (the filters below), so the same view renders the
  same bytes; nothing of the moment (the date, the host) is written.
- The page's Content-Security-Policy names its script by hash (:func:`csp`), so the
  browser runs that script and nothing else.
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache
from typing import Any

import jinja2

from actors.report.episode_template import EPISODE
from actors.report.page_template import CSS, PAGE, SCRIPT
from actors.report.sweep_template import SWEEP

__all__ = ["csp", "render"]

#: Each page and the script it runs ("" for none).
_SCRIPTS = {"episode.html": SCRIPT, "sweep.html": ""}


def csp(script: str) -> str:
    """The page's Content-Security-Policy: nothing fetched, inline style, and only
    ``script`` (by its SHA-256) run."""
    if script:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        scripts = f"'sha256-{digest}'"
    else:
        scripts = "'none'"
    return (f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
            f"script-src {scripts}; base-uri 'none'; form-action 'none'")


def _coordinate(value: float) -> str:
    """An SVG number: a tenth at most, no trailing zeros, no ``-0``."""
    text = f"{float(value):.1f}"
    text = text[:-2] if text.endswith(".0") else text
    return "0" if text == "-0" else text


def _signed(value: float | None, digits: int = 3) -> str:
    """``+0.250`` / ``−0.030`` (a true minus sign), ``–`` for none."""
    if value is None:
        return "–"
    rounded = round(float(value), digits)
    if rounded == 0:
        return f"{0:.{digits}f}"
    return f"{'+' if rounded > 0 else '−'}{abs(rounded):.{digits}f}"


def _fixed(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{float(value):.{digits}f}"


def _count(value: int) -> str:
    """A count with thousands separated: ``10,000``."""
    return f"{int(value):,}"


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{float(value):.0%}"


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.DictLoader({"page.html": PAGE, "episode.html": EPISODE,
                                  "sweep.html": SWEEP}),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
        lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(n=_coordinate, signed=_signed, fixed=_fixed, pct=_percent,
                       count=_count)
    return env


def render(name: str, **context: Any) -> str:
    """The page ``name`` (``episode.html`` or ``sweep.html``) with ``context``."""
    script = _SCRIPTS[name]
    return _environment().get_template(name).render(css=CSS, script=script, csp=csp(script),
                                                    **context)
