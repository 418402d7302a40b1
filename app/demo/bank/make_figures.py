"""Draws the figural TIU items of the demo bank: the SVG files in media/ and their tiu.json entries.

Every figure is computed from the rule its item asks about (a rotation step, a path around a
frame, a count of shapes), so the key of each item is right by construction rather than by eye.

Run ``python app/demo/bank/make_figures.py`` after changing a figure: it rewrites the SVG files
and replaces the ``figural`` items of ``tiu.json``, keeping every other item as it is.
``--check`` writes nothing and exits 1 when the files on disk differ from what this script draws.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

BANK_DIR = Path(__file__).resolve().parent
MEDIA_DIR = BANK_DIR / "media"
TIU_PATH = BANK_DIR / "tiu.json"

LABELS = "ABCDE"
INK = "#1f2937"
PAPER = "#ffffff"
FRAME = "#9ca3af"
HINT = "#6b7280"

#: Classical difficulty bands, matching the SKD spec's bands (easy p >= 0.70, hard p < 0.30).
P_RANGES = {"easy": (0.70, 0.88), "medium": (0.36, 0.66), "hard": (0.17, 0.29)}

Point = tuple[float, float]


# ----------------------------------------------------------------------------- shapes


@dataclass(frozen=True)
class Poly:
    """A closed polygon in figure units (the figure spans about -1..1 on both axes)."""

    points: tuple[Point, ...]
    filled: bool


@dataclass(frozen=True)
class Dot:
    """A circle; ``filled`` paints it with ink, otherwise it is an outline."""

    center: Point
    radius: float
    filled: bool


@dataclass(frozen=True)
class Stroke:
    """A straight line; ``width`` is in pixels, ``dashed`` draws it broken."""

    start: Point
    end: Point
    width: float = 3.0
    dashed: bool = False


@dataclass(frozen=True)
class Sector:
    """Slice ``index`` of a circle cut into ``count`` equal slices, clockwise from the top."""

    index: int
    count: int
    radius: float
    filled: bool


Shape = Poly | Dot | Stroke | Sector
Figure = tuple[Shape, ...]


def _turn(point: Point, degrees: float) -> Point:
    # Screen coordinates grow downwards, so a positive angle turns clockwise on screen.
    rad = math.radians(degrees)
    x, y = point
    return (x * math.cos(rad) - y * math.sin(rad), x * math.sin(rad) + y * math.cos(rad))


def rotate(figure: Figure, degrees: float) -> Figure:
    """The figure turned clockwise by ``degrees`` about its centre."""
    out: list[Shape] = []
    for shape in figure:
        if isinstance(shape, Poly):
            out.append(replace(shape, points=tuple(_turn(p, degrees) for p in shape.points)))
        elif isinstance(shape, Dot):
            out.append(replace(shape, center=_turn(shape.center, degrees)))
        elif isinstance(shape, Stroke):
            out.append(
                replace(shape, start=_turn(shape.start, degrees), end=_turn(shape.end, degrees))
            )
        else:
            step = 360 / shape.count
            if degrees % step:
                raise ValueError("a sector turns only by whole slices")
            out.append(replace(shape, index=(shape.index + round(degrees / step)) % shape.count))
    return tuple(out)


def _flip_point(point: Point, horizontal: bool) -> Point:
    return (-point[0], point[1]) if horizontal else (point[0], -point[1])


def flip(figure: Figure, *, horizontal: bool = True) -> Figure:
    """Mirror image: across the vertical axis (``horizontal``) or across the horizontal axis."""
    out: list[Shape] = []
    for shape in figure:
        if isinstance(shape, Poly):
            points = tuple(_flip_point(p, horizontal) for p in shape.points)
            out.append(replace(shape, points=points))
        elif isinstance(shape, Dot):
            out.append(replace(shape, center=_flip_point(shape.center, horizontal)))
        elif isinstance(shape, Stroke):
            out.append(
                replace(
                    shape,
                    start=_flip_point(shape.start, horizontal),
                    end=_flip_point(shape.end, horizontal),
                )
            )
        else:
            raise ValueError("sectors are not mirrored")
    return tuple(out)


def invert(figure: Figure) -> Figure:
    """Swap ink and paper on every filled or outlined shape."""
    return tuple(
        replace(s, filled=not s.filled) if isinstance(s, Poly | Dot | Sector) else s for s in figure
    )


def regular(sides: int, radius: float, *, filled: bool, center: Point = (0.0, 0.0)) -> Poly:
    """A regular polygon with one vertex straight up (a square sits on a side instead)."""
    offset = math.pi / 4 if sides == 4 else 0.0
    points = tuple(
        (
            center[0] + radius * math.sin(2 * math.pi * k / sides + offset),
            center[1] - radius * math.cos(2 * math.pi * k / sides + offset),
        )
        for k in range(sides)
    )
    return Poly(points, filled)


def star(radius: float, *, filled: bool) -> Poly:
    """A five-pointed star with one point straight up."""
    points = []
    for k in range(10):
        r = radius if k % 2 == 0 else radius * 0.42
        angle = math.pi * k / 5
        points.append((r * math.sin(angle), -r * math.cos(angle)))
    return Poly(tuple(points), filled)


def square(half: float, *, filled: bool, center: Point = (0.0, 0.0)) -> Poly:
    """An axis-aligned square."""
    x, y = center
    return Poly(
        ((x - half, y - half), (x + half, y - half), (x + half, y + half), (x - half, y + half)),
        filled,
    )


# ----------------------------------------------------------------------------- glyphs
# Each glyph has no axis of symmetry, so its turns and its mirror image all look different.

FLAG: Figure = (
    Stroke((0.0, 0.85), (0.0, -0.85), 4.0),
    Poly(((0.0, -0.85), (0.7, -0.6), (0.0, -0.35)), True),
    Stroke((-0.35, 0.85), (0.35, 0.85), 4.0),
)

ARROW: Figure = (
    Poly(
        (
            (-0.14, 0.8),
            (-0.14, -0.15),
            (-0.5, -0.15),
            (0.0, -0.85),
            (0.5, -0.15),
            (0.14, -0.15),
            (0.14, 0.8),
        ),
        False,
    ),
    Dot((-0.52, 0.45), 0.16, True),
)

ELL: Figure = (
    Poly(
        ((-0.6, -0.85), (-0.1, -0.85), (-0.1, 0.35), (0.6, 0.35), (0.6, 0.85), (-0.6, 0.85)),
        True,
    ),
)

TILE: Figure = (
    square(0.8, filled=False),
    Poly(((-0.8, -0.8), (-0.15, -0.8), (-0.15, -0.15), (-0.8, -0.15)), True),
    Dot((0.45, 0.15), 0.17, True),
)


def clock(long_deg: float, short_deg: float) -> Figure:
    """A dial with a long hand and a short hand, angles clockwise from twelve o'clock."""
    return (
        Dot((0.0, 0.0), 0.88, False),
        Stroke((0.0, 0.0), _turn((0.0, -0.76), long_deg), 2.5),
        Stroke((0.0, 0.0), _turn((0.0, -0.42), short_deg), 7.0),
        Dot((0.0, 0.0), 0.09, True),
    )


