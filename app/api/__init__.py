"""HTTP routers; each stays thin and calls a service."""

from __future__ import annotations

from fastapi import APIRouter


def api_routers() -> list[APIRouter]:
    """Every router of the JSON API, in the order the app includes them.

    The authorization test walks these: a route added here without an access rule in the
    test's table fails the suite.
    """
    from app.api import (
        auth,
        bank,
        candidate,
        device_moves,
        exams,
        health,
        integrity,
        practice,
        proctor,
        public,
    )

    # Candidate routes first: routes are matched in order, and the answer path is the hottest.
    return [
        candidate.router,
        health.router,
        auth.router,
        bank.router,
        exams.router,
        proctor.router,
        device_moves.router,
        public.router,
        practice.router,
        integrity.router,
    ]
