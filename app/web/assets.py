"""The pages' static files (CSS, scripts, icons), served by Ujian itself: test centres may have
no internet, so nothing comes from a CDN."""

from __future__ import annotations

import os
from pathlib import Path

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC_DIR = Path(__file__).parent / "static"


class StaticAssets(StaticFiles):
    """Static files that browsers revalidate on every page load.

    Scripts import each other as ES modules by plain relative URLs, which cannot carry a
    version; ``no-cache`` (revalidate with the ETag, a 304 on a LAN) keeps a PC that ran
    yesterday's session from mixing old and new scripts after an upgrade.
    """

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = "no-cache"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def static_files() -> StaticAssets:
    """The app for the ``/static`` mount."""
    return StaticAssets(directory=STATIC_DIR)
