"""The answer path (the ASGI shortcut in front of ``PUT /attempts/current/responses/{p}``)
answers every attempt state and every kind of request body exactly as the documented route does.

Each test builds one attempt state twice, once for the app as served (the shortcut in front) and
once for the app without the shortcut (every save through the router), sends the same sequence
of requests to both and compares, request by request, the status, the raw body and the headers a
client acts on, and then the rows stored (responses, response events, the attempt row). The
clock is frozen, so even time stamps and remaining seconds must agree.

The two candidates get different shuffles; stored options are compared as the letter each
candidate was shown, which is what the device sent.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from app.api.answer_path import MAX_BODY, AnswerPath
from app.clock import Clock
from app.main import create_app
from app.models.attempt import Attempt, Response, ResponseEvent
from app.models.integrity import ItemViewBatch
from app.models.sitting import Sitting
from app.services import device_moves, proctoring
from app.settings import Settings
from tests.conftest import make_settings
from tests.support.factory import MiniExam, mini_exam

DURATION = timedelta(minutes=10)  # mini_exam's default duration
GRACE_SECONDS = 5.0


class FrozenClock(Clock):
    """A clock that moves only when the test moves it (and can be set back for the twin run)."""

    def __init__(self, at: datetime) -> None:
        super().__init__()
        self._at = at

    def now(self) -> datetime:
        return self._at + self._offset

    def set(self, at: datetime) -> None:
        with self._lock:
            self._at = at
            self._offset = timedelta(0)


T0 = datetime(2026, 11, 2, 7, 30, tzinfo=UTC)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture
def settings(database_url, tmp_path):
    # The periodic sweep would finish an expired attempt at a moment of its choosing; only the
    # wake-up a refused late save sends may run it here, so both runs see the same sequence.
    return make_settings(
        database_url,
        tmp_path / "var",
        sweeper_interval_seconds=3600.0,
        save_grace_seconds=GRACE_SECONDS,
    )


@pytest.fixture
def route_only(settings, db, clock) -> Iterator[TestClient]:
    """The same service without the answer path: every save goes through the router."""
    app = create_app(settings, db=db, clock=clock)
    app.user_middleware = [m for m in app.user_middleware if m.cls is not AnswerPath]
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def exam(db, clock, app) -> MiniExam:
    return mini_exam(db, clock, app.state.secret, candidates=2)


# -- request classes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One request: where it goes, what it carries and how it is authorized."""

    name: str
    position: str = "1"
    body: bytes | None = None
    content_type: str | None = "application/json"
    auth: str = "token"  # token | none | garbage | basic | lowercase | stale-shape


def j(**fields: Any) -> bytes:
    return json.dumps(fields).encode()


PADDING = b" " * (MAX_BODY + 10)
OVER_LIMIT = b" " * (Settings.model_fields["max_request_bytes"].default + 1)

