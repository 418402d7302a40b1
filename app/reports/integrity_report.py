"""The committee's integrity report as one self-contained HTML file (CSS and SVG inline, no
JavaScript), for ``ujian report integrity --format html``: it can be mailed or archived."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from app.services.integrity import IntegrityReport
from app.web.i18n import translate

_environment = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def render_integrity_report_html(report: IntegrityReport, language: str = "id") -> str:
    """The report in ``language`` (reasons in both languages), plots inline."""

    def t(key: str, **params: object) -> str:
        return translate(language, key, **params)

    def svg(markup: str) -> Markup:
        # Built by scoring.svgplot, which escapes every text it draws.
        return Markup(markup)  # noqa: S704

    return _environment.get_template("integrity_report.html.j2").render(
        report=report, t=t, svg=svg, language=language
    )
