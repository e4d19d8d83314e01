"""The PostgreSQL change watcher and a server that went away (through a loopback relay, so
that the real server is never stopped): closing it never waits on a connect or a query the dead
server does not answer, and a server that refuses connections is polled without blocking."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from pg_relay import PgRelay

import store.changes
from store import migrations
from store.changes import PgChangeWatcher, WatchState
from store.db import create_db_engine

# a guard against a hang, not a time anything is expected to take
HANG_GUARD = 60.0


@pytest.fixture
def relay(pg_url: str) -> Iterator[PgRelay]:
    migrations.upgrade(pg_url)
    relay = PgRelay(pg_url)
    yield relay
    relay.close()


def polling(watcher: PgChangeWatcher, states: list[WatchState]) -> tuple[threading.Thread,
                                                                           threading.Event]:
    """A thread polling the watcher as the app's watching worker does, until told to stop."""
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            watcher.wait(0.05)
            states.append(watcher.state)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, stop


def test_close_never_waits_on_a_server_that_does_not_answer(
        relay: PgRelay, monkeypatch: pytest.MonkeyPatch) -> None:
    # a connect left to time out by itself would outlast the test: only walking away ends it
    monkeypatch.setattr(store.changes, "CONNECT_SECONDS", 3600)
    engine = create_db_engine(relay.relayed_url)
    watcher = PgChangeWatcher(engine)
    states: list[WatchState] = []
    try:
        assert watcher.listener_pid is not None
        poller, stop = polling(watcher, states)
        relay.hang()
        # the drop is seen; then the reconnect (or the snapshot poll) waits on the silent server
        assert relay.held.wait(HANG_GUARD), "no reconnect attempt reached the dead server"
        assert WatchState.RECONNECTING in states
        stop.set()
        closer = threading.Thread(target=watcher.close, daemon=True)
        closer.start()
        closer.join(HANG_GUARD)
        assert not closer.is_alive(), "close() waited on the dead server"
        poller.join(HANG_GUARD)
        assert not poller.is_alive(), "the polling thread stayed in a connect"
        assert watcher.poll() is False  # closed: no change, no connect
    finally:
        stop.set()
        engine.dispose()


def test_a_refusing_server_is_polled_without_blocking(relay: PgRelay) -> None:
    engine = create_db_engine(relay.relayed_url)
    watcher = PgChangeWatcher(engine)
    try:
        relay.refuse()
        assert any(watcher.wait(0.05) for _ in range(200))  # the drop counts as a change
        assert watcher.state == WatchState.RECONNECTING
        for _ in range(5):  # each poll's snapshot query and reconnect are refused at once
            assert watcher.poll() is False
            assert watcher.state == WatchState.RECONNECTING
    finally:
        watcher.close()
        engine.dispose()
