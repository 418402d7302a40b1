"""The public pages in a real browser: the live score board updating by itself (server-sent
events, reconnection, polling without EventSource), the published rankings with their statuses,
diff and pseudonym search, and slip verification. None of them ever shows a name or a nomor
peserta: the page source and every response are checked.

One server and one set of results serve the whole module. MINI has 3 TWK items (5 points,
bank key A) and 2 TKP items (A=5 ... E=1); umum needs TWK >= 10 and TKP >= 6; formation F1
has 1 opening, so the cut is rank 3.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from app.models.staff import Role
from tests.browser.scenarios import (
    Exam,
    app_client,
    bearer,
    by_section,
    module_server,
    small_exam,
    staff_account,
    take,
)
from tests.support.server import ServerProcess

pytestmark = pytest.mark.browser

#: Candidate -> (TWK label, TKP label); 6 is registered but never sits (TH); 7 and 8 finish
#: while a test watches the live board.
PLANS = {1: ("A", "A"), 2: ("A", "A"), 3: ("A", "B"), 4: ("A", "C")}
LATE = 5  # finishes after the first publication, so the second snapshot supersedes it


@dataclass
class Public:
    server: ServerProcess
    exam: Exam
    committee: dict[str, str]

    def pseudonym(self, number: int) -> str:
        return str(self.exam.results[self.exam.nomor(number)]["pseudonym"])

    def finish(self, number: int, twk: str = "A", tkp: str = "A") -> dict[str, Any]:
        with httpx.Client(base_url=self.server.url, timeout=30) as client:
            return take(
                client, self.exam, self.exam.nomor(number), self.committee, by_section(twk, tkp)
            )


@pytest.fixture(scope="module")
def public(_session_db, database_url, tmp_path_factory):
    folder = tmp_path_factory.mktemp("public")
    exam = small_exam(_session_db, candidates=8)
    login = staff_account(_session_db, Role.COMMITTEE)
    with module_server(_session_db, database_url, folder) as server:
        with app_client(_session_db, database_url, folder) as client:
            committee = bearer(client, *login)
            for number, (twk, tkp) in PLANS.items():
                take(client, exam, exam.nomor(number), committee, by_section(twk, tkp))
            first = client.post("/api/v1/exams/MINI/rankings", headers=committee)
            assert first.status_code == 200, first.text
            take(client, exam, exam.nomor(LATE), committee, by_section("B", "A"))
            second = client.post("/api/v1/exams/MINI/rankings", headers=committee)
            assert second.json()[0]["number"] == 2, second.text
        yield Public(server, exam, committee)


@pytest.fixture
def context(browser, public):
    """A fresh profile on the module's server that fails the test on any script error."""
    ctx = browser.new_context(base_url=public.server.url, viewport={"width": 1366, "height": 768})
    errors: list[str] = []
    ctx.on("weberror", lambda error: errors.append(str(error.error)))
    ctx.set_default_timeout(10_000)
    yield ctx
    ctx.close()
    assert errors == [], f"uncaught script errors: {errors}"


class Responses:
    """Every response a page received (event streams are checked on their own)."""

    def __init__(self, page) -> None:
        self.seen: list[Any] = []
        page.on("response", self._add)

    def _add(self, response: Any) -> None:
        self.seen.append(response)

    def bodies(self) -> list[tuple[str, str]]:
        """The bodies received since the last call (read before the page navigates away)."""
        out = []
        seen, self.seen = self.seen, []
        for response in seen:
            kind = response.headers.get("content-type", "")
            if "event-stream" in kind or response.status in (301, 302, 304):
                continue
            out.append((response.url, response.body().decode("utf-8", "replace")))
        return out


def assert_private(page, responses: Responses, exam: Exam) -> None:
    """No nomor peserta and no name in the page or in anything it loaded."""
    texts = [("page", page.content()), *responses.bodies()]
    assert len(texts) > 1
    for where, text in texts:
        for nomor, name in exam.names.items():
            assert nomor not in text, (where, nomor)
            assert name not in text, (where, name)


def rows(page) -> list[str]:
    return page.eval_on_selector_all("#live-body tr", "rows => rows.map(r => r.dataset.pseudonym)")


# --------------------------------------------------------------------------------------------
# Live score board


