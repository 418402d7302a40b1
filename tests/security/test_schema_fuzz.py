"""Schema fuzzing: schemathesis against the app's own ``/openapi.json``, in process.

Every operation of the document is called with data generated from its schema (valid data, and
data that breaks it) by three kinds of caller:

``anonymous``   no credentials (most routes must refuse, as documented)
``authorized``  a token of a role the route admits (from the authorization table), with
                generated path parameters
``realistic``   the same token with real path parameters (the world's sitting, attempt, exam,
                item, slip, image), so that generated queries and bodies reach real rows

Every answer must be no server error, with a status code the document lists for the operation,
a documented content type, and a body that fits the documented schema. The run is bounded: a
fixed number of examples per operation, derandomized, no shrinking; all failures of an
operation are collected and reported together. ``UJIAN_FUZZ_SCALE=10`` runs ten times as many
examples (by hand; CI runs the default). The live board stream is not fuzzed: it never ends.

Then :func:`test_hostile_input_is_refused_not_crashed` sends the inputs random generation
rarely finds (ids past the database's integers, bodies that are not UTF-8, lone surrogates,
non-ASCII signatures) to every route they apply to.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import hypothesis
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.security.hostile import Hostile, hostile_requests, send_all
from tests.security.test_authorization import TABLE, path_params, path_value
from tests.security.world import World

#: Generated examples per operation, caller and generation mode. A caller the route refuses
#: only needs to see that refusals are documented and never a server error.
SCALE = max(1, int(os.environ.get("UJIAN_FUZZ_SCALE", "1")))
EXAMPLES = {
    "admitted": {GenerationMode.POSITIVE: 8 * SCALE, GenerationMode.NEGATIVE: 4 * SCALE},
    "refused": {GenerationMode.POSITIVE: 2 * SCALE, GenerationMode.NEGATIVE: 2 * SCALE},
}
SEED = 20261128
#: Never fuzzed: the live board stream never ends.
NOT_FUZZED = frozenset({("GET", "/api/v1/public/live/{sitting_id}")})
#: Not fuzzed with a token: it revokes the token the rest of the run uses.
NOT_FUZZED_WITH_TOKEN = frozenset({("DELETE", "/api/v1/auth/token")})
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
#: The routes of the OpenAPI document (the pages and the documentation are not in it).
API_ROUTES = sorted(k for k in TABLE if k[1].startswith("/api/") or k[1] == "/healthz")
CALLERS = ("anonymous", "authorized", "realistic")


def _lifespan_free(app: FastAPI) -> Any:
    """``app`` without its lifespan: the module's test client runs it (and stops it), and
    schemathesis would otherwise start a second one that outlives the module."""

    async def asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            msg = "the lifespan is run by the test client"
            raise RuntimeError(msg)
        await app(scope, receive, send)

    return asgi


@pytest.fixture(scope="module")
def api_schema(module_app: FastAPI, world: World) -> Any:
    """The app's OpenAPI document as served, loaded by schemathesis (after the world is built,
    so that every call meets real data)."""
    config = schemathesis.config.SchemathesisConfig.from_dict(
        {"seed": SEED, "generation": {"deterministic": True, "database": "none"}}
    )
    return schemathesis.openapi.from_asgi(
        "/openapi.json", _lifespan_free(module_app), config=config
    )


def test_the_document_lists_every_api_route(api_schema: Any) -> None:
    documented = {
        (result.ok().method.upper(), result.ok().path) for result in api_schema.get_all_operations()
    }
    assert documented == set(API_ROUTES)


def _token_for(world: World, method: str, path: str) -> dict[str, str]:
    rule = TABLE[(method, path)].rule
    if rule.kind == "public":
        return {}
    if rule.kind == "candidate":
        return world.current_token("b")
    for role in ("committee", "admin", "proctor"):
        if role in rule.roles:
            return dict(world.staff[role].headers)
    raise AssertionError(rule)


def _real_path(world: World, method: str, path: str) -> dict[str, Any]:
    access = TABLE[(method, path)]
    return {
        name: access.path[name](world) if name in access.path else path_value(world, path, name)
        for name in path_params(path)
    }


def _checker(
    label: str, headers: dict[str, str], failures: dict[str, str]
) -> Callable[[Any], None]:
    """Call one generated case and file each distinct failure under ``failures``."""

    def check(case: Any) -> None:
        curl = case.as_curl_command(headers=headers)[:400]
        try:
            response = case.call(headers=headers)
        except Exception as error:
            # In process the app's crash is re-raised after its 500 answer was sent: report it
            # as the 500 a server would give.
            failures.setdefault(
                f"crash {type(error).__name__}",
                f"{label} -> 500 ({type(error).__name__}: {str(error)[:200]})\n    {curl}",
            )
            return
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except AssertionError as error:
            found = getattr(error, "exceptions", None) or (error,)
            for failure in found:
                title = getattr(failure, "title", type(failure).__name__)
                message = str(getattr(failure, "message", failure))[:300]
                failures.setdefault(
                    f"{title} {response.status_code}",
                    f"{label} -> {response.status_code}: {title}: {message}\n"
                    f"    {curl}\n    answer: {response.text[:200]}",
                )

    return check


def fuzz(world: World, api_schema: Any, method: str, path: str, caller: str) -> list[str]:
    """Run the operation's generated cases; every distinct failure, described."""
    operation = api_schema.find_operation_by_path(method, path)
    assert operation is not None, f"{method} {path} is not in the OpenAPI document"
    headers = {} if caller == "anonymous" else _token_for(world, method, path)
    fixed = _real_path(world, method, path) if caller == "realistic" else None
    public = TABLE[(method, path)].rule.kind == "public"
    budget = EXAMPLES["refused" if caller == "anonymous" and not public else "admitted"]
    failures: dict[str, str] = {}
    for mode, examples in budget.items():
        check = _checker(f"{mode} {caller} {method} {path}", headers, failures)
        test = hypothesis.settings(
            max_examples=examples,
            derandomize=True,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
            verbosity=hypothesis.Verbosity.quiet,
        )(hypothesis.given(case=operation.as_strategy(mode, path_parameters=fixed))(check))
        try:
            test()
        except hypothesis.errors.Unsatisfiable:
            # Nothing to make invalid: the operation takes no parameters and no body.
            assert mode is GenerationMode.NEGATIVE, f"{method} {path}: no valid request"
    return list(failures.values())


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize(("method", "path"), API_ROUTES, ids=str)
def test_fuzz(world: World, api_schema: Any, method: str, path: str, caller: str) -> None:
    if (method, path) in NOT_FUZZED or (
        caller != "anonymous" and (method, path) in NOT_FUZZED_WITH_TOKEN
    ):
        pytest.skip("not fuzzed (see NOT_FUZZED)")
    if caller == "realistic" and "{" not in path:
        pytest.skip("no path parameters: the authorized run covers it")
    if caller == "authorized" and TABLE[(method, path)].rule.kind == "public":
        pytest.skip("a public route: the anonymous run covers it")
    failures = fuzz(world, api_schema, method, path, caller)
    assert not failures, "\n".join(failures)


HOSTILE = hostile_requests()


@pytest.mark.parametrize("case", HOSTILE, ids=[c.id for c in HOSTILE])
def test_hostile_input_is_refused_not_crashed(
    world: World, module_app: FastAPI, case: Hostile
) -> None:
    documented = module_app.openapi()["paths"][case.template][case.method.lower()]["responses"]
    problems = []
    for label, response in send_all(world, case):
        where = f"{case.id} {label}".strip()
        if response.status_code >= 500:
            problems.append(f"{where} -> {response.status_code} (a server error)")
        elif str(response.status_code) not in documented:
            problems.append(
                f"{where} -> {response.status_code}, not documented ({sorted(documented)}): "
                f"{response.text[:200]}"
            )
    assert not problems, "\n".join(problems)
