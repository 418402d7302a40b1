"""The /verify page checks Ed25519 signatures in the browser (WebCrypto) with the public keys
the server publishes: a genuine slip or ranking snapshot verifies and names its key, a forged
one does not. The server only hands out the keys and the signed documents."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.browser.test_public import context, public  # noqa: F401 - the module's fixtures

pytestmark = pytest.mark.browser


def _get(public, path):  # noqa: F811 - `public` is the fixture's value
    with httpx.Client(base_url=public.server.url, timeout=30) as client:
        response = client.get(path)
        assert response.status_code == 200, response.text
        return response.json()


def _check_pasted(page, document) -> tuple[str, str]:
    page.fill("#document-text", json.dumps(document))
    page.click("#document-form button[type=submit]")
    page.wait_for_selector("#document-verdict:not([data-valid=''])")
    return page.get_attribute("#document-verdict", "data-valid"), page.inner_text(
        "#document-verdict"
    )


def test_a_slip_code_shows_its_signature_checked_in_the_browser(page, public):  # noqa: F811
    code = public.exam.results[public.exam.nomor(1)]["slip_code"]
    [key] = _get(public, "/api/v1/public/keys")["keys"]
    page.goto(f"/verify/{code}?lang=en")
    page.wait_for_selector("#signature:not([hidden])")
    assert page.get_attribute("#signature-verdict", "data-valid") == "true"
    text = page.inner_text("#signature-verdict")
    assert text.startswith("✓ The signature is valid")
    assert key["key_id"] in text


def test_a_pasted_document_verifies_and_a_forged_one_is_rejected(page, public):  # noqa: F811
    code = public.exam.results[public.exam.nomor(2)]["slip_code"]
    genuine = _get(public, f"/api/v1/public/slips/{code}/signed")
    page.goto("/verify?lang=en")
    valid, text = _check_pasted(page, genuine)
    assert valid == "true"
    assert genuine["signature"]["key_id"] in text
    assert "ujian-result-slip" in text

    body = json.loads(genuine["payload"])
    body["total"] = 50.0
    forged = {**genuine, "payload": json.dumps(body, separators=(",", ":"))}
    page.goto("/verify?lang=en")
    valid, text = _check_pasted(page, forged)
    assert valid == "false"
    assert "does not match" in text

    [snapshot, *_] = _get(public, "/api/v1/public/rankings/MINI/signed")
    page.goto("/verify?lang=en")
    valid, text = _check_pasted(page, snapshot)
    assert valid == "true"
    assert "ujian-ranking-snapshot" in text

    page.goto("/verify?lang=en")
    valid, text = _check_pasted(
        page,
        {
            "payload": "{}",
            "signature": {"algorithm": "Ed25519", "key_id": "0" * 16, "value": "AAAA"},
        },
    )
    assert valid == "false"
    assert "No published public key has this id" in text
