"""The proctor console in a real browser, next to a candidate's exam: a pause stops the
candidate's countdown and the resume gives the time back; the console's controls and PINs."""

from __future__ import annotations

import time

import httpx
import pytest

from app.models.staff import Role
from app.services import exams as exam_service
from tests.browser.journey import (
    answer,
    log_in,
    server_answers,
    start,
    timer_seconds,
    token,
    wait_saved,
)

pytestmark = pytest.mark.browser

NOMOR = "2026000001"


@pytest.fixture
def proctor_login(db, clock, exam, make_staff):
    """A proctor account assigned to the exam's sitting."""
    username, password = make_staff(Role.PROCTOR, "pengawas-ruang-1")
    with db.session() as session:
        exam_service.assign_proctor(
            session, exam.sitting_id, username, actor="test", now=clock.now()
        )
    return username, password


def console_login(browser, server, username, password):
    """A browser on the proctor console that has just sent ``username``'s login."""
    context = browser.new_context(base_url=server.url, viewport={"width": 1366, "height": 768})
    context.set_default_timeout(10_000)
    console = context.new_page()
    console.goto("/proctor")
    console.fill("#staff-username", username)
    console.fill("#staff-password", password)
    console.click("#staff-login-form button[type=submit]")
    return context, console


def open_console(browser, server, proctor_login):
    """A proctor's browser on the sitting's seat console."""
    context, console = console_login(browser, server, *proctor_login)
    console.wait_for_selector("#view-sittings:not([hidden])")
    console.click("#sittings-body a")
    console.wait_for_selector("#view-console:not([hidden]) #seats-body tr")
    return context, console


def seat(console, number):
    return console.locator("#seats-body tr").nth(number - 1)


def seat_action(console, number, action, reason, minutes=None):
    """Open a seat's Tindakan dialog, pick ``action``, give the reason and confirm."""
    seat(console, number).locator("button").click()
    console.click(f'#action-choices [data-choice="{action}"]')
    if minutes is not None:
        console.fill("#action-minutes", str(minutes))
    console.fill("#action-reason", reason)
    console.click("#action-submit")
    console.wait_for_selector("#action-dialog:not([open])", state="attached")


def wait_status(console, number, text):
    console.wait_for_function(
        "([n, text]) => document.querySelectorAll('#seats-body tr')[n - 1]"
        "?.querySelector('.badge')?.textContent === text",
        arg=[number, text],
    )


def test_a_proctor_pause_stops_the_candidate_clock_and_resume_gives_it_back(
    browser, page, server, exam, proctor_login
):
    log_in(page, NOMOR, exam.pin_of(NOMOR))
    start(page)
    answer(page, "A")
    wait_saved(page)
    context, console = open_console(browser, server, proctor_login)
    try:
        wait_status(console, 1, "Mengerjakan")
        assert seat(console, 1).locator("td").nth(4).inner_text() == "1/5"

        seat_action(console, 1, "pause", "PC mati, diganti")
        wait_status(console, 1, "Dijeda")
        paused_at = time.monotonic()

        # The candidate keeps answering: the server refuses, the screen shows the pause and
        # keeps the answer queued.
        page.click("#next-button")
        answer(page, "B")
        page.wait_for_selector("#paused-dialog[open]")
        assert page.inner_text("#paused-title") == "Ujian dijeda"
        frozen = timer_seconds(page)
        # While paused the screen asks only for the clock, not for the whole form again: a
        # room of paused screens must not reload every item every few seconds.
        polled: list[str] = []
        page.on(
            "request",
            lambda request: (
                polled.append(request.url.split("/api/v1/")[-1])
                if "/api/v1/attempts/current" in request.url
                else None
            ),
        )
        page.wait_for_timeout(4500)
        assert timer_seconds(page) == frozen
        assert "attempts/current/clock" in polled
        assert "attempts/current" not in polled
        assert page.get_attribute("#save-state", "data-state") == "paused"
        bearer = token(page)
        assert 2 not in server_answers(server.url, bearer)

        seat_action(console, 1, "resume", "PC pengganti siap")
        wait_status(console, 1, "Mengerjakan")
        paused_for = time.monotonic() - paused_at
        assert paused_for > 4

        page.wait_for_selector("#paused-dialog:not([open])", state="attached", timeout=8000)
        wait_saved(page)
        assert server_answers(server.url, bearer)[2] == ("B", False)
        # The time of the pause is given back: the clock resumes from where it stood.
        resumed = timer_seconds(page)
        assert frozen - 2 <= resumed <= frozen
        page.wait_for_timeout(1500)
        assert timer_seconds(page) < resumed
    finally:
        context.close()


