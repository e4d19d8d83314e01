"""A search overtaken by the next keystroke stops its SQL, on SQLite and PostgreSQL: the stale
statement ends early (cancelling its worker alone left it running in its thread), the newest
search's matches are what the tree shows, and the interruption says nothing to the user."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import sqlalchemy as sa
from test_search import shown_rows, title
from test_trust import check, notifications, plans_screen
from tui_states import run_async, settle, until

from store import plans
from tests.test_query_interrupt import POSTGRES_FOREVER, SQLITE_FOREVER
from tui.app import PlandeskApp

SIZE = (120, 36)
STALE = "billing"  # its search runs a statement that never ends by itself
NEWEST = "golden"


class EndlessSearch:
    """`plans.search_matches` for `text` runs a statement that only ends when stopped;
    `running` is set once it runs, `ended` says how it ended (None: it ran to its end)."""

    def __init__(self, text: str, monkeypatch: pytest.MonkeyPatch) -> None:
        self.running = threading.Event()
        self.ended: list[BaseException | None] = []
        self.sqlite_connections: list[Any] = []  # to end the statement if the app does not
        real = plans.search_matches

        def search_matches(session, plan_filter, *args, **kwargs):  # type: ignore[no-untyped-def]
            if plan_filter.text == text:
                # the real search would end before the next key: this one only ends if stopped
                self.run_forever(session)
            return real(session, plan_filter, *args, **kwargs)

        monkeypatch.setattr(plans, "search_matches", search_matches)

    def run_forever(self, session: Any) -> None:
        connection = session.connection()
        if connection.dialect.name == "sqlite":
            raw = connection.connection.dbapi_connection
            raw.create_function("started", 0, lambda: self.running.set() or 1)
            self.sqlite_connections.append(raw)
            forever = SQLITE_FOREVER
        else:
            forever = POSTGRES_FOREVER
            session.execute(sa.text("SELECT 1"))
            self.running.set()  # the next statement is the endless one
        try:
            session.execute(sa.text(forever))
        except BaseException as exc:
            self.ended.append(exc)
            raise
        self.ended.append(None)

    def end(self, url: str) -> None:
        """If the app failed to, end the endless statement (its thread would keep the test
        process alive)."""
        if not self.ended:
            for raw in self.sqlite_connections:
                raw.interrupt()
            if "postgresql" in url:
                cancel_statement(url)


@run_async
async def test_a_stale_search_stops_and_the_newest_is_shown(
    demo_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    endless = EndlessSearch(STALE, monkeypatch)
    app = PlandeskApp(demo_url)
    try:
        await stale_search_overtaken(app, demo_url, endless.running, endless.ended)
    finally:
        endless.end(demo_url)


@run_async
async def test_escape_stops_a_running_search(
    demo_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Escape puts the kept forest back at once; the search still running is stopped too."""
    endless = EndlessSearch(NEWEST + "x", monkeypatch)
    app = PlandeskApp(demo_url)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await pilot.press("slash", *NEWEST)
            await until(pilot, lambda: title(app) == "Plans: 3 matches",
                        "the matches replace the forest")
            await pilot.press("x")
            await until(pilot, endless.running.is_set, "the next search's statement runs")
            if "postgresql" in demo_url:
                await until(pilot, lambda: statement_runs(demo_url), "the server runs it")
            await pilot.press("escape")
            await until(pilot, lambda: endless.ended, "the running statement ends")
            assert endless.ended[0] is not None, "the statement ran to its end"
            await settle(pilot)
            assert title(app) == "Plans" and plans_screen(app).plan_tree.plan_filter is None
            assert notifications(app) == []  # the interruption is no error
            check(app)
    finally:
        endless.end(demo_url)


async def stale_search_overtaken(app: PlandeskApp, demo_url: str, running: threading.Event,
                                 ended: list[BaseException | None]) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash", *STALE)
        await until(pilot, running.is_set, "the stale search's statement runs")
        if "postgresql" in demo_url:
            await until(pilot, lambda: statement_runs(demo_url), "the server runs it")
        # the next keys: the stale search is overtaken
        await pilot.press(*["backspace"] * len(STALE), *NEWEST)
        await until(pilot, lambda: ended, "the stale statement ends")
        assert ended[0] is not None, "the stale statement ran to its end"
        await until(pilot, lambda: title(app) == "Plans: 3 matches", "the newest search shows")
        await settle(pilot)
        assert [name for name, context in shown_rows(plans_screen(app).plan_tree)
                if not context] == [
            "search/golden-queries", "search/golden-queries-de", "search/golden-queries-ja"]
        assert title(app) == "Plans: 3 matches"
        assert notifications(app) == []  # the interruption is no error
        check(app, NEWEST)


def statement_runs(url: str, cancel: bool = False) -> bool:
    """Whether the server runs the endless statement (and, with `cancel`, cancel it)."""
    engine = sa.create_engine(url)
    what = "pg_cancel_backend(pid)" if cancel else "1"
    try:
        with engine.connect() as connection:
            return connection.execute(sa.text(
                f"SELECT {what} FROM pg_stat_activity WHERE state = 'active' AND query = :q"),
                {"q": POSTGRES_FOREVER}).first() is not None
    finally:
        engine.dispose()


def cancel_statement(url: str) -> None:
    statement_runs(url, cancel=True)