# Eight places around a square frame, clockwise from the top-left corner.
RING = (
    (-0.55, -0.55),
    (0.0, -0.55),
    (0.55, -0.55),
    (0.55, 0.0),
    (0.55, 0.55),
    (0.0, 0.55),
    (-0.55, 0.55),
    (-0.55, 0.0),
)
# Border cells of a 3x3 grid, clockwise from the top-left corner, as (row, column).
GRID_RING = ((0, 0), (0, 1), (0, 2), (1, 2), (2, 2), (2, 1), (2, 0), (1, 0))


def frame_with(markers: dict[str, int]) -> Figure:
    """A square frame with a black dot, a white triangle or a black square at RING places."""
    shapes: list[Shape] = [square(0.85, filled=False)]
    for kind, place in markers.items():
        center = RING[place % 8]
        if kind == "dot":
            shapes.append(Dot(center, 0.17, True))
        elif kind == "triangle":
            shapes.append(regular(3, 0.24, filled=False, center=(center[0], center[1] + 0.04)))
        else:
            shapes.append(square(0.15, filled=True, center=center))
    return tuple(shapes)


def sectors(shaded: set[int], count: int = 8) -> Figure:
    """A circle cut into ``count`` slices with the ``shaded`` ones inked."""
    return tuple(Sector(i, count, 0.85, i in shaded) for i in range(count))


def grid(black: set[tuple[int, int]]) -> Figure:
    """A 3x3 grid with the listed (row, column) cells inked."""
    return tuple(
        square(0.25, filled=(r, c) in black, center=(-0.5 + 0.5 * c, -0.5 + 0.5 * r))
        for r in range(3)
        for c in range(3)
    )


