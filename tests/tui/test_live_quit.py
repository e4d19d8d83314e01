"""Quitting never waits on a PostgreSQL server that went away (Pilot, the real PostgreSQL
behind a loopback relay that then stops answering): the change watcher's reconnect is walked
away from, and the app's run ends."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from pg_relay import PgRelay
from test_live import header_says, live_app
from tui_states import until

import store.changes
from store.changes import ChangeWatcher, PgChangeWatcher
from store.db import create_db_engine

SIZE = (120, 36)
# a guard against a hang, not a time anything is expected to take
HANG_GUARD = 60.0


def test_quitting_never_waits_on_a_dead_server(pg_demo_url: str, workdir: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    pg_url = pg_demo_url
    # only the watcher goes through the relay (the app's own queries are not about this)
    relay = PgRelay(pg_url)
    relayed = create_db_engine(relay.relayed_url)

    def watcher_via_relay(_engine: sa.Engine,
                          stopping: threading.Event | None = None) -> ChangeWatcher:
        return PgChangeWatcher(relayed, stopping=stopping)

    monkeypatch.setattr(store.changes, "open_change_watcher", watcher_via_relay)
    # a connect left to time out by itself would outlast the test: only walking away ends it
    monkeypatch.setattr(store.changes, "CONNECT_SECONDS", 3600)
    problems: list[BaseException] = []

    async def session() -> None:
        app = live_app(pg_url)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.live is not None and app.live.watcher is not None,
                        "the listener open")
            relay.hang()
            await until(pilot, lambda: relay.held.is_set()
                        and header_says(app, "reconnecting…"),
                        "a reconnect waiting on the dead server")
            await pilot.press("ctrl+q")

    def run() -> None:
        try:
            asyncio.run(session())  # ends once every worker thread has ended
        except BaseException as exc:
            problems.append(exc)

    runner = threading.Thread(target=run, daemon=True)
    try:
        runner.start()
        runner.join(HANG_GUARD)
        assert not runner.is_alive(), "quitting waited on the dead server"
        assert not problems, problems
    finally:
        relay.close()
        relayed.dispose()
