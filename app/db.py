"""Database engines and sessions: SQLite (WAL, durable) or PostgreSQL (psycopg 3)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from app.settings import Settings

SQLITE_ALLOWED_SYNCHRONOUS = frozenset({"FULL", "EXTRA", "NORMAL"})


def is_sqlite(url: str) -> bool:
    """Whether ``url`` names a SQLite database."""
    return make_url(url).get_backend_name() == "sqlite"


def normalize_url(url: str) -> str:
    """Use psycopg 3 for ``postgresql://`` URLs and make SQLite's folder exist."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() != "psycopg":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        restrict_sqlite_files(Path(parsed.database))
    return parsed.render_as_string(hide_password=False)


def restrict_sqlite_files(path: Path) -> None:
    """Make the database file (and its WAL and shared-memory files) readable by this user only.

    The file holds answers, PIN digests and audit chains. SQLite creates ``-wal`` and ``-shm``
    with the mode of the database file, so creating that file 0600 before SQLite opens it
    covers them; files left by an older version are narrowed too.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    # Never open an existing database file here: closing any descriptor of a file drops every
    # POSIX lock this process holds on it, and SQLite's locks (its connections in this process)
    # would silently vanish. Only a file that does not exist yet is created, exclusively.
    if not path.exists():
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if file.exists():
            file.chmod(0o600)


def _sqlite_engine(url: str, settings: Settings, *, immediate: bool) -> Engine:
    synchronous = settings.sqlite_synchronous.upper()
    if synchronous not in SQLITE_ALLOWED_SYNCHRONOUS:
        msg = f"UJIAN_SQLITE_SYNCHRONOUS must be one of {sorted(SQLITE_ALLOWED_SYNCHRONOUS)}"
        raise ValueError(msg)
    # SQLite has one writer at a time. Writers of this process queue for the single pooled
    # write connection (first come, first served, no polling) instead of all holding
    # connections and polling SQLite's lock, whose busy handler backs off up to 100 ms a try
    # and gives up after the busy timeout under load. Readers have a pool of their own (WAL:
    # they never block the writer). Another process on the same file still meets SQLite's
    # busy timeout.
    engine = create_engine(
        url,
        connect_args={
            "check_same_thread": False,
            "timeout": settings.sqlite_busy_timeout_ms / 1000,
        },
        pool_size=1 if immediate else settings.db_pool_size,
        max_overflow=0 if immediate else settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's implicit BEGIN is
        # deferred, which lets two writers read the same snapshot and one of them fail late).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(settings.sqlite_busy_timeout_ms)}")
        cursor.close()

    begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A writing transaction takes SQLite's write lock up front, so it waits (busy_timeout)
        # instead of failing with SQLITE_BUSY when it first writes after reading.
        connection.exec_driver_sql(begin)

    return engine


@dataclass
class Database:
    """The engines of one process: ``engine`` for writing transactions, ``read_engine`` for reads.

    On PostgreSQL both are the same pool. On SQLite they differ only in how a transaction
    begins: writers take the write lock at BEGIN (IMMEDIATE), readers never block anyone (WAL).
    """

    url: str
    engine: Engine
    read_engine: Engine
    write_sessions: sessionmaker[Session]
    read_sessions: sessionmaker[Session]

    @property
    def is_sqlite(self) -> bool:
        """Whether this is the embedded SQLite database."""
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def unit_of_work(self, *, write: bool = True) -> Iterator[Session]:
        """One transaction: the only way routes, commands and background jobs reach the data.

        ``write=True``: a writing transaction (on SQLite it takes the write lock at BEGIN),
        committed when the block succeeds and rolled back when it raises. ``write=False``: a
        read-only transaction on the read pool, always rolled back at the end. The session is
        closed and its connection back in the pool when the block ends, in the thread that
        opened it: hold no unit of work across a wait for another thread (see
        ``app/api/transaction.py``), and do not open a writing one inside another on SQLite
        (there is one write connection, so the inner one would wait for the outer).
        """
        with (self.write_sessions if write else self.read_sessions)() as session:
            try:
                yield session
                if write:
                    session.commit()
                else:
                    session.rollback()
            except BaseException:
                session.rollback()
                raise

    def session(self) -> AbstractContextManager[Session]:
        """A writing :meth:`unit_of_work`."""
        return self.unit_of_work(write=True)

    def read_session(self) -> AbstractContextManager[Session]:
        """A read-only :meth:`unit_of_work`."""
        return self.unit_of_work(write=False)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()


def connect(settings: Settings, url: str | None = None) -> Database:
    """Create the engines for ``url`` (default: ``settings.database_url``)."""
    url = normalize_url(url or settings.database_url)
    if is_sqlite(url):
        engine = _sqlite_engine(url, settings, immediate=True)
        read_engine = _sqlite_engine(url, settings, immediate=False)
    else:
        engine = create_engine(
            url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_timeout=settings.db_pool_timeout_seconds,
            pool_pre_ping=True,
        )
        read_engine = engine
    # Whatever writes through this database (the app, a command, a bench's loader) keys its
    # audit events and signs its documents with the secret and keys of these settings.
    from app import keys
    from app.services import audit

    audit.use_secret(settings.secret())
    keys.use_var_dir(settings.var_dir)
    return Database(
        url=url,
        engine=engine,
        read_engine=read_engine,
        write_sessions=sessionmaker(engine, expire_on_commit=False),
        read_sessions=sessionmaker(read_engine, expire_on_commit=False),
    )