def polygon_with_dots(sides: int, dots: int, *, filled: bool = False) -> Figure:
    """A regular polygon holding ``dots`` small dots in one or two rows."""
    shapes: list[Shape] = [regular(sides, 0.85, filled=filled)]
    # Up to three dots in one row, more in two rows, so every count is easy to read.
    rows = [dots] if dots <= 3 else [(dots + 1) // 2, dots // 2]
    top = 0.12 if sides == 3 else -0.17 * (len(rows) - 1)
    for r, count in enumerate(rows):
        start = -0.17 * (count - 1)
        y = top + 0.34 * r
        shapes.extend(Dot((start + 0.34 * k, y), 0.1, True) for k in range(count))
    return tuple(shapes)


def nested(outer: str, inner: str, *, inner_filled: bool = True) -> Figure:
    """A large outline shape with a small shape inside it."""

    def make(kind: str, size: float, filled: bool) -> Shape:
        if kind == "circle":
            return Dot((0.0, 0.0), size * 0.95, filled)
        if kind == "triangle":
            return regular(3, size * 1.08, filled=filled, center=(0.0, size * 0.12))
        if kind == "square":
            return square(size * 0.78, filled=filled)
        return star(size * 1.05, filled=filled)

    return (make(outer, 0.85, False), make(inner, 0.3, inner_filled))


# ----------------------------------------------------------------------------- drawing


def _num(value: float) -> str:
    text = f"{value:.1f}"
    return "0" if text == "-0.0" else text.removesuffix(".0")


def _draw(figure: Figure, cx: float, cy: float, scale: float) -> list[str]:
    def at(p: Point) -> str:
        return f"{_num(cx + p[0] * scale)},{_num(cy + p[1] * scale)}"

    out = []
    for shape in figure:
        if isinstance(shape, Poly):
            fill = INK if shape.filled else PAPER
            points = " ".join(at(p) for p in shape.points)
            out.append(
                f'<polygon points="{points}" fill="{fill}" stroke="{INK}" stroke-width="2" '
                'stroke-linejoin="round"/>'
            )
        elif isinstance(shape, Dot):
            fill = INK if shape.filled else PAPER
            x, y = at(shape.center).split(",")
            out.append(
                f'<circle cx="{x}" cy="{y}" r="{_num(shape.radius * scale)}" fill="{fill}" '
                f'stroke="{INK}" stroke-width="2"/>'
            )
        elif isinstance(shape, Stroke):
            x1, y1 = at(shape.start).split(",")
            x2, y2 = at(shape.end).split(",")
            dash = ' stroke-dasharray="6 5"' if shape.dashed else ""
            out.append(
                f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="{INK}" '
                f'stroke-width="{_num(shape.width)}" stroke-linecap="round"{dash}/>'
            )
        else:
            step = 2 * math.pi / shape.count
            a0, a1 = shape.index * step, (shape.index + 1) * step
            r = shape.radius
            start = at((r * math.sin(a0), -r * math.cos(a0)))
            end = at((r * math.sin(a1), -r * math.cos(a1)))
            fill = INK if shape.filled else PAPER
            out.append(
                f'<path d="M{at((0.0, 0.0))} L{start} A{_num(r * scale)},{_num(r * scale)} 0 0 1 '
                f'{end} Z" fill="{fill}" stroke="{INK}" stroke-width="2" '
                'stroke-linejoin="round"/>'
            )
    return out


def _document(width: int, height: int, body: list[str]) -> str:
    lines = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="{PAPER}"/>',
        *body,
        "</svg>",
    ]
    return "\n".join(lines) + "\n"


def _cell(cx: float, cy: float, size: float = 84) -> str:
    half = size / 2
    return (
        f'<rect x="{_num(cx - half)}" y="{_num(cy - half)}" width="{_num(size)}" '
        f'height="{_num(size)}" rx="6" fill="none" stroke="{FRAME}" stroke-width="1.5"/>'
    )


def _question(cx: float, cy: float) -> str:
    return (
        f'<text x="{_num(cx)}" y="{_num(cy + 14)}" text-anchor="middle" '
        f'font-family="sans-serif" font-size="40" font-weight="bold" fill="{HINT}">?</text>'
    )


def _arrow(cx: float, cy: float) -> list[str]:
    return [
        f'<line x1="{_num(cx - 14)}" y1="{_num(cy)}" x2="{_num(cx + 6)}" y2="{_num(cy)}" '
        f'stroke="{HINT}" stroke-width="3"/>',
        f'<polygon points="{_num(cx + 14)},{_num(cy)} {_num(cx + 4)},{_num(cy - 7)} '
        f'{_num(cx + 4)},{_num(cy + 7)}" fill="{HINT}"/>',
    ]


def _ratio_sign(cx: float, cy: float) -> list[str]:
    return [
        f'<circle cx="{_num(cx + dx)}" cy="{_num(cy + dy)}" r="3" fill="{HINT}"/>'
        for dx in (-6, 6)
        for dy in (-8, 8)
    ]


