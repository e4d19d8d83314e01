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
from tui.widgets.plan_rows import PlanRow

SIZE = (120, 36)


def send_together(app: PlandeskApp, *keys: str) -> None:
    """Hand the keys to the driver in one go: none waits for the one before to be handled."""
    assert app._driver is not None
    for key in keys:
        event = events.Key(key, key if len(key) == 1 else None)
        event.set_sender(app)
        app._driver.send_message(event)


async def to_a_match(pilot, text: str, count: str) -> None:  # type: ignore[no-untyped-def]
    """`/` and `text` typed at once, enter (to the matches) and down: the cursor on a match."""
    app = pilot.app
    await press(pilot, "slash")
    send_together(app, *text)
    await until(pilot, lambda: plans_screen(app).plan_search.border_title == f"Plans: {count}",
                f"the matches of {text!r} are counted")
    await step(pilot, "enter", "down", filter_text=text)


@run_async
async def test_keys_sent_with_escape_act_on_the_forest(workdir: Path) -> None:
    app = PlandeskApp(database_url(demo_database(workdir)))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = plans_screen(app)
        tree = screen.plan_tree
        await step(pilot, "down", "right", "down", "4")  # on a plan, its Decisions tab
        forest = (cursor_plan(app), expanded(tree))
        assert cursor_name(app) == "search/evaluate-tokenizer"
        below = tree.get_node_at_line(tree.cursor_line + 2)
        assert below is not None and isinstance(below.data, PlanRow)
        two_below = below.data.plan_id

        # escape and r in one go: r acts on the forest's plan or refuses, never on a match
        await to_a_match(pilot, "replica", "4 matches")
        assert cursor_plan(app) not in (forest[0], None)
        send_together(app, "escape", "r")
        await until(pilot, lambda: cursor_plan(app) == forest[0], "the forest is back")
        await settle(pilot)
        if isinstance(app.screen, CorrectionModal):  # r found the forest plan's detail loaded
            assert app.screen.plan_id == forest[0]
            await press(pilot, "escape")
        check(app)
        assert (cursor_plan(app), expanded(tree)) == forest

        # escape and two downs in one go: they move through the forest from where it was
        await to_a_match(pilot, "replica", "4 matches")
        send_together(app, "escape", "down", "down")
        await until(pilot, lambda: cursor_plan(app) == two_below,
                    "the downs moved through the forest")
        await settle(pilot)
        check(app)
        assert tree.plan_filter is None and expanded(tree) == forest[1]
        # and what the next key acts on is that plan: the modal names it
        await press(pilot, "r")
        assert isinstance(app.screen, CorrectionModal)
        assert app.screen.plan_id == two_below == screen.detail_pane.plan_id
