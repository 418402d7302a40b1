"""Authorization matrix: every route of the app x every kind of caller.

:data:`TABLE` gives each route (method, path template) its rule. The test walks the app's own
route table, so a route added without a rule fails :func:`test_every_route_has_a_rule` (and a
rule for a route that no longer exists fails :func:`test_every_rule_has_a_route`). Then every
route is called, with real identifiers and a valid body, by:

``anonymous``      no credentials
``forged``         a bearer token this server never issued
``candidate_a``    the candidate whose attempt the path names (their own attempt)
``candidate_b``    another candidate of the same sitting
``admin``, ``committee``
``proctor``        a proctor assigned to the sitting the path names
``proctor_other``  a proctor of another sitting

A refused caller must get exactly the expected 401 (no or unusable credentials; candidate
tokens are not staff tokens and staff tokens are not candidate tokens) or 403 (wrong role, or a
proctor not assigned to the sitting), in the error envelope. An admitted caller must get neither
401 nor 403, no server error, and no validation error (so the body really was valid and the
decision was the authorization's). On candidate routes each candidate sees only their own
attempt.

See docs/security.md for how to add a rule.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import fastapi.routing
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import Mount

from app.api import api_routers
from tests.security.world import World, stream_start
from tests.support.factory import SMALL_SPEC, bank_json, roster_csv

ADMIN, COMMITTEE, PROCTOR = "admin", "committee", "proctor"
STAFF_ROLES = frozenset({ADMIN, COMMITTEE, PROCTOR})
CALLERS = (
    "anonymous",
    "forged",
    "candidate_a",
    "candidate_b",
    "admin",
    "committee",
    "proctor",
    "proctor_other",
)
CALLER_ROLE = {
    "admin": ADMIN,
    "committee": COMMITTEE,
    "proctor": PROCTOR,
    "proctor_other": PROCTOR,
}
FORGED = {"Authorization": "Bearer ujian-forged-token-0000000000000000000000000000"}


@dataclass(frozen=True)
class Rule:
    """Who may call a route.

    ``kind`` is ``public`` (anyone), ``candidate`` (a candidate token; the route acts on that
    token's own attempt) or ``staff`` (a staff token whose role is in ``roles``). With
    ``sitting_scoped``, a proctor must also be assigned to the sitting the path names (directly,
    or through the attempt it names).
    """

    kind: str
    roles: frozenset[str] = frozenset()
    sitting_scoped: bool = False

    def expected(self, caller: str) -> int | None:
        """The status ``caller`` must get: 401 or 403, or ``None`` when admitted."""
        if self.kind == "public":
            return None
        if self.kind == "candidate":
            return None if caller.startswith("candidate_") else 401
        if caller not in CALLER_ROLE:  # anonymous, forged, and candidates: not a staff token
            return 401
        if CALLER_ROLE[caller] not in self.roles:
            return 403
        if self.sitting_scoped and caller == "proctor_other":
            return 403
        return None


PUBLIC = Rule("public")
CANDIDATE = Rule("candidate")


def staff(*roles: str, sitting_scoped: bool = False) -> Rule:
    """Staff of ``roles`` only (``sitting_scoped``: proctors of the path's sitting only)."""
    assert set(roles) <= STAFF_ROLES, roles
    assert not sitting_scoped or PROCTOR in roles
    return Rule("staff", frozenset(roles), sitting_scoped)


ANY_STAFF = staff(ADMIN, COMMITTEE, PROCTOR)
ADMIN_ONLY = staff(ADMIN)
COMMITTEE_ONLY = staff(COMMITTEE)
PROCTOR_ONLY = staff(PROCTOR)
ASSIGNED_PROCTOR = staff(PROCTOR, sitting_scoped=True)

Value = Callable[[World], Any]


@dataclass(frozen=True)
class Access:
    """A route's rule and how to call it with a valid request.

    ``path`` overrides path parameters (default values come from :func:`path_value`);
    ``json``/``files``/``content`` build the body; ``fresh_token`` sends an admitted staff
    caller a token of its own made for this one request (for routes that end the token);
    ``last`` runs the route after the others (it ends something the others still need: the
    candidates' attempts, the sitting), so that the others are admitted with a 2xx.
    """

    rule: Rule
    path: Mapping[str, Value] = field(default_factory=dict)
    json: Value | None = None
    files: Value | None = None
    content: Value | None = None
    content_type: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    fresh_token: bool = False
    stream: bool = False
    last: bool = False


REASON = {"reason": "uji otorisasi"}
_seq = itertools.count(1)


def _reason(_w: World) -> dict[str, str]:
    return dict(REASON)


def _staff_login(w: World) -> dict[str, str]:
    return {"username": w.staff["admin"].username, "password": w.staff["admin"].password}


def _candidate_login(w: World) -> dict[str, str]:
    # d sits in the other sitting, which no call of this test closes or re-PINs.
    d = w.candidates["d"]
    return {"nomor_peserta": d.nomor, "pin": d.pin}


def _save(_w: World) -> dict[str, Any]:
    return {"option": "B", "flagged": False, "seq": next(_seq)}


def _bank_upload(_w: World) -> dict[str, Any]:
    bank = json.loads(bank_json(twk=1, tkp=0))
    bank["items"][0]["code"] = "SEC-AUTHZ-001"
    return {"files": ("authz.json", json.dumps(bank).encode(), "application/json")}


def _roster_upload(_w: World) -> dict[str, Any]:
    rows = [("2026900001", "Eko Saputra", "umum", "F1")]
    return {"file": ("roster.csv", roster_csv(rows), "text/csv")}


def _correction(_w: World) -> dict[str, Any]:
    return {"item_code": "TWK-000", "kind": "correct_key", "key": "B", "reason": "uji otorisasi"}


def _target(w: World) -> int:
    # t takes the proctor's actions that end an attempt or its device (void, move), so the
    # tokens of a and b stay usable for the candidate routes.
    attempt_id = w.candidates["t"].attempt_id
    assert attempt_id is not None
    return attempt_id


#: The rule of every route of the app. A new route needs a line here.
TABLE: dict[tuple[str, str], Access] = {
    # service, documentation
    ("GET", "/healthz"): Access(PUBLIC),
    ("GET", "/openapi.json"): Access(PUBLIC),
    ("GET", "/docs"): Access(PUBLIC),
    ("GET", "/docs/oauth2-redirect"): Access(PUBLIC),
    ("GET", "/redoc"): Access(PUBLIC),
    # staff authentication
    ("POST", "/api/v1/auth/token"): Access(PUBLIC, json=_staff_login),
    ("GET", "/api/v1/auth/me"): Access(ANY_STAFF),
    ("DELETE", "/api/v1/auth/token"): Access(ANY_STAFF, fresh_token=True),
    ("POST", "/api/v1/auth/users/{username}/unlock"): Access(
        ADMIN_ONLY, path={"username": lambda w: w.staff["bystander"].username}
    ),
    # candidate
    ("POST", "/api/v1/candidate/login"): Access(PUBLIC, json=_candidate_login),
    # ends the candidate's token: after the others
    ("POST", "/api/v1/candidate/logout"): Access(CANDIDATE, fresh_token=True, last=True),
    ("GET", "/api/v1/attempts/current"): Access(CANDIDATE),
    ("GET", "/api/v1/attempts/current/clock"): Access(CANDIDATE),
    ("POST", "/api/v1/attempts/current/start"): Access(CANDIDATE),
    ("POST", "/api/v1/attempts/current/views"): Access(
        CANDIDATE, json=lambda _w: {"views": [[1, 1500]]}
    ),
    ("PUT", "/api/v1/attempts/current/responses/{position}"): Access(CANDIDATE, json=_save),
    ("POST", "/api/v1/attempts/current/finish"): Access(
        CANDIDATE, json=lambda _w: {"confirm": True}, last=True
    ),
    # item bank (admin); images for any staff (candidates use signed links: test_no_leaks)
    ("POST", "/api/v1/items/import"): Access(ADMIN_ONLY, files=_bank_upload),
    ("GET", "/api/v1/items"): Access(ADMIN_ONLY),
    ("GET", "/api/v1/items/{code}"): Access(ADMIN_ONLY),
    ("POST", "/api/v1/items/{code}/status"): Access(
        ADMIN_ONLY, json=lambda _w: {"status": "active", "reason": "uji otorisasi"}
    ),
    ("GET", "/api/v1/bank/sections"): Access(ADMIN_ONLY),
    ("POST", "/api/v1/bank/sections"): Access(
        ADMIN_ONLY, json=lambda _w: {"code": "SEC", "name": "Seksi Uji"}
    ),
    ("GET", "/api/v1/media/{sha256}"): Access(ANY_STAFF),
    # committee
    ("POST", "/api/v1/exams"): Access(
        COMMITTEE_ONLY,
        content=lambda _w: SMALL_SPEC.format(duration=30).encode(),
        content_type="application/yaml",
    ),
    ("GET", "/api/v1/exams"): Access(COMMITTEE_ONLY),
    ("GET", "/api/v1/exams/{code}"): Access(COMMITTEE_ONLY),
    ("POST", "/api/v1/exams/{code}/publish"): Access(COMMITTEE_ONLY),
    ("POST", "/api/v1/sittings"): Access(
        COMMITTEE_ONLY,
        json=lambda _w: {"exam": "MINI", "name": "Sesi Uji", "starts_at": "2026-12-01T08:00"},
    ),
    ("GET", "/api/v1/sittings"): Access(COMMITTEE_ONLY),
    ("POST", "/api/v1/sittings/{sitting_id}/roster"): Access(COMMITTEE_ONLY, files=_roster_upload),
    ("POST", "/api/v1/sittings/{sitting_id}/proctors"): Access(
        # the bystander: assigning the other sitting's proctor would change who is refused
        COMMITTEE_ONLY,
        json=lambda w: {"username": w.staff["bystander"].username},
    ),
    ("GET", "/api/v1/attempts/{attempt_id}/replay"): Access(COMMITTEE_ONLY),
    ("POST", "/api/v1/exams/{code}/rankings"): Access(COMMITTEE_ONLY),
    ("POST", "/api/v1/exams/{code}/corrections/dry-run"): Access(COMMITTEE_ONLY, json=_correction),
    ("POST", "/api/v1/exams/{code}/corrections"): Access(COMMITTEE_ONLY, json=_correction),
    ("POST", "/api/v1/exams/{code}/results/verify"): Access(COMMITTEE_ONLY),
    ("GET", "/api/v1/exams/{code}/item-analysis"): Access(COMMITTEE_ONLY),
    ("GET", "/api/v1/exams/{code}/item-report"): Access(COMMITTEE_ONLY),
    ("GET", "/api/v1/exams/{code}/integrity"): Access(COMMITTEE_ONLY),
    ("GET", "/api/v1/exams/{code}/integrity/export"): Access(COMMITTEE_ONLY),
    ("GET", "/api/v1/exams/{code}/dif"): Access(COMMITTEE_ONLY),
    ("POST", "/api/v1/attempts/{attempt_id}/integrity-decision"): Access(
        COMMITTEE_ONLY, json=lambda _w: {"decision": "cleared", "reason": "uji otorisasi"}
    ),
    ("POST", "/api/v1/exams/{code}/calibrations"): Access(
        COMMITTEE_ONLY, json=lambda _w: {"model": "rasch", "apply": False}
    ),
    ("GET", "/api/v1/exams/{code}/calibrations"): Access(COMMITTEE_ONLY),
    ("POST", "/api/v1/rankings/combined"): Access(
        COMMITTEE_ONLY,
        json=lambda w: {
            "code": "FINAL",
            "stages": [{"exam": w.exam_code, "weight": 40}, {"exam": w.exam_code, "weight": 60}],
        },
    ),
    # proctor: only the sittings they are assigned to
    ("GET", "/api/v1/proctor/sittings"): Access(PROCTOR_ONLY),
    ("GET", "/api/v1/sittings/{sitting_id}/seats"): Access(ASSIGNED_PROCTOR),
    ("POST", "/api/v1/sittings/{sitting_id}/open"): Access(ASSIGNED_PROCTOR, json=_reason),
    ("POST", "/api/v1/sittings/{sitting_id}/close"): Access(
        ASSIGNED_PROCTOR, json=_reason, last=True
    ),
    ("POST", "/api/v1/sittings/{sitting_id}/pause"): Access(ASSIGNED_PROCTOR, json=_reason),
    ("POST", "/api/v1/sittings/{sitting_id}/resume"): Access(ASSIGNED_PROCTOR, json=_reason),
    ("POST", "/api/v1/sittings/{sitting_id}/pins"): Access(
        ASSIGNED_PROCTOR,
        json=lambda w: {"nomor_peserta": w.candidates["t"].nomor, **REASON},
    ),
    ("POST", "/api/v1/attempts/{attempt_id}/pause"): Access(ASSIGNED_PROCTOR, json=_reason),
    ("POST", "/api/v1/attempts/{attempt_id}/resume"): Access(ASSIGNED_PROCTOR, json=_reason),
    ("POST", "/api/v1/attempts/{attempt_id}/extend"): Access(
        ASSIGNED_PROCTOR, json=lambda _w: {"minutes": 5, **REASON}
    ),
    ("POST", "/api/v1/attempts/{attempt_id}/void"): Access(
        ASSIGNED_PROCTOR, path={"attempt_id": _target}, json=_reason
    ),
    ("POST", "/api/v1/attempts/{attempt_id}/move"): Access(
        ASSIGNED_PROCTOR, path={"attempt_id": _target}, json=_reason
    ),
    ("POST", "/api/v1/sittings/{sitting_id}/candidates/{nomor_peserta}/unlock"): Access(
        ASSIGNED_PROCTOR, path={"nomor_peserta": lambda w: w.candidates["t"].nomor}, json=_reason
    ),
    # device moves approved by the proctor (no request 1 pending in this world: admitted is 404)
    ("POST", "/api/v1/candidate/move-status"): Access(
        PUBLIC, json=lambda _w: {"move_token": "x" * 43}
    ),
    ("GET", "/api/v1/sittings/{sitting_id}/move-requests"): Access(ASSIGNED_PROCTOR),
    ("GET", "/api/v1/attempts/{attempt_id}/move-requests"): Access(ASSIGNED_PROCTOR),
    ("POST", "/api/v1/attempts/{attempt_id}/move-requests/{request_id}/approve"): Access(
        ASSIGNED_PROCTOR, path={"request_id": lambda _w: 999999}, json=_reason
    ),
    ("POST", "/api/v1/attempts/{attempt_id}/move-requests/{request_id}/refuse"): Access(
        ASSIGNED_PROCTOR, path={"request_id": lambda _w: 999999}, json=_reason
    ),
    ("GET", "/api/v1/sittings/{sitting_id}/device-moves"): Access(ASSIGNED_PROCTOR),
    ("PUT", "/api/v1/sittings/{sitting_id}/device-moves"): Access(
        ASSIGNED_PROCTOR, json=lambda _w: {"device_moves": None, **REASON}
    ),
    # public (no personal data: test_no_leaks)
    ("GET", "/api/v1/public/rankings/{exam}"): Access(PUBLIC),
    ("GET", "/api/v1/public/slips/{code}"): Access(PUBLIC),
    ("GET", "/api/v1/public/slips/{code}/qr.svg"): Access(PUBLIC),
    ("GET", "/api/v1/public/slips/{code}/signed"): Access(PUBLIC),
    ("GET", "/api/v1/public/keys"): Access(PUBLIC),
    ("GET", "/api/v1/public/rankings/{exam}/signed"): Access(PUBLIC),
    ("GET", "/api/v1/public/live/{sitting_id}/board"): Access(PUBLIC),
    # practice (simulasi): the world's exam is live, so a start is 404 and a review of a live
    # candidate's attempt is 404 (tests/api/test_practice.py sits a practice exam)
    ("GET", "/api/v1/practice/exams"): Access(PUBLIC),
    ("POST", "/api/v1/practice/exams/{code}/start"): Access(PUBLIC),
    ("GET", "/api/v1/practice/attempts/current/review"): Access(CANDIDATE),
    ("GET", "/api/v1/public/live/{sitting_id}"): Access(PUBLIC, stream=True),
    # pages: shells without data, whose scripts call the API above
    ("GET", "/"): Access(PUBLIC),
    ("GET", "/slip"): Access(PUBLIC),
    ("GET", "/proctor"): Access(PUBLIC),
    ("GET", "/live/{sitting}"): Access(PUBLIC),
    ("GET", "/rankings/{exam}"): Access(PUBLIC),
    ("GET", "/verify"): Access(PUBLIC),
    ("GET", "/verify/{code}"): Access(PUBLIC),
    ("GET", "/simulasi"): Access(PUBLIC),
    ("GET", "/simulasi/pembahasan"): Access(PUBLIC),
    ("GET", "/committee"): Access(PUBLIC),
    ("GET", "/committee/corrections"): Access(PUBLIC),
    ("GET", "/committee/integrity"): Access(PUBLIC),
}


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path template) the app answers, static files aside."""
    # FastAPI includes routers lazily: walk the effective routes, as its OpenAPI generator does.
    walk = getattr(fastapi.routing, "iter_route_contexts", None)
    routes = list(walk(app.routes)) if walk is not None else list(app.routes)
    found = set()
    for route in routes:
        if isinstance(getattr(route, "original_route", route), Mount):
            continue
        path, methods = getattr(route, "path", None), getattr(route, "methods", None)
        assert path is not None, f"a route without a path: {route!r}"
        found.update((m, path) for m in methods or () if m != "HEAD")
    return found


def test_every_route_has_a_rule(module_app: FastAPI) -> None:
    missing = sorted(app_routes(module_app) - TABLE.keys())
    assert not missing, (
        "routes without an access rule: "
        + ", ".join(f"{m} {p}" for m, p in missing)
        + ". Add each to TABLE in tests/security/test_authorization.py with who may call it "
        "(PUBLIC, CANDIDATE, or staff roles, sitting-scoped for proctors) and a valid request; "
        "see docs/security.md."
    )


def test_every_rule_has_a_route(module_app: FastAPI) -> None:
    stale = sorted(TABLE.keys() - app_routes(module_app))
    assert not stale, "rules for routes the app does not have: " + ", ".join(
        f"{m} {p}" for m, p in stale
    )


def test_the_api_routers_are_all_in_the_app(module_app: FastAPI) -> None:
    declared = {
        (method, route.path)
        for router in api_routers()
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods
    }
    assert declared <= app_routes(module_app)


def path_value(world: World, template: str, name: str) -> Any:
    """A real value for path parameter ``name`` of ``template``."""
    a = world.candidates["a"].attempt_id
    defaults: dict[str, Any] = {
        "sitting_id": world.sitting_id,
        "sitting": world.sitting_id,
        "attempt_id": a,
        "position": 1,
        "sha256": world.media[0],
        "exam": world.exam_code,
    }
    if name in defaults:
        return defaults[name]
    if name == "code":
        if "/items/" in template:
            return world.item_code
        if "/exams/" in template:
            return world.exam_code
        if "/slips/" in template or template.startswith("/verify/"):
            return world.slip_code
    raise AssertionError(f"no value for {{{name}}} in {template}: add one to path_value()")


def caller_headers(world: World, caller: str, access: Access) -> dict[str, str]:
    """The credentials ``caller`` sends."""
    if caller == "anonymous":
        return {}
    if caller == "forged":
        return dict(FORGED)
    if caller.startswith("candidate_"):
        return dict(world.candidates[caller[-1]].headers)
    if access.fresh_token and access.rule.expected(caller) is None:
        return world.fresh_headers(caller)
    return dict(world.staff[caller].headers)


@dataclass
class Answer:
    """What a caller got."""

    status_code: int
    text: str
    json: Any


def path_params(template: str) -> list[str]:
    """The names of ``template``'s path parameters."""
    return [part[1:-1] for part in template.split("/") if part.startswith("{")]


def real_path(
    world: World, template: str, access: Access, overrides: Mapping[str, Any] | None = None
) -> str:
    """``template`` with real values: ``overrides``, else the table's, else :func:`path_value`."""
    path = template
    for name in path_params(template):
        if overrides and name in overrides:
            value = overrides[name]
        elif name in access.path:
            value = access.path[name](world)
        else:
            value = path_value(world, template, name)
        path = path.replace(f"{{{name}}}", str(value))
    return path


def call(world: World, method: str, template: str, access: Access, caller: str) -> Answer:
    """Send ``caller``'s request to the route."""
    path = real_path(world, template, access)
    headers = caller_headers(world, caller, access)
    if access.stream:
        start = stream_start(world.client, path, headers)
        return Answer(start.status_code, start.text, _json(start.text))
    kwargs: dict[str, Any] = {"headers": headers, "params": dict(access.params)}
    if access.json is not None:
        kwargs["json"] = access.json(world)
    if access.files is not None:
        kwargs["files"] = access.files(world)
    if access.content is not None:
        kwargs["content"] = access.content(world)
        kwargs["headers"] = {**headers, "Content-Type": access.content_type or "text/plain"}
    response = world.client.request(method, path, **kwargs)
    return Answer(response.status_code, response.text, _json(response.text))


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def problems(world: World, method: str, template: str, access: Access, caller: str) -> list[str]:
    """How ``caller``'s answer breaks the route's rule (empty: it does not)."""
    answer = call(world, method, template, access, caller)
    if access.fresh_token and access.rule.kind == "candidate" and caller.startswith("candidate_"):
        # The route ended the candidate's token: a new login for the tests after it.
        world.login(caller[-1])
    status, found = answer.status_code, []
    where = f"{caller}: {method} {template} -> {status}"
    if status >= 500:
        return [f"{where} (a server error) {answer.text[:300]}"]
    expected = access.rule.expected(caller)
    if expected is not None:
        if status != expected:
            found.append(f"{where}, expected {expected} {answer.text[:200]}")
        elif not (isinstance(answer.json, dict) and {"error", "detail"} <= answer.json.keys()):
            found.append(f"{where}: refusal outside the error envelope: {answer.text[:200]}")
        return found
    if status in (401, 403):
        found.append(f"{where}, expected to be admitted: {answer.text[:200]}")
    elif isinstance(answer.json, dict) and answer.json.get("error") == "ValidationError":
        found.append(f"{where}: the test's request is invalid, fix TABLE: {answer.text[:300]}")
    elif access.rule.kind == "candidate" and isinstance(answer.json, dict):
        own = world.candidates[caller[-1]].attempt_id
        if "attempt_id" in answer.json and answer.json["attempt_id"] != own:
            found.append(f"{where}: saw attempt {answer.json['attempt_id']}, not its own {own}")
    return found


@pytest.mark.parametrize(
    ("method", "template"), sorted(TABLE, key=lambda k: (TABLE[k].last, k)), ids=str
)
def test_route_admits_exactly_its_callers(world: World, method: str, template: str) -> None:
    access = TABLE[(method, template)]
    found = [p for caller in CALLERS for p in problems(world, method, template, access, caller)]
    assert not found, "\n".join(found)


def test_candidates_see_only_their_own_attempt(world: World) -> None:
    a, b = world.candidates["a"], world.candidates["b"]
    assert a.attempt_id != b.attempt_id
    for candidate in (a, b):
        state = world.client.get("/api/v1/attempts/current", headers=candidate.headers).json()
        assert state["attempt_id"] == candidate.attempt_id
        assert state["nomor_peserta"] == candidate.nomor
        assert state["name"] == candidate.name
        other = b if candidate is a else a
        text = json.dumps(state)
        assert other.nomor not in text
        assert other.name not in text


def test_a_proctor_lists_only_their_own_sittings(world: World) -> None:
    for who, sitting_id in (
        ("proctor", world.sitting_id),
        ("proctor_other", world.other_sitting_id),
    ):
        listed = world.client.get("/api/v1/proctor/sittings", headers=world.staff[who].headers)
        assert listed.status_code == 200, listed.text
        assert [s["id"] for s in listed.json()] == [sitting_id]


def test_a_revoked_staff_token_is_refused_everywhere(world: World) -> None:
    headers = world.fresh_headers("committee")
    assert world.client.delete("/api/v1/auth/token", headers=headers).status_code == 204
    for method, template in (("GET", "/api/v1/auth/me"), ("GET", "/api/v1/exams")):
        response = world.client.request(method, template, headers=headers)
        assert response.status_code == 401, (template, response.text)
    assert world.client.get("/api/v1/attempts/current", headers=headers).status_code == 401, (
        "a staff token is not a candidate token"
    )
