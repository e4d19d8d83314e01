"""The first start with no database at the default path offers to create an empty one there
or to open the demo (or to quit), with HOME and the XDG dirs in a temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_trust import plans_screen
from tui_states import press, run_async, settle, until

from store import migrations
from store.db import database_url
from tui.cli import app_for
from tui.screens.error import ErrorScreen
from tui.screens.first_run import FirstRunScreen
from tui.screens.plans import PlansScreen

SIZE = (100, 30)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("PLANDESK_DB", raising=False)
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def data_dir(home: Path) -> Path:
    return home / "data" / "plandesk"


@run_async
async def test_create_makes_an_empty_database_at_the_default_path(home: Path) -> None:
    app = app_for(None, False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, FirstRunScreen)
        text = " ".join(str(s.render()) for s in app.screen.query("Static"))
        assert "no database at" in text and "plandesk.db" in text
        assert not data_dir(home).exists()  # nothing is created before the choice
        await press(pilot, "c")
        await until(pilot, lambda: isinstance(app.screen, PlansScreen), "the plans screen")
        await settle(pilot)
        assert plans_screen(app).plan_tree.cursor_plan_id is None  # empty
    created = data_dir(home) / "plandesk.db"
    assert created.exists()
    status = migrations.inspect_database(database_url(created))
    assert status.up_to_date
    assert not (data_dir(home) / "demo.db").exists()


@run_async
async def test_demo_opens_the_demo_and_leaves_the_default_path_alone(home: Path) -> None:
    app = app_for(None, False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, FirstRunScreen)
        await press(pilot, "j", "enter")  # the second choice: the demo
        await until(pilot, lambda: isinstance(app.screen, PlansScreen), "the plans screen")
        await settle(pilot)
        tree = plans_screen(app).plan_tree
        assert tree.cursor_plan_id is not None
        assert "demo.db" in app.sub_title
    assert (data_dir(home) / "demo.db").exists()
    assert not (data_dir(home) / "plandesk.db").exists()


@run_async
async def test_quit_creates_nothing(home: Path) -> None:
    app = app_for(None, False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, FirstRunScreen)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code in (0, None)
    assert not data_dir(home).exists()


@run_async
async def test_no_offer_when_a_database_is_named_or_exists(home: Path, monkeypatch) -> None:
    # a path given explicitly that does not exist is still an error, never created
    app = app_for("nowhere.db", False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, ErrorScreen)
    assert not (home / "nowhere.db").exists()
    monkeypatch.setenv("PLANDESK_DB", str(home / "elsewhere.db"))
    assert app_for(None, False).first_run_demo_url is None
    monkeypatch.delenv("PLANDESK_DB")
    data_dir(home).mkdir(parents=True)
    migrations.upgrade(database_url(data_dir(home) / "plandesk.db"))
    assert app_for(None, False).first_run_demo_url is None
