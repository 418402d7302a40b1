"""The committee's item-analysis report: self-contained HTML, flagged items first, dry-run links."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import numpy as np
import pytest

from app.reports.item_report import analysis_to_json, render_item_report_html
from scoring.rules import SectionRule, SectionScoring, SectionScoringKind
from scoring.stats import FlagCode, ItemAnalysis, ItemSpec, analyse_items
from tests.unit.scoring.test_stats import simulate_exam


class _Outline(HTMLParser):
    """Collects the tags, ids and links of a document."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.ids: list[str] = []
        self.links: list[str] = []
        self.sources: list[str] = []
        self.articles: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.tags.append(tag)
        if values.get("id"):
            self.ids.append(values["id"] or "")
        if tag == "a" and values.get("href"):
            self.links.append(values["href"] or "")
        if tag == "article":
            self.articles.append(values.get("id") or "")
        for name in ("src", "srcset", "data", "action", "xlink:href"):
            if values.get(name):
                self.sources.append(values[name] or "")


def outline(html: str) -> _Outline:
    parser = _Outline()
    parser.feed(html)
    return parser


@pytest.fixture(scope="module")
def miskeyed() -> tuple[ItemAnalysis, int, int]:
    forms, responses, items, sections, miskeyed, true_key = simulate_exam(3)
    analysis = analyse_items(
        forms,
        responses,
        items,
        sections,
        thresholds={"TWK": [("umum", 65.0)], "total": [("cumlaude", 311.0)]},
    )
    return analysis, miskeyed, true_key


def dry_run(code: str, option: int | None) -> str:
    return f"/committee/exams/SKD/corrections/dry-run?item={code}&key={option}"


def test_report_is_one_self_contained_file(miskeyed: tuple[ItemAnalysis, int, int]) -> None:
    analysis, _, _ = miskeyed
    html = render_item_report_html(analysis, "SKD 2024", correction_url=dry_run)
    parsed = outline(html)
    assert "script" not in parsed.tags
    assert "link" not in parsed.tags
    assert "img" not in parsed.tags
    assert parsed.sources == []
    # The only absolute URL is the SVG namespace; links are the caller's or in-page anchors.
    assert set(re.findall(r"https?://[^\"' <]+", html)) == {"http://www.w3.org/2000/svg"}
    assert all(link.startswith(("#", "/committee/")) for link in parsed.links)
    ids = set(parsed.ids)
    assert all(link[1:] in ids for link in parsed.links if link.startswith("#"))
    assert len(parsed.ids) == len(ids)  # no duplicate ids among plots and articles
    assert html.count("<svg") == len(analysis.sections) + 1 + 1 + len(analysis.flagged)


def test_flagged_items_come_first_with_reasons_and_a_dry_run_link(
    miskeyed: tuple[ItemAnalysis, int, int],
) -> None:
    analysis, index, true_key = miskeyed
    html = render_item_report_html(analysis, "SKD 2024", correction_url=dry_run)
    parsed = outline(html)
    assert parsed.articles == [f"item-{item.index}" for item in analysis.flagged]
    assert parsed.articles[0] == f"item-{index}"  # the miskey is the most severe
    item = analysis.items[index]
    article = html[html.index(f'<article id="item-{index}">') :]
    article = article[: article.index("</article>")]
    assert "likely_miskey" in article
    assert "the key may be wrong" in article.lower()
    assert f"?item={item.code}&amp;key={true_key}" in article
    assert f"to option {'ABCDE'[true_key]}" in article
    assert f'id="trace-{index}"' in article
    review = html.index('id="review"')
    assert html.index(f'id="item-{index}"') > review
    assert html.index('id="items"') > html.index(f'id="item-{index}"')


def test_thresholds_are_marked_on_the_histograms(
    miskeyed: tuple[ItemAnalysis, int, int],
) -> None:
    analysis, _, _ = miskeyed
    html = render_item_report_html(analysis, "SKD 2024")
    twk = html[html.index('id="hist-twk"') :]
    twk = twk[: twk.index("</svg>")]
    assert "umum 65" in twk
    total = html[html.index('id="hist-total"') :]
    assert "cumlaude 311" in total[: total.index("</svg>")]