def test_the_live_board_shows_a_result_the_moment_it_arrives(page, public):
    responses = Responses(page)
    page.goto(f"/live/{public.exam.sitting_id}")
    page.wait_for_selector('#live-connection[data-state="live"]')
    assert page.inner_text("#live-heading") == "Ujian Mini"
    assert page.inner_text(".live-sub") == "Sesi 1 · Kantor Regional I BKN Yogyakarta · Ruang CAT 2"
    before = rows(page)
    assert {public.pseudonym(n) for n in (1, 2, 3, 4, LATE)} <= set(before)
    headers = page.eval_on_selector_all("#live-head-row th", "cells => cells.map(c => c.innerText)")
    assert headers == ["No.", "Nama samaran", "TWK", "TKP", "Total", "Keterangan", "Selesai"]
    first = page.locator(f'#live-body tr[data-pseudonym="{public.pseudonym(1)}"] td')
    assert [first.nth(i).inner_text() for i in (1, 2, 3, 4)] == ["15", "10", "25", "Lulus"]
    # The initial board is not read out.
    assert page.inner_text("#announcer") == ""

    result = public.finish(7, "A", "B")  # 15 + 8 = 23
    page.wait_for_selector(f'#live-body tr[data-pseudonym="{result["pseudonym"]}"]', timeout=5000)
    after = rows(page)
    assert after[0] == result["pseudonym"]  # newest first
    assert len(after) == len(before) + 1
    assert page.inner_text("#live-count") == str(len(after))
    assert "fresh" in (page.get_attribute("#live-body tr:first-child", "class") or "")
    page.wait_for_function(
        "p => document.querySelector('#announcer').textContent.includes(p)",
        arg=result["pseudonym"],
    )
    # The announcement follows the row within a moment: wait for it rather than race it.
    page.wait_for_function(
        "text => document.querySelector('#announcer').textContent === text",
        arg=f"Hasil baru: {result['pseudonym']}, total 23, Lulus.",
        timeout=5000,
    )

    # Sorted by total: the 25s first, and the order is kept in the address.
    page.click('[data-sort="total"]')
    assert page.get_attribute('[data-sort="total"]', "aria-pressed") == "true"
    totals = page.eval_on_selector_all(
        "#live-body td.total", "cells => cells.map(c => Number(c.textContent))"
    )
    assert totals == sorted(totals, reverse=True)
    assert page.url.endswith("?sort=total")
    assert_private(page, responses, public.exam)


def test_the_live_board_reconnects_after_the_stream_drops(page, public):
    stream = re.compile(rf"/api/v1/public/live/{public.exam.sitting_id}$")
    calls: list[str] = []

    def drop_the_first(route):
        calls.append(route.request.url)
        if len(calls) == 1:
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route(stream, drop_the_first)
    page.goto(f"/live/{public.exam.sitting_id}")
    page.wait_for_selector('#live-connection[data-state="retrying"]')
    assert "mencoba lagi dalam 1 detik" in page.inner_text("#live-connection")
    page.wait_for_selector('#live-connection[data-state="live"]', timeout=5000)
    assert len(calls) == 2
    # The announcement follows the row within a moment: wait for it rather than race it.
    page.wait_for_function(
        "text => document.querySelector('#announcer').textContent === text",
        arg="Papan skor tersambung kembali.",
        timeout=5000,
    )
    assert public.pseudonym(1) in rows(page)


def test_without_event_source_the_board_polls_every_five_seconds(page, public):
    page.add_init_script("delete window.EventSource")
    responses = Responses(page)
    page.goto(f"/live/{public.exam.sitting_id}")
    page.wait_for_selector('#live-connection[data-state="polling"]')
    assert page.inner_text("#live-connection").startswith("Diperbarui setiap 5 detik")
    result = public.finish(8, "A", "C")  # 15 + 6 = 21
    page.wait_for_selector(f'#live-body tr[data-pseudonym="{result["pseudonym"]}"]', timeout=8000)
    # The announcement follows the row within a moment: wait for it rather than race it.
    page.wait_for_function(
        "text => document.querySelector('#announcer').textContent === text",
        arg=f"Hasil baru: {result['pseudonym']}, total 21, Lulus.",
        timeout=5000,
    )
    polls = [r for r in responses.seen if r.url.endswith("/board")]
    assert len(polls) >= 2
    assert_private(page, responses, public.exam)


