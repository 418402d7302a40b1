"""Small, dependency-free SVG plots for item-analysis reports: histogram, scatter, trace lines.

Each function returns one self-contained ``<svg>`` element as a string: no scripts, no external
references, no fonts to fetch, so a report renders offline and can be archived as one file.
Every plot carries a ``<title>`` and a ``<desc>`` (referenced by ``aria-labelledby``) that say
in words what it shows, and marks that matter (thresholds, flagged items, the key) differ in
shape or line style, not only in colour. Colours are the Okabe-Ito palette, which stays
distinguishable under the common colour-vision deficiencies (Okabe & Ito 2008).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from scoring.errors import ScoringError

#: Okabe-Ito colours: blue, vermillion, bluish green, reddish purple, orange, sky blue, yellow.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442")
#: Dash patterns that tell lines apart without colour.
DASHES = ("6 3", "2 3", "8 3 2 3", "1 2", "10 4", "4 4")
INK = "#222222"
GRID = "#DDDDDD"
FONT = 'font-family="system-ui, sans-serif" font-size="11"'

_MARGIN_LEFT = 48
_MARGIN_RIGHT = 16
_MARGIN_TOP = 28
_MARGIN_BOTTOM = 40


class PlotError(ScoringError, ValueError):
    """Data that cannot be drawn as asked (mismatched lengths, nothing to plot)."""


@dataclass(frozen=True, slots=True)
class ScatterPoint:
    """One point of a scatter plot; ``label`` becomes its tooltip, ``highlighted`` its mark."""

    x: float
    y: float
    label: str
    highlighted: bool = False


@dataclass(frozen=True, slots=True)
class TraceSeries:
    """One line of a trace plot: a share per group, lowest group first."""

    label: str
    values: tuple[float, ...]
    emphasized: bool = False


@dataclass(frozen=True, slots=True)
class _Frame:
    """Maps data coordinates into the plotting area of a ``width`` x ``height`` image."""

    width: int
    height: int
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    right: int = _MARGIN_RIGHT

    def x(self, value: float) -> float:
        low, high = self.x_range
        span = self.width - _MARGIN_LEFT - self.right
        return _MARGIN_LEFT + (value - low) / (high - low) * span

    def y(self, value: float) -> float:
        low, high = self.y_range
        span = self.height - _MARGIN_TOP - _MARGIN_BOTTOM
        return self.height - _MARGIN_BOTTOM - (value - low) / (high - low) * span

    @property
    def bottom(self) -> float:
        return float(self.height - _MARGIN_BOTTOM)

    @property
    def top(self) -> float:
        return float(_MARGIN_TOP)


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round tick values (steps of 1, 2 or 5 x 10^k) covering ``[low, high]``."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return [low]
    raw = (high - low) / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step - 1e-9) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    return ticks


def spread_labels(positions: Sequence[float], gap: float, low: float, high: float) -> list[float]:
    """Positions for labels wanted at increasing ``positions``, at least ``gap`` apart.

    Labels move as little as they must: first pushed down past their upper neighbour, then,
    if the last one overflows ``high``, the stack is pushed back up, but never above ``low``
    (when there is no room for all of them, the last ones overflow ``high``).
    """
    placed: list[float] = []
    for wanted in positions:
        placed.append(max(wanted, placed[-1] + gap) if placed else wanted)
    for index in range(len(placed) - 1, -1, -1):
        ceiling = high if index == len(placed) - 1 else placed[index + 1] - gap
        placed[index] = min(placed[index], ceiling)
    if placed and placed[0] < low:
        placed[0] = low
        for index in range(1, len(placed)):
            placed[index] = max(placed[index], placed[index - 1] + gap)
    return placed


def _number(value: float) -> str:
    """Coordinates with two decimals and no trailing zeros."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _tick_label(value: float) -> str:
    return f"{value:g}"


def _open(element_id: str, width: int, height: int, title: str, description: str) -> list[str]:
    ident = escape(element_id, quote=True)
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc" id="{ident}">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(description)}</desc>',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#FFFFFF"/>',
        f'<text x="{_MARGIN_LEFT}" y="16" {FONT} font-weight="bold" fill="{INK}">'
        f"{escape(title)}</text>",
    ]