def series_svg(frames: list[Figure]) -> str:
    """Four frames in a row and a fifth cell holding a question mark (480 x 120)."""
    body: list[str] = []
    for i in range(5):
        cx = 48 + 96 * i
        body.append(_cell(cx, 60))
        if i < len(frames):
            body.extend(_draw(frames[i], cx, 60, 32))
        else:
            body.append(_question(cx, 60))
    return _document(480, 120, body)


def analogy_svg(first: Figure, second: Figure, third: Figure) -> str:
    """``first -> second :: third -> ?`` (480 x 120)."""
    body: list[str] = []
    for cx, figure in ((48, first), (180, second), (300, third), (432, None)):
        body.append(_cell(cx, 60))
        if figure is None:
            body.append(_question(cx, 60))
        else:
            body.extend(_draw(figure, cx, 60, 32))
    body.extend(_arrow(114, 60))
    body.extend(_ratio_sign(240, 60))
    body.extend(_arrow(366, 60))
    return _document(480, 120, body)


def single_svg(figure: Figure, *, mirror: str | None = None) -> str:
    """One figure, optionally with a dashed mirror line to its right or below it."""
    if mirror == "right":
        body = _draw(figure, 80, 80, 48)
        body.append(_draw((Stroke((0, -1.4), (0, 1.4), 2.5, dashed=True),), 160, 80, 48)[0])
        return _document(200, 160, body)
    if mirror == "below":
        body = _draw(figure, 100, 70, 44)
        body.append(_draw((Stroke((-1.8, 0), (1.8, 0), 2.5, dashed=True),), 100, 130, 44)[0])
        return _document(200, 150, body)
    return _document(200, 160, _draw(figure, 100, 80, 64))


def option_svg(figure: Figure) -> str:
    """An answer option: one figure in a 96 x 96 square."""
    return _document(96, 96, _draw(figure, 48, 48, 36))


# ----------------------------------------------------------------------------- items


@dataclass(frozen=True)
class FigItem:
    """One figural item before its options are placed.

    ``options`` lists the correct answer first, then the distractors (figures, or texts when
    ``ordered``: texts stay in the given order and ``key_text`` names the correct one).
    """

    level: str
    stem: str
    stem_svg: str | None
    options: tuple[Figure | str, ...]
    rule: str
    ordered: bool = False
    key_text: str | None = None


SERIES_STEM = (
    "<p>Perhatikan deret gambar berikut. Gambar yang tepat untuk menggantikan tanda tanya "
    "adalah ...</p>"
)
ANALOGY_STEM = (
    "<p>Hubungan gambar pertama dengan gambar kedua sama dengan hubungan gambar ketiga dengan "
    "gambar yang menggantikan tanda tanya. Gambar yang tepat adalah ...</p>"
)
ODD_STEM = (
    "<p>Empat dari lima gambar pilihan berikut memiliki kesamaan, sedangkan satu gambar "
    "berbeda. Gambar yang berbeda adalah ...</p>"
)


def _series(level: str, frames: list[Figure], options: list[Figure], rule: str) -> FigItem:
    return FigItem(level, SERIES_STEM, series_svg(frames), tuple(options), rule)


def _rotation_series(level: str, glyph: Figure, step: float, rule: str) -> FigItem:
    frames = [rotate(glyph, step * k) for k in range(4)]
    answer = 4 * step
    options = [
        rotate(glyph, answer),
        rotate(glyph, answer - step),
        rotate(glyph, answer + step),
        rotate(glyph, answer + 180) if step % 180 else rotate(glyph, answer + 90),
        flip(rotate(glyph, answer)),
    ]
    return _series(level, frames, options, rule)


def _counting(
    level: str, noun: str, drawing: Figure, *, numbers: list[int], answer: int, rule: str
) -> FigItem:
    stem = f"<p>Banyak {noun} yang terdapat pada gambar berikut adalah ...</p>"
    texts = tuple(str(n) for n in numbers)
    if str(answer) not in texts:
        raise ValueError(f"the answer {answer} is not among the options {numbers}")
    return FigItem(
        level, stem, single_svg(drawing), texts, rule, ordered=True, key_text=str(answer)
    )


def triangle_fan(segments: int, crossings: int) -> Figure:
    """A triangle cut by lines from its apex to the base and by lines parallel to the base."""
    apex, left, right = (0.0, -0.9), (-0.95, 0.8), (0.95, 0.8)
    shapes: list[Shape] = [Poly((apex, right, left), False)]
    for k in range(1, segments):
        x = left[0] + (right[0] - left[0]) * k / segments
        shapes.append(Stroke(apex, (x, 0.8), 2.0))
    for j in range(1, crossings + 1):
        t = j / (crossings + 1)
        y = apex[1] + (left[1] - apex[1]) * t
        half = right[0] * t
        shapes.append(Stroke((-half, y), (half, y), 2.0))
    return tuple(shapes)


