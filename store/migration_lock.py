"""One migration at a time on a shared PostgreSQL database: a session advisory lock on a fixed key.

Two `plandesk db upgrade` runs (or an app's migration worker and a script) started together
would otherwise both create the same tables and the second would die on a unique violation
in PostgreSQL's catalog. The lock is held on a connection of its own for the whole upgrade or
downgrade, so it also spans the per-revision transactions; the server drops it when that
connection or its process dies. SQLite needs none: each revision takes the file's write lock.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterator

import sqlalchemy as sa

from store.db import create_db_engine, translated_errors

MIGRATION_LOCK_KEY = int.from_bytes(
    hashlib.blake2b(b"plandesk.migrations", digest_size=8).digest(), "big", signed=True
)
WAITING_MESSAGE = "waiting for another migration of this database to finish…"


@contextlib.contextmanager
def migration_lock(url: str, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the database's migration lock for the block; `on_wait` hears once if it must wait."""
    if sa.make_url(url).get_backend_name() != "postgresql":
        yield
        return
    engine = create_db_engine(url)
    try:
        with translated_errors(url):
            # Autocommit: the holding connection stays idle, not idle in a transaction.
            connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            with translated_errors(url):
                taken = connection.execute(
                    sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
                ).scalar_one()
                if not taken:
                    if on_wait is not None:
                        on_wait(WAITING_MESSAGE)
                    connection.execute(
                        sa.text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
                    )
            try:
                yield
            finally:
                try:
                    connection.execute(
                        sa.text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY}
                    )
                except Exception:
                    # A pooled connection must never keep the lock: end its session instead.
                    with contextlib.suppress(Exception):
                        connection.invalidate()
        finally:
            connection.close()
    finally:
        engine.dispose()
