"""The server's clock: the only source of time for deadlines (nothing the client says is used)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class Clock:
    """Wall-clock time in UTC, with an offset tests can move forward.

    Every deadline decision goes through one ``Clock`` so a test can jump to the end of an exam
    without sleeping, while production always reads the system clock (kept by NTP).
    """

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """Current time, timezone-aware UTC."""
        return datetime.now(UTC) + self._offset

    def advance(self, delta: timedelta) -> None:
        """Move this clock forward (tests only; nothing in the service calls it)."""
        with self._lock:
            self._offset += delta
