"""The sweep page's pictures, laid out: heatmaps, histograms, stacked bars.

Each function returns plain geometry (frozen records of numbers and strings); the
sweep template draws it as inline SVG. A heatmap prints its number and count inside
every cell, in the ink that reads on that cell's colour, so it needs no colour vision
and no hover to be read (and prints as it shows).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs

from actors.report.palette import INK, TERMINATION_COLOURS, ink_for, scale_colour
from actors.report.palette import OTHER_TERMINATION as OTHER

__all__ = [
    "Bar",
    "CellFigure",
    "HeatCell",
    "Heatmap",
    "Histogram",
    "Legend",
    "Segment",
    "heatmap",
    "histogram",
    "stacked_bar",
    "termination_colour",
]

#: A heatmap's cells, and room for its labels.
CELL_WIDTH = 112
CELL_HEIGHT = 38
HEADER_HEIGHT = 30
LEGEND_WIDTH = 16
LEGEND_HEIGHT = 180
CHAR_WIDTH = 7.2


@attrs.frozen
class CellFigure:
    """What one heatmap cell says: its value (``None``: no episodes), the big label,
    the small one under it, the hover text, and where a click goes."""

    value: float | None
    label: str
    sub: str
    title: str
    href: str | None = None


@attrs.frozen
class HeatCell:
    row: str
    column: str
    x: float
    y: float
    width: float
    height: float
    fill: str
    ink: str
    figure: CellFigure
    #: A row's or column's total ("all"), not a cell of the grid.
    margin: bool


@attrs.frozen
class Legend:
    x: float
    y: float
    width: float
    height: float
    #: (offset in [0, 1] from the top, colour) of the gradient's stops.
    stops: tuple[tuple[float, str], ...]
    #: (y, label) of its ticks.
    ticks: tuple[tuple[float, str], ...]
    title: str


@attrs.frozen
class Heatmap:
    width: float
    height: float
    left: float
    rows: tuple[tuple[str, float], ...]
    columns: tuple[tuple[str, float], ...]
    cells: tuple[HeatCell, ...]
    legend: Legend
    #: Where the grid ends and its margins (the totals) begin, for their dividing lines.
    grid_right: float
    grid_bottom: float


def _fill(value: float | None, scale: Sequence[str]) -> tuple[str, str]:
    if value is None:
        return "#f0f0f0", INK
    fill = scale_colour(value, scale)
    return fill, ink_for(fill)


def heatmap(rows: Sequence[str], columns: Sequence[str],
            cells: Mapping[tuple[str, str], CellFigure], *, scale: Sequence[str],
            legend_title: str, row_totals: Mapping[str, CellFigure] | None = None,
            column_totals: Mapping[str, CellFigure] | None = None,
            corner: CellFigure | None = None, total_label: str = "all") -> Heatmap:
    """A grid of ``rows`` × ``columns`` (a cell each, empty where ``cells`` has none),
    with a totals column and row when given, and a legend of ``scale`` (0 at the bottom,
    1 at the top)."""
    longest = max((len(r) for r in (*rows, total_label)), default=4)
    left = min(320.0, max(110.0, longest * CHAR_WIDTH + 16))
    top = float(HEADER_HEIGHT)
    width_columns = len(columns) + (row_totals is not None)
    height_rows = len(rows) + (column_totals is not None)
    grid_right = left + len(columns) * CELL_WIDTH
    grid_bottom = top + len(rows) * CELL_HEIGHT
    placed: list[HeatCell] = []

    def place(row: str, column: str, x: float, y: float, figure: CellFigure,
              margin: bool) -> None:
        fill, ink = _fill(figure.value, scale)
        placed.append(HeatCell(row=row, column=column, x=x, y=y, width=CELL_WIDTH,
                               height=CELL_HEIGHT, fill=fill, ink=ink, figure=figure,
                               margin=margin))

    empty = CellFigure(value=None, label="–", sub="no episodes", title="no episodes")
    for r, row in enumerate(rows):
        y = top + r * CELL_HEIGHT
        for c, column in enumerate(columns):
            place(row, column, left + c * CELL_WIDTH, y, cells.get((row, column), empty),
                  False)
        if row_totals is not None:
            place(row, total_label, grid_right + 6, y, row_totals.get(row, empty), True)
    if column_totals is not None:
        y = grid_bottom + 6
        for c, column in enumerate(columns):
            place(total_label, column, left + c * CELL_WIDTH, y,
                  column_totals.get(column, empty), True)
        if row_totals is not None and corner is not None:
            place(total_label, total_label, grid_right + 6, y, corner, True)
    right = left + width_columns * CELL_WIDTH + (6 if row_totals is not None else 0)
    bottom = top + height_rows * CELL_HEIGHT + (6 if column_totals is not None else 0)
    legend_x = right + 36
    legend_height = min(LEGEND_HEIGHT, max(90.0, bottom - top - 20))
    legend = Legend(
        x=legend_x, y=top + 18, width=LEGEND_WIDTH, height=legend_height,
        stops=tuple((i / (len(scale) - 1), colour)
                    for i, colour in enumerate(reversed(scale))),
        ticks=tuple((top + 18 + legend_height * (1 - v), f"{v:g}")
                    for v in (0.0, 0.25, 0.5, 0.75, 1.0)),
        title=legend_title)
    column_labels = [(column, left + c * CELL_WIDTH + CELL_WIDTH / 2)
                     for c, column in enumerate(columns)]
    if row_totals is not None:
        column_labels.append((total_label, grid_right + 6 + CELL_WIDTH / 2))
    row_labels = [(row, top + r * CELL_HEIGHT + CELL_HEIGHT / 2) for r, row in enumerate(rows)]
    if column_totals is not None:
        row_labels.append((total_label, grid_bottom + 6 + CELL_HEIGHT / 2))
    return Heatmap(width=legend_x + LEGEND_WIDTH + 80, height=max(bottom, top + 18 +
                                                                  legend_height + 10) + 4,
                   left=left, rows=tuple(row_labels), columns=tuple(column_labels),
                   cells=tuple(placed), legend=legend, grid_right=grid_right,
                   grid_bottom=grid_bottom)


@attrs.frozen
class Bar:
    x: float
    y: float
    width: float
    height: float
    fill: str
    count: int
    title: str


@attrs.frozen
class Histogram:
    width: float
    height: float
    left: float
    bottom: float
    plot_width: float
    bars: tuple[Bar, ...]
    #: (x, label) along the score axis; (y, label) along the count axis.
    x_ticks: tuple[tuple[float, str], ...]
    y_ticks: tuple[tuple[float, str], ...]
    threshold_x: float | None
    threshold: float | None


def histogram(bins: Sequence[int], *, width: float, height: float,
              scale: Sequence[str] | None = None, threshold: float | None = None,
              axes: bool = True, colour: str = "#0072b2") -> Histogram:
    """Bars of ``bins`` (counts of equal-width bins over [0, 1]); each bar's colour is
    ``scale``'s at its bin's middle, or ``colour``. ``axes``: ticks and the threshold
    line (a sparkline has none)."""
    left = 44.0 if axes else 0.0
    bottom = height - (22.0 if axes else 1.0)
    top = 10.0 if axes else 1.0
    plot_width = width - left - (10.0 if axes else 0.0)
    most = max(bins, default=0)
    step = plot_width / max(1, len(bins))
    bars = []
    for index, count in enumerate(bins):
        low, high = index / len(bins), (index + 1) / len(bins)
        size = 0.0 if not most else (bottom - top) * count / most
        fill = scale_colour((low + high) / 2, scale) if scale else colour
        closing = "]" if index == len(bins) - 1 else ")"
        bars.append(Bar(x=left + index * step + (1 if axes else 0.5), y=bottom - size,
                        width=max(1.0, step - (2 if axes else 1)),
                        height=size if count == 0 else max(size, 1.0),
                        fill=fill, count=count,
                        title=f"scores [{low:.2f}, {high:.2f}{closing}: {count} episode(s)"))
    x_ticks = tuple((left + plot_width * v, f"{v:g}") for v in (0, 0.25, 0.5, 0.75, 1.0)) \
        if axes else ()
    y_ticks = tuple((bottom - (bottom - top) * share, f"{round(most * share)}")
                    for share in (0.0, 0.5, 1.0)) if axes and most else ()
    threshold_x = left + plot_width * threshold if axes and threshold is not None else None
    return Histogram(width=width, height=height, left=left, bottom=bottom,
                     plot_width=plot_width, bars=tuple(bars), x_ticks=x_ticks,
                     y_ticks=y_ticks, threshold_x=threshold_x, threshold=threshold)


@attrs.frozen
class Segment:
    x: float
    width: float
    fill: str
    label: str
    count: int
    title: str


def termination_colour(reason: str) -> str:
    return TERMINATION_COLOURS.get(reason, OTHER)


def stacked_bar(counts: Mapping[str, int], *, width: float) -> tuple[Segment, ...]:
    """A bar of ``width`` split by ``counts`` (the termination reasons, in the spec's
    order, then any others sorted), a segment per reason that occurred."""
    order = [r for r in TERMINATION_COLOURS if r in counts]
    order += sorted(r for r in counts if r not in TERMINATION_COLOURS)
    total = sum(counts.values())
    segments = []
    x = 0.0
    for reason in order:
        count = counts[reason]
        if not count or not total:
            continue
        share = count / total
        segments.append(Segment(x=x, width=width * share, fill=termination_colour(reason),
                                label=reason, count=count,
                                title=f"{reason}: {count} ({share:.0%})"))
        x += width * share
    return tuple(segments)
