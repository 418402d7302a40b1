"""The HTML pages: the candidate's exam (``/``), the printable result slip (``/slip``), the
proctor console (``/proctor``), the public pages (live score board, rankings, slip
verification) and the committee console. Each is a server-rendered shell in the visitor's
language whose script calls the JSON API; :func:`render` is the one way to produce a page, with
its security headers, so every page shares the layout, the catalogue and the policy."""

from __future__ import annotations

import base64
import hashlib
import re
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from app.api.transaction import ApiRouter
from app.web.i18n import LANGUAGE_COOKIE, LANGUAGES, catalogue, choose_language, translate

TEMPLATES_DIR = Path(__file__).parent / "templates"
#: The committee's item report (``GET /api/v1/exams/{code}/item-report``), shown in a sandboxed
#: frame of the committee console.
ITEM_REPORT_TEMPLATE = Path(__file__).parents[1] / "reports" / "templates" / "item_report.html.j2"
TEXT_SIZE_COOKIE = "ujian_text"
TEXT_SIZES = ("1", "2", "3", "4")
REMEMBER_SECONDS = 365 * 24 * 3600


def content_security_policy(style_hashes: tuple[str, ...] = ()) -> str:
    """The pages' policy; ``style_hashes`` admit exactly those inline style blocks (by SHA-256).

    Self only, no inline script or style: an item's HTML that slipped past the sanitizer still
    cannot run code or call out of the test centre.
    """
    styles = " ".join(("'self'", *(f"'sha256-{h}'" for h in style_hashes)))
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            f"style-src {styles}",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


CONTENT_SECURITY_POLICY = content_security_policy()
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    # Pages are shells without data; no-store also keeps Back from showing a logged-out exam.
    "Cache-Control": "no-store",
}


#: Catalogue namespaces of the public pages and the committee console. The candidate's exam,
#: the slip and the proctor console are sent the catalogue without them: every exam PC loads
#: the candidate page, and it never needs the committee's words for keys and points.
RESULTS_NAMESPACES = (
    "live.",
    "rankings.",
    "verify.",
    "committee.",
    "corrections.",
    "flag.",
    "publish_outcome.",
    "exam_status.",
    "simulasi.",
)
RESULTS_PAGES = frozenset({"live", "rankings", "verify", "committee", "corrections", "practice"})


@lru_cache(maxsize=16)
def page_messages(language: str, page: str) -> dict[str, str]:
    """The part of the catalogue a page embeds for its script."""
    messages = catalogue(language)
    if page in RESULTS_PAGES:
        return messages
    return {k: v for k, v in messages.items() if not k.startswith(RESULTS_NAMESPACES)}


@lru_cache(maxsize=1)
def item_report_style_hashes() -> tuple[str, ...]:
    """SHA-256 (base64) of each ``<style>`` block of the item report.

    The committee console shows the report in a sandboxed ``srcdoc`` frame, which inherits the
    console's policy; admitting exactly these blocks styles the report without allowing any
    other inline style (the blocks hold no template expressions, so the file's text is what
    the report carries).
    """
    text = ITEM_REPORT_TEMPLATE.read_text(encoding="utf-8").replace("\r\n", "\n")
    blocks = re.findall(r"<style>(.*?)</style>", text, flags=re.DOTALL)
    return tuple(
        base64.b64encode(hashlib.sha256(block.encode()).digest()).decode() for block in blocks
    )


def committee_headers() -> dict[str, str]:
    """The security headers of the committee console (the item report's styles admitted)."""
    return {
        **SECURITY_HEADERS,
        "Content-Security-Policy": content_security_policy(item_report_style_hashes()),
    }


templates = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

router = ApiRouter(include_in_schema=False)


def _language_links(request: Request) -> list[dict[str, str]]:
    """This page in each language (other query parameters kept)."""
    links = []
    for code in LANGUAGES:
        query = {k: v for k, v in request.query_params.items() if k != "lang"}
        query["lang"] = code
        links.append({"code": code, "href": f"{request.url.path}?{urlencode(query)}"})
    return links