def _axes(
    frame: _Frame,
    *,
    x_ticks: Sequence[float],
    y_ticks: Sequence[float],
    x_label: str,
    y_label: str,
    x_tick_names: Sequence[str] | None = None,
) -> list[str]:
    parts = ['<g class="axes">']
    left, right = frame.x(frame.x_range[0]), frame.x(frame.x_range[1])
    for tick in y_ticks:
        y = _number(frame.y(tick))
        parts.append(
            f'<line x1="{_number(left)}" y1="{y}" x2="{_number(right)}" y2="{y}" '
            f'stroke="{GRID}" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{_number(left - 4)}" y="{y}" {FONT} fill="{INK}" text-anchor="end" '
            f'dominant-baseline="middle">{escape(_tick_label(tick))}</text>'
        )
    names = x_tick_names or [_tick_label(t) for t in x_ticks]
    for tick, name in zip(x_ticks, names, strict=True):
        x = _number(frame.x(tick))
        parts.append(
            f'<line x1="{x}" y1="{_number(frame.bottom)}" x2="{x}" '
            f'y2="{_number(frame.bottom + 4)}" stroke="{INK}" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{x}" y="{_number(frame.bottom + 15)}" {FONT} fill="{INK}" '
            f'text-anchor="middle">{escape(name)}</text>'
        )
    parts.append(
        f'<line x1="{_number(left)}" y1="{_number(frame.bottom)}" x2="{_number(right)}" '
        f'y2="{_number(frame.bottom)}" stroke="{INK}" stroke-width="1"/>'
    )
    parts.append(
        f'<line x1="{_number(left)}" y1="{_number(frame.top)}" x2="{_number(left)}" '
        f'y2="{_number(frame.bottom)}" stroke="{INK}" stroke-width="1"/>'
    )
    parts.append(
        f'<text x="{_number((left + right) / 2)}" y="{frame.height - 6}" {FONT} fill="{INK}" '
        f'text-anchor="middle">{escape(x_label)}</text>'
    )
    middle = _number((frame.top + frame.bottom) / 2)
    parts.append(
        f'<text x="12" y="{middle}" {FONT} fill="{INK}" text-anchor="middle" '
        f'transform="rotate(-90 12 {middle})">{escape(y_label)}</text>'
    )
    parts.append("</g>")
    return parts


def histogram_svg(
    bin_edges: Sequence[float],
    counts: Sequence[int],
    *,
    title: str,
    x_label: str = "score",
    y_label: str = "candidates",
    thresholds: Sequence[tuple[str, float]] = (),
    description: str | None = None,
    element_id: str = "histogram",
    width: int = 480,
    height: int = 240,
) -> str:
    """A histogram of scores with passing thresholds as labelled dashed vertical lines.

    ``bin_edges`` has one more value than ``counts``. Each bar carries a tooltip with its range
    and count. A threshold outside the plotted range is still named in the description.
    """
    if len(bin_edges) != len(counts) + 1 or not counts:
        raise PlotError("a histogram needs n + 1 bin edges for n > 0 counts")
    total = sum(counts)
    low, high = float(bin_edges[0]), float(bin_edges[-1])
    top = max(*counts, 1)
    y_ticks = [t for t in nice_ticks(0, top, 4) if t == int(t)]
    frame = _Frame(width, height, (low, high), (0.0, max(y_ticks[-1], top)))
    if description is None:
        marks = "; ".join(f"{label} at {value:g}" for label, value in thresholds)
        description = (
            f"Histogram of {total} scores in {len(counts)} bins from {low:g} to {high:g}."
            + (f" Thresholds: {marks}." if marks else "")
        )
    parts = _open(element_id, width, height, title, description)
    parts += _axes(
        frame, x_ticks=nice_ticks(low, high, 6), y_ticks=y_ticks, x_label=x_label, y_label=y_label
    )
    parts.append(f'<g class="bars" fill="{PALETTE[0]}" fill-opacity="0.75">')
    for start, stop, count in zip(bin_edges[:-1], bin_edges[1:], counts, strict=True):
        if count <= 0:
            continue
        x0, x1, y = frame.x(start), frame.x(stop), frame.y(count)
        parts.append(
            f'<rect x="{_number(x0)}" y="{_number(y)}" width="{_number(max(x1 - x0 - 1, 0.5))}" '
            f'height="{_number(frame.bottom - y)}"><title>{escape(f"{start:g}-{stop:g}")}: '
            f"{count}</title></rect>"
        )
    parts.append("</g>")
    parts.append('<g class="thresholds">')
    for index, (label, value) in enumerate(thresholds):
        if not (math.isfinite(value) and low <= value <= high):
            continue
        x = _number(frame.x(value))
        parts.append(
            f'<line x1="{x}" y1="{_number(frame.top)}" x2="{x}" y2="{_number(frame.bottom)}" '
            f'stroke="{PALETTE[1]}" stroke-width="2" stroke-dasharray="{DASHES[0]}">'
            f"<title>{escape(label)}: {value:g}</title></line>"
        )
        parts.append(
            f'<text x="{x}" y="{_number(frame.top - 2 + 11 * (index % 2))}" {FONT} '
            f'fill="{PALETTE[1]}" text-anchor="start" dx="3">'
            f"{escape(label)} {value:g}</text>"
        )
    parts.append("</g></svg>")
    return "".join(parts)