def triangle_count(segments: int, crossings: int) -> int:
    """Triangles in :func:`triangle_fan`: two apex lines and one base-parallel line make one."""
    return math.comb(segments + 1, 2) * (crossings + 1)


def lattice(rows: int, cols: int) -> Figure:
    """A rectangle divided into ``rows`` x ``cols`` equal squares."""
    size = min(1.7 / cols, 1.5 / rows)
    x0, y0 = -size * cols / 2, -size * rows / 2
    shapes: list[Shape] = [
        Poly(
            (
                (x0, y0),
                (x0 + size * cols, y0),
                (x0 + size * cols, y0 + size * rows),
                (x0, y0 + size * rows),
            ),
            False,
        )
    ]
    shapes.extend(
        Stroke((x0 + size * c, y0), (x0 + size * c, y0 + size * rows), 2.0) for c in range(1, cols)
    )
    shapes.extend(
        Stroke((x0, y0 + size * r), (x0 + size * cols, y0 + size * r), 2.0) for r in range(1, rows)
    )
    return tuple(shapes)


def square_count(rows: int, cols: int) -> int:
    """Squares of every size in a ``rows`` x ``cols`` lattice."""
    return sum((rows - k + 1) * (cols - k + 1) for k in range(1, min(rows, cols) + 1))


def rectangle_count(rows: int, cols: int) -> int:
    """Rectangles (squares included) in a ``rows`` x ``cols`` lattice."""
    return math.comb(rows + 1, 2) * math.comb(cols + 1, 2)


def _motion_frames(paths: dict[str, list[int]]) -> list[Figure]:
    frames = []
    for k in range(4):
        markers = {kind: places[k] for kind, places in paths.items()}
        frames.append(frame_with(markers))
    return frames


def _two_marker_series(
    level: str, paths: dict[str, list[int]], wrong: list[dict[str, int]], rule: str
) -> FigItem:
    """A series of markers moving along ``paths`` (five places each: four shown, the fifth is
    the answer); ``wrong`` are the distractors' placements. No two markers may share a place."""
    _check_no_overlap(*({k: v[i] for k, v in paths.items()} for i in range(5)))
    _check_no_overlap(*wrong)
    key = {kind: places[4] for kind, places in paths.items()}
    return _series(
        level, _motion_frames(paths), [frame_with(key)] + [frame_with(w) for w in wrong], rule
    )


def _check_no_overlap(*placements: dict[str, int]) -> None:
    for markers in placements:
        places = [p % 8 for p in markers.values()]
        if len(set(places)) != len(places):
            raise ValueError(f"markers overlap: {markers}")


