"""Service basics: the error envelope everywhere, /healthz, OpenAPI and request ids in logs."""

from __future__ import annotations

import logging

from fastapi import APIRouter
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from app.db import Database, connect
from app.main import create_app
from tests.conftest import make_settings


def test_unknown_route_is_404_in_the_envelope(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json() == {"error": "NotFound", "detail": "Not Found", "retryable": False}


def test_wrong_method_is_405_in_the_envelope(client):
    response = client.put("/healthz")
    assert response.status_code == 405
    assert response.json()["error"] == "MethodNotAllowed"


def test_validation_error_is_422_in_the_envelope_naming_the_field(client):
    response = client.post("/api/v1/auth/token", json={"username": "x"})
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "ValidationError"
    assert "password" in body["detail"]
    assert body["errors"][0]["location"] == "password"


def test_broken_json_is_422(client):
    response = client.post(
        "/api/v1/auth/token", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert "invalid JSON" in response.json()["detail"]


def test_unexpected_error_is_500_without_internals(app):
    boom = APIRouter()

    @boom.get("/boom")
    def _boom() -> None:
        raise RuntimeError("secret internals")

    app.include_router(boom)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom")
    assert response.status_code == 500
    assert response.json()["error"] == "InternalError"
    assert "secret" not in response.text


def test_healthz_reports_the_database(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": db.engine.dialect.name}


def test_healthz_is_503_when_the_database_is_gone(tmp_path, settings):
    dead = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none", pool_pre_ping=False)
    good = connect(settings)
    broken = Database(
        url="postgresql://127.0.0.1:1/none",
        engine=dead,
        read_engine=dead,
        write_sessions=good.write_sessions.__class__(dead),
        read_sessions=good.read_sessions.__class__(dead),
    )
    app = create_app(make_settings(settings.database_url, tmp_path), db=broken)
    with TestClient(app) as client:
        response = client.get("/healthz")
    good.dispose()
    assert response.status_code == 503
    assert response.json()["error"] == "DatabaseUnavailable"


def test_openapi_and_docs_are_served(client):
    spec = client.get("/openapi.json").json()
    assert "/api/v1/auth/token" in spec["paths"]
    assert client.get("/docs").status_code == 200


def test_every_log_line_of_a_request_carries_its_id(client, caplog):
    from app.observability import RequestIdFilter

    handler_filter = RequestIdFilter()
    caplog.handler.addFilter(handler_filter)
    caplog.set_level(logging.INFO)
    response = client.get("/healthz", headers={"X-Request-ID": "req-42"})
    assert response.headers["x-request-id"] == "req-42"
    access = [r for r in caplog.records if r.name == "ujian.access"]
    assert access
    assert all(r.request_id == "req-42" for r in access)


def test_a_request_without_an_id_gets_one(client):
    first = client.get("/healthz").headers["x-request-id"]
    second = client.get("/healthz").headers["x-request-id"]
    assert first
    assert second
    assert first != second


def test_a_hostile_request_id_is_replaced(client):
    response = client.get("/healthz", headers={"X-Request-ID": "bad id\nwith newline"})
    assert response.headers["x-request-id"] != "bad id\nwith newline"
    assert len(response.headers["x-request-id"]) == 32
