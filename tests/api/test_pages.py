"""The HTML pages: language choice, the one catalogue, the security headers and the rule that
every asset comes from Ujian itself (test centres may have no internet)."""

from __future__ import annotations

import base64
import hashlib
import re
from html.parser import HTMLParser

import pytest

from app.models.staff import Role
from app.web.assets import STATIC_DIR
from app.web.i18n import LOCALES_DIR, catalogue, choose_language, translate
from app.web.pages import TEMPLATES_DIR
from tests.support.factory import mini_exam, take_exam

PAGES = (
    "/",
    "/slip",
    "/proctor",
    "/live/1",
    "/rankings/SKD-CPNS",
    "/verify",
    "/verify/ABCDEFGH-IJKL",
    "/committee",
    "/committee/corrections",
)
PUBLIC_PAGES = ("/live/1", "/rankings/SKD-CPNS", "/verify", "/verify/ABCDEFGH-IJKL")
PLACEHOLDER = re.compile(r"\{(\w+)\}")


class _Tags(HTMLParser):
    """Every start tag with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def tags_of(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


def test_pages_speak_bahasa_indonesia_by_default(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<html lang="id"' in response.text
    assert "Masuk Peserta" in response.text
    assert "ujian_lang" not in response.headers.get("set-cookie", "")


def test_lang_en_switches_to_english_and_is_remembered(client):
    english = client.get("/?lang=en")
    assert '<html lang="en"' in english.text
    assert "Candidate Login" in english.text
    assert "ujian_lang=en" in english.headers["set-cookie"]
    # The cookie keeps English on the next page without ?lang=.
    again = client.get("/proctor")
    assert '<html lang="en"' in again.text
    assert "Proctor Login" in again.text
    back = client.get("/?lang=id")
    assert "Masuk Peserta" in back.text
    assert '<html lang="id"' in client.get("/slip").text


def test_an_unknown_language_falls_back_to_bahasa_indonesia(client):
    response = client.get("/?lang=fr")
    assert '<html lang="id"' in response.text
    assert "set-cookie" not in response.headers


def test_language_choice_order():
    assert choose_language("en", "id") == ("en", True)
    assert choose_language("EN-us", None) == ("en", True)
    assert choose_language(None, "en") == ("en", False)
    assert choose_language("xx", None) == ("id", False)
    assert choose_language(None, None) == ("id", False)


@pytest.mark.parametrize("path", PAGES)
def test_pages_send_a_strict_content_security_policy(client, path):
    response = client.get(path)
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("path", PAGES)
def test_pages_have_no_inline_code_and_load_nothing_from_elsewhere(client, path):
    html = client.get(path).text
    for tag, attrs in tags_of(html):
        assert not [name for name in attrs if name.startswith("on")], (tag, attrs)
        assert "style" not in attrs, (tag, attrs)
        if tag == "script":
            assert attrs.get("src") or attrs.get("type") == "application/json", attrs
        for name in ("src", "href"):
            value = attrs.get(name) or ""
            assert not value.startswith(("http:", "https:", "//")), (tag, attrs)
    assert "<style" not in html


@pytest.mark.parametrize("path", PAGES)
def test_every_asset_a_page_names_is_served(client, path):
    html = client.get(path).text
    for tag, attrs in tags_of(html):
        url = attrs.get("src") if tag == "script" else attrs.get("href") if tag == "link" else None
        if url:
            asset = client.get(url)
            assert asset.status_code == 200, url
            assert asset.headers["cache-control"] == "no-cache"


def test_every_static_file_is_served_with_its_type(client):
    types = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
    files = [p for p in STATIC_DIR.rglob("*") if p.is_file()]
    assert files
    for path in files:
        url = "/static/" + path.relative_to(STATIC_DIR).as_posix()
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["content-type"].startswith(types[path.suffix]), url
        assert b"http://" not in response.content.replace(b"http://www.w3.org", b"")
        assert b"https://" not in response.content, url


def test_modules_import_only_each_other():
    for path in (STATIC_DIR / "js").glob("*.js"):
        for target in re.findall(r'from\s+"([^"]+)"', path.read_text()):
            assert target.startswith("./"), (path.name, target)
            assert (path.parent / target).is_file(), (path.name, target)


def test_the_catalogues_have_the_same_keys_and_placeholders():
    indonesian, english = catalogue("id"), catalogue("en")
    assert sorted(indonesian) == sorted(english)
    for key, text in indonesian.items():
        assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(english[key])), key
        assert text.strip(), key
        assert english[key].strip(), key
    assert {p.stem for p in LOCALES_DIR.glob("*.json")} == {"id", "en"}


# Keys built at run time from a status or an action name.
DYNAMIC_KEYS = (
    [f"status.{s}" for s in ("absent", "ready", "in_progress", "paused", "finished", "voided")]
    + [f"sitting_status.{s}" for s in ("scheduled", "open", "paused", "closed")]
    + [f"save.{s}" for s in ("saved", "saving", "offline", "paused")]
    + [
        f"action.seat.{a}.{part}"
        for a in ("pause", "resume", "extend", "move", "pin", "void")
        for part in ("label", "description", "submit")
    ]
    + [f"action.seat.{a}.done" for a in ("pause", "resume", "extend", "move", "void")]
    + [
        f"action.sitting.{a}.{part}"
        for a in ("open", "pause", "resume", "close")
        for part in ("label", "description", "submit", "done")
    ]
    + ["action.pins.all.description", "action.pins.all.submit"]
    + ["layout.lang_id", "layout.lang_en", "candidate.title", "slip.title", "proctor.title"]
    + ["live.title", "rankings.title", "verify.title", "committee.title", "corrections.title"]
    + [
        f"live.connection.{s}"
        for s in ("connecting", "reconnecting", "live", "retrying", "polling", "offline", "stopped")
    ]
    + [f"rankings.status.{s}" for s in ("pl", "p", "tl", "th")]
    + [f"verify.reason.{r}" for r in ("authentic", "altered", "unknown", "malformed")]
    + [f"publish_outcome.{o}" for o in ("published", "unchanged")]
    + [f"exam_status.{s}" for s in ("draft", "published")]
    + [
        f"flag.{f}"
        for f in (
            "likely_miskey",
            "weights_reversed",
            "low_discrimination",
            "too_hard",
            "too_easy",
            "rare_option",
            "few_responses",
        )
    ]
    + [
        f"corrections.kind.{k}{part}"
        for k in ("correct_key", "set_points", "annul")
        for part in ("", ".help")
    ]
    + [f"corrections.mode.{m}{part}" for m in ("award_all", "drop") for part in ("", ".help")]
    + [f"corrections.count.{c}" for c in ("attempts_with_item", "attempts_changed", "pass_changes")]
    + [
        "corrections.action.correct_key",
        "corrections.action.set_points",
        "corrections.action.annul.award_all",
        "corrections.action.annul.drop",
    ]
)


def test_every_message_the_pages_use_is_in_the_catalogue():
    sources = [p.read_text() for p in TEMPLATES_DIR.glob("*.html")]
    sources += [p.read_text() for p in (STATIC_DIR / "js").glob("*.js")]
    used = set(DYNAMIC_KEYS)
    for source in sources:
        used.update(re.findall(r"""\bt\(\s*["']([\w.]+)["']\s*[,)]""", source))
    missing = sorted(key for key in used if key not in catalogue("id"))
    assert missing == []


def test_translate_fills_placeholders_and_falls_back():
    assert translate("id", "exam.question_of", n=3, total=110) == "Soal Nomor 3 dari 110"
    assert translate("en", "exam.question_of", n=3, total=110) == "Question 3 of 110"
    assert translate("en", "no.such.key") == "no.such.key"


def test_the_text_size_is_rendered_from_its_cookie(client):
    client.cookies.set("ujian_text", "3")
    assert 'data-text-size="3"' in client.get("/").text
    client.cookies.set("ujian_text", "99")
    assert 'data-text-size="1"' in client.get("/").text


def test_the_countdown_never_reads_the_pc_clock():
    # The deadline comes from the server's remaining_seconds on the monotonic clock only.
    for name in ("countdown.js", "candidate.js", "save-queue.js"):
        assert "Date.now" not in (STATIC_DIR / "js" / name).read_text(), name


def test_the_candidate_page_carries_no_key_or_points(client):
    html = client.get("/").text
    assert not re.search(r"""["']?\b(key|points|answer_key)\b["']?\s*:""", html)
    assert "points" not in html.lower()


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_public_pages_need_no_login_and_speak_both_languages(client, path):
    indonesian = client.get(path)
    assert indonesian.status_code == 200
    assert '<html lang="id"' in indonesian.text
    english = client.get(f"{path}?lang=en")
    assert '<html lang="en"' in english.text


def test_page_addresses_are_escaped_into_the_shell(client):
    html = client.get("/rankings/%3Cscript%3Ealert(1)").text
    assert "<script>alert" not in html
    assert 'data-exam="&lt;script&gt;alert(1)"' in html
    html = client.get("/verify/%22%3E%3Cimg%20src%3Dx%3E").text
    assert "<img src=x>" not in html
    html = client.get("/live/%22onmouseover%3Dx").text
    assert 'data-sitting="&#34;onmouseover=x"' in html


def test_the_committee_console_admits_exactly_the_item_reports_styles(
    client, db, clock, app, staff_headers
):
    """The report is shown in a sandboxed srcdoc frame, which inherits the console's policy: the
    report's own style blocks, and nothing else inline, must be allowed there."""
    committee = staff_headers(Role.COMMITTEE)
    exam = mini_exam(db, clock, app.state.secret, candidates=2)
    take_exam(client, exam, "2026000001", committee, {"TWK": "key", "TKP": "key"})
    take_exam(client, exam, "2026000002", committee, {"TWK": "wrong", "TKP": "wrong"})
    report = client.get("/api/v1/exams/MINI/item-report", headers=committee)
    assert report.status_code == 200, report.text
    blocks = re.findall(r"<style>(.*?)</style>", report.text, flags=re.DOTALL)
    assert blocks
    assert "style=" not in report.text  # style attributes would need 'unsafe-hashes'
    hashes = {base64.b64encode(hashlib.sha256(b.encode()).digest()).decode() for b in blocks}
    policy = client.get("/committee").headers["content-security-policy"]
    style_src = next(d for d in policy.split("; ") if d.startswith("style-src "))
    assert set(re.findall(r"'sha256-([^']+)'", style_src)) == hashes
    assert "unsafe-inline" not in policy
    # Every other page keeps the plain policy.
    for path in PAGES:
        if path != "/committee":
            assert "sha256-" not in client.get(path).headers["content-security-policy"], path
