"""Passages and formulas on the candidate screen: the passage beside its item on a wide screen and
above it on a narrow one, and MathML drawn as math (not hidden, not flattened to text)."""

from __future__ import annotations

import pytest

from tests.browser.journey import go_to, log_in, start
from tests.conftest import TEST_SECRET
from tests.support.fidelity import PASSAGE_TEXT, PASSAGE_TITLE, passage_exam

pytestmark = pytest.mark.browser

NOMOR = "2026000001"


@pytest.fixture
def exam(db, clock):
    return passage_exam(db, clock, TEST_SECRET.encode())


def _box(page, selector):
    box = page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} is not rendered"
    return box


def test_passage_beside_its_item_and_math_visible(page, server, exam):
    log_in(page, NOMOR, exam.pin_of(NOMOR))
    start(page)
    seen = {"passage": 0, "math": False}
    for position in range(1, 6):
        go_to(page, position)
        stem = page.inner_text("#question-stem")
        passage = page.locator("#question-passage")
        if "menurut bacaan" in stem:
            seen["passage"] += 1
            assert passage.is_visible()
            assert page.inner_text("#passage-title") == PASSAGE_TITLE
            assert PASSAGE_TEXT in page.inner_text("#passage-body")
            # 1366 px wide: the passage stands to the left of the question, side by side.
            left, right = _box(page, "#question-passage"), _box(page, "#question-stem")
            assert left["x"] + left["width"] <= right["x"]
            assert right["y"] < left["y"] + left["height"]
            # The passage's own formula is drawn as math too.
            formula = _box(page, "#passage-body math")
            assert formula["width"] > 0
            assert formula["height"] > 0
        else:
            assert not passage.is_visible()
        if page.locator("#question-stem math").count():
            seen["math"] = True
            for selector in ("#question-stem math mfrac", "#option-list .option-text math"):
                box = _box(page, selector)
                assert box["width"] > 0
                assert box["height"] > 0
            # MathML laid out as math: the fraction stacks its numerator above its denominator.
            top = _box(page, "#question-stem mfrac > mn:first-child")
            bottom = _box(page, "#question-stem mfrac > mn:last-child")
            assert top["y"] + top["height"] <= bottom["y"] + 1
            assert page.locator("#option-list .option-text math").count() == 3
    assert seen == {"passage": 2, "math": True}

    # A narrow screen: the passage comes above the question instead.
    page.set_viewport_size({"width": 600, "height": 900})
    for position in range(1, 6):
        go_to(page, position)
        if page.locator("#question-passage").is_visible():
            above, below = _box(page, "#question-passage"), _box(page, "#question-stem")
            assert above["y"] + above["height"] <= below["y"]
            break
    else:
        pytest.fail("no item with its passage found on the narrow screen")