#: Sent in this order to each attempt: later requests see what earlier ones stored.
CASES: list[Case] = [
    # valid, then the sequence rules (stale, repeated, cleared)
    Case("valid", body=j(option="B", flagged=True, seq=5)),
    Case("valid other position", position="3", body=j(option="A", flagged=False, seq=6)),
    Case("stale seq", body=j(option="C", flagged=False, seq=3)),
    Case("repeated seq", body=j(option="D", flagged=False, seq=5)),
    Case("clear", position="3", body=j(option=None, flagged=False, seq=7)),
    Case("defaults only", position="2", body=j(seq=8)),
    Case("unknown field ignored", position="2", body=j(option="E", seq=9, device="pc-7")),
    Case("leading zero position", position="04", body=j(option="A", seq=10)),
    # item views riding on a save (stored with the server's time of the save)
    Case("with item views", position="5", body=j(option="B", seq=10, views=[[1, 5000], [5, 0]])),
    Case("views not pairs", position="5", body=j(option="C", seq=11, views=[[1]])),
    Case("view position 0", position="5", body=j(option="C", seq=11, views=[[0, 10]])),
    Case("view age negative", position="5", body=j(option="C", seq=11, views=[[1, -1]])),
    Case("too many views", position="5", body=j(option="C", seq=11, views=[[1, 0]] * 65)),
    # invalid JSON and wrong shapes
    Case("invalid json", body=b'{"option": "A", "seq":'),
    Case("empty body", body=b""),
    Case("json array", body=b'[{"option": "A", "seq": 11}]'),
    Case("json null", body=b"null"),
    Case("not utf-8", body=b'{"option": "\xff", "seq": 11}'),
    Case("lone surrogate", body=b'{"option": "\\ud800", "seq": 11}'),
    # wrong types and out-of-range values
    Case("flag not boolean", body=j(option="A", flagged="maybe", seq=11)),
    Case("option a number", body=j(option=1, seq=11)),
    Case("seq a string", body=j(option="A", seq="eleven")),
    Case("seq missing", body=j(option="A")),
    Case("seq zero", body=j(option="A", seq=0)),
    Case("seq too large", body=j(option="A", seq=2**63)),
    Case("seq a float", body=j(option="A", seq=11.5)),
    # out-of-range positions
    Case("position 0", position="0", body=j(option="A", seq=12)),
    Case("position past the form", position="6", body=j(option="A", seq=12)),
    Case("position at the limit", position="1000", body=j(option="A", seq=12)),
    Case("position past the limit", position="1001", body=j(option="A", seq=12)),
    Case("position huge", position="99999999999", body=j(option="A", seq=12)),
    Case("position negative", position="-1", body=j(option="A", seq=12)),
    Case("position not a number", position="x1", body=j(option="A", seq=12)),
    # unknown options
    Case("option outside A-F", body=j(option="Z", seq=13)),
    Case("option lowercase", body=j(option="a", seq=13)),
    Case("option F on a five-option item", body=j(option="F", seq=13)),
    Case("option two letters", body=j(option="AB", seq=13)),
    # oversized bodies (the shortcut reads at most MAX_BODY bytes)
    Case("oversized valid", position="5", body=j(option="C", seq=14) + PADDING),
    Case("oversized invalid", body=b'{"option": "Q", "seq": 15}' + PADDING),
    Case(
        "oversized field",
        position="4",
        body=j(option="B", seq=16, note="y" * (MAX_BODY + 10)),
    ),
    # over every route's body limit (UJIAN_MAX_REQUEST_BYTES): 413 before the body is read
    Case("over the request limit", position="5", body=j(option="D", seq=16) + OVER_LIMIT),
    # other content types
    Case("no content type", body=j(option="A", seq=17), content_type=None),
    Case("text/plain", body=j(option="A", seq=17), content_type="text/plain"),
    Case(
        "charset",
        position="2",
        body=j(option="B", seq=18),
        content_type=("application/json; charset=utf-8"),
    ),
    Case(
        "upper case type", position="2", body=j(option="C", seq=19), content_type="Application/JSON"
    ),
    Case(
        "+json type",
        position="2",
        body=j(option="D", seq=20),
        content_type="application/merge-patch+json",
    ),
    Case("form encoded", body=b"option=A&seq=21", content_type="application/x-www-form-urlencoded"),
    Case("json-like type", body=j(option="E", seq=21), content_type="application/jsonx"),
    # tokens
    Case("no token", body=j(option="A", seq=22), auth="none"),
    Case("garbage token", body=j(option="A", seq=22), auth="garbage"),
    Case("basic scheme", body=j(option="A", seq=22), auth="basic"),
    Case("lower-case scheme", position="2", body=j(option="A", seq=23), auth="lowercase"),
    Case("tampered token", body=j(option="A", seq=24), auth="tampered"),
    Case("no token, invalid body", body=b"{", auth="none"),
    # the last word: a valid save after all of the above
    Case("valid again", body=j(option="E", flagged=False, seq=30)),
]


def authorization(case: Case, token: str) -> dict[str, str]:
    if case.auth == "none":
        return {}
    if case.auth == "garbage":
        return {"Authorization": "Bearer nonsense"}
    if case.auth == "basic":
        return {"Authorization": "Basic YWxhZGRpbjpvcGVuc2VzYW1l"}
    if case.auth == "lowercase":
        return {"Authorization": f"bearer {token}"}
    if case.auth == "tampered":
        attempt, generation, issued, signature = token.split(".")
        return {"Authorization": f"Bearer {attempt}.{int(generation) + 1}.{issued}.{signature}"}
    return {"Authorization": f"Bearer {token}"}