def test_the_stream_itself_carries_only_pseudonyms(public):
    with (
        httpx.Client(base_url=public.server.url, timeout=10) as client,
        client.stream("GET", f"/api/v1/public/live/{public.exam.sitting_id}") as stream,
    ):
        text = ""
        for chunk in stream.iter_text():
            text += chunk
            if "\n\n" in text:
                break
    assert text.startswith("event: board")
    assert public.pseudonym(1) in text
    for nomor, name in public.exam.names.items():
        assert nomor not in text
        assert name not in text


def test_an_unknown_sitting_says_so(page, public):
    page.goto("/live/999999")
    page.wait_for_selector("#live-error:not([hidden])")
    assert page.inner_text("#live-error") == "Sesi ini tidak ditemukan. Periksa alamat papan skor."


# --------------------------------------------------------------------------------------------
# Rankings


def ranking(page) -> dict[str, tuple[str, str, str]]:
    """Pseudonym -> (rank, total, status) as shown."""
    found = page.eval_on_selector_all(
        ".ranking-table tbody tr",
        """rows => rows.map(r => [r.dataset.pseudonym, r.cells[0].innerText,
            r.querySelector('.total').innerText, r.querySelector('.status-code').innerText])""",
    )
    return {p: (rank, total, status) for p, rank, total, status in found}


def test_rankings_show_statuses_the_diff_and_find_a_pseudonym(page, public):
    responses = Responses(page)
    page.goto("/rankings/MINI")
    page.wait_for_selector(".ranking-table tbody tr")
    assert page.inner_text("#rankings-heading") == "Ujian Mini"
    shown = ranking(page)
    assert shown[public.pseudonym(1)] == ("1", "25", "P/L")
    assert shown[public.pseudonym(2)] == ("1", "25", "P/L")
    assert shown[public.pseudonym(3)] == ("3", "23", "P/L")
    assert shown[public.pseudonym(4)] == ("4", "21", "P")  # met the thresholds, outside the cut
    assert shown[public.pseudonym(LATE)][2] == "T/L"
    assert [s for _r, _t, s in shown.values()].count("TH") >= 1
    assert page.inner_text(".formation h2") == "Analis — Kementerian Contoh"
    facts = page.inner_text(".formation .facts")
    assert "F1" in facts
    assert "ke-2" in facts
    summary = page.locator(".hash summary")
    full = summary.get_attribute("title")
    assert full is not None
    assert re.fullmatch(r"[0-9a-f]{64}", full)
    assert summary.inner_text() == full[:12] + "…"
    # The second snapshot superseded the first: who moved and why.
    diff = page.inner_text(".diff")
    assert "Perubahan dari pengumuman ke-1" in diff
    assert public.pseudonym(LATE) in diff
    assert "TH → T/L" in diff
    # The legend says each status in Bahasa Indonesia.
    legend = page.inner_text(".status-legend")
    for text in (
        "memenuhi nilai ambang batas dan masuk peringkat",
        "memenuhi nilai ambang batas tetapi di luar peringkat",
        "Tidak memenuhi nilai ambang batas",
        "Tidak hadir",
    ):
        assert text.lower() in legend.lower()

    # Search, typed the way people type: lower case, no hyphens.
    wanted = public.pseudonym(3)
    page.fill("#search-q", wanted.replace("-", "").lower())
    page.click("#search-form button[type=submit]")
    page.wait_for_function(
        "() => document.querySelectorAll('.ranking-table tbody tr').length === 1"
    )
    assert list(ranking(page)) == [wanted]
    assert page.inner_text("#search-status") == (
        f"Nama samaran {wanted} ditemukan: formasi F1, peringkat 3, status P/L."
    )
    assert "q=" in page.url
    # A symbol left out: the API refuses it and the page says why, in Bahasa Indonesia.
    short = wanted[:-2]
    page.fill("#search-q", short)
    with page.expect_response(lambda r: "q=" in r.url) as refused:
        page.click("#search-form button[type=submit]")
    assert refused.value.status == 400
    page.wait_for_selector("#search-error:not([hidden])")
    assert page.inner_text("#search-error").startswith(f"“{short}” bukan nama samaran yang sah")
    # One symbol mistyped: its check symbol catches it before anything is asked.
    mistyped = ("1" if wanted[0] != "1" else "2") + wanted[1:]
    page.fill("#search-q", mistyped)
    page.click("#search-form button[type=submit]")
    page.wait_for_function(
        "() => document.querySelector('#search-error').textContent.includes('salah ketik')"
    )
    assert page.inner_text("#search-error").startswith(f"“{mistyped}” tampaknya salah ketik")
    page.click("#search-clear")
    page.wait_for_function("() => document.querySelectorAll('.ranking-table tbody tr').length > 5")

    csv_url = page.get_attribute("#csv-link", "href")
    assert csv_url == "/api/v1/public/rankings/MINI?format=csv"
    csv = httpx.get(public.server.url + csv_url).text
    assert csv.splitlines()[0] == "formation,rank,pseudonym,TWK,TKP,total,status"
    assert wanted in csv
    assert_private(page, responses, public.exam)
    for nomor, name in public.exam.names.items():
        assert nomor not in csv
        assert name not in csv


