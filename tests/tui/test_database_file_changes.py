"""Pilot tests: the open database file replaced or deleted under the app, and a URL of a
database plandesk does not support: an error screen that says so, and nothing written."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Static
from tui_states import demo_database, run_async, settle

from store.db import database_url
from tui.app import PlandeskApp
from tui.screens.error import ErrorScreen
from tui.screens.plans import PlansScreen

SIZE = (120, 36)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def screen_text(app: PlandeskApp) -> str:
    return "\n".join(str(static.render()) for static in app.screen.query(Static))


async def wait_for_error_screen(pilot: Pilot[None]) -> ErrorScreen:
    """The file check runs on a timer; wait (bounded) until its screen is up."""
    for _ in range(200):
        if isinstance(pilot.app.screen, ErrorScreen):
            await settle(pilot)  # let it mount before reading it or pressing keys
            return pilot.app.screen
        await pilot.pause(0.05)
    raise AssertionError(f"no error screen; the screen is {pilot.app.screen!r}")


@pytest.fixture
def quick_file_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(PlandeskApp, "FILE_CHECK_SECONDS", 0.1)


@run_async
async def test_replaced_file_stops_the_app_with_a_screen(workdir, quick_file_check) -> None:
    path = workdir / demo_database(workdir)
    replacement = workdir / "other.db"
    shutil.copyfile(path, replacement)
    app = PlandeskApp(database_url(path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, PlansScreen)
        os.replace(replacement, path)
        before = digest(path)
        screen = await wait_for_error_screen(pilot)
        assert screen.error.title == "Database file replaced or deleted"
        text = screen_text(app)
        assert "was replaced by another file while plandesk had it open" in text
        assert "stopped all writes" in text
        await pilot.press("q")
    assert app.return_code == 1
    assert digest(path) == before


@run_async
async def test_deleted_file_stops_the_app_and_quitting_creates_nothing(
    workdir, quick_file_check
) -> None:
    path = workdir / demo_database(workdir)
    app = PlandeskApp(database_url(path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, PlansScreen)
        path.unlink()
        await wait_for_error_screen(pilot)
        assert "was deleted or moved away" in screen_text(app)
        await pilot.press("q")
    assert app.return_code == 1
    assert not path.exists()


@pytest.mark.parametrize("url", ["mysql://ann:hunter2secret@db.internal/plans", "foo://bar/baz"])
@run_async
async def test_unsupported_url_gets_a_screen_naming_the_supported_ones(workdir, url) -> None:
    app = PlandeskApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, ErrorScreen)
        assert app.screen.error.title == "Unsupported database URL"
        text = screen_text(app)
        assert "sqlite:///PATH" in text and "postgresql+psycopg://" in text
        assert "hunter2secret" not in text
        await pilot.press("q")
    assert app.return_code == 1
