"""Hostile requests: out-of-range identifiers, bodies that are not UTF-8, lone surrogates, NUL
characters, non-ASCII tokens and signatures. Each is sent by a caller the route admits, with an
otherwise valid request, so that the input itself (not the authorization) meets the code behind
the route.

Used by test_schema_fuzz (no server error, a documented status) and test_no_leaks (no stack
trace or SQL in any error body).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from tests.security.test_authorization import (
    CALLER_ROLE,
    TABLE,
    Access,
    caller_headers,
    path_params,
    real_path,
)
from tests.security.world import World

#: Past PostgreSQL's ``integer`` ids, and past SQLite's (and PostgreSQL's ``bigint``) integers.
HUGE_IDS = (2**31, 2**63)
#: Not UTF-8: JSON cannot be read from it.
NOT_UTF8 = b"\x07\x11\xb6"
#: Valid JSON whose key and value decode to lone surrogates (not encodable as UTF-8).
SURROGATES = '{"\\ud800": "\\udfff", "x\\udc00y": {"\\ud857\\udf89": null}}'


@dataclass(frozen=True)
class Hostile:
    """One hostile request."""

    name: str
    method: str
    template: str
    caller: str
    path_values: dict[str, Any] = field(default_factory=dict)
    query: str = ""
    content: bytes | None = None
    content_type: str | None = None
    authorization: bytes | None = None

    @property
    def id(self) -> str:
        """A readable test id."""
        return f"{self.name}:{self.method} {self.template}"


def admitted_caller(access: Access) -> str:
    """A caller the route admits (the least privileged one listed)."""
    if access.rule.kind == "public":
        return "anonymous"
    if access.rule.kind == "candidate":
        return "candidate_b"
    for caller in ("proctor", "admin", "committee"):
        if CALLER_ROLE[caller] in access.rule.roles:
            return caller
    raise AssertionError(access)


def hostile_requests() -> list[Hostile]:
    """Every hostile request, for every route it applies to."""
    cases: list[Hostile] = []
    for (method, template), access in sorted(TABLE.items()):
        if access.stream or not template.startswith("/api/"):
            continue
        caller = admitted_caller(access)
        if access.rule.kind != "public":
            # A token with a byte outside ASCII (headers are Latin-1 on the wire).
            token = b"Bearer 1.1.1.\xe9" if access.rule.kind == "candidate" else b"Bearer \xe9"
            cases.append(Hostile("token=\\xe9", method, template, "anonymous", authorization=token))
        for name in path_params(template):
            if name in ("sitting_id", "attempt_id"):
                cases.extend(
                    Hostile(f"id={value}", method, template, caller, {name: value})
                    for value in HUGE_IDS
                )
            elif name != "position":
                # PostgreSQL text cannot hold NUL.
                cases.append(Hostile(f"{name}=NUL", method, template, caller, {name: "%00"}))
        if access.json is not None:
            cases.append(Hostile("surrogate-values", method, template, caller))
            cases.append(Hostile("nul-values", method, template, caller))
        if access.json is not None or access.content is not None:
            cases.append(
                Hostile("not-utf8", method, template, caller, content=NOT_UTF8, content_type="j")
            )
            cases.append(
                Hostile(
                    "surrogates",
                    method,
                    template,
                    caller,
                    content=SURROGATES.encode(),
                    content_type="j",
                )
            )
    sha_route = ("GET", "/api/v1/media/{sha256}")
    cases.append(Hostile("token=\\xe9", *sha_route, "anonymous", authorization=b"Bearer \xe9"))
    cases.append(Hostile("signature=é", *sha_route, "anonymous", query="a=1&s=%C3%A9"))
    cases.append(Hostile("signature=long", *sha_route, "anonymous", query="a=1&s=" + "0" * 5000))
    cases.append(
        Hostile(
            "form-not-utf8",
            "POST",
            "/api/v1/auth/token",
            "anonymous",
            content=b"username=\xff\xfe&password=\xb6",
            content_type="application/x-www-form-urlencoded",
        )
    )
    rankings = ("GET", "/api/v1/public/rankings/{exam}")
    cases.append(Hostile("q=not-utf8", *rankings, "anonymous", query="q=%ED%A0%80"))
    cases.append(Hostile("q=NUL", *rankings, "anonymous", query="q=%00&formation=%00"))
    for query in ("section=%00", "topic=%00", "text=%00"):
        cases.append(Hostile(query, "GET", "/api/v1/items", "admin", query=query))
    return cases


def _string_leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, str):
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _string_leaves(v, (*path, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _string_leaves(v, (*path, i))]
    return []


def _spoiled(value: Any, path: tuple[Any, ...], bad: str) -> Any:
    """``value`` with ``bad`` appended to the string at ``path``."""
    if not path:
        return value + bad
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = _spoiled(value[path[0]], path[1:], bad)
    return copy


def send_all(world: World, case: Hostile) -> list[tuple[str, Any]]:
    """Send ``case``; a ``surrogate-values`` (``nul-values``) case is one request per string
    of the valid body, each with a lone surrogate (a NUL) in that string only. Returns
    (label, response) pairs."""
    if case.name not in ("surrogate-values", "nul-values"):
        return [("", send(world, case))]
    bad = "\udc80" if case.name == "surrogate-values" else "\x00"
    access = TABLE[(case.method, case.template)]
    assert access.json is not None
    body = access.json(world)
    answers = []
    for leaf in _string_leaves(body):
        content = json.dumps(_spoiled(body, leaf, bad)).encode()  # ASCII: escapes travel
        variant = Hostile(
            case.name,
            case.method,
            case.template,
            case.caller,
            case.path_values,
            content=content,
            content_type="j",
        )
        answers.append((".".join(map(str, leaf)), send(world, variant)))
    return answers


def send(world: World, case: Hostile) -> Any:
    """Send ``case`` through the world's client; returns the response."""
    method, template = case.method, case.template
    access = TABLE[(method, template)]
    path = real_path(world, template, access, case.path_values)
    if case.query:
        path = f"{path}?{case.query}"
    headers: dict[str, Any] = caller_headers(world, case.caller, access)
    if case.authorization is not None:
        headers = {**headers, "Authorization": case.authorization}
    kwargs: dict[str, Any] = {}
    if case.content is not None:
        content_type = "application/json" if case.content_type == "j" else case.content_type
        kwargs["content"] = case.content
        headers = {**headers, "Content-Type": content_type or "application/octet-stream"}
    elif access.json is not None:
        kwargs["json"] = access.json(world)
    elif access.files is not None:
        kwargs["files"] = access.files(world)
    elif access.content is not None:
        kwargs["content"] = access.content(world)
        headers = {**headers, "Content-Type": access.content_type or "text/plain"}
    return world.client.request(method, path, headers=headers, **kwargs)
