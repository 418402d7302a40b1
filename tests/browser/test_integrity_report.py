"""The committee's integrity page in a real browser: the planted copier of ROOM (see
tests/api/test_integrity.py) is ranked first with its reason naming the neighbour's seat, and a
decision recorded on the page is shown and stored."""

from __future__ import annotations

import pytest

from app.clock import Clock
from app.models.staff import Role
from tests.api.test_integrity import COPIER_SEAT, SOURCE_SEAT, build_room, sit_room
from tests.browser.scenarios import app_client, bearer, module_server, staff_account

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def integrity_room(_session_db, database_url, tmp_path_factory):
    folder = tmp_path_factory.mktemp("integrity")
    login = staff_account(_session_db, Role.COMMITTEE)
    with module_server(_session_db, database_url, folder) as server:
        with app_client(_session_db, database_url, folder) as client:
            clock: Clock = client.app.state.services.clock
            sitting_id, pins = build_room(_session_db, clock, client.app.state.secret)
            attempts = sit_room(client, _session_db, clock, bearer(client, *login), pins)
        yield server, login, sitting_id, attempts


@pytest.fixture
def context(browser, integrity_room):
    server = integrity_room[0]
    ctx = browser.new_context(base_url=server.url, viewport={"width": 1366, "height": 900})
    errors: list[str] = []
    ctx.on("weberror", lambda error: errors.append(str(error.error)))
    ctx.on(
        "console",
        lambda message: (
            errors.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()
    assert errors == [], f"script errors or policy violations: {errors}"


def test_the_copier_is_ranked_first_with_its_reason_and_a_decision_is_recorded(
    context, integrity_room
):
    _server, login, sitting_id, attempts = integrity_room
    page = context.new_page()
    page.goto(f"/committee/integrity?exam=ROOM&sitting={sitting_id}&row_length=4")
    page.wait_for_selector("#view-login:not([hidden])")
    page.fill("#staff-username", login[0])
    page.fill("#staff-password", login[1])
    page.click("#staff-login-form button[type=submit]")
    page.wait_for_selector("#integrity-list li.integrity-attempt")

    first = page.locator("#integrity-list li.integrity-attempt").first
    assert first.get_attribute("data-attempt") == str(attempts[COPIER_SEAT])
    reason = first.locator('[data-flag="similar_neighbour"]').inner_text()
    assert f"sama dengan peserta di kursi {SOURCE_SEAT}" in reason
    assert first.locator('[data-flag="pauses"]').count() == 1
    # The answer-time strip and the room map are drawn inline.
    assert first.locator("svg").count() == 1
    assert page.locator("#room-map svg").count() == 1

    first.locator("select[name=decision]").select_option("referred")
    first.locator("input[name=reason]").fill("Periksa rekaman CCTV kursi 7 dan 8")
    first.locator("button[type=submit]").click()
    page.wait_for_function(
        "() => document.querySelector('#integrity-list li [data-field=decision]')"
        ".textContent.includes('CCTV')"
    )
    assert (
        first.locator("[data-field=decision]")
        .inner_text()
        .startswith("Diteruskan untuk pemeriksaan")
    )

    # DIF by region: the groups' sizes are shown, and both groups are far below the minimum.
    page.select_option("#dif-group", "region")
    page.click("#dif-form button[type=submit]")
    page.wait_for_function("() => document.querySelector('#dif-sizes').textContent !== ''")
    assert page.inner_text("#dif-sizes") == "Kelompok (acuan jawa): jawa 8, luar_jawa 8"
    assert "luar_jawa" in page.inner_text("#dif-small")
