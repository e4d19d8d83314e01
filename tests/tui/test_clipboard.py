"""`y` copies the cursor plan's full id (a decision's in the Decisions table), `Y` its path of
names, through Textual's OSC 52 clipboard, each confirmed by a toast."""

from __future__ import annotations

from pathlib import Path

from test_trust import check, cursor_plan, plans_screen, step
from tui_states import demo_database, demo_decisions, notifications, press, run_async, settle

from store.db import database_url
from tui.app import PlandeskApp

SIZE = (120, 36)


@run_async
async def test_y_copies_the_plan_id_and_Y_its_path_of_names(workdir: Path) -> None:
    app = PlandeskApp(database_url(demo_database(workdir)))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await step(pilot, "l", "j", "l", "j")  # billing/migrate-invoices > … > a grandchild
        plan_id = cursor_plan(app)
        assert plan_id is not None
        await step(pilot, "y")
        assert app.clipboard == plan_id
        assert notifications(app)[-1] == f"Copied: plan id: {plan_id}"
        await step(pilot, "Y")
        pane = plans_screen(app).detail_pane
        assert pane.detail is not None
        expected = " > ".join(["billing/migrate-invoices", *pane.detail.ancestor_names[1:],
                               pane.detail.plan.namespaced_name])
        assert app.clipboard == expected
        assert app.clipboard.startswith("billing/migrate-invoices > ")
        assert app.clipboard.count(" > ") == 2
        assert notifications(app)[-1] == f"Copied: path: {expected}"
        # the breadcrumb in the overview names the ancestors too
        overview = str(app.screen.query_one("#overview-text").render())
        assert "billing/migrate-invoices > " in overview


@run_async
async def test_y_on_a_decision_copies_the_decision_id(workdir: Path) -> None:
    name = demo_database(workdir)
    _plan_id, decision_ids = demo_decisions(workdir, name, "billing/migrate-invoices")
    app = PlandeskApp(database_url(name))
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "4", "tab")
        check(app)
        await step(pilot, "j", "y")
        assert app.clipboard == decision_ids[1]
        assert notifications(app)[-1] == f"Copied: decision #2 id: {decision_ids[1]}"
        # back in the tree, y is the plan's id again
        await step(pilot, "tab", "y")
        assert app.clipboard == cursor_plan(app)


@run_async
async def test_y_with_no_plan_says_so_and_copies_nothing(workdir: Path) -> None:
    app = PlandeskApp(database_url(demo_database(workdir)))
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "slash", *"nothing-matches-this", "enter")
        await step(pilot, "y", filter_text="nothing-matches-this")
        assert app.clipboard == ""
        assert notifications(app)[-1] == "Copy: Highlight a plan first."
