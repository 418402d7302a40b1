"""Say plainly, before the suite runs, whether the browser tests will run or be skipped."""

from __future__ import annotations

import shutil
import sys


def chromium_path() -> str | None:
    """The Chromium the browser tests drive (Debian's ``chromium`` package), if installed."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def main() -> int:
    """Print one line about the browser tests; never fails the run."""
    path = chromium_path()
    if path:
        print(f"Browser tests: will run in headless Chromium ({path}).")
    else:
        print(
            "Browser tests: SKIPPED - no Chromium found. Install Debian's package to run them: "
            "sudo apt-get install chromium"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
