"""Noticing commits made by other connections, cheaply enough to ask ten times a second.

SQLite: `PRAGMA data_version` on one long-lived connection of our own (it changes when any
other connection commits). PostgreSQL: LISTEN on the channel the triggers of the live-notify
revision feed; if that connection drops, a snapshot query stands in for it while we reconnect.
`poll()` never blocks for long; `wait(timeout)` blocks until a change or the timeout (a
PostgreSQL notification ends it at once; SQLite can only look again when it ends). Both are
called from one thread at a time (the app's one watching worker); `close()` may come from
another thread: it ends a `wait` at once, waits for a running poll, and polls after it report
no change. A PostgreSQL connect or query that a dead server never answers runs in a thread of
its own that `close()` walks away from, so quitting never waits on it.
"""

from __future__ import annotations

import contextlib
import enum
import json
import select
import socket
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine

CHANNEL = "plandesk_changes"
# how long a dropped listener waits between attempts to reconnect
RECONNECT_SECONDS = 1.0
# how long a connect of the watcher's may take (libpq's connect_timeout) before it fails: what
# ends a connect to a server that does not answer, that the watcher walked away from
CONNECT_SECONDS = 10
# how often a poll waiting on a connect or query looks whether it is being closed
CLOSING_CHECK_SECONDS = 0.05


class WatchState(enum.StrEnum):
    LIVE = "live"
    RECONNECTING = "reconnecting"


@dataclass(frozen=True)
class Change:
    """One changed row, as a PostgreSQL notification names it; a plan moved to another parent
    or tree, or deleted, names where it was too (from revision 0008 on)."""

    table: str
    key: str | None
    plan_id: str | None
    op: str = ""
    old_parent_id: str | None = None
    old_root_id: str | None = None


class ChangeWatcher(Protocol):
    state: WatchState
    # the rows the last poll() heard of (PostgreSQL only; SQLite says only that something changed)
    changes: tuple[Change, ...]

    def poll(self) -> bool:
        """Whether another connection committed a change since the last poll."""
        ...

    def wait(self, timeout: float) -> bool:
        """Like `poll()`, after waiting up to `timeout` seconds for a change to be heard."""
        ...

    def close(self) -> None: ...


class SqliteChangeWatcher:
    """`PRAGMA data_version` on a connection that is never used for anything else."""

    def __init__(self, path: Path) -> None:
        # mode=rw: never creates a file at the path; isolation_level=None: no transaction is
        # ever held open, so every read sees the latest commit and checkpoints are not blocked
        self._connection = sqlite3.connect(
            f"file:{path}?mode=rw", uri=True, isolation_level=None, check_same_thread=False
        )
        self.state = WatchState.LIVE
        self.changes: tuple[Change, ...] = ()
        # closing the connection while another thread reads it crashes the process
        self._lock = threading.Lock()
        self._closed = False
        self._closing = threading.Event()
        self._version = self._read()

    def _read(self) -> int:
        row = self._connection.execute("PRAGMA data_version").fetchone()
        return int(row[0])

    def poll(self) -> bool:
        with self._lock:
            if self._closed:
                return False
            version = self._read()
        changed = version != self._version
        self._version = version
        return changed

    def wait(self, timeout: float) -> bool:
        # SQLite tells no one about a commit: the version can only be read again
        self._closing.wait(timeout)
        return self.poll()

    def close(self) -> None:
        self._closing.set()
        with self._lock:
            if not self._closed:
                self._closed = True
                self._connection.close()


class _Closed(Exception):
    """The watcher was closed while it waited on the server."""


class _Abandonable:
    """One blocking call (a connect, a query) in a daemon thread of its own, so that whoever
    waits for it can walk away; what it opens after that is closed by `discard`."""

    def __init__(self, call: Any, discard: Any) -> None:
        self._call = call
        self._discard = discard
        self._lock = threading.Lock()
        self._abandoned = False
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None
        threading.Thread(target=self._run, daemon=True, name="plandesk-watch-connect").start()

    def _run(self) -> None:
        value: Any = None
        error: BaseException | None = None
        try:
            value = self._call()
        except BaseException as exc:
            error = exc
        with self._lock:
            if not self._abandoned:
                self.value, self.error = value, error
                self.done.set()
                return
        if value is not None:
            with contextlib.suppress(Exception):
                self._discard(value)

    def abandon(self) -> None:
        with self._lock:
            self._abandoned = True
            value, self.value = self.value, None
        if value is not None:
            with contextlib.suppress(Exception):
                self._discard(value)


def _snapshot_query() -> sa.TextClause:
    # changes whenever a transaction that wrote anything starts or ends, anywhere on the server
    return sa.text("SELECT pg_current_snapshot()::text")


