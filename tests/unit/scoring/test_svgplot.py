"""SVG plots: well-formed, self-contained, accessible, and marks where the data put them."""

from __future__ import annotations

import itertools
import math
import re
import xml.etree.ElementTree as ET

import pytest

from scoring.svgplot import (
    PlotError,
    ScatterPoint,
    TraceSeries,
    histogram_svg,
    nice_ticks,
    scatter_svg,
    spread_labels,
    trace_lines_svg,
)

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # raises on anything that is not well-formed XML
    assert root.tag == f"{SVG}svg"
    return root


def assert_self_contained_and_accessible(svg: str) -> None:
    root = parse(svg)
    assert root.get("role") == "img"
    title_id, desc_id = root.get("aria-labelledby", "").split()
    assert root.find(f"{SVG}title").get("id") == title_id
    assert root.find(f"{SVG}desc").get("id") == desc_id
    assert root.find(f"{SVG}desc").text
    assert "<script" not in svg.lower()
    assert "href" not in svg
    assert "url(" not in svg
    assert re.findall(r"https?://[^\"' ]+", svg) == ["http://www.w3.org/2000/svg"]
    assert not re.search(r"\bon[a-z]+=", svg)  # no event handlers


def histogram() -> str:
    return histogram_svg(
        [0.0, 5.0, 10.0, 15.0, 20.0],
        [3, 0, 7, 2],
        title="TWK",
        thresholds=[("umum", 10.0), ("far away", 99.0)],
        element_id="hist-twk",
    )


def test_histogram_is_self_contained_and_accessible() -> None:
    svg = histogram()
    assert_self_contained_and_accessible(svg)
    desc = parse(svg).find(f"{SVG}desc").text or ""
    assert "12 scores" in desc
    assert "umum at 10" in desc
    assert "far away at 99" in desc


def test_histogram_draws_one_bar_per_nonempty_bin_and_the_threshold_at_its_score() -> None:
    root = parse(histogram())
    bars = root.findall(f".//{SVG}g[@class='bars']/{SVG}rect")
    assert [bar.find(f"{SVG}title").text for bar in bars] == ["0-5: 3", "10-15: 7", "15-20: 2"]
    heights = [float(bar.get("height")) for bar in bars]
    assert heights[1] > heights[0] > heights[2]  # 7 > 3 > 2
    lines = root.findall(f".//{SVG}g[@class='thresholds']/{SVG}line")
    assert len(lines) == 1  # the threshold at 99 lies outside the plotted scores
    # The threshold at 10 sits exactly on the left edge of the 10-15 bar.
    assert float(lines[0].get("x1")) == pytest.approx(float(bars[1].get("x")), abs=0.01)


def test_text_is_escaped() -> None:
    hostile = 'x<script>alert("1")</script>&'
    svg = histogram_svg([0, 1], [1], title=hostile, thresholds=[(hostile, 0.5)])
    assert_self_contained_and_accessible(svg)
    assert parse(svg).find(f"{SVG}title").text == hostile


def test_scatter_highlights_flagged_points_and_leaves_out_missing_values() -> None:
    points = [
        ScatterPoint(0.5, 0.4, "TIU-001"),
        ScatterPoint(0.2, -0.1, "TIU-002 <miskey>", highlighted=True),
        ScatterPoint(0.97, 0.1, "TIU-003", highlighted=True),
        ScatterPoint(1.0, math.nan, "TIU-004"),
    ]
    svg = scatter_svg(
        points,
        title="p against r",
        x_label="p",
        y_label="r",
        y_guides=[("0.15", 0.15)],
        element_id="scatter",
    )
    assert_self_contained_and_accessible(svg)
    root = parse(svg)
    circles = root.findall(f".//{SVG}g[@class='points']/{SVG}circle")
    diamonds = root.findall(f".//{SVG}g[@class='highlighted']/{SVG}polygon")
    assert [c.find(f"{SVG}title").text for c in circles] == ["TIU-001"]
    assert [d.find(f"{SVG}title").text for d in diamonds] == ["TIU-002 <miskey>", "TIU-003"]
    desc = root.find(f"{SVG}desc").text or ""
    assert "3 points" in desc
    assert "2 highlighted" in desc
    assert "1 without a value" in desc
    # Higher r is drawn higher (smaller y): TIU-001 (r 0.4) above TIU-002 (r -0.1).
    first_diamond_y = float(diamonds[0].get("points").split()[1].split(",")[1])
    assert float(circles[0].get("cy")) < first_diamond_y


def test_trace_lines_emphasize_the_key_and_label_every_line() -> None:
    series = [
        TraceSeries("A", (0.5, 0.4, 0.3, 0.2, 0.1)),
        TraceSeries("B", (0.2, 0.3, 0.4, 0.5, 0.8), emphasized=True),
        TraceSeries("C", (0.3, 0.3, 0.3, 0.3, 0.1)),
        TraceSeries("blank", (0.0, 0.0, 0.0, 0.0, 0.0)),
    ]
    svg = trace_lines_svg(
        series, title="TIU-001", group_labels=["1", "2", "3", "4", "5"], element_id="t1"
    )
    assert_self_contained_and_accessible(svg)
    root = parse(svg)
    lines = {line.find(f"{SVG}title").text: line for line in root.iter(f"{SVG}polyline")}
    assert set(lines) == {"A", "B", "C", "blank"}
    assert lines["B"].get("stroke-width") == "3"
    assert lines["B"].get("stroke-dasharray") is None
    assert all(lines[name].get("stroke-dasharray") for name in ("A", "C", "blank"))
    # The key rises: its last point is drawn higher than its first.
    ys = [float(p.split(",")[1]) for p in lines["B"].get("points").split()]
    assert ys[-1] < ys[0]
    labels = [t.text for t in root.findall(f".//{SVG}g[@class='labels']/{SVG}text")]
    assert sorted(labels) == ["A", "B (key)", "C", "blank"]
    positions = [float(t.get("y")) for t in root.findall(f".//{SVG}g[@class='labels']/{SVG}text")]
    assert all(b - a >= 11 - 1e-9 for a, b in itertools.pairwise(positions))
    assert "B (key): 20 %, 30 %, 40 %, 50 %, 80 %." in (root.find(f"{SVG}desc").text or "")


def test_labels_are_spread_without_leaving_the_plot() -> None:
    assert spread_labels([10, 12, 13, 100], 11, 0, 120) == [10, 21, 32, 100]
    assert spread_labels([100, 110, 115], 11, 0, 112) == [90, 101, 112]
    assert spread_labels([0, 1, 2], 11, 5, 200) == [5, 16, 27]


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [(0, 150, [0, 50, 100, 150]), (-0.4, 1.0, [-0.4, -0.2, 0, 0.2, 0.4, 0.6, 0.8, 1.0])],
)
def test_ticks_are_round_numbers(low: float, high: float, expected: list[float]) -> None:
    count = 3 if high == 150 else 7
    assert nice_ticks(low, high, count) == pytest.approx(expected)


def test_mismatched_data_is_refused() -> None:
    with pytest.raises(PlotError):
        histogram_svg([0, 1, 2], [1], title="x")
    with pytest.raises(PlotError):
        trace_lines_svg([TraceSeries("A", (0.1,))], title="x", group_labels=["1", "2"])
