"""Live refresh: polls the database's change watcher from thread workers and tells the App
when another connection committed, so that what is on screen is read again.

A timer ticks ~4 times a second and starts one short poll worker unless one is still running,
so polls (and with them refreshes) never exceed the tick rate however fast others commit; the
watcher answers in microseconds (SQLite `PRAGMA data_version`, PostgreSQL notifications).
Nothing here queries on the UI thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from textual.app import App
from textual.message import Message
from textual.timer import Timer

if TYPE_CHECKING:
    # store.changes and store.db load SQLAlchemy: imported where the database is open already
    from store.changes import ChangeWatcher, WatchState
    from store.db import Engine

# how often the watcher is asked; also the most refreshes per second there can be
POLL_SECONDS = 0.25


@dataclass
class DatabaseChanged(Message):
    """A poll found a commit by another connection (`changed`) or a new watcher state."""

    changed: bool
    state: WatchState
    error: str | None = None


@dataclass
class WatcherOpened(Message):
    """The watcher's own connection is open; the App keeps it on the UI thread."""

    watcher: ChangeWatcher


class LiveUpdates:
    """The App's change watcher, its poll timer and the indicator text ("live", "updated
    12:03:04", "reconnecting…")."""

    def __init__(self, app: App[None], engine: Engine, *,
                 clock: Callable[[], datetime] = datetime.now,
                 poll_seconds: float = POLL_SECONDS) -> None:
        from store.changes import WatchState

        self.app = app
        self.engine = engine
        self.clock = clock
        self.poll_seconds = poll_seconds
        self.watcher: ChangeWatcher | None = None
        self.state = WatchState.LIVE
        self.updated_at: datetime | None = None
        self.changes_seen = 0  # polls that found a change (each asks for at most one refresh)
        self.timer: Timer | None = None
        self.opening = False

    @property
    def indicator(self) -> str:
        from store.changes import WatchState

        if self.state == WatchState.RECONNECTING:
            return "reconnecting…"
        if self.updated_at is not None:
            return f"updated {self.updated_at:%H:%M:%S}"
        return "live"

    def start(self) -> None:
        self.timer = self.app.set_interval(self.poll_seconds, self._tick)

    def stop(self) -> None:
        if self.timer is not None:
            self.timer.stop()
        if self.watcher is not None:
            self.watcher.close()
            self.watcher = None

    def _polling(self) -> bool:
        return any(w.group == "live-poll" and not w.is_finished for w in self.app.workers)

    def _tick(self) -> None:
        # one poll at a time: a slow one is skipped over, never piled up behind
        if self._polling():
            return
        watcher = self.watcher
        self.app.run_worker(lambda: self._poll(watcher), thread=True, exit_on_error=False,
                            group="live-poll", description="Checking for changes")

    def _poll(self, watcher: ChangeWatcher | None) -> None:
        from store.changes import WatchState, open_change_watcher

        if watcher is None:
            try:
                watcher = open_change_watcher(self.engine)
            except Exception as exc:
                self.app.post_message(DatabaseChanged(False, WatchState.RECONNECTING, str(exc)))
                return
            self.app.post_message(WatcherOpened(watcher))
            return  # the first poll only sets the baseline
        try:
            changed = watcher.poll()
        except Exception as exc:
            self.app.post_message(DatabaseChanged(False, WatchState.RECONNECTING, str(exc)))
            return
        if changed or watcher.state != self.state:
            self.app.post_message(DatabaseChanged(changed, watcher.state))

    def opened(self, watcher: ChangeWatcher) -> None:
        """On the UI thread: keep the watcher (closing one that lost a race with stop())."""
        from store.changes import WatchState

        if self.timer is None or self.watcher is not None:
            watcher.close()
            return
        self.watcher = watcher
        self.state = WatchState.LIVE

    def changed(self, message: DatabaseChanged) -> bool:
        """On the UI thread: take in a poll's result; True when the views should refresh."""
        self.state = message.state
        if message.changed:
            self.changes_seen += 1
            self.updated_at = self.clock()
        return message.changed