# -- attempt states -----------------------------------------------------------------------------


@dataclass
class Run:
    """One candidate's attempt, brought into a state through one of the two apps."""

    client: TestClient
    nomor: str
    pin: str
    sitting_id: int
    clock: FrozenClock
    db: Any
    token: str = ""
    attempt_id: int = 0

    def login(self) -> str:
        response = self.client.post(
            "/api/v1/candidate/login",
            json={"nomor_peserta": self.nomor, "pin": self.pin},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        self.attempt_id = body["attempt_id"]
        return str(body["access_token"])

    def start(self) -> None:
        response = self.client.post(
            "/api/v1/attempts/current/start", headers={"Authorization": f"Bearer {self.token}"}
        )
        assert response.status_code == 200, response.text

    def proctor(self, action: Callable[..., Any], subject: int) -> None:
        with self.db.session() as session:
            action(session, subject, now=self.clock.now(), actor="test", reason="matrix")


def run_of(client: TestClient, exam: MiniExam, nomor: str, clock: FrozenClock, db: Any) -> Run:
    return Run(client, nomor, exam.pin_of(nomor), exam.sitting_id, clock, db)


def _not_started(run: Run) -> None:
    run.token = run.login()


def _in_progress(run: Run) -> None:
    run.token = run.login()
    run.start()


def _paused_by_proctor(run: Run) -> None:
    _in_progress(run)
    run.proctor(proctoring.pause_attempt, run.attempt_id)


def _paused_sitting(run: Run) -> None:
    _in_progress(run)
    run.proctor(proctoring.pause_sitting, run.sitting_id)


def _within_grace(run: Run) -> None:
    _in_progress(run)
    run.clock.advance(DURATION + timedelta(seconds=GRACE_SECONDS / 2))


def _past_grace(run: Run) -> None:
    _in_progress(run)
    run.clock.advance(DURATION + timedelta(seconds=GRACE_SECONDS + 1))


def _finished(run: Run) -> None:
    _in_progress(run)
    response = run.client.post(
        "/api/v1/attempts/current/finish",
        json={"confirm": True},
        headers={"Authorization": f"Bearer {run.token}"},
    )
    assert response.status_code == 200, response.text


def _voided(run: Run) -> None:
    _in_progress(run)
    run.proctor(proctoring.void_attempt, run.attempt_id)


def _second_pc_login(run: Run) -> int:
    """The candidate logs in on another PC: the move waits for the proctor (its request id)."""
    response = run.client.post(
        "/api/v1/candidate/login", json={"nomor_peserta": run.nomor, "pin": run.pin}
    )
    assert response.status_code == 409, response.text
    assert response.json()["error"] == "DeviceMovePending"
    return int(response.json()["request_id"])


def _move_waiting(run: Run) -> None:
    _in_progress(run)
    _second_pc_login(run)  # until the proctor answers, this device keeps writing


def _moved_by_login(run: Run) -> None:
    _in_progress(run)
    request_id = _second_pc_login(run)
    with run.db.session() as session:  # the proctor approves; this device keeps the old token
        device_moves.approve(
            session, run.attempt_id, request_id, now=run.clock.now(), actor="test", reason="matrix"
        )


def _set_device_moves(run: Run, rule: str | None) -> None:
    with run.db.session() as session:
        session.execute(
            update(Sitting).where(Sitting.id == run.sitting_id).values(device_moves=rule)
        )


def _moved_by_automatic_login(run: Run) -> None:
    _set_device_moves(run, "automatic")
    _in_progress(run)
    run.login()  # the sitting lets a login move the attempt at once


def _undo_automatic(run: Run) -> None:
    _set_device_moves(run, None)


def _moved_by_proctor(run: Run) -> None:
    _in_progress(run)
    run.proctor(proctoring.move_attempt, run.attempt_id)


def _undo_sitting_pause(run: Run) -> None:
    run.proctor(proctoring.resume_sitting, run.sitting_id)


@dataclass(frozen=True)
class State:
    name: str
    build: Callable[[Run], None]
    #: What the first valid save gets: (status, error name or None for an acknowledgement).
    first_save: tuple[int, str | None]
    undo: Callable[[Run], None] | None = None


STATES = [
    State("not started", _not_started, (409, "AttemptNotActive")),
    State("in progress", _in_progress, (200, None)),
    State("paused by proctor", _paused_by_proctor, (409, "AttemptPaused")),
    State("paused sitting", _paused_sitting, (409, "AttemptPaused"), _undo_sitting_pause),
    State("past deadline within grace", _within_grace, (200, None)),
    State("past grace", _past_grace, (409, "DeadlinePassed")),
    State("finished", _finished, (409, "AttemptNotActive")),
    State("voided", _voided, (409, "AttemptNotActive")),
    State("a login elsewhere waiting for the proctor", _move_waiting, (200, None)),
    State("moved by an approved login elsewhere", _moved_by_login, (401, "DeviceReplaced")),
    State(
        "moved by a login elsewhere (automatic)",
        _moved_by_automatic_login,
        (401, "DeviceReplaced"),
        _undo_automatic,
    ),
    State("moved by the proctor", _moved_by_proctor, (401, "DeviceReplaced")),
]

# -- observing ----------------------------------------------------------------------------------

HEADERS_THAT_MATTER = ("content-type", "www-authenticate", "retry-after", "content-length")


def observe(response: Any) -> dict[str, Any]:
    """What a client sees: status, the headers it acts on, and the body byte for byte."""
    return {
        "status": response.status_code,
        "headers": {h: response.headers.get(h) for h in HEADERS_THAT_MATTER},
        "body": response.content.decode("utf-8", "backslashreplace"),
    }


def send(run: Run, case: Case) -> Any:
    headers = authorization(case, run.token)
    if case.content_type is not None:
        headers["Content-Type"] = case.content_type
    return run.client.put(
        f"/api/v1/attempts/current/responses/{case.position}",
        content=case.body if case.body is not None else b"",
        headers=headers,
    )


def wait_finished(run: Run) -> None:
    """A refused late save wakes the sweeper; wait until it has finished the attempt."""
    until = time.monotonic() + 10
    while time.monotonic() < until:
        with run.db.session() as session:
            status = session.scalar(select(Attempt.status).where(Attempt.id == run.attempt_id))
        if status != "in_progress":
            return
        time.sleep(0.01)
    pytest.fail(f"attempt {run.attempt_id} was not finished after a refused late save")


def stored(run: Run) -> dict[str, Any]:
    """The rows the requests left, options as the letter this candidate was shown."""
    with run.db.session() as session:
        attempt = session.get(Attempt, run.attempt_id)
        assert attempt is not None
        form = attempt.form or []

        def shown(position: int, option: int | None) -> str | None:
            if option is None:
                return None
            return "ABCDEF"[list(form[position - 1][1]).index(option)]

        responses = [
            (r.position, shown(r.position, r.option), r.flagged, r.seq, r.saved_at)
            for r in session.scalars(
                select(Response)
                .where(Response.attempt_id == run.attempt_id)
                .order_by(Response.position)
            )
        ]
        events = [
            (e.position, shown(e.position, e.option), e.flagged, e.seq, e.at, e.device_generation)
            for e in session.scalars(
                select(ResponseEvent)
                .where(ResponseEvent.attempt_id == run.attempt_id)
                .order_by(ResponseEvent.id)
            )
        ]
        views = [
            (v.received_at, v.views)
            for v in session.scalars(
                select(ItemViewBatch)
                .where(ItemViewBatch.attempt_id == run.attempt_id)
                .order_by(ItemViewBatch.id)
            )
        ]
        return {
            "responses": responses,
            "events": events,
            "views": views,
            "attempt": {
                "status": attempt.status,
                "finish_reason": attempt.finish_reason,
                "device_generation": attempt.device_generation,
                "deadline_at": attempt.deadline_at,
                "paused_at": attempt.paused_at,
                "finished_at": attempt.finished_at,
                "last_seen_at": attempt.last_seen_at,
            },
        }


def run_matrix(run: Run, state: State, cases: list[Case]) -> tuple[dict[str, Any], dict[str, Any]]:
    run.clock.set(T0)
    state.build(run)
    seen: dict[str, Any] = {}
    for case in cases:
        response = send(run, case)
        seen[case.name] = observe(response)
        if response.status_code == 409 and response.json().get("error") == "DeadlinePassed":
            wait_finished(run)
    rows = stored(run)
    if state.undo is not None:
        state.undo(run)
    return seen, rows


@pytest.mark.parametrize("state", STATES, ids=[s.name for s in STATES])
def test_every_request_is_answered_as_the_route_answers_it(
    state: State, client, route_only, exam, clock, db
):
    served = run_of(client, exam, "2026000001", clock, db)
    routed = run_of(route_only, exam, "2026000002", clock, db)
    fast, fast_rows = run_matrix(served, state, CASES)
    slow, slow_rows = run_matrix(routed, state, CASES)

    for case in CASES:
        assert fast[case.name] == slow[case.name], f"{state.name}: {case.name}"
    assert fast_rows == slow_rows

    # The matrix means something only if the state is what it claims to be.
    first = json.loads(fast["valid"]["body"])
    assert (fast["valid"]["status"], first.get("error")) == state.first_save
    if state.first_save[0] == 200:
        assert fast_rows["responses"], "an accepted save stores a row"
    else:
        assert fast_rows["responses"] == []
        assert fast_rows["events"] == []
    if state.first_save[0] == 401:
        assert fast["valid"]["headers"]["www-authenticate"] == "Bearer"


#: An adaptive section (positions 4-11): the shortcut hands its saves to the route's adaptive
#: path; a given item is locked, one not given yet is refused, fixed items save as usual.
ADAPTIVE_CASES: list[Case] = [
    Case("first adaptive item", position="4", body=j(option="A", seq=1)),
    Case("answered adaptive item again", position="4", body=j(option="B", seq=2)),
    Case("adaptive item not given yet", position="6", body=j(option="A", seq=3)),
    Case("next adaptive item", position="5", body=j(option="A", seq=4)),
    Case("adaptive item, stale seq", position="6", body=j(option="A", seq=2)),
    Case("adaptive item, option it lacks", position="6", body=j(option="E", seq=5)),
    Case("adaptive item, cleared", position="6", body=j(option=None, seq=6)),
    Case("adaptive item, invalid body", position="6", body=b'{"option": 1}'),
    Case("adaptive item, no token", position="6", body=j(option="A", seq=7), auth="none"),
    Case("fixed item", position="1", body=j(option="C", flagged=True, seq=8)),
    Case("past the adaptive section", position="12", body=j(option="A", seq=9)),
]


def test_adaptive_positions_are_answered_as_the_route_answers_them(client, route_only, clock, db):
    from tests.api.test_irt_exam import ADAPTIVE_SPEC, build

    pins = build(db, clock, client.app.state.secret, ADAPTIVE_SPEC, "CAT", 2)
    (first, first_pin), (second, second_pin) = sorted(pins.items())
    served = Run(client, first, first_pin, 0, clock, db)
    routed = Run(route_only, second, second_pin, 0, clock, db)
    state = next(s for s in STATES if s.name == "in progress")
    fast, fast_rows = run_matrix(served, state, ADAPTIVE_CASES)
    slow, slow_rows = run_matrix(routed, state, ADAPTIVE_CASES)
    for case in ADAPTIVE_CASES:
        assert fast[case.name] == slow[case.name], case.name
    assert fast_rows == slow_rows
    answered = json.loads(fast["first adaptive item"]["body"])
    assert (fast["first adaptive item"]["status"], answered["next_position"]) == (200, 5)
    locked = json.loads(fast["answered adaptive item again"]["body"])
    assert (locked["error"], locked["retryable"]) == ("AdaptiveLocked", False)
