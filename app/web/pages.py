"""The HTML pages: the candidate's exam (``/``), the printable result slip (``/slip``) and the
proctor console (``/proctor``). Each is a server-rendered shell in the visitor's language whose
script calls the JSON API; :func:`render` is the one way to produce a page, with its security
headers, so later pages share the layout, the catalogue and the policy."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from app.web.i18n import LANGUAGE_COOKIE, LANGUAGES, catalogue, choose_language, translate

TEMPLATES_DIR = Path(__file__).parent / "templates"
TEXT_SIZE_COOKIE = "ujian_text"
TEXT_SIZES = ("1", "2", "3", "4")
REMEMBER_SECONDS = 365 * 24 * 3600

#: Self only, no inline script or style: an item's HTML that slipped past the sanitizer still
#: cannot run code or call out of the test centre.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    # Pages are shells without data; no-store also keeps Back from showing a logged-out exam.
    "Cache-Control": "no-store",
}

templates = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

router = APIRouter(include_in_schema=False)


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
    **context: Any,
) -> HTMLResponse:
    """Render ``template`` on the shared layout in the visitor's language.

    ``page`` names the page's script (``static/js/<page>.js``) and its ``<body>`` class. The
    whole catalogue of the language is embedded as JSON for the script's messages.
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
        messages=catalogue(language),
        text_size=text_size,
        language_links=_language_links(request),
        public_base_url=str(settings.public_base_url).rstrip("/"),
        **context,
    )
    response = HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
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
