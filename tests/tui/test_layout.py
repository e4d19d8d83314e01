"""The panes as the user shapes them: `<`/`>` (`-`/`+`) resize the tree in bounded steps,
ctrl+b hides it, `f` maximizes the detail (escape or `f` restores); keys never reach a pane
that is not on screen, and `PlansScreen.pane_layout` says how it is for the config to keep."""

from __future__ import annotations

from pathlib import Path

from test_trust import check as check_shown
from test_trust import cursor_plan, plans_screen
from tui_states import demo_database, press, run_async, settle

import tui.app
from store.db import database_url
from tui.app import PlandeskApp
from tui.screens.plans import PlansScreen, shown
from tui.widgets.pane_layout import (
    MIN_DETAIL_WIDTH,
    MIN_TREE_WIDTH,
    TREE_STEP,
    LayoutChanged,
    PaneLayout,
)

SIZE = (120, 36)


class RecordingApp(PlandeskApp):
    """The app, noting every LayoutChanged its screens post (what a config would save)."""

    CSS_PATH = str(Path(tui.app.__file__).with_name("plandesk.tcss"))

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.layouts: list[PaneLayout] = []

    def on_layout_changed(self, message: LayoutChanged) -> None:
        self.layouts.append(message.layout)


def check(app: PlandeskApp) -> None:
    """The trust invariants, also while the tree is hidden or behind the maximized detail."""
    screen = plans_screen(app)
    if shown(screen.plan_tree):
        check_shown(app, screen.filter_box.value)
        return
    pane = screen.detail_pane
    shown_plan = pane.detail.plan.plan_id if pane.detail is not None else None
    assert shown_plan == cursor_plan(app)
    assert app.focused is None or shown(app.focused), f"focus on hidden {app.focused!r}"
    assert app.focused is not screen.plan_tree


async def step(pilot, *keys: str) -> None:  # type: ignore[no-untyped-def]
    for key in keys:
        await press(pilot, key)
        check(pilot.app)


def tree_width(screen: PlansScreen) -> int:
    return screen.query_one("#tree-column").outer_size.width


@run_async
async def test_the_tree_resizes_in_bounded_steps(workdir: Path) -> None:
    app = RecordingApp(database_url(demo_database(workdir)))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = plans_screen(app)
        start = tree_width(screen)
        await step(pilot, "greater_than_sign")
        assert tree_width(screen) == start + TREE_STEP
        assert screen.pane_layout.tree_width == start + TREE_STEP
        assert app.layouts[-1] == PaneLayout(tree_width=start + TREE_STEP)
        await step(pilot, "plus")
        assert tree_width(screen) == start + 2 * TREE_STEP
        await step(pilot, "minus", "less_than_sign", "less_than_sign")
        assert tree_width(screen) == start - TREE_STEP
        # two presses more than the room left: the extra ones must not pass the bound
        for _ in range((tree_width(screen) - MIN_TREE_WIDTH) // TREE_STEP + 2):
            await pilot.press("less_than_sign")
        await settle(pilot)
        check(app)
        assert tree_width(screen) == MIN_TREE_WIDTH
        for _ in range((SIZE[0] - MIN_DETAIL_WIDTH - MIN_TREE_WIDTH) // TREE_STEP + 2):
            await pilot.press("greater_than_sign")
        await settle(pilot)
        check(app)
        assert tree_width(screen) == SIZE[0] - MIN_DETAIL_WIDTH
        assert screen.detail_pane.outer_size.width == MIN_DETAIL_WIDTH


@run_async
async def test_ctrl_b_hides_the_tree_and_keys_stay_in_the_detail(workdir: Path) -> None:
    app = RecordingApp(database_url(demo_database(workdir)))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = plans_screen(app)
        tree = screen.plan_tree
        plan_id = cursor_plan(app)
        await step(pilot, "ctrl+b")
        assert not screen.query_one("#tree-column").display
        assert screen.pane_layout.tree_hidden and app.layouts[-1].tree_hidden
        assert app.focused is not None and screen.detail_pane in app.focused.ancestors
        line = tree.cursor_line
        await step(pilot, "j", "tab", "j", "shift+tab")
        assert tree.cursor_line == line and cursor_plan(app) == plan_id
        await step(pilot, "ctrl+b")
        assert screen.query_one("#tree-column").display and app.focused is tree
        assert not screen.pane_layout.tree_hidden
        # the filter shows the hidden tree first: its box is in the tree's column
        await step(pilot, "ctrl+b", "slash")
        assert screen.query_one("#tree-column").display
        assert app.focused is screen.filter_box


@run_async
async def test_f_maximizes_the_detail_and_escape_or_f_restores(workdir: Path) -> None:
    app = RecordingApp(database_url(demo_database(workdir)))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = plans_screen(app)
        tree = screen.plan_tree
        await step(pilot, "f")
        assert screen.maximized is screen.detail_pane
        assert screen.detail_pane.outer_size.width == SIZE[0]
        assert app.layouts[-1] == PaneLayout(detail_maximized=True)
        assert app.focused is not None and screen.detail_pane in app.focused.ancestors
        line = tree.cursor_line
        await step(pilot, "j", "tab", "j")
        assert tree.cursor_line == line  # no key reached the tree behind the detail
        await step(pilot, "escape")
        assert screen.maximized is None and not screen.pane_layout.detail_maximized
        assert app.layouts[-1] == PaneLayout()
        await step(pilot, "f", "f")
        assert screen.maximized is None
        await press(pilot, "tab")
        assert app.focused is tree
        await step(pilot, "j")
        assert tree.cursor_line == line + 1


@run_async
async def test_a_saved_layout_is_applied_at_start(workdir: Path) -> None:
    demo = demo_database(workdir)
    app = PlandeskApp(database_url(demo))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = plans_screen(app)
        context, tree_plan = screen.context, cursor_plan(app)
        shaped = PlansScreen(context, layout=PaneLayout(tree_width=50, tree_hidden=False))
        await app.switch_screen(shaped)
        await settle(pilot)
        assert tree_width(shaped) == 50 and shaped.pane_layout.tree_width == 50
        assert cursor_plan(app) == tree_plan