def items() -> list[FigItem]:
    """Every figural item, in bank order."""
    out: list[FigItem] = []

    # 1-5: rotation series
    out.append(_rotation_series("easy", FLAG, 90, "bendera berputar 90° searah jarum jam"))
    out.append(_rotation_series("medium", ARROW, 45, "panah berputar 45° searah jarum jam"))
    out.append(_rotation_series("hard", ELL, 135, "bangun L berputar 135° searah jarum jam"))
    long_hand = [90 * k for k in range(6)]
    short_hand = [90 - 45 * k for k in range(6)]
    frames = [clock(long_hand[k], short_hand[k]) for k in range(4)]
    options = [
        clock(long_hand[4], short_hand[4]),
        clock(long_hand[4], short_hand[3]),
        clock(long_hand[5], short_hand[4]),
        clock(long_hand[3], short_hand[3]),
        clock(short_hand[4], long_hand[4]),
    ]
    out.append(
        _series(
            "hard",
            frames,
            options,
            "jarum panjang berputar 90° searah jarum jam, jarum pendek 45° "
            "berlawanan arah jarum jam",
        )
    )
    frames = [
        rotate(TILE, -45 * k) if k % 2 == 0 else invert(rotate(TILE, -45 * k)) for k in range(4)
    ]
    answer = rotate(TILE, -180)
    options = [answer, invert(answer), rotate(TILE, -135), rotate(TILE, -225), flip(answer)]
    out.append(
        _series(
            "medium",
            frames,
            options,
            "bangun berputar 45° berlawanan arah jarum jam dan warnanya berganti setiap langkah",
        )
    )

    # 6-8: markers moving around a frame
    dot_path = [0, 1, 2, 3, 4]
    out.append(
        _series(
            "easy",
            _motion_frames({"dot": dot_path}),
            [
                frame_with({"dot": 4}),
                frame_with({"dot": 3}),
                frame_with({"dot": 5}),
                frame_with({"dot": 6}),
                frame_with({"dot": 0}),
            ],
            "titik hitam berpindah satu tempat searah jarum jam",
        )
    )
    out.append(
        _two_marker_series(
            "medium",
            {"dot": dot_path, "triangle": [5, 3, 1, 7, 5]},
            [
                {"dot": 4, "triangle": 3},
                {"dot": 3, "triangle": 5},
                {"dot": 5, "triangle": 3},
                {"dot": 6, "triangle": 5},
            ],
            "titik hitam berpindah satu tempat searah jarum jam, segitiga dua tempat berlawanan "
            "arah jarum jam",
        )
    )
    out.append(
        _two_marker_series(
            "hard",
            {"dot": [0, 1, 3, 6, 10], "square": [5, 3, 1, 7, 5]},
            [
                {"dot": 1, "square": 5},
                {"dot": 3, "square": 5},
                {"dot": 2, "square": 3},
                {"dot": 2, "square": 7},
            ],
            "titik hitam berpindah 1, 2, 3, lalu 4 tempat searah jarum jam; persegi hitam "
            "berpindah dua tempat berlawanan arah jarum jam",
        )
    )

    # 9-11: shading
    out.append(
        _series(
            "easy",
            [sectors(set(range(n))) for n in range(1, 5)],
            [sectors(set(range(n))) for n in (5, 4, 6, 3, 7)],
            "banyak juring yang diarsir bertambah satu searah jarum jam",
        )
    )
    jumps = [(3 * k) % 8 for k in range(5)]
    out.append(
        _series(
            "medium",
            [sectors({jumps[k]}) for k in range(4)],
            [
                sectors({jumps[4]}),
                sectors({jumps[3] + 1}),
                sectors({0}),
                sectors({7}),
                sectors({5}),
            ],
            "juring yang diarsir melompat tiga juring searah jarum jam",
        )
    )
    ring_steps = [(3 * k) % 8 for k in range(5)]

    def grid_frame(step: int, center_black: bool) -> Figure:
        black = {GRID_RING[step % 8]}
        if center_black:
            black.add((1, 1))
        return grid(black)

    out.append(
        _series(
            "hard",
            [grid_frame(ring_steps[k], k % 2 == 1) for k in range(4)],
            [
                grid_frame(ring_steps[4], False),
                grid_frame(ring_steps[4], True),
                grid_frame(5, False),
                grid_frame(2, False),
                grid_frame(7, True),
            ],
            "kotak hitam di tepi berpindah tiga kotak searah jarum jam; kotak tengah berganti "
            "hitam dan putih",
        )
    )

    # 12-15: counting (difficulty, what is counted, figure, options, answer, rule)
    counting: list[tuple[str, str, Figure, list[int], int, str]] = [
        (
            "medium",
            "segitiga",
            triangle_fan(4, 0),
            [8, 9, 10, 12, 14],
            triangle_count(4, 0),
            "segitiga dari dua garis puncak dan alas",
        ),
        (
            "hard",
            "segitiga",
            triangle_fan(3, 1),
            [12, 13, 14, 15, 18],
            triangle_count(3, 1),
            "segitiga dari dua garis puncak dan satu garis mendatar",
        ),
        (
            "medium",
            "persegi",
            lattice(3, 3),
            [9, 10, 12, 13, 14],
            square_count(3, 3),
            "persegi 1x1, 2x2, dan 3x3",
        ),
        (
            "hard",
            "persegi panjang (termasuk persegi)",
            lattice(2, 3),
            [15, 18, 20, 21, 24],
            rectangle_count(2, 3),
            "pilih dua garis tegak dan dua garis mendatar",
        ),
    ]
    for level, noun, drawing, numbers, count, rule in counting:
        out.append(_counting(level, noun, drawing, numbers=numbers, answer=count, rule=rule))

    # 16-18: analogies
    first, second = ARROW, invert(rotate(ARROW, 90))
    third = ELL
    out.append(
        FigItem(
            "easy",
            ANALOGY_STEM,
            analogy_svg(first, second, third),
            (
                invert(rotate(ELL, 90)),
                rotate(ELL, 90),
                invert(ELL),
                invert(rotate(ELL, 270)),
                invert(rotate(flip(ELL), 90)),
            ),
            "putar 90° searah jarum jam dan tukar warna",
        )
    )
    out.append(
        FigItem(
            "medium",
            ANALOGY_STEM,
            analogy_svg(TILE, flip(TILE), FLAG),
            (flip(FLAG), rotate(FLAG, 180), flip(FLAG, horizontal=False), rotate(FLAG, 90), FLAG),
            "cerminkan terhadap garis tegak",
        )
    )
    out.append(
        FigItem(
            "medium",
            ANALOGY_STEM,
            analogy_svg(
                nested("circle", "triangle"), nested("triangle", "circle"), nested("square", "star")
            ),
            (
                nested("star", "square"),
                nested("star", "square", inner_filled=False),
                nested("square", "star"),
                nested("star", "star"),
                nested("square", "square"),
            ),
            "bangun luar dan bangun dalam bertukar tempat; bangun dalam tetap hitam",
        )
    )

    # 19-21: odd one out (options only)
    out.append(
        FigItem(
            "medium",
            ODD_STEM,
            None,
            (rotate(flip(FLAG), 180), FLAG, rotate(FLAG, 90), rotate(FLAG, 135), rotate(FLAG, 270)),
            "empat gambar hasil pemutaran bangun yang sama; satu gambar hasil pencerminan",
        )
    )
    out.append(
        FigItem(
            "hard",
            ODD_STEM,
            None,
            (
                rotate(flip(ELL), 90),
                rotate(ELL, 45),
                rotate(ELL, 180),
                rotate(ELL, 225),
                rotate(ELL, 315),
            ),
            "empat gambar hasil pemutaran bangun yang sama; satu gambar hasil pencerminan",
        )
    )
    out.append(
        FigItem(
            "medium",
            ODD_STEM,
            None,
            (
                rotate(flip(ARROW), 270),
                rotate(ARROW, 45),
                rotate(ARROW, 90),
                rotate(ARROW, 180),
                rotate(ARROW, 315),
            ),
            "empat gambar hasil pemutaran bangun yang sama; satu gambar hasil pencerminan",
        )
    )

    # 22-23: mirror images
    out.append(
        FigItem(
            "easy",
            "<p>Sebuah cermin diletakkan tegak di sebelah kanan gambar berikut "
            "(garis putus-putus). Bayangan gambar tersebut pada cermin adalah ...</p>",
            single_svg(FLAG, mirror="right"),
            (flip(FLAG), FLAG, rotate(FLAG, 180), flip(FLAG, horizontal=False), rotate(FLAG, 90)),
            "pencerminan terhadap garis tegak",
        )
    )
    out.append(
        FigItem(
            "medium",
            "<p>Gambar berikut dicerminkan terhadap garis mendatar di bawahnya "
            "(garis putus-putus), seperti bayangan pada permukaan air. Hasil pencerminannya "
            "adalah ...</p>",
            single_svg(TILE, mirror="below"),
            (flip(TILE, horizontal=False), flip(TILE), rotate(TILE, 180), TILE, rotate(TILE, 270)),
            "pencerminan terhadap garis mendatar",
        )
    )

    # 24-25: polygon sequences
    out.append(
        _series(
            "easy",
            [polygon_with_dots(n, n - 2) for n in range(3, 7)],
            [
                polygon_with_dots(7, 5),
                polygon_with_dots(7, 4),
                polygon_with_dots(6, 5),
                polygon_with_dots(8, 5),
                polygon_with_dots(7, 6),
            ],
            "sisi bertambah satu dan titik bertambah satu",
        )
    )
    out.append(
        _series(
            "easy",
            [(regular(n, 0.85, filled=n % 2 == 1),) for n in range(3, 7)],
            [
                (regular(7, 0.85, filled=True),),
                (regular(7, 0.85, filled=False),),
                (regular(6, 0.85, filled=True),),
                (regular(8, 0.85, filled=True),),
                (regular(8, 0.85, filled=False),),
            ],
            "sisi bertambah satu dan warna berganti hitam-putih",
        )
    )
    return out


