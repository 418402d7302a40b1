"""The proctor console shows a candidate locked out by wrong PINs and unlocks them."""

from __future__ import annotations

import httpx
import pytest

from app.models.staff import Role
from app.services import exams as exam_service
from tests.browser.test_proctor import open_console, seat

pytestmark = pytest.mark.browser

NOMOR = "2026000001"


def login_status(server, pin: str) -> int:
    response = httpx.post(
        f"{server.url}/api/v1/candidate/login",
        json={"nomor_peserta": NOMOR, "pin": pin},
        timeout=10,
    )
    return response.status_code


def test_the_console_alerts_on_a_locked_candidate_and_unlocks_them(
    browser, server, exam, db, clock, make_staff
):
    username, password = make_staff(Role.PROCTOR, "pengawas-kunci")
    with db.session() as session:
        exam_service.assign_proctor(
            session, exam.sitting_id, username, actor="test", now=clock.now()
        )
    statuses = [login_status(server, "000000") for _ in range(6)]
    assert statuses == [401] * 5 + [429]

    context, console = open_console(browser, server, (username, password))
    try:
        console.wait_for_selector("#lock-alert:not([hidden])")
        assert "Peserta 1 (1)" in console.inner_text("#lock-alert")
        locked = seat(console, 1)
        assert locked.get_attribute("data-login-locked") is not None
        assert "127.0.0.1" in locked.locator('[data-status="login_locked"]').get_attribute("title")
        assert seat(console, 2).get_attribute("data-login-locked") is None

        locked.locator("button").click()
        console.click('#action-choices [data-choice="unlock"]')
        console.fill("#action-reason", "identitas sudah dicek")
        console.click("#action-submit")
        console.wait_for_selector("#action-dialog:not([open])", state="attached")
        console.wait_for_selector("#lock-alert", state="hidden")
        assert seat(console, 1).get_attribute("data-login-locked") is None
    finally:
        context.close()
    assert login_status(server, exam.pin_of(NOMOR)) == 200
