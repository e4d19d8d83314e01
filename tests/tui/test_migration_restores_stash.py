"""The app's migration screen puts back what a `plandesk db downgrade` stashed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tui_states import demo_database, press, run_async, settle

from store import migrations
from store.db import database_url
from store.plans.search import is_search_index
from tui.app import PlandeskApp
from tui.screens.migration import MigrationScreen
from tui.screens.plans import PlansScreen


def dump(path: Path) -> dict[str, list[str]]:
    connection = sqlite3.connect(path)
    try:
        tables = [
            name
            for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if not is_search_index(name)  # derived from plans: rebuilt, not restored
        ]
        return {t: sorted(map(repr, connection.execute(f'SELECT * FROM "{t}"'))) for t in tables}
    finally:
        connection.close()


@run_async
async def test_app_migration_restores_what_the_downgrade_stashed(workdir) -> None:
    path = workdir / demo_database(workdir)
    before = dump(path)
    migrations.downgrade(database_url(path), "0002")
    app = PlandeskApp(database_url(path))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, MigrationScreen)
        await press(pilot, "b", "enter")  # b: migrate without a backup copy
        assert isinstance(app.screen, PlansScreen)
    assert dump(path) == before
