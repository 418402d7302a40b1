"""One error renderer: every error, raised or returned, of the app or of a pure package, comes in
the one envelope ``{"error", "detail", "retryable", ...}``, and ``retryable`` is true exactly for
what a client should send again unchanged (an outage, a rate limit that says when, a transient
database failure)."""

from __future__ import annotations

import importlib
import io
import pkgutil
import sqlite3
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError, ProgrammingError

import app as app_package
from app.api.responses import error_response as route_error_response
from app.errors import (
    AppError,
    Conflict,
    TooManyRequests,
    Unavailable,
    error_response,
    install_error_handlers,
    register_domain_error,
    render_error,
)
from app.services import refusals
from exam_day import errors as exam_day_errors
from item_bank.errors import BlueprintShortfall, InvalidInput, Problem, Shortfall
from scoring.errors import InvalidResponse, ScoringError
from tests.support.factory import mini_exam

#: Refusals a client must not resend as they are, named so that a change of the default cannot
#: quietly make one of them retryable (the browser would resend it forever).
REFUSALS = {
    "DeadlinePassed",
    "AttemptNotActive",
    "AttemptPaused",
    "DeviceReplaced",
    "AdaptiveLocked",
    "AdaptivePosition",
    "ExtendAfterDeadline",
    "BadRequest",
    "Unauthorized",
    "Forbidden",
    "NotFound",
    "Conflict",
}


