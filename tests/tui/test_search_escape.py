"""Escape from a search puts the forest back at once: keys pressed together with escape act
on the forest the user left (its cursor, its rows), never on the matches it replaces."""

from __future__ import annotations

from pathlib import Path

from test_trust import check, cursor_name, cursor_plan, expanded, plans_screen, step
from textual import events
from tui_states import demo_database, press, run_async, settle, until

from store.db import database_url
from tui.app import PlandeskApp
from tui.screens.correction import CorrectionModal

SIZE = (120, 36)


def send_together(app: PlandeskApp, *keys: str) -> None:
    """Hand the keys to the driver in one go: none waits for the one before to be handled."""
    assert app._driver is not None
    for key in keys:
        event = events.Key(key, key if len(key) == 1 else None)
        event.set_sender(app)
        app._driver.send_message(event)


async def to_matches_of(pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    """`/`, `text`, enter (to the matches) and down: the cursor on a match, off the forest's."""
    await step(pilot, "slash")
    for char in text:
        await press(pilot, char)
    await step(pilot, "enter", "down", filter_text=text)


@run_async
async def test_keys_sent_with_escape_act_on_the_forest(workdir: Path) -> None:
    app = PlandeskApp(database_url(demo_database(workdir)))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = plans_screen(app)
        tree = screen.plan_tree
        await step(pilot, "down", "right", "down")
        forest = (cursor_name(app), expanded(tree))
        await step(pilot, "down", "down")
        two_below = cursor_name(app)
        await step(pilot, "up", "up")
        assert forest[0] == "search/evaluate-tokenizer" and two_below != forest[0]
        await to_matches_of(pilot, "replica")
        assert tree.plan_filter is not None and cursor_name(app) != forest[0]
        # escape and two downs in one go, as a fast typist sends them
        send_together(app, "escape", "down", "down")
        await until(pilot, lambda: cursor_name(app) == two_below,
                    "the downs moved through the forest, from where the user left it")
        await settle(pilot)
        check(app)
        assert tree.plan_filter is None and expanded(tree) == forest[1]
        assert cursor_name(app) == two_below
        # what the next key acts on is that plan: the modal names it
        await step(pilot, "4")
        await press(pilot, "r")
        await until(pilot, lambda: isinstance(app.screen, CorrectionModal), "the modal opens")
        assert isinstance(app.screen, CorrectionModal)
        assert app.screen.plan_id == cursor_plan(app) == screen.detail_pane.plan_id


@run_async
async def test_r_sent_with_escape_never_acts_on_a_match(workdir: Path) -> None:
    app = PlandeskApp(database_url(demo_database(workdir)))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = plans_screen(app)
        await step(pilot, "down", "right", "down", "4")
        forest = cursor_plan(app)
        await to_matches_of(pilot, "replica")
        match = cursor_plan(app)
        assert match != forest
        send_together(app, "escape", "r")
        await until(pilot, lambda: cursor_plan(app) == forest, "the forest is back")
        await settle(pilot)
        if isinstance(app.screen, CorrectionModal):  # r found the forest plan's detail
            assert app.screen.plan_id == forest
            await press(pilot, "escape")
        await settle(pilot)
        check(app)
        assert cursor_plan(app) == forest == screen.detail_pane.plan_id

