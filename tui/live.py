"""Live refresh: one long-lived thread worker waits on the database's change watcher and tells
the App when another connection committed, so that what is on screen is read again.

The worker looks every `poll_seconds` (the config's refresh_seconds; SQLite can only be
asked), but a PostgreSQL notification wakes it at once. It reports a change at once when none
was reported for `MIN_REFRESH_GAP` seconds, else when that gap is over, with everything heard
meanwhile folded into one report: a burst of commits asks for at most ~4 refreshes a second.
Nothing here queries on the UI thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from textual.app import App
from textual.message import Message
from textual.worker import Worker

if TYPE_CHECKING:
    # store.changes and store.db load SQLAlchemy: imported where the database is open already
    from store.changes import Change, ChangeWatcher, WatchState
    from store.db import Engine

# the worker group of the one watching worker (it runs as long as the app: tests leave it out
# of what they wait for)
WATCH_GROUP = "live-watch"


def ending_workers(app: App[object]) -> list[Worker[object]]:
    """The app's workers that end by themselves: all but live refresh's watcher.

    What tests and benchmarks wait for. (Textual's `wait_for_complete([])` waits for every
    worker, the watcher's too, so a caller with none to wait for must not call it.)"""
    return [worker for worker in app.workers if worker.group != WATCH_GROUP]


# the least time between two reported changes: at most ~4 refreshes a second
MIN_REFRESH_GAP = 0.25
# more named rows than this in one report: refresh everything loaded instead of each of them
MOST_NAMED_CHANGES = 200


@dataclass
class DatabaseChanged(Message):
    """A poll found a commit by another connection (`changed`) or a new watcher state;
    `changes` names the rows when every commit heard named its rows (PostgreSQL), else None."""

    changed: bool
    state: WatchState
    error: str | None = None
    changes: tuple[Change, ...] | None = None

    @property
    def plan_rows(self) -> frozenset[str] | None:
        """The plans whose own rows changed, and the old parent and old root of a plan moved
        or deleted: one counts a child less, the other's tree a plan less (None: unknown,
        anything may have)."""
        if self.changes is None:
            return None
        return frozenset(plan_id for c in self.changes if c.table == "plans"
                         for plan_id in (c.key, c.old_parent_id, c.old_root_id) if plan_id)

    @property
    def plans_touched(self) -> frozenset[str] | None:
        """The plans any changed row belongs to (None: unknown)."""
        if self.changes is None:
            return None
        return frozenset(c.plan_id for c in self.changes if c.plan_id)


@dataclass
class WatcherOpened(Message):
    """The watcher's own connection is open; the App keeps it on the UI thread."""

    watcher: ChangeWatcher


class LiveUpdates:
    """The App's change watcher, the worker waiting on it and the indicator text ("live",
    "updated 12:03:04", "reconnecting…")."""

    def __init__(self, app: App[None], engine: Engine, *,
                 clock: Callable[[], datetime] = datetime.now, poll_seconds: float) -> None:
        from store.changes import WatchState

        self.app = app
        self.engine = engine
        self.clock = clock
        self.poll_seconds = poll_seconds
        # refreshes never start closer together than this (nor than the polls)
        self.refresh_gap = max(poll_seconds, MIN_REFRESH_GAP)
        self.watcher: ChangeWatcher | None = None
        self.state = WatchState.LIVE
        self.updated_at: datetime | None = None
        self.changes_seen = 0  # reported changes (each asks for at most one refresh)
        self.stopping = threading.Event()

    @property
    def indicator(self) -> str:
        from store.changes import WatchState

        if self.state == WatchState.RECONNECTING:
            return "reconnecting…"
        if self.updated_at is not None:
            return f"updated {self.updated_at:%H:%M:%S}"
        return "live"

    def start(self) -> None:
        self.app.run_worker(self._watch, thread=True, exit_on_error=False,
                            group=WATCH_GROUP, description="Watching for changes")

    def stop(self) -> None:
        self.stopping.set()
        if self.watcher is not None:
            self.watcher.close()  # ends the worker's wait at once
            self.watcher = None

    def _watch(self) -> None:
        """In the thread worker, until stop(): open the watcher, then wait on it."""
        from store.changes import WatchState, open_change_watcher

        watcher: ChangeWatcher | None = None
        while watcher is None:
            try:
                watcher = open_change_watcher(self.engine, self.stopping)
            except Exception as exc:
                self.app.post_message(DatabaseChanged(False, WatchState.RECONNECTING, str(exc)))
                if self.stopping.wait(max(self.poll_seconds, 1.0)):
                    return
        self.app.post_message(WatcherOpened(watcher))
        try:
            self._wait_on(watcher)
        finally:
            watcher.close()

    def _wait_on(self, watcher: ChangeWatcher) -> None:
        from store.changes import WatchState

        reported_at = float("-inf")
        pending = False  # a change heard but not reported yet (the gap is not over)
        heard: list[Change] | None = []  # the rows it named (None: some commit named none)
        state = WatchState.LIVE
        while not self.stopping.is_set():
            try:
                if pending:
                    # what comes before the gap is over is reported with it: no need to wake
                    # for each of a burst's notifications
                    self.stopping.wait(max(0.0, reported_at + self.refresh_gap - time.monotonic()))
                    changed = watcher.poll()
                else:
                    # ended early by a PostgreSQL notification, or by stop() closing the watcher
                    changed = pending = watcher.wait(self.poll_seconds)
            except Exception as exc:
                self.app.post_message(DatabaseChanged(False, WatchState.RECONNECTING, str(exc)))
                self.stopping.wait(self.poll_seconds)
                continue
            if self.stopping.is_set():
                return
            if changed and heard is not None:
                heard = heard + list(watcher.changes) if watcher.changes else None
                if heard is not None and len(heard) > MOST_NAMED_CHANGES:
                    heard = None
            now = time.monotonic()
            report = pending and now - reported_at >= self.refresh_gap
            if report or watcher.state != state:
                self.app.post_message(DatabaseChanged(
                    report, watcher.state, changes=tuple(heard) if report and heard is not None
                    else None))
                state = watcher.state
            if report:
                reported_at, pending, heard = now, False, []

    def opened(self, watcher: ChangeWatcher) -> None:
        """On the UI thread: keep the watcher (closing one that lost a race with stop())."""
        from store.changes import WatchState

        if self.stopping.is_set():
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