def _subclasses(cls: type[AppError]) -> Iterator[type[AppError]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def every_app_error() -> list[type[AppError]]:
    """Every AppError subclass the app defines (every module imported first)."""
    for module in pkgutil.walk_packages(app_package.__path__, "app."):
        if not module.name.endswith(".__main__"):  # importing it would run the CLI
            importlib.import_module(module.name)
    return sorted({AppError, *_subclasses(AppError)}, key=lambda c: (c.__module__, c.__name__))


def expected_retryable(cls: type[AppError], **extra: object) -> bool:
    if issubclass(cls, Unavailable):
        return True
    if issubclass(cls, TooManyRequests):
        return "retry_after" in extra
    return False


@pytest.fixture(scope="module")
def raising_app() -> TestClient:
    """A bare app with the error handlers and one route that raises what it is told to."""
    app = FastAPI()
    install_error_handlers(app)
    router = APIRouter()
    pending: list[BaseException] = []

    @router.get("/raise")
    def _raise() -> None:
        raise pending.pop()

    app.include_router(router)
    client = TestClient(app, raise_server_exceptions=False)
    client.pending = pending  # type: ignore[attr-defined]
    return client


def raised(client: TestClient, exc: BaseException):
    client.pending.append(exc)  # type: ignore[attr-defined]
    return client.get("/raise")


def test_every_app_error_renders_with_the_right_retryable(raising_app):
    classes = every_app_error()
    names = {cls.__name__ for cls in classes}
    assert {"AdaptiveLocked", "DeadlinePassed", "DeviceReplaced", "Unavailable"} <= names
    for cls in classes:
        for extra in ({}, {"retry_after": 30}):
            error = cls("something happened", **extra)
            want = expected_retryable(cls, **extra)
            if cls.__name__ in REFUSALS:
                assert want is False, cls
            returned = error_response(error)
            response = raised(raising_app, cls("something happened", **extra))
            body = response.json()
            assert (response.status_code, body["error"]) == (cls.status_code, cls.__name__)
            assert body["retryable"] is want, f"{cls.__module__}.{cls.__name__} {extra}"
            # Raised or returned, the response is the same, byte for byte and header for header.
            assert response.content == returned.body
            assert response.headers.get("retry-after") == returned.headers.get("retry-after")
            assert response.headers.get("www-authenticate") == returned.headers.get(
                "www-authenticate"
            )
            if extra:
                assert response.headers["retry-after"] == "30"
                assert body["retry_after"] == 30
            if cls.status_code == 401:
                assert response.headers["www-authenticate"] == "Bearer"


def test_routes_and_the_answer_path_import_the_one_renderer():
    assert route_error_response is error_response


def test_a_subclass_may_say_retryable_itself():
    class Busy(Conflict):
        retryable = True

    class NotAgain(Unavailable):
        retryable = False

    assert error_response(Busy("wait")).body.startswith(
        b'{"error":"Busy","detail":"wait","retryable":true'
    )
    assert b'"retryable":false' in error_response(NotAgain("no")).body


def test_every_exam_day_refusal_renders_as_the_app_error_it_maps_to(raising_app):
    refusal_classes = [
        value
        for value in vars(exam_day_errors).values()
        if isinstance(value, type)
        and issubclass(value, exam_day_errors.ExamDayError)
        and value is not exam_day_errors.ExamDayError
    ]
    assert {c.__name__ for c in refusal_classes} >= {"DeviceReplaced", "AdaptiveLocked"}
    for refusal in refusal_classes:
        response = raised(raising_app, refusal("no, because"))
        mapped = error_response(refusals.as_app_error(refusal("no, because")))
        assert response.status_code == mapped.status_code, refusal
        assert response.content == mapped.body, refusal
        assert response.json()["retryable"] is False
        assert response.json()["error"] == refusal.api_name
    device = raised(raising_app, exam_day_errors.DeviceReplaced("logged in elsewhere"))
    assert device.status_code == 401
    assert device.headers["www-authenticate"] == "Bearer"
    assert raised(raising_app, exam_day_errors.AttemptNotStarted("x")).json()["error"] == (
        "AttemptNotActive"
    )


def test_pure_package_errors_keep_their_names_and_gain_the_flag(raising_app):
    problem = Problem("bank.json", "row 3", "key", "must be one of A-E")
    response = raised(raising_app, InvalidInput([problem]))
    assert response.status_code == 422
    assert response.json() == {
        "error": "InvalidInput",
        "detail": "bank.json: row 3 [key]: must be one of A-E",
        "retryable": False,
        "errors": [problem.as_dict()],
    }
    shortfall = Shortfall(section="TWK", topic="pancasila", stratum=None, needed=5, available=2)
    response = raised(raising_app, BlueprintShortfall([shortfall]))
    assert response.status_code == 409
    body = response.json()
    assert body["error"] == "BlueprintShortfall"
    assert body["detail"].startswith("the item bank cannot serve this exam's blueprint: ")
    assert body["retryable"] is False
    assert body["shortfalls"] == [shortfall.as_dict()]
    # A subclass of the scoring base shows the base's name, as it always has.
    response = raised(raising_app, InvalidResponse("no such option", attempt_row=0, position=2))
    assert (response.status_code, response.json()["error"]) == (422, "ScoringError")
    assert response.json()["detail"] == "no such option"
    assert raised(raising_app, ScoringError("bad")).json()["retryable"] is False


def test_a_domain_error_can_be_registered_with_its_status_and_flag():
    class Overloaded(Exception):
        pass

    register_domain_error(Overloaded, 503, retryable=True, name="Overloaded")
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/x")
    def _x() -> None:
        raise Overloaded("the scorer is busy")

    with TestClient(app) as client:
        response = client.get("/x")
    assert response.status_code == 503
    assert response.json() == {
        "error": "Overloaded",
        "detail": "the scorer is busy",
        "retryable": True,
    }
    with pytest.raises(ValueError, match=r"Overloaded.*status 200"):
        register_domain_error(Overloaded, 200)


def test_unexpected_errors_are_retryable_only_when_the_database_failed_transiently(raising_app):
    same = {
        "error": "InternalError",
        "detail": "an unexpected error occurred; it has been logged with this request's id",
    }
    response = raised(raising_app, RuntimeError("secret internals"))
    assert response.status_code == 500
    assert response.json() == {**same, "retryable": False}

    locked = OperationalError("UPDATE attempts", {}, sqlite3.OperationalError("database is locked"))
    response = raised(raising_app, locked)
    assert response.status_code == 500
    assert response.json() == {**same, "retryable": True}

    class PgError(Exception):
        def __init__(self, sqlstate: str) -> None:
            super().__init__(sqlstate)
            self.sqlstate = sqlstate

    deadlock = OperationalError("UPDATE attempts", {}, PgError("40P01"))
    assert raised(raising_app, deadlock).json()["retryable"] is True
    # A statement the database cannot run will fail the same way every time.
    broken = ProgrammingError("SELEC 1", {}, PgError("42601"))
    assert raised(raising_app, broken).json()["retryable"] is False
    no_table = OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: x"))
    assert raised(raising_app, no_table).json()["retryable"] is False


def test_framework_errors_use_the_envelope(client):
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.json() == {"error": "NotFound", "detail": "Not Found", "retryable": False}
    wrong = client.put("/healthz")
    assert (wrong.status_code, wrong.json()["error"], wrong.json()["retryable"]) == (
        405,
        "MethodNotAllowed",
        False,
    )
    invalid = client.post("/api/v1/auth/token", json={"username": "x"})
    assert invalid.status_code == 422
    body = invalid.json()
    assert (body["error"], body["retryable"]) == ("ValidationError", False)
    assert body["errors"][0]["location"] == "password"


def test_a_too_large_upload_is_a_413_refusal(settings, db, clock):
    from app.main import create_app
    from app.models.staff import Role
    from app.services import staff

    small = settings.model_copy(update={"max_upload_bytes": 10})
    app = create_app(small, db=db, clock=clock)
    with db.session() as session:
        staff.create_user(
            session,
            username="admin",
            password="pw-123456789",
            role=Role.ADMIN,
            now=clock.now(),
            actor="test",
        )
    with TestClient(app) as client:
        token = client.post(
            "/api/v1/auth/token", json={"username": "admin", "password": "pw-123456789"}
        ).json()["access_token"]
        response = client.post(
            "/api/v1/items/import",
            files={"files": ("bank.json", io.BytesIO(b"x" * 100), "application/json")},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 413
    body = response.json()
    assert (body["error"], body["retryable"]) == ("PayloadTooLarge", False)


def test_a_login_lockout_says_when_to_come_back(client, db, clock, app):
    exam = mini_exam(db, clock, app.state.secret, candidates=1)
    for _ in range(app.state.settings.login_max_failures):
        client.post(
            "/api/v1/candidate/login", json={"nomor_peserta": "2026000001", "pin": "000000"}
        )
    response = client.post(
        "/api/v1/candidate/login",
        json={"nomor_peserta": "2026000001", "pin": exam.pin_of("2026000001")},
    )
    assert response.status_code == 429
    body = response.json()
    assert (body["error"], body["retryable"]) == ("TooManyRequests", True)
    assert int(response.headers["retry-after"]) == body["retry_after"] > 0


def test_a_save_the_server_cannot_take_now_is_retryable(client, app, exam_headers):
    app.state.services.writer.stop()  # the process is shutting down
    response = client.put(
        "/api/v1/attempts/current/responses/1",
        json={"option": "A", "flagged": False, "seq": 1},
        headers=exam_headers,
    )
    assert response.status_code == 503
    assert response.json()["error"] == "Unavailable"
    assert response.json()["retryable"] is True


def test_refused_saves_are_not_retryable(client, clock, exam_headers):
    clock.advance(timedelta(minutes=30))
    response = client.put(
        "/api/v1/attempts/current/responses/1",
        json={"option": "A", "flagged": False, "seq": 1},
        headers=exam_headers,
    )
    assert response.status_code == 409
    assert response.json()["error"] in {"DeadlinePassed", "AttemptNotActive"}
    assert response.json()["retryable"] is False


@pytest.fixture
def exam_headers(client, db, clock, app) -> dict[str, str]:
    exam = mini_exam(db, clock, app.state.secret, candidates=1)
    token = client.post(
        "/api/v1/candidate/login",
        json={"nomor_peserta": "2026000001", "pin": exam.pin_of("2026000001")},
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/v1/attempts/current/start", headers=headers).status_code == 200
    return headers


def test_openapi_documents_retryable_on_every_error_response(client):
    spec = client.get("/openapi.json").json()
    checked = 0
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation.get("responses", {}).items():
                if not status.startswith(("4", "5")):
                    continue
                schema = answer["content"]["application/json"]["schema"]
                where = f"{method.upper()} {path} {status}"
                assert schema["properties"]["retryable"]["type"] == "boolean", where
                assert "retryable" in schema["required"], where
                checked += 1
    assert checked > 50


def test_render_error_picks_the_default_by_status():
    assert b'"retryable":true' in render_error("Unavailable", "down", 503).body
    assert b'"retryable":false' in render_error("TooManyRequests", "slow down", 429).body
    limited = render_error("TooManyRequests", "slow down", 429, extra={"retry_after": 2.5})
    assert b'"retryable":true' in limited.body
    assert limited.headers["retry-after"] == "3"
    assert b'"retryable":false' in render_error("Conflict", "no", 409).body
