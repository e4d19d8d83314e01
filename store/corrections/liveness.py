"""Telling a live correction from a dead one: the lock its owner holds while the attempt is open.

On SQLite (one host by definition) it is a flock on a file in a folder beside the database file
(`AttemptLock`, `locks_folder`), so processes with different artifacts roots see each other. On
PostgreSQL, machines sharing the database have their own artifact folders, so a file cannot be
seen by all of them: the owner holds a session advisory lock keyed on the attempt id on a
connection of its own, and the server drops it when that connection dies, whichever host it
was on. Whoever can take the lock knows the owner is gone and may recover the attempt.
"""

from __future__ import annotations

import contextlib
import hashlib
from pathlib import Path
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from store.corrections.archive import LOCKS_DIR, AttemptLock
from store.db import sqlite_path

ADVISORY_KEY_PREFIX = b"plandesk.correction_attempt:"


class OwnerLock(Protocol):
    def release(self) -> None: ...


def advisory_key(attempt_id: str) -> int:
    """A signed 64-bit key for pg_try_advisory_lock, stable across hosts and versions."""
    digest = hashlib.blake2b(ADVISORY_KEY_PREFIX + attempt_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class AdvisoryLock:
    """A PostgreSQL session advisory lock held on a dedicated autocommit connection."""

    def __init__(self, connection: sa.Connection, key: int) -> None:
        self.connection = connection
        self.key = key

    @classmethod
    def try_acquire(cls, engine: Engine, attempt_id: str) -> AdvisoryLock | None:
        key = advisory_key(attempt_id)
        # Autocommit, so the held connection is idle rather than idle in a transaction.
        connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            taken = connection.execute(
                sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": key}
            ).scalar_one()
        except BaseException:
            connection.close()
            raise
        if not taken:
            connection.close()
            return None
        return cls(connection, key)

    def release(self) -> None:
        try:
            self.connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
        except Exception:
            # A pooled connection must never keep the lock: end its session instead.
            with contextlib.suppress(Exception):
                self.connection.invalidate()
        finally:
            self.connection.close()


class FileLock:
    """`AttemptLock` behind the OwnerLock interface."""

    def __init__(self, lock: AttemptLock) -> None:
        self.lock = lock

    def release(self) -> None:
        self.lock.release()


def locks_folder(engine: Engine, archive_root: Path) -> Path:
    """Where attempt lock files live: `<database file>-locks/` beside a SQLite file, keyed to
    the database rather than to an artifacts root (two processes may use different roots);
    `<archive>/.locks/` for anything else (PostgreSQL locks a machine's own archive there)."""
    database = sqlite_path(engine.url.render_as_string(hide_password=False))
    if database is None:
        return archive_root / LOCKS_DIR
    database = database.resolve()  # one folder however the file was named
    return database.with_name(database.name + "-locks")


def try_own(engine: Engine, archive_root: Path, attempt_id: str) -> OwnerLock | None:
    """The attempt's owner lock, or None while a live process (anywhere) holds it."""
    if engine.dialect.name == "postgresql":
        return AdvisoryLock.try_acquire(engine, attempt_id)
    lock = AttemptLock.try_acquire(locks_folder(engine, archive_root), attempt_id)
    return FileLock(lock) if lock is not None else None
