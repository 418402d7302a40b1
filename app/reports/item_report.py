"""The item-analysis report for committees: one self-contained HTML file, and its JSON twin.

Both take the :class:`scoring.stats.ItemAnalysis` of an exam version and return a value (a
string, a dict): no database, no files. The HTML inlines its CSS and its SVG plots, loads
nothing from anywhere and needs no JavaScript, so it can be mailed, archived or opened at a
test site without a network.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from scoring import stats
from scoring.rules import SectionScoringKind
from scoring.stats import ItemAnalysis, ItemStats
from scoring.svgplot import ScatterPoint, TraceSeries, histogram_svg, scatter_svg, trace_lines_svg

if TYPE_CHECKING:
    from app.services.integrity import DIFReport

#: Builds the URL of the key-correction dry run for an item: ``(item_code, suggested_option)``
#: where ``suggested_option`` is the original index of the option the data point to, or None.
CorrectionUrl = Callable[[str, int | None], str]

_TEMPLATES = Path(__file__).parent / "templates"
_environment = Environment(
    loader=FileSystemLoader(_TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _percent(value: float) -> str:
    return "–" if not math.isfinite(value) else f"{100 * value:.0f} %"


def _fixed(value: float, digits: int = 2) -> str:
    return "–" if not math.isfinite(value) else f"{value:.{digits}f}"


_environment.filters["pct"] = _percent
_environment.filters["fixed"] = _fixed


@dataclass(frozen=True, slots=True)
class _FlaggedView:
    """What the template shows for one item that needs review."""

    item: ItemStats
    anchor: str
    trace_svg: Markup
    correction_href: str | None
    suggested_label: str | None


def render_item_report_html(
    analysis: ItemAnalysis,
    exam_title: str,
    *,
    correction_url: CorrectionUrl | None = None,
    generated_at: str | None = None,
    dif: Sequence[DIFReport] = (),
) -> str:
    """The committee's item-analysis report as one self-contained HTML document.

    Sections: a summary per section (reliability, SEM, score spread, form difficulty), score
    histograms with the passing thresholds marked, the difficulty-discrimination scatter with
    flagged items highlighted, the items that need review (most severe first) with the reasons
    in words, their option tables and trace lines and a link to the key-correction dry run,
    then every item per section.

    Parameters
    ----------
    analysis
        The analysis of one exam version.
    exam_title
        Shown in the heading and the document title.
    correction_url
        Builds the dry-run link of a flagged dichotomous item from its code and the suggested
        key (original option index, or None); without it no links are drawn.
    generated_at
        A timestamp to print (the caller's clock; the report has none of its own).
    dif
        Mantel-Haenszel DIF by the roster's group fields (a section listing B and C items,
        with the groups' sizes and dry-run links), when the caller has it.
    """
    flagged = [_flagged_view(item, analysis, correction_url) for item in analysis.flagged]
    histograms = [
        _trusted_svg(
            histogram_svg(
                section.distribution.bin_edges,
                section.distribution.counts,
                title=f"{section.code}: {section.name}",
                x_label=f"{section.code} score",
                thresholds=section.distribution.thresholds,
                element_id=f"hist-{_slug(section.code)}",
            )
        )
        for section in analysis.sections
    ]
    histograms.append(
        _trusted_svg(
            histogram_svg(
                analysis.total.bin_edges,
                analysis.total.counts,
                title="Total score",
                x_label="total score",
                thresholds=analysis.total.thresholds,
                element_id="hist-total",
            )
        )
    )
    template = _environment.get_template("item_report.html.j2")
    return template.render(
        exam_title=exam_title,
        generated_at=generated_at,
        analysis=analysis,
        sections=analysis.sections,
        histograms=histograms,
        scatter=_trusted_svg(_scatter(analysis)),
        flagged=flagged,
        flagged_anchors={view.item.index: view.anchor for view in flagged},
        items_by_section=[(s, analysis.items_of(s.code)) for s in analysis.sections],
        constants=_constants(),
        top_percent=_percent(analysis.group_fraction),
        dif=list(dif),
    )


def analysis_to_json(analysis: ItemAnalysis) -> dict[str, Any]:
    """The analysis as plain JSON values (for ``--json`` and the API).

    Every field of the frozen values is kept under its own name; enums become their string
    values, tuples lists, and undefined statistics (NaN) ``null``, so ``json.dumps`` needs no
    special options. ``needs_review``, ``suggested_key`` and the flag thresholds in force are
    added for consumers that do not recompute them.
    """
    payload: dict[str, Any] = _plain(asdict(analysis))
    for raw, item in zip(payload["items"], analysis.items, strict=True):
        raw["needs_review"] = item.needs_review
        raw["suggested_key"] = item.suggested_key
    payload["flagged"] = [item.code for item in analysis.flagged]
    payload["flag_thresholds"] = _constants()
    return payload


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _constants() -> dict[str, float]:
    return {
        "too_easy_p": stats.TOO_EASY_P,
        "too_hard_p": stats.TOO_HARD_P,
        "low_discrimination_r": stats.LOW_DISCRIMINATION_R,
        "rare_option_share": stats.RARE_OPTION_SHARE,
        "min_responses_for_flags": stats.MIN_RESPONSES_FOR_FLAGS,
        "miskey_min_choosers": stats.MISKEY_MIN_CHOOSERS,
        "miskey_z": stats.MISKEY_Z,
    }


def _trusted_svg(svg: str) -> Markup:
    """Mark a plot from :mod:`scoring.svgplot` as safe: it escapes every text it writes."""
    return Markup(svg)  # noqa: S704


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in text).strip("-").lower() or "x"


def _scatter(analysis: ItemAnalysis) -> str:
    points = [
        ScatterPoint(
            x=item.p_value,
            y=item.r_item_rest,
            label=f"{item.label} ({item.section}): p {_fixed(item.p_value)}, "
            f"r {_fixed(item.r_item_rest)}"
            + (f"; {', '.join(flag.code.value for flag in item.flags)}" if item.flags else ""),
            highlighted=item.needs_review,
        )
        for item in analysis.items
    ]
    return scatter_svg(
        points,
        title="Difficulty against discrimination",
        x_label="p-value (facility)",
        y_label="item-rest r",
        x_guides=[
            (f"{stats.TOO_HARD_P:g}", stats.TOO_HARD_P),
            (f"{stats.TOO_EASY_P:g}", stats.TOO_EASY_P),
        ],
        y_guides=[("0", 0.0), (f"{stats.LOW_DISCRIMINATION_R:g}", stats.LOW_DISCRIMINATION_R)],
        element_id="scatter-p-r",
        width=560,
        height=360,
    )


def _flagged_view(
    item: ItemStats, analysis: ItemAnalysis, correction_url: CorrectionUrl | None
) -> _FlaggedView:
    groups = analysis.trace_groups
    names = [str(g + 1) for g in range(groups)]
    trace = trace_lines_svg(
        [TraceSeries(o.label, o.trace, o.is_key) for o in (*item.options, item.blank)],
        title=f"Option trace lines: {item.label}",
        group_labels=names,
        x_label=f"{item.section} score group (1 = lowest of {groups})",
        element_id=f"trace-{item.index}",
    )
    suggested = item.suggested_key
    href = None
    if correction_url is not None and item.kind is SectionScoringKind.DICHOTOMOUS:
        href = correction_url(item.code, suggested)
    return _FlaggedView(
        item=item,
        anchor=f"item-{item.index}",
        trace_svg=_trusted_svg(trace),
        correction_href=href,
        suggested_label=None if suggested is None else item.options[suggested].label,
    )