def render(
    request: Request,
    template: str,
    *,
    title_key: str,
    page: str,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """Render ``template`` on the shared layout in the visitor's language.

    ``page`` names the page's script (``static/js/<page>.js``) and its ``<body>`` class. The
    language's catalogue is embedded as JSON for the script's messages (without the results
    pages' namespaces on the other pages, see :data:`RESULTS_NAMESPACES`). ``headers``
    replaces the default security headers (the committee console admits the report's styles).
    """
    language, remember = choose_language(
        request.query_params.get("lang"), request.cookies.get(LANGUAGE_COOKIE)
    )
    text_size = request.cookies.get(TEXT_SIZE_COOKIE, "1")
    if text_size not in TEXT_SIZES:
        text_size = "1"

    def t(key: str, **params: object) -> str:
        return translate(language, key, **params)

    settings = request.app.state.settings
    html = templates.get_template(template).render(
        lang=language,
        t=t,
        title=t(title_key),
        page=page,
        messages=page_messages(language, page),
        text_size=text_size,
        language_links=_language_links(request),
        public_base_url=str(settings.public_base_url).rstrip("/"),
        **context,
    )
    response = HTMLResponse(
        html, status_code=status_code, headers=headers if headers is not None else SECURITY_HEADERS
    )
    if remember:
        response.set_cookie(
            LANGUAGE_COOKIE, language, max_age=REMEMBER_SECONDS, httponly=True, samesite="lax"
        )
    return response


@router.get("/", response_class=HTMLResponse)
def candidate_page(request: Request) -> HTMLResponse:
    """Candidate: login, instructions, the exam and the result."""
    return render(request, "candidate.html", title_key="candidate.title", page="candidate")


@router.get("/slip", response_class=HTMLResponse)
def slip_page(request: Request) -> HTMLResponse:
    """Candidate: the printable result slip of the finished attempt."""
    return render(request, "slip.html", title_key="slip.title", page="slip")


@router.get("/proctor", response_class=HTMLResponse)
def proctor_page(request: Request) -> HTMLResponse:
    """Proctor: staff login, assigned sittings and the live seat console."""
    return render(request, "proctor.html", title_key="proctor.title", page="proctor")


# --- Public pages: no login, no personal data (candidates appear only by pseudonym).


@router.get("/live/{sitting}", response_class=HTMLResponse)
def live_page(request: Request, sitting: str) -> HTMLResponse:
    """Anyone: the live score board of a sitting, updated as candidates finish."""
    return render(request, "live.html", title_key="live.title", page="live", sitting=sitting)


@router.get("/rankings/{exam}", response_class=HTMLResponse)
def rankings_page(request: Request, exam: str) -> HTMLResponse:
    """Anyone: the published rankings of an exam per formation, with a pseudonym search."""
    return render(request, "rankings.html", title_key="rankings.title", page="rankings", exam=exam)


@router.get("/verify", response_class=HTMLResponse)
@router.get("/verify/{code}", response_class=HTMLResponse)
def verify_page(request: Request, code: str = "") -> HTMLResponse:
    """Anyone: check a result slip by its verification code (the slip's QR code links here)."""
    return render(request, "verify.html", title_key="verify.title", page="verify", code=code)


@router.get("/simulasi", response_class=HTMLResponse)
def practice_page(request: Request) -> HTMLResponse:
    """Anyone: the practice exams (simulasi), each started without a PIN on the exam screen."""
    return render(
        request, "practice.html", title_key="simulasi.title", page="practice", view="list"
    )


@router.get("/simulasi/pembahasan", response_class=HTMLResponse)
def practice_review_page(request: Request) -> HTMLResponse:
    """A practice candidate: the score, keys and explanations of the finished practice exam."""
    return render(
        request, "practice.html", title_key="simulasi.review_title", page="practice", view="review"
    )


# --- The committee console.


@router.get("/committee", response_class=HTMLResponse)
def committee_page(request: Request) -> HTMLResponse:
    """Committee: staff login, exams, publishing rankings and the item analysis."""
    return render(
        request,
        "committee.html",
        title_key="committee.title",
        page="committee",
        headers=committee_headers(),
    )


@router.get("/committee/integrity", response_class=HTMLResponse)
def integrity_page(request: Request) -> HTMLResponse:
    """Committee: attempts ranked by integrity evidence, decisions, exports."""
    return render(request, "integrity.html", title_key="integrity.title", page="integrity")


@router.get("/committee/corrections", response_class=HTMLResponse)
def corrections_page(request: Request) -> HTMLResponse:
    """Committee: a key correction or annulment, its dry run and its application."""
    return render(request, "corrections.html", title_key="corrections.title", page="corrections")
