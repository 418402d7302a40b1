"""Candidate PIN lockout that outsiders cannot turn against candidates.

Wrong PINs are limited per (candidate, client) and per client; nobody locks a candidate from
another PC; a room behind one address that mistypes and then gets in adds up to nothing; the
sitting's proctor sees a locked candidate on the seat list and clears it (or reissues the PIN);
behind a reverse proxy only trusted proxies' X-Forwarded-For is believed.
"""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.models.staff import Role
from app.services import exams as exam_service
from app.trusted_proxies import parse_networks, real_client
from tests.conftest import make_settings
from tests.support.factory import MiniExam, mini_exam

REASON = {"reason": "identitas diperiksa pengawas"}
VICTIM = "2026000001"


def from_address(app: FastAPI, address: str) -> TestClient:
    """A client whose connection comes from ``address`` (the app's lifespan already runs)."""
    return TestClient(app, client=(address, 50000))


def login(client: TestClient, nomor: str, pin: str) -> int:
    response = client.post("/api/v1/candidate/login", json={"nomor_peserta": nomor, "pin": pin})
    if response.status_code == 429:
        assert int(response.headers["Retry-After"]) > 0
    return response.status_code


@pytest.fixture
def exam(db, clock, app, client) -> MiniExam:
    return mini_exam(db, clock, app.state.secret, candidates=3)


@pytest.fixture
def proctor(client, exam, make_staff, db, clock) -> dict[str, str]:
    username, password = make_staff(Role.PROCTOR, None)
    with db.session() as session:
        exam_service.assign_proctor(
            session, exam.sitting_id, username, actor="test", now=clock.now()
        )
    token = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def seat_of(client: TestClient, exam: MiniExam, proctor: dict[str, str], nomor: str) -> dict:
    seats = client.get(f"/api/v1/sittings/{exam.sitting_id}/seats", headers=proctor)
    assert seats.status_code == 200, seats.text
    return next(s for s in seats.json()["seats"] if s["nomor_peserta"] == nomor)


def lock_out(app: FastAPI, address: str, nomor: str, settings) -> None:
    """Wrong PINs for ``nomor`` from ``address`` until its lock answers."""
    attacker = from_address(app, address)
    for _ in range(settings.login_max_failures):
        assert login(attacker, nomor, "000000") == 401
    assert login(attacker, nomor, "000000") == 429


def test_wrong_pins_from_another_pc_never_lock_the_candidate(app, exam, settings):
    lock_out(app, "10.0.0.66", VICTIM, settings)
    # The attacker's PC stays locked for this candidate, even with the right PIN...
    assert login(from_address(app, "10.0.0.66"), VICTIM, exam.pin_of(VICTIM)) == 429
    # ...but the candidate at their own PC gets in.
    assert login(from_address(app, "10.0.0.7"), VICTIM, exam.pin_of(VICTIM)) == 200


def test_a_lock_is_not_renewed_by_tries_during_it(app, exam, settings, clock):
    from datetime import timedelta

    lock_out(app, "10.0.0.66", VICTIM, settings)
    clock.advance(timedelta(minutes=settings.login_lockout_minutes - 1))
    assert login(from_address(app, "10.0.0.66"), VICTIM, "000000") == 429
    clock.advance(timedelta(minutes=1, seconds=1))
    assert login(from_address(app, "10.0.0.66"), VICTIM, exam.pin_of(VICTIM)) == 200


def test_a_room_behind_one_address_that_mistypes_then_gets_in_is_never_locked(
    db, clock, app, client, settings
):
    # The client limit is 20 x the candidate limit (100 by default); with 2, it is 40.
    settings.login_max_failures = 2
    room = mini_exam(db, clock, app.state.secret, candidates=45)
    nat = from_address(app, "192.0.2.1")
    for issued in room.pins:
        assert login(nat, issued.nomor_peserta, "000000") == 401
        assert login(nat, issued.nomor_peserta, issued.pin) == 200, issued.nomor_peserta


def test_one_address_spraying_many_candidates_is_locked_alone(db, clock, app, client, settings):
    settings.login_max_failures = 2
    built = mini_exam(db, clock, app.state.secret, candidates=42)
    sprayer = from_address(app, "203.0.113.9")
    limit = settings.login_max_failures * 20
    statuses = [login(sprayer, p.nomor_peserta, "000000") for p in built.pins[: limit + 1]]
    assert statuses == [401] * limit + [429]
    # The sprayer's address is locked for every candidate; other PCs are not.
    last = built.pins[-1]
    assert login(sprayer, last.nomor_peserta, last.pin) == 429
    assert login(from_address(app, "10.0.0.8"), last.nomor_peserta, last.pin) == 200


def test_the_proctor_sees_the_locked_candidate_and_unlocks_them(
    app, client, exam, proctor, settings, db
):
    assert seat_of(client, exam, proctor, VICTIM)["login_locked_until"] is None
    lock_out(app, "10.0.0.7", VICTIM, settings)
    seat = seat_of(client, exam, proctor, VICTIM)
    assert seat["login_locked_until"] is not None
    assert seat["login_locked_from"] == ["10.0.0.7"]
    assert seat_of(client, exam, proctor, "2026000002")["login_locked_until"] is None

    unlocked = client.post(
        f"/api/v1/sittings/{exam.sitting_id}/candidates/{VICTIM}/unlock",
        json=REASON,
        headers=proctor,
    )
    assert unlocked.status_code == 200, unlocked.text
    assert unlocked.json() == {"subject": VICTIM, "clients": ["10.0.0.7"]}
    assert seat_of(client, exam, proctor, VICTIM)["login_locked_until"] is None
    assert login(from_address(app, "10.0.0.7"), VICTIM, exam.pin_of(VICTIM)) == 200

    from app.repositories import audit as audit_repo
    from app.services import audit

    with db.read_session() as session:
        events = [e for e in audit_repo.iter_events(session) if e.action == "candidate.unlock"]
        assert audit.verify(session).intact
    assert [e.chain for e in events] == [audit.sitting_chain(exam.sitting_id)]
    assert "10.0.0.7" in events[0].payload