def test_without_a_url_builder_there_are_no_dry_run_links(
    miskeyed: tuple[ItemAnalysis, int, int],
) -> None:
    analysis, _, _ = miskeyed
    html = render_item_report_html(analysis, "SKD 2024", generated_at="2024-11-02 10:00 WIB")
    assert "Dry-run" not in html
    assert "generated 2024-11-02 10:00 WIB" in html


def test_text_from_the_bank_is_escaped() -> None:
    rng = np.random.default_rng(2)
    n, k = 80, 6
    chosen = rng.integers(0, 4, (n, k)).astype(np.int8)
    items = [ItemSpec(f"<b>TIU-{i}</b>", "TIU", 4, key_index=0) for i in range(k)]
    section = SectionRule(
        "TIU", "Tes <Intelegensia>", k, SectionScoring(SectionScoringKind.DICHOTOMOUS)
    )
    analysis = analyse_items(np.tile(np.arange(k), (n, 1)), chosen, items, [section])
    html = render_item_report_html(
        analysis, "Exam & <co>", correction_url=lambda code, key: f"/fix?item={code}"
    )
    assert "<b>" not in html
    assert "&lt;b&gt;TIU-0&lt;/b&gt;" in html
    assert "Exam &amp; &lt;co&gt;" in html
    assert "Tes &lt;Intelegensia&gt;" in html


def test_weighted_items_get_no_key_correction_link() -> None:
    rng = np.random.default_rng(4)
    n, k = 300, 8
    theta = rng.standard_normal(n)
    points = np.tile(np.arange(1.0, 6.0), (k, 1))
    chosen = (theta[:, None, None] * (points[None] - 3) / 1.5 + rng.gumbel(size=(n, k, 5))).argmax(
        2
    )
    points[0] = points[0][::-1]
    items = [
        ItemSpec(f"TKP-{i}", "TKP", 5, option_points=tuple(points[i].tolist())) for i in range(k)
    ]
    section = SectionRule("TKP", "TKP", k, SectionScoring(SectionScoringKind.WEIGHTED))
    analysis = analyse_items(
        np.tile(np.arange(k), (n, 1)), chosen.astype(np.int8), items, [section]
    )
    assert analysis.flagged[0].flags[0].code is FlagCode.WEIGHTS_REVERSED
    html = render_item_report_html(analysis, "PPPK", correction_url=dry_run)
    assert '<article id="item-0">' in html
    assert "Dry-run" not in html


def test_json_carries_the_same_values_and_is_strict_json(
    miskeyed: tuple[ItemAnalysis, int, int],
) -> None:
    analysis, index, true_key = miskeyed
    payload = analysis_to_json(analysis)
    text = json.dumps(payload, allow_nan=False)  # NaN would make this raise
    back = json.loads(text)
    assert back["n_candidates"] == 500
    assert [s["code"] for s in back["sections"]] == ["TWK", "TIU", "SKB"]
    assert back["sections"][0]["distribution"]["thresholds"] == [["umum", 65.0]]
    item = back["items"][index]
    assert item["p_value"] == analysis.items[index].p_value
    assert item["suggested_key"] == true_key
    assert item["needs_review"] is True
    assert item["flags"][0]["code"] == "likely_miskey"
    assert item["flags"][0]["suggested_key"] == true_key
    assert back["flagged"][0] == analysis.items[index].code
    assert back["flag_thresholds"]["too_easy_p"] == 0.95
    # An option nobody chose has no mean score: null, not NaN.
    never = [
        (i, j) for i, it in enumerate(analysis.items) for j, o in enumerate(it.options) if o.n == 0
    ]
    assert never
    for i, j in never:
        assert back["items"][i]["options"][j]["mean_total"] is None
