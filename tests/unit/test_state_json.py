"""The candidate state is written without validating every nested dict when its shape is exact;
the JSON must be the model's own, and anything the model does not list must never get out."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

from app.schemas.candidate import CandidateState, _exact_shape, state_json


def item(position: int, **overrides):
    value = {
        "position": position,
        "section": "TWK",
        "stem": f"<p>Soal {position} — «ç»</p>",
        "options": [{"id": letter, "text": f"Pilihan {letter}"} for letter in "ABCDE"],
        "option": "C" if position % 2 else None,
        "flagged": position % 3 == 0,
        "adaptive": False,
        "locked": False,
        "pending": False,
    }
    value.update(overrides)
    return value


def state(**overrides):
    value = {
        "attempt_id": 7,
        "status": "in_progress",
        "nomor_peserta": "2026000001",
        "name": "Siti Aminah",
        "exam": {"title": "SKD", "code": "SKD2026"},
        "sitting": {"id": 3, "name": "Sesi 1", "status": "open"},
        "paused": False,
        "remaining_seconds": 5999,
        "duration_seconds": 6000,
        "deadline_at": datetime(2026, 11, 28, 10, 40, 0, 123456, tzinfo=UTC),
        "server_time": datetime(2026, 11, 28, 9, 0, 1, tzinfo=UTC),
        "last_seq": 12,
        "sections": [{"code": "TWK", "name": "Tes Wawasan Kebangsaan", "items": 3}],
        "items": [
            item(1),
            item(2, adaptive=True, locked=True),
            item(3, stem="", options=[], option=None, adaptive=True, pending=True),
        ],
        "stimuli": {"BACA-1@1": {"title": "Bacaan", "content": "<p>Teks</p>", "positions": [1]}},
        "result": None,
    }
    value.update(overrides)
    return value


def model_json(value):
    return CandidateState.model_validate(value).model_dump(mode="json")


def test_an_exact_state_is_written_as_the_model_would():
    value = state()
    assert _exact_shape(value)  # the unvalidated path is the one taken
    assert json.loads(state_json(value)) == model_json(value)
    ready = state(status="ready", items=[], remaining_seconds=None, deadline_at=None)
    assert json.loads(state_json(ready)) == model_json(ready)


def test_a_field_the_model_does_not_list_never_gets_out():
    leaky = state()
    leaky["items"][0]["key"] = "C"
    leaky["items"][1]["options"][0]["points"] = 5
    leaky["sitting"]["pin_hash"] = "secret"
    written = state_json(leaky)
    assert json.loads(written) == model_json(leaky)
    for secret in (b'"key"', b'"points"', b"pin_hash"):
        assert secret not in written


def test_a_missing_field_gets_the_models_default():
    short = state()
    del short["items"][0]["pending"]
    assert json.loads(state_json(short))["items"][0]["pending"] is False


def test_a_finished_state_with_its_result_goes_through_the_model():
    result = {
        "sections": [{"code": "TWK", "name": "TWK", "score": 65, "max": 150.0}],
        "total": 65,
        "max_total": 150.0,
        "passed": True,
        "rules": [
            {
                "label": "TWK",
                "value": 65,
                "minimum": 65,
                "passed": True,
                "text": "TWK 65 ≥ 65",
                "kind": "section",  # stored with the rule; not shown
            }
        ],
        "pseudonym": "K7Q-29X",
        "slip_code": "ABCD-EFGH",
        "computed_at": datetime(2026, 11, 28, 10, 41, tzinfo=UTC),
    }
    finished = state(status="finished", items=[], remaining_seconds=None, result=result)
    written = json.loads(state_json(copy.deepcopy(finished)))
    assert written == model_json(finished)
    assert written["result"]["total"] == 65.0
    assert "kind" not in written["result"]["rules"][0]