def scatter_svg(
    points: Sequence[ScatterPoint],
    *,
    title: str,
    x_label: str,
    y_label: str,
    x_range: tuple[float, float] = (0.0, 1.0),
    y_range: tuple[float, float] = (-0.4, 1.0),
    x_guides: Sequence[tuple[str, float]] = (),
    y_guides: Sequence[tuple[str, float]] = (),
    description: str | None = None,
    element_id: str = "scatter",
    width: int = 480,
    height: int = 320,
) -> str:
    """A scatter plot; highlighted points are larger vermillion diamonds drawn on top.

    Points with a missing coordinate are left out (the description says how many). Values
    outside the ranges are drawn at the edge. ``x_guides``/``y_guides`` draw labelled dotted
    reference lines (e.g. flag thresholds).
    """
    shown = [p for p in points if math.isfinite(p.x) and math.isfinite(p.y)]
    frame = _Frame(width, height, x_range, y_range, right=40)
    if description is None:
        n_high = sum(p.highlighted for p in shown)
        missing = len(points) - len(shown)
        description = (
            f"{len(shown)} points of {y_label} against {x_label}; {n_high} highlighted."
            + (f" {missing} without a value are not drawn." if missing else "")
        )
    parts = _open(element_id, width, height, title, description)
    parts += _axes(
        frame,
        x_ticks=nice_ticks(*x_range, count=5),
        y_ticks=nice_ticks(*y_range, count=7),
        x_label=x_label,
        y_label=y_label,
    )
    parts.append('<g class="guides">')
    for label, value in x_guides:
        gx = _number(frame.x(value))
        parts.append(
            f'<line x1="{gx}" y1="{_number(frame.top)}" x2="{gx}" y2="{_number(frame.bottom)}" '
            f'stroke="{INK}" stroke-width="1" stroke-dasharray="{DASHES[1]}"/>'
            f'<text x="{gx}" y="{_number(frame.top - 3)}" {FONT} fill="{INK}" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
    for label, value in y_guides:
        gy = _number(frame.y(value))
        parts.append(
            f'<line x1="{_number(frame.x(x_range[0]))}" y1="{gy}" '
            f'x2="{_number(frame.x(x_range[1]))}" y2="{gy}" stroke="{INK}" stroke-width="1" '
            f'stroke-dasharray="{DASHES[1]}"/>'
            f'<text x="{_number(frame.x(x_range[1]) + 4)}" y="{gy}" {FONT} fill="{INK}" '
            f'dominant-baseline="middle">{escape(label)}</text>'
        )
    parts.append("</g>")

    def clamp(value: float, bounds: tuple[float, float]) -> float:
        return min(max(value, bounds[0]), bounds[1])

    parts.append(f'<g class="points" fill="{PALETTE[0]}" fill-opacity="0.6">')
    for point in (p for p in shown if not p.highlighted):
        x, y = frame.x(clamp(point.x, x_range)), frame.y(clamp(point.y, y_range))
        parts.append(
            f'<circle cx="{_number(x)}" cy="{_number(y)}" r="3">'
            f"<title>{escape(point.label)}</title></circle>"
        )
    parts.append("</g>")
    parts.append(f'<g class="highlighted" fill="{PALETTE[1]}" stroke="{INK}" stroke-width="0.8">')
    for point in (p for p in shown if p.highlighted):
        x, y = frame.x(clamp(point.x, x_range)), frame.y(clamp(point.y, y_range))
        corners = f"{_number(x)},{_number(y - 6)} {_number(x + 6)},{_number(y)} " + (
            f"{_number(x)},{_number(y + 6)} {_number(x - 6)},{_number(y)}"
        )
        parts.append(f'<polygon points="{corners}"><title>{escape(point.label)}</title></polygon>')
    parts.append("</g></svg>")
    return "".join(parts)


def trace_lines_svg(
    series: Sequence[TraceSeries],
    *,
    title: str,
    group_labels: Sequence[str],
    x_label: str = "score group (lowest to highest)",
    y_label: str = "share choosing",
    description: str | None = None,
    element_id: str = "trace",
    width: int = 360,
    height: int = 240,
) -> str:
    """Option trace lines: the share choosing each option across score groups.

    The ``emphasized`` series (the key) is a thick solid dark line; the others are coloured and
    dashed each in its own pattern, and every line is labelled at its right end. A working key
    rises from left to right; a distractor that rises is what a miskey looks like.
    """
    n_groups = len(group_labels)
    if n_groups < 2 or any(len(s.values) != n_groups for s in series):
        raise PlotError("every series needs one value per group, and at least two groups")
    frame = _Frame(width, height, (0.5, n_groups + 0.5), (0.0, 1.0), right=64)
    if description is None:
        description = "Share choosing each option by score group, lowest group first. " + (
            " ".join(
                f"{s.label}{' (key)' if s.emphasized else ''}: "
                + ", ".join(f"{100 * v:.0f} %" if math.isfinite(v) else "n/a" for v in s.values)
                + "."
                for s in series
            )
        )
    parts = _open(element_id, width, height, title, description)
    parts += _axes(
        frame,
        x_ticks=[float(g + 1) for g in range(n_groups)],
        y_ticks=[0.0, 0.25, 0.5, 0.75, 1.0],
        x_label=x_label,
        y_label=y_label,
        x_tick_names=list(group_labels),
    )
    ends: list[tuple[float, str, str]] = []
    parts.append('<g class="lines" fill="none">')
    ordered = sorted(enumerate(series), key=lambda pair: pair[1].emphasized)
    for index, line in ordered:
        points = [
            (frame.x(g + 1), frame.y(min(max(v, 0.0), 1.0)))
            for g, v in enumerate(line.values)
            if math.isfinite(v)
        ]
        if not points:
            continue
        colour = INK if line.emphasized else PALETTE[index % len(PALETTE)]
        style = (
            'stroke-width="3"'
            if line.emphasized
            else f'stroke-width="1.5" stroke-dasharray="{DASHES[index % len(DASHES)]}"'
        )
        path = " ".join(f"{_number(x)},{_number(y)}" for x, y in points)
        parts.append(
            f'<polyline points="{path}" stroke="{colour}" {style}>'
            f"<title>{escape(line.label)}</title></polyline>"
        )
        for x, y in points:
            parts.append(f'<circle cx="{_number(x)}" cy="{_number(y)}" r="2.5" fill="{colour}"/>')
        ends.append((points[-1][1], line.label + (" (key)" if line.emphasized else ""), colour))
    parts.append("</g>")
    parts.append('<g class="labels">')
    ends.sort()
    for (_, label, colour), y_text in zip(
        ends, spread_labels([y for y, _, _ in ends], 11.0, frame.top, frame.bottom), strict=True
    ):
        parts.append(
            f'<text x="{_number(frame.x(n_groups) + 6)}" y="{_number(y_text)}" {FONT} '
            f'fill="{colour}" dominant-baseline="middle">{escape(label)}</text>'
        )
    parts.append("</g></svg>")
    return "".join(parts)