def test_rankings_in_english_and_for_an_unpublished_exam(page, public):
    page.goto("/rankings/MINI?lang=en")
    page.wait_for_selector(".ranking-table tbody tr")
    assert page.inner_text("#legend-heading") == "Status codes"
    assert page.locator(".status-code[data-status='TH']").first.get_attribute("title") == (
        "Absent (did not sit the exam)"
    )
    page.goto("/rankings/NOPE?lang=id")
    page.wait_for_selector("#rankings-error:not([hidden])")
    assert page.inner_text("#rankings-error") == "Peringkat ujian ini belum diumumkan."


# --------------------------------------------------------------------------------------------
# Slip verification


def test_a_real_slip_is_authentic_and_an_altered_code_is_not(page, public):
    responses = Responses(page)
    code = public.exam.results[public.exam.nomor(1)]["slip_code"]
    page.goto(f"/verify/{code}")
    page.wait_for_selector("#verdict:not([hidden])")
    assert page.get_attribute("#verdict", "data-authentic") == "true"
    assert page.inner_text("#verdict-title") == "Slip ASLI"
    assert page.inner_text("[data-field=pseudonym]") == public.pseudonym(1)
    assert page.inner_text("#verify-total") == "25"
    assert page.inner_text("#verify-verdict").endswith("(Lulus)")
    assert page.eval_on_selector_all("#verify-sections tr", "rows => rows.length") == 2
    assert_private(page, responses, public.exam)

    # One character of the code changed, as on a forged slip.
    altered = code[:-1] + ("A" if code[-1] != "A" else "B")
    page.goto(f"/verify/{altered}")
    page.wait_for_selector("#verdict:not([hidden])")
    assert page.get_attribute("#verdict", "data-authentic") == "false"
    assert page.inner_text("#verdict-title") == "Slip TIDAK ASLI"
    assert page.inner_text("#verdict-reason").startswith("Kode tidak cocok dengan nilai")
    # The valid scores on file are shown next to the refusal.
    assert page.inner_text("#verify-total") == "25"
    assert_private(page, responses, public.exam)

    page.goto("/verify/BUKAN-KODE")
    page.wait_for_selector("#verdict:not([hidden])")
    assert page.get_attribute("#verdict", "data-authentic") == "false"
    assert page.is_hidden("#on-file")
    assert_private(page, responses, public.exam)


def test_the_verify_form_checks_a_typed_code(page, public):
    code = public.exam.results[public.exam.nomor(2)]["slip_code"]
    page.goto("/verify")
    page.wait_for_selector("#verify-code:focus")
    assert page.is_hidden("#verdict")
    page.keyboard.type(code.lower())
    page.keyboard.press("Enter")
    page.wait_for_selector("#verdict:not([hidden])")
    assert page.url.endswith(f"/verify/{code}")
    assert page.get_attribute("#verdict", "data-authentic") == "true"


def test_the_public_pages_fit_the_smallest_screen(page, public):
    page.set_viewport_size({"width": 1024, "height": 768})
    code = public.exam.results[public.exam.nomor(1)]["slip_code"]
    for path, ready in (
        (f"/live/{public.exam.sitting_id}", "#live-body tr"),
        ("/rankings/MINI", ".ranking-table tbody tr"),
        (f"/verify/{code}", "#verdict:not([hidden])"),
    ):
        page.goto(path)
        page.wait_for_selector(ready)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 1024, (path, width)
