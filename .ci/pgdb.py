"""Create or drop a PostgreSQL database for a CI run (no psql client needed)."""

from __future__ import annotations

import sys

import psycopg


def main(action: str, admin_url: str, name: str) -> int:
    """``create`` or ``drop`` database ``name`` through ``admin_url``."""
    try:
        connection = psycopg.connect(admin_url, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        print(f"PostgreSQL unreachable at {admin_url}: {exc}", file=sys.stderr)
        return 3
    with connection:
        if action == "create":
            connection.execute(f'CREATE DATABASE "{name}"')
        else:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3]))
