"""The report's colours: readable by everyone, checked by arithmetic rather than by eye.

Two kinds of colour, two rules (WCAG 2.1, the contrast ratio of relative luminances):

- **Marks and bars** (categorical: who acted, why an episode ended) stand at least
  :data:`MIN_MARK_CONTRAST` (3:1, "non-text contrast") against the page, and never carry
  meaning by colour alone: each kind also has its own shape or its own label.
- **Heat scales** (a value in [0, 1] → a fill) are sequential and readable without
  colour vision: :data:`SCORE_SCALE` is viridis (its lightness rises steadily, so it
  reads the same in greyscale and to each common colour-vision deficiency), and
  :data:`BREACH_SCALE` one hue from white to dark red. A number printed on a cell takes
  whichever of black or white ink contrasts more (:func:`ink_for`): at least 4.5:1,
  whatever the fill.

Colours are ``#rrggbb`` strings, computed once, the same on every run.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "ACTOR_COLOURS",
    "BACKGROUND",
    "BREACH_SCALE",
    "INK",
    "MIN_MARK_CONTRAST",
    "MIN_TEXT_CONTRAST",
    "MUTED",
    "NEGATIVE",
    "OTHER_TERMINATION",
    "POSITIVE",
    "SCORE_SCALE",
    "TERMINATION_COLOURS",
    "contrast",
    "ink_for",
    "scale_colour",
]

#: The page and its text.
BACKGROUND = "#ffffff"
INK = "#1a1a1a"
MUTED = "#595959"
MIN_TEXT_CONTRAST = 4.5
MIN_MARK_CONTRAST = 3.0

#: A lane's colour, by lane kind (Okabe–Ito hues, darkened where the original is too
#: light for a mark on white: orange and reddish purple).
ACTOR_COLOURS: dict[str, str] = {
    "agent": "#0072b2",
    "customer": "#007a5a",
    "team": "#a35c00",
    "system": "#9c4f86",
    "invalid": "#d55e00",
    "turn": "#333333",
}
#: Step rewards: gained, lost.
POSITIVE = "#0072b2"
NEGATIVE = "#d55e00"
#: Why episodes ended (each also named in a legend and a table).
TERMINATION_COLOURS: dict[str, str] = {
    "finished": "#0072b2",
    "max_steps": "#a35c00",
    "agent_error": "#d55e00",
    "agent_timeout": "#9c4f86",
    "sim_error": "#333333",
}
OTHER_TERMINATION = "#6b6b6b"

#: Viridis at eleven even stops, from 0 (dark purple) to 1 (yellow).
SCORE_SCALE: tuple[str, ...] = (
    "#440154", "#482475", "#414487", "#355f8d", "#2a788e", "#21918c",
    "#22a884", "#44bf70", "#7ad151", "#bddf26", "#fde725",
)
#: One hue, white to dark red (ColorBrewer "Reds"): 0 is no breach, 1 every episode.
BREACH_SCALE: tuple[str, ...] = (
    "#fff5f0", "#fee0d2", "#fcbba1", "#fc9272", "#fb6a4a", "#ef3b2c", "#cb181d",
    "#a50f15", "#67000d",
)


def _rgb(colour: str) -> tuple[int, int, int]:
    value = colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def _luminance(colour: str) -> float:
    """WCAG relative luminance of ``#rrggbb``."""
    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in _rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(first: str, second: str) -> float:
    """The WCAG contrast ratio of two colours, from 1 (the same) to 21 (black on white)."""
    a, b = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def scale_colour(value: float, scale: Sequence[str]) -> str:
    """The colour of ``value`` (clamped to [0, 1]) on a scale of evenly spaced stops,
    interpolated in sRGB and rounded to whole channels."""
    value = min(1.0, max(0.0, value))
    position = value * (len(scale) - 1)
    low = min(int(position), len(scale) - 2)
    share = position - low
    a, b = _rgb(scale[low]), _rgb(scale[low + 1])
    mixed = (round(x + (y - x) * share) for x, y in zip(a, b, strict=True))
    return "#" + "".join(f"{channel:02x}" for channel in mixed)


def ink_for(fill: str) -> str:
    """Black or white, whichever reads better on ``fill`` (always at least 4.5:1)."""
    return "#000000" if contrast(fill, "#000000") >= contrast(fill, "#ffffff") else "#ffffff"