# ----------------------------------------------------------------------------- bank


def _fraction(text: str) -> float:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def p_value(code: str, level: str) -> float:
    """A plausible classical difficulty inside the band of ``level``, fixed per item code."""
    low, high = P_RANGES[level]
    return round(low + (high - low) * _fraction(code + "/p"), 2)


def signature(figure: Figure) -> tuple[tuple[Any, ...], ...]:
    """What a figure looks like, independent of the order its shapes and points are listed in."""

    def pt(p: Point) -> tuple[float, float]:
        return (round(p[0], 2) + 0.0, round(p[1], 2) + 0.0)

    parts: list[tuple[Any, ...]] = []
    for shape in figure:
        if isinstance(shape, Poly):
            parts.append(("poly", shape.filled, tuple(sorted(pt(p) for p in shape.points))))
        elif isinstance(shape, Dot):
            parts.append(("dot", shape.filled, pt(shape.center), round(shape.radius, 2)))
        elif isinstance(shape, Stroke):
            parts.append(("line", tuple(sorted((pt(shape.start), pt(shape.end)))), shape.width))
        else:
            parts.append(("sector", shape.filled, shape.index, shape.count))
    return tuple(sorted(parts, key=repr))


def _place_keys(specs: list[FigItem], codes: list[str]) -> list[int]:
    """Key position per item: fixed for ordered options, else balanced over A-E."""
    counts = dict.fromkeys(range(5), 0)
    positions: list[int | None] = []
    for spec in specs:
        if spec.ordered and spec.key_text is not None:
            index = list(spec.options).index(spec.key_text)
            counts[index] += 1
            positions.append(index)
        else:
            positions.append(None)
    for i, (spec, code) in enumerate(zip(specs, codes, strict=True)):
        if spec.ordered:
            continue
        low = min(counts.values())
        free = [p for p in range(5) if counts[p] == low]
        choice = free[int(_fraction(code + "/key") * len(free)) % len(free)]
        counts[choice] += 1
        positions[i] = choice
    return [p if p is not None else 0 for p in positions]