def test_a_candidate_kept_out_by_a_locked_address_shows_and_is_unlocked(
    app, client, exam, proctor, settings
):
    settings.login_max_failures = 1  # the address limit becomes 20
    sprayer = from_address(app, "198.51.100.4")
    for i in range(20):
        assert login(sprayer, f"2099{i:06d}", "000000") == 401
    # The candidate at that address is refused by the address's lock, not by their own.
    assert login(sprayer, VICTIM, exam.pin_of(VICTIM)) == 429
    assert seat_of(client, exam, proctor, VICTIM)["login_locked_from"] == ["198.51.100.4"]
    unlocked = client.post(
        f"/api/v1/sittings/{exam.sitting_id}/candidates/{VICTIM}/unlock",
        json=REASON,
        headers=proctor,
    )
    assert unlocked.json()["clients"] == ["198.51.100.4"]
    assert login(sprayer, VICTIM, exam.pin_of(VICTIM)) == 200


def test_reissuing_the_pin_clears_the_lock(app, client, exam, proctor, settings):
    lock_out(app, "10.0.0.7", VICTIM, settings)
    issued = client.post(
        f"/api/v1/sittings/{exam.sitting_id}/pins",
        json={"nomor_peserta": VICTIM, **REASON},
        headers=proctor,
    )
    assert issued.status_code == 200, issued.text
    assert seat_of(client, exam, proctor, VICTIM)["login_locked_until"] is None
    assert login(from_address(app, "10.0.0.7"), VICTIM, issued.json()[0]["pin"]) == 200


def test_unlocking_someone_not_on_the_roster_is_404(client, exam, proctor):
    response = client.post(
        f"/api/v1/sittings/{exam.sitting_id}/candidates/2099999999/unlock",
        json=REASON,
        headers=proctor,
    )
    assert response.status_code == 404
    assert "2099999999" in response.json()["detail"]


# -- behind a reverse proxy -------------------------------------------------------------------


@pytest.fixture
def proxied_app(database_url, tmp_path, db, clock) -> FastAPI:
    from app.main import create_app

    settings = make_settings(database_url, tmp_path / "var", trusted_proxies="10.9.9.9/32")
    return create_app(settings, db=db, clock=clock)


def test_behind_a_trusted_proxy_the_forwarded_client_counts_not_a_spoofed_one(
    proxied_app, db, clock
):
    with TestClient(proxied_app, client=("10.9.9.9", 40000)) as proxy:
        exam = mini_exam(db, clock, proxied_app.state.secret, candidates=1)

        def through_proxy(forwarded_for: str, pin: str) -> int:
            response = proxy.post(
                "/api/v1/candidate/login",
                json={"nomor_peserta": VICTIM, "pin": pin},
                headers={"X-Forwarded-For": forwarded_for},
            )
            return response.status_code

        # The attacker claims to be the victim's PC; the proxy appends the real address.
        limit = proxied_app.state.settings.login_max_failures
        for _ in range(limit):
            assert through_proxy("10.0.0.7, 203.0.113.5", "000000") == 401
        assert through_proxy("10.0.0.7, 203.0.113.5", exam.pin_of(VICTIM)) == 429
        assert through_proxy("10.0.0.7", exam.pin_of(VICTIM)) == 200


def test_forwarded_for_from_an_untrusted_peer_is_ignored(app, client, exam, settings):
    attacker = from_address(app, "10.0.0.66")
    for _ in range(settings.login_max_failures):
        response = attacker.post(
            "/api/v1/candidate/login",
            json={"nomor_peserta": VICTIM, "pin": "000000"},
            headers={"X-Forwarded-For": "10.0.0.7"},
        )
        assert response.status_code == 401
    # Counted against 10.0.0.66, not the address it claimed: the victim's PC is not locked.
    assert login(from_address(app, "10.0.0.7"), VICTIM, exam.pin_of(VICTIM)) == 200


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("203.0.113.5", ["1.2.3.4"], "203.0.113.5"),  # not a proxy: the header is ignored
        ("10.9.9.9", ["1.2.3.4, 203.0.113.5"], "203.0.113.5"),  # the hop the proxy saw
        ("10.9.9.9", ["1.2.3.4", "203.0.113.5, 10.9.9.8"], "203.0.113.5"),  # two proxies
        ("10.9.9.9", [], "10.9.9.9"),  # no header: the proxy itself
        ("10.9.9.9", ["garbage, 10.9.9.8"], "10.9.9.8"),  # stops at what is not an address
        ("10.9.9.9", ["2001:db8::7"], "2001:db8::7"),
    ],
)
def test_real_client_reads_forwarded_for_right_to_left(peer, forwarded, client):
    trusted = parse_networks("10.9.9.0/24")
    assert real_client(peer, forwarded, trusted) == client


def test_a_bad_trusted_proxy_setting_is_refused_naming_the_entry(tmp_path):
    with pytest.raises(ValueError, match=r"'10\.0\.0\.300/8' is not an IPv4 or IPv6 network"):
        make_settings("sqlite://", tmp_path, trusted_proxies="10.0.0.0/8, 10.0.0.300/8")