def test_the_console_adds_minutes_pauses_the_room_and_reissues_pins(
    browser, server, exam, proctor_login
):
    api = httpx.Client(base_url=server.url, timeout=10)
    login = api.post(
        "/api/v1/candidate/login", json={"nomor_peserta": NOMOR, "pin": exam.pin_of(NOMOR)}
    ).json()
    headers = {"Authorization": f"Bearer {login['access_token']}"}
    api.post("/api/v1/attempts/current/start", headers=headers)

    context, console = open_console(browser, server, proctor_login)
    try:
        assert console.inner_text("#sitting-status") == "Dibuka"
        wait_status(console, 1, "Mengerjakan")
        wait_status(console, 2, "Belum hadir")
        assert console.inner_text('#counts [data-status="in_progress"] strong') == "1"

        seat_action(console, 1, "extend", "komputer hang", minutes=15)
        console.wait_for_function(
            "() => document.querySelector('#seats-body tr').children[6].textContent === '+15 mnt'"
        )
        state = api.get("/api/v1/attempts/current", headers=headers).json()
        assert 1490 <= state["remaining_seconds"] <= 1500

        # A reason is required before anything happens.
        console.click('[data-sitting-action="pause"]')
        console.click("#action-submit")
        assert console.is_visible("#action-error")
        console.fill("#action-reason", "listrik padam")
        console.click("#action-submit")
        wait_status(console, 1, "Dijeda")
        assert console.inner_text("#sitting-status") == "Dijeda"
        assert api.get("/api/v1/attempts/current", headers=headers).json()["paused"] is True
        console.click('[data-sitting-action="resume"]')
        console.fill("#action-reason", "listrik pulih")
        console.click("#action-submit")
        wait_status(console, 1, "Mengerjakan")

        # The PIN sheet issues new PINs, after a warning: the old ones stop working.
        console.click("#pin-sheet-button")
        assert "PIN BARU" in console.inner_text("#action-description")
        console.fill("#action-reason", "lembar PIN hilang")
        console.click("#action-submit")
        console.wait_for_selector("#pin-sheet:not([hidden]) .pin-card")
        cards = console.locator(".pin-card")
        assert cards.count() == 2
        other = "2026000002"
        new_pin = next(
            cards.nth(i).locator(".pin-value").inner_text()
            for i in range(2)
            if cards.nth(i).locator(".pin-nomor").inner_text() == other
        )
        old = api.post(
            "/api/v1/candidate/login", json={"nomor_peserta": other, "pin": exam.pin_of(other)}
        )
        assert old.status_code == 401
        fresh = api.post("/api/v1/candidate/login", json={"nomor_peserta": other, "pin": new_pin})
        assert fresh.status_code == 200
        console.click("#pin-sheet-close")
        assert console.locator(".pin-card").count() == 0
        wait_status(console, 2, "Sudah masuk")
    finally:
        context.close()


def test_only_proctor_accounts_get_in_and_logging_out_forgets_the_token(
    browser, server, proctor_login, make_staff
):
    context, page = console_login(browser, server, *make_staff(Role.COMMITTEE, "panitia-satu"))
    page.wait_for_selector("#staff-login-error:not([hidden])")
    assert page.inner_text("#staff-login-error") == (
        "Akun ini bukan akun pengawas. Konsol ini hanya untuk pengawas sesi."
    )
    assert page.evaluate("() => sessionStorage.getItem('ujian.staff.token')") is None
    context.close()

    # A token revoked while the console is open: the next poll lands on the login, the seat
    # console's address and the token forgotten.
    context, console = open_console(browser, server, proctor_login)
    staff_token = console.evaluate("() => sessionStorage.getItem('ujian.staff.token')")
    assert console.evaluate("() => location.hash").startswith("#sesi-")
    revoked = httpx.delete(
        f"{server.url}/api/v1/auth/token", headers={"Authorization": f"Bearer {staff_token}"}
    )
    assert revoked.status_code in (200, 204)
    console.wait_for_selector("#view-login:not([hidden])")
    assert console.inner_text("#staff-login-error") == "Sesi masuk berakhir. Silakan masuk kembali."
    assert console.evaluate("() => sessionStorage.getItem('ujian.staff.token')") is None
    assert console.evaluate("() => location.hash") == ""

    # Logging in again and out from the list of sittings.
    console.fill("#staff-username", proctor_login[0])
    console.fill("#staff-password", proctor_login[1])
    console.click("#staff-login-form button[type=submit]")
    console.wait_for_selector("#view-sittings:not([hidden])")
    console.click("#view-sittings [data-action=logout]")
    console.wait_for_selector("#view-login:not([hidden])")
    assert console.evaluate("() => sessionStorage.getItem('ujian.staff.token')") is None
    context.close()