def _arrange(options: tuple[Figure | str, ...], key: int, code: str) -> list[Figure | str]:
    distractors = list(options[1:])
    # A fixed, code-dependent order for the distractors.
    distractors.sort(key=lambda o: hashlib.sha256((code + repr(o)).encode()).hexdigest())
    distractors.insert(key, options[0])
    return distractors


def render_all() -> tuple[dict[str, str], list[dict[str, Any]]]:
    """The SVG files (name -> text) and the figural bank items, exactly as they are committed."""
    specs = items()
    codes = [f"TIU-FIG-{n:03d}" for n in range(1, len(specs) + 1)]
    keys = _place_keys(specs, codes)
    files: dict[str, str] = {}
    bank: list[dict[str, Any]] = []
    for spec, code, key in zip(specs, codes, keys, strict=True):
        base = code.lower()
        media: list[str] = []
        stem = spec.stem
        if spec.stem_svg is not None:
            name = f"media/{base}.svg"
            files[name] = spec.stem_svg
            media.append(name)
            stem += f'<img src="{name}" alt="Gambar soal">'
        arranged = list(spec.options) if spec.ordered else _arrange(spec.options, key, code)
        options = []
        for label, option in zip(LABELS, arranged, strict=True):
            if isinstance(option, str):
                options.append({"label": label, "text": option})
                continue
            name = f"media/{base}-{label.lower()}.svg"
            files[name] = option_svg(option)
            media.append(name)
            options.append({"label": label, "text": f'<img src="{name}" alt="Gambar pilihan">'})
        looks = [o if isinstance(o, str) else signature(o) for o in arranged]
        if len(set(looks)) != len(looks):
            raise ValueError(f"{code}: two options look the same")
        bank.append(
            {
                "code": code,
                "section": "TIU",
                "topic": "figural",
                "stem": stem,
                "scoring": "single",
                "key": LABELS[key],
                "options": options,
                "media": media,
                "p_value": p_value(code, spec.level),
                "level": spec.level,
                "status": "active",
                "source": {"generator": "app/demo/bank/make_figures.py", "rule": spec.rule},
            }
        )
    return files, bank


def merged_bank(current: dict[str, Any], figural: list[dict[str, Any]]) -> dict[str, Any]:
    """``current`` with its figural items replaced by ``figural`` (appended after the others)."""
    kept = [item for item in current.get("items", []) if item.get("topic") != "figural"]
    return {"format": current.get("format", "ujian-bank/1"), "items": kept + figural}


def dump(bank: dict[str, Any]) -> str:
    """The JSON text the demo bank files are written in."""
    return json.dumps(bank, ensure_ascii=False, indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check`` compare) the figures and the figural items of tiu.json."""
    parser = argparse.ArgumentParser(description="Draw the figural TIU items of the demo bank.")
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 on drift")
    args = parser.parse_args(argv)

    files, figural = render_all()
    current = json.loads(TIU_PATH.read_text("utf-8")) if TIU_PATH.exists() else {}
    wanted = {BANK_DIR / name: text for name, text in files.items()}
    wanted[TIU_PATH] = dump(merged_bank(current, figural))
    stale = (
        [path for path in sorted(MEDIA_DIR.glob("tiu-fig-*.svg")) if path not in wanted]
        if MEDIA_DIR.exists()
        else []
    )

    drift = [
        path
        for path, text in wanted.items()
        if not path.exists() or path.read_text("utf-8") != text
    ]
    if args.check:
        for path in [*drift, *stale]:
            sys.stderr.write(f"out of date: {path.relative_to(BANK_DIR)}\n")
        return 1 if drift or stale else 0

    MEDIA_DIR.mkdir(exist_ok=True)
    for path in drift:
        path.write_text(wanted[path], "utf-8")
    for path in stale:
        path.unlink()
    sys.stdout.write(
        f"{len(figural)} figural items, {len(files)} figures, "
        f"{len(drift)} files written, {len(stale)} removed\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
