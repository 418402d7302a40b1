"""The committee console in a real browser: login (other roles refused), publishing rankings,
the item report in its sandboxed frame, following a review link to the key-correction page,
the dry run, and applying it — after which the public ranking has moved.

The key mistake is real: MINI's bank keys TWK-000 as A, but 16 strong candidates answer it B
(and the other TWK items A), 14 weak ones answer it A (and the others C). With 31 candidates
the item analysis flags TWK-000 as likely miskeyed and suggests B. One borderline candidate
answers TWK-000 B, TWK-001 A and TWK-002 C: TWK 5 (T/L) under the wrong key, TWK 10 once the
key is B, which meets the thresholds but ranks 17th behind the strong sixteen: P.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest

from app.models.staff import Role
from tests.browser.scenarios import (
    Exam,
    app_client,
    bearer,
    module_server,
    small_exam,
    staff_account,
    take,
)
from tests.support.server import ServerProcess

pytestmark = pytest.mark.browser

STRONG = range(1, 17)
WEAK = range(17, 31)
BORDER = 31


def strong(code: str, _section: str) -> str:
    return "B" if code == "TWK-000" else "A"


def weak(code: str, _section: str) -> str:
    return {"TWK-000": "A"}.get(code, "C")


def border(code: str, _section: str) -> str:
    return {"TWK-000": "B", "TWK-002": "C"}.get(code, "A")


@dataclass
class Committee:
    server: ServerProcess
    exam: Exam
    login: tuple[str, str]
    proctor: tuple[str, str]

    def pseudonym(self, number: int) -> str:
        return str(self.exam.results[self.exam.nomor(number)]["pseudonym"])


@pytest.fixture(scope="module")
def committee(_session_db, database_url, tmp_path_factory):
    folder = tmp_path_factory.mktemp("committee")
    exam = small_exam(_session_db, candidates=BORDER)
    login = staff_account(_session_db, Role.COMMITTEE)
    proctor = staff_account(_session_db, Role.PROCTOR)
    with module_server(_session_db, database_url, folder) as server:
        with app_client(_session_db, database_url, folder) as client:
            headers = bearer(client, *login)
            for number in range(1, BORDER + 1):
                choose = strong if number in STRONG else weak if number in WEAK else border
                take(client, exam, exam.nomor(number), headers, choose)
        yield Committee(server, exam, login, proctor)


@pytest.fixture
def context(browser, committee):
    """A fresh profile on the module's server; script errors and refused styles fail the test."""
    ctx = browser.new_context(
        base_url=committee.server.url, viewport={"width": 1366, "height": 768}
    )
    errors: list[str] = []
    ctx.on("weberror", lambda error: errors.append(str(error.error)))
    ctx.on(
        "console",
        lambda message: (
            errors.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    ctx.set_default_timeout(10_000)
    yield ctx
    ctx.close()
    assert errors == [], f"script errors or policy violations: {errors}"


def log_in(page, username: str, password: str) -> None:
    page.goto("/committee")
    page.wait_for_selector("#view-login:not([hidden])")
    page.fill("#staff-username", username)
    page.fill("#staff-password", password)
    page.click("#staff-login-form button[type=submit]")


def test_only_committee_accounts_get_in(page, committee):
    log_in(page, *committee.proctor)
    page.wait_for_selector("#staff-login-error:not([hidden])")
    assert page.inner_text("#staff-login-error") == (
        "Akun ini bukan akun panitia. Konsol ini hanya untuk panitia seleksi."
    )
    assert page.evaluate("() => sessionStorage.getItem('ujian.committee.token')") is None
    page.fill("#staff-password", "salah-sekali")
    page.click("#staff-login-form button[type=submit]")
    page.wait_for_function(
        "() => document.querySelector('#staff-login-error').textContent.includes('salah')"
    )


def test_publish_analyse_correct_the_key_and_the_ranking_moves(page, committee):
    public = httpx.Client(base_url=committee.server.url, timeout=30)
    moved = committee.pseudonym(BORDER)

    # The console: the exam, publishing its rankings.
    log_in(page, *committee.login)
    page.wait_for_selector("#view-exams:not([hidden]) #exams-body tr")
    row = page.locator('#exams-body tr[data-exam="MINI"]')
    assert row.locator("td").nth(2).inner_text() == "Diterbitkan"
    page.click('[data-publish="MINI"]')
    page.wait_for_selector("#publish-outcome:not([hidden])")
    outcome = page.locator('#publish-body tr[data-formation="F1"] td')
    assert outcome.nth(0).inner_text() == "Diumumkan (snapshot baru)"
    assert outcome.nth(1).inner_text() == "1"
    assert page.get_attribute("#publish-link", "href") == "/rankings/MINI"
    before = {
        r["pseudonym"]: r
        for r in public.get("/api/v1/public/rankings/MINI").json()["formations"][0]["rows"]
    }
    assert before[moved]["status"] == "T/L"

    # The item report, in its sandboxed frame, styled (its one style block is admitted).
    page.click('[data-analysis="MINI"]')
    page.wait_for_selector("#report-frame:not([hidden])")
    assert (
        page.get_attribute("#report-frame", "sandbox") == "allow-top-navigation-by-user-activation"
    )
    report = page.frame_locator("#report-frame")
    assert report.locator("h1").inner_text() == "Item analysis: Ujian Mini (MINI v1)"
    colour = report.locator("h2").first.evaluate("h => getComputedStyle(h).borderBottomColor")
    assert colour == "rgb(0, 114, 178)"
    # Its own contents links stay inside the frame...
    report.locator('nav a[href$="#review"]').click()
    page.wait_for_timeout(200)
    assert page.url.endswith("/committee#analisis-MINI")
    # ...and a review link opens the key-correction page, prefilled.
    link = report.locator('a.action[href*="item=TWK-000"]')
    assert "to option B" in link.inner_text()
    with page.expect_navigation():
        link.click()
    assert page.url.endswith("/committee/corrections?exam=MINI&item=TWK-000&key_index=1")

    page.wait_for_selector("#view-correction:not([hidden])")
    assert page.input_value("#correction-exam") == "MINI"
    assert page.input_value("#correction-item") == "TWK-000"
    page.wait_for_selector("#item-info:not([hidden])")
    assert "Kemungkinan kunci salah" in page.inner_text("#item-info")
    assert page.input_value("#correction-key") == "B"
    assert page.is_checked('input[name=kind][value="correct_key"]')

    # The reason is required; then the dry run.
    page.click("#dry-run-button")
    assert page.inner_text("#correction-error") == "Tuliskan alasannya (minimal 3 karakter)."
    page.fill("#correction-reason", "Kunci TWK-000 seharusnya B")
    page.click("#dry-run-button")
    page.wait_for_selector("#plan:not([hidden])")
    assert page.inner_text("#plan-heading") == "Hasil Simulasi"
    counts = page.eval_on_selector_all(
        "#plan-counts li",
        "items => items.map(i => [i.dataset.count, i.querySelector('strong').textContent])",
    )
    assert counts == [
        ["attempts_with_item", "31"],
        ["attempts_changed", "31"],
        ["pass_changes", "1"],
    ]
    changed = page.locator(f'#attempts-body tr[data-pseudonym="{moved}"] td')
    assert [changed.nth(i).inner_text() for i in range(4)] == [
        "15",
        "20",
        "TWK 5 → 10",
        "Tidak Lulus → Lulus",
    ]
    assert page.locator("#attempts-body tr").count() == 31
    ranked = page.locator(f'#ranking-changes [data-formation="F1"] tr[data-pseudonym="{moved}"] td')
    assert ranked.nth(0).inner_text() == "— → 17"
    assert ranked.nth(1).inner_text() == "T/L → P"
    # A dry run changes nothing.
    still = public.get("/api/v1/public/rankings/MINI").json()["formations"][0]
    assert still["snapshot"]["number"] == 1

    # Editing the form after the dry run: applying needs a new run.
    page.fill("#correction-reason", "Kunci TWK-000 seharusnya B (hasil telaah)")
    assert page.is_disabled("#apply-button")
    assert page.is_visible("#plan-stale")
    page.click("#dry-run-button")
    page.wait_for_function("() => !document.querySelector('#apply-button').disabled")

    # Apply, with a confirmation that starts on Batal.
    page.click("#apply-button")
    page.wait_for_selector("#apply-dialog[open]")
    assert page.evaluate("() => document.activeElement.id") == "apply-cancel"
    assert "31 peserta" in page.inner_text("#apply-text")
    page.click("#apply-confirm")
    page.wait_for_selector("#applied-box:not([hidden])")
    assert page.inner_text("#plan-heading") == "Koreksi Diterapkan"
    assert page.inner_text("#applied-text").startswith(
        "Koreksi diterapkan sebagai revisi penilaian 1."
    )
    assert page.is_hidden("#apply-box")

    # The public ranking has moved, and says who moved and why.
    page.click("#applied-link")
    page.wait_for_selector(".ranking-table tbody tr")
    assert "ke-2" in page.inner_text(".formation .facts")
    row = page.locator(f'.ranking-table tr[data-pseudonym="{moved}"]')
    assert row.locator(".status-code").inner_text() == "P"
    assert row.locator("td").first.inner_text() == "17"
    diff = page.inner_text(".diff")
    assert "key correction of TWK-000 v1: Kunci TWK-000 seharusnya B (hasil telaah)" in diff
    moved_row = page.locator(f'.diff tr:has-text("{moved}") td')
    assert moved_row.nth(1).inner_text() == "T/L → P"
    public.close()


def test_the_corrections_page_on_its_own_asks_for_a_login_and_reports_errors(page, committee):
    page.set_viewport_size({"width": 1024, "height": 768})
    page.goto("/committee/corrections?exam=MINI&item=TKP-001")
    page.wait_for_selector("#view-login:not([hidden])")
    page.fill("#staff-username", committee.login[0])
    page.fill("#staff-password", committee.login[1])
    page.click("#staff-login-form button[type=submit]")
    page.wait_for_selector("#view-correction:not([hidden])")
    assert page.input_value("#correction-item") == "TKP-001"
    # A weighted item: setting points offers one field per option, with its current points.
    page.check('input[name=kind][value="set_points"]')
    page.wait_for_selector("#fields-set_points:not([hidden])")
    assert page.input_value("#points-A") == "5"
    page.check('input[name=kind][value="annul"]')
    page.check('input[name=mode][value="drop"]')
    page.fill("#correction-item", "TIDAK-ADA")
    page.fill("#correction-reason", "butir tidak ada")
    page.click("#dry-run-button")
    page.wait_for_selector("#correction-error:not([hidden])")
    assert page.inner_text("#correction-error").startswith("Tidak ditemukan:")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 1024
