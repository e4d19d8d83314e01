"""Stopping the SQL a stale thread still runs: a search overtaken by a newer keystroke.

`QueryInterrupt.watching(session)` makes the statements a block runs on its session
interruptible; `interrupt()`, from another thread, stops the running one and refuses the ones
the block would run after it, and the block ends with `QueryInterrupted`.

- SQLite: a progress handler on the connection, checked every PROGRESS_STEPS virtual-machine
  steps. `sqlite3.Connection.interrupt()` called from another thread could land after the
  block has handed the pooled connection to its next user; the handler belongs to the block
  and goes with it.
- PostgreSQL: the server is asked to cancel the running statement (psycopg's
  `cancel_safe()`), under a lock the block's end waits on, so that the cancel can only reach
  the block's own statements. It is a round trip to the server: call it from a worker, not
  from a UI thread.

Importing this module loads no SQLAlchemy (the app's first frame comes before it).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlmodel import Session

# SQLite virtual-machine steps between two checks: ~1 ms of a scan, and few enough calls
# into Python that the check costs nothing measurable
PROGRESS_STEPS = 10_000


class QueryInterrupted(Exception):
    """The block's statements were stopped by `QueryInterrupt.interrupt()`."""


class QueryInterrupt:
    """One block of statements that another thread may stop (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._interrupted = threading.Event()
        self._postgres: Any = None  # the psycopg connection, while the block holds it

    @property
    def interrupted(self) -> bool:
        return self._interrupted.is_set()

    def interrupt(self) -> None:
        """Stop the watched statement now, and every one the block starts after it (also
        before the block begins: it then runs none). Thread-safe; idempotent."""
        with self._lock:
            self._interrupted.set()
            if self._postgres is not None:
                # the connection may have ended meanwhile: then there is nothing to stop
                with suppress(Exception):
                    self._postgres.cancel_safe(timeout=5.0)

    def stop_soon(self) -> bool:
        """Refuse every statement the block starts from now on (at once, without a lock or a
        round trip); whether a statement may be running on a server, for `interrupt()` to
        cancel (from a worker: it waits on the server)."""
        self._interrupted.set()
        return self._postgres is not None

    def _refuse(self, *_: object) -> None:
        if self._interrupted.is_set():
            raise QueryInterrupted("the query was interrupted")

    @contextmanager
    def watching(self, session: Session) -> Iterator[None]:
        """Run the block's statements on `session` so that `interrupt()` can stop them; any
        error they raise once interrupted becomes `QueryInterrupted`."""
        from sqlalchemy import event

        self._refuse()
        connection = session.connection()
        raw = connection.connection.dbapi_connection
        sqlite = connection.dialect.name == "sqlite"
        event.listen(connection, "before_cursor_execute", self._refuse)
        if sqlite:
            assert raw is not None
            raw.set_progress_handler(self._interrupted.is_set, PROGRESS_STEPS)
        else:
            with self._lock:
                self._postgres = raw
        try:
            try:
                yield
            except Exception as exc:
                if self._interrupted.is_set():
                    raise QueryInterrupted("the query was interrupted") from exc
                raise
        finally:
            if sqlite:
                assert raw is not None
                raw.set_progress_handler(None, 0)
            else:
                with self._lock:  # a cancel under way reaches this block's statement only
                    self._postgres = None
            event.remove(connection, "before_cursor_execute", self._refuse)