class PgChangeWatcher:
    """LISTEN on its own connection; a snapshot query while that connection is being
    reconnected (a change may have been missed meanwhile, so a drop counts as one)."""

    def __init__(self, engine: Engine, *, clock: Any = time.monotonic,
                 stopping: threading.Event | None = None) -> None:
        # connections of its own, whose connects give up after CONNECT_SECONDS
        self._engine = sa.create_engine(engine.url, pool_pre_ping=True, pool_size=1,
                                        connect_args={"connect_timeout": CONNECT_SECONDS})
        self._clock = clock
        # set by the owner when it stops: a connect under way in __init__ is walked away from
        self._stopping = stopping
        self._listener: Any = None
        self._fingerprint: str | None = None
        self._next_attempt = 0.0
        self.state = WatchState.LIVE
        self.changes: tuple[Change, ...] = ()
        self._lock = threading.Lock()
        self._closed = False
        self._closing = threading.Event()
        # close() writes to one end so that a wait() blocked on the listener's socket ends
        self._wake_reader, self._wake_writer = socket.socketpair()
        try:
            self._listen()
        except BaseException:
            self._close_own()
            raise

    @property
    def listener_pid(self) -> int | None:
        """The server process of the listening connection (for tests that cut it)."""
        return None if self._listener is None else int(self._listener.info.backend_pid)

    def _abandonable(self, call: Any, discard: Any = None) -> Any:
        """`call()`, run where close() (or the owner's stopping) can walk away from it: a
        server that went away may never answer a connect or a query. Raises _Closed then."""
        attempt = _Abandonable(call, discard or (lambda _value: None))
        while not attempt.done.wait(CLOSING_CHECK_SECONDS):
            if self._closing.is_set() or (self._stopping is not None
                                          and self._stopping.is_set()):
                attempt.abandon()
                raise _Closed
        if attempt.error is not None:
            raise attempt.error
        return attempt.value

    def _listen(self) -> None:
        self._listener = self._abandonable(self._connect_listening, lambda c: c.close())
        self.state = WatchState.LIVE

    def _connect_listening(self) -> Any:
        raw = self._engine.raw_connection()
        connection = raw.driver_connection
        assert connection is not None
        raw.detach()  # ours for good: the pool never hands it out or resets it
        try:
            connection.rollback()
            connection.autocommit = True
            connection.execute(f"LISTEN {CHANNEL}")
        except Exception:
            connection.close()
            raise
        return connection

    def _drop_listener(self) -> None:
        listener, self._listener = self._listener, None
        self.state = WatchState.RECONNECTING
        self._next_attempt = self._clock() + RECONNECT_SECONDS
        self._fingerprint = None
        with contextlib.suppress(Exception):  # it is gone already; that is why we are here
            listener.close()

    def poll(self) -> bool:
        with self._lock:
            if self._closed:
                self.changes = ()
                return False
            try:
                return self._poll()
            except _Closed:
                self.changes = ()
                return False

    def _poll(self) -> bool:
        self.changes = ()
        if self._listener is not None:
            try:
                notes = list(self._listener.notifies(timeout=0))
            except Exception:
                self._drop_listener()
                return True  # what happened while it was dropping went unheard
            changes = [_change(note.payload) for note in notes]
            # a row the payload could not name (too long for NOTIFY): unknown, like SQLite's
            self.changes = () if None in changes else tuple(c for c in changes if c)
            return bool(notes)
        changed = self._poll_snapshot()
        if self._clock() >= self._next_attempt:
            try:
                self._listen()
            except _Closed:
                raise
            except Exception:
                self._next_attempt = self._clock() + RECONNECT_SECONDS
                return changed
            return True  # between the snapshot and LISTEN a commit may have gone unheard
        return changed

    def wait(self, timeout: float) -> bool:
        listener = self._listener
        if listener is None:
            self._closing.wait(timeout)  # polling while reconnecting
            return self.poll()
        # outside the lock, so that close() is never kept waiting: a notification (or the
        # connection dropping) makes the socket readable, close() the wake socket. An error
        # means closed under us (poll says no change) or dropped (poll finds out).
        with contextlib.suppress(Exception):
            select.select([listener.fileno(), self._wake_reader], [], [], timeout)
        return self.poll()

    def _read_snapshot(self) -> str:
        with self._engine.connect() as connection:
            return str(connection.execute(_snapshot_query()).scalar_one())

    def _poll_snapshot(self) -> bool:
        try:
            fingerprint = str(self._abandonable(self._read_snapshot))
        except _Closed:
            raise
        except Exception:
            return False  # the server is away; the state already says reconnecting
        changed = self._fingerprint is not None and fingerprint != self._fingerprint
        self._fingerprint = fingerprint
        return changed

    def close(self) -> None:
        self._closing.set()
        with contextlib.suppress(OSError):
            self._wake_writer.send(b"x")
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._wake_reader.close()
            self._wake_writer.close()
            try:
                if self._listener is not None:
                    self._listener.close()
            finally:
                self._listener = None
                self._close_own()

    def _close_own(self) -> None:
        """Close its own engine's connections (one that a walked-away thread opens later is
        closed by that thread's `discard`, or when it is collected)."""
        self._engine.dispose(close=True)


def _change(payload: str) -> Change | None:
    """The row a payload names; None when it says it could not name it."""
    try:
        data = json.loads(payload)
        if data.get("unnamed"):
            return None
        return Change(str(data.get("table")), data.get("key"), data.get("plan_id"),
                      str(data.get("op") or ""), data.get("old_parent_id"),
                      data.get("old_root_id"))
    except (ValueError, AttributeError):
        return Change("?", None, None)  # a NOTIFY on our channel from someone else


def open_change_watcher(engine: Engine,
                        stopping: threading.Event | None = None) -> ChangeWatcher:
    """The watcher for the database `engine` is on (it opens its own connection); `stopping`,
    once set, abandons a PostgreSQL connect that is still waiting for the server."""
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        if not database or database == ":memory:":
            raise ValueError("Only a SQLite file can be watched for changes.")
        return SqliteChangeWatcher(Path(database))
    return PgChangeWatcher(engine, stopping=stopping)
