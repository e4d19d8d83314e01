"""Vim-style movement in the tree and the tables: j/k, h/l, g/G, ctrl+d/ctrl+u, each step
checked against the arrow keys and the trust invariants (cursor plan = detail plan)."""

from __future__ import annotations

from pathlib import Path

from test_trust import check, cursor_name, cursor_plan, plans_screen, step
from tui_states import demo_database, press, run_async, settle

from store.db import database_url
from store.seed import seed_database
from tui.app import PlandeskApp
from tui.widgets.plan_rows import PlanRow
from tui.widgets.vim_keys import VIM_TREE_BINDINGS

SIZE = (120, 36)


def test_every_vim_binding_has_an_id() -> None:
    from tui.widgets.plan_tree import PlanTree
    from tui.widgets.vim_keys import VimDataTable, VimScroll

    for owner in (PlanTree, VimDataTable, VimScroll):
        for binding in owner.BINDINGS:
            assert getattr(binding, "id", None), f"{owner.__name__} {binding!r} has no id"
    assert {b.key for b in VIM_TREE_BINDINGS} == {"j", "k", "h", "l", "g", "G", "ctrl+d",
                                                   "ctrl+u"}


def test_vim_bindings_keep_the_ids_a_keymap_names() -> None:
    """A [keymap] rebinds by these ids (README lists them): no key may lose or change its id."""
    from tui.widgets.vim_keys import VimDataTable, VimScroll

    shared = {"j": "down", "k": "up", "g": "first", "G": "last",
              "ctrl+d": "half_page_down", "ctrl+u": "half_page_up"}
    expected = {
        "tree": {**shared, "h": "collapse", "l": "expand"},
        "table": {**shared, "h": "left", "l": "right"},
        "pane": shared,
    }
    for scope, bindings in (("tree", VIM_TREE_BINDINGS), ("table", VimDataTable.BINDINGS),
                            ("pane", VimScroll.BINDINGS)):
        ids = {getattr(b, "key", None): getattr(b, "id", None) for b in bindings}
        assert ids == {key: f"{scope}.{name}" for key, name in expected[scope].items()}, scope


@run_async
async def test_j_k_h_l_move_like_the_arrows(workdir: Path) -> None:
    app = PlandeskApp(database_url(demo_database(workdir)))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        check(app)
        assert cursor_name(app) == "billing/migrate-invoices"
        await step(pilot, "j")
        assert cursor_name(app) == "search/reindex-catalog"
        await step(pilot, "k")
        assert cursor_name(app) == "billing/migrate-invoices"
        tree = plans_screen(app).plan_tree
        root = tree.nodes_by_plan[cursor_plan(app) or ""]
        await step(pilot, "l")  # expands
        assert root.is_expanded and cursor_name(app) == "billing/migrate-invoices"
        await step(pilot, "l")  # to the first child
        first_child = next(c for c in root.children if isinstance(c.data, PlanRow))
        assert cursor_plan(app) == first_child.data.plan_id  # type: ignore[union-attr]
        await step(pilot, "h")  # to the parent
        assert cursor_name(app) == "billing/migrate-invoices" and root.is_expanded
        await step(pilot, "h")  # collapses
        assert not root.is_expanded
        # the arrows still work
        await step(pilot, "down", "up", "right")
        assert root.is_expanded
        await step(pilot, "left")
        assert not root.is_expanded


@run_async
async def test_ctrl_d_and_ctrl_u_move_half_a_page(workdir: Path) -> None:
    seed_database(database_url(workdir / "wide.db"), 520, 2, wide=450)
    app = PlandeskApp(database_url("wide.db"))
    async with app.run_test(size=(100, 24)) as pilot:
        await settle(pilot)
        tree = plans_screen(app).plan_tree
        await step(pilot, "l")  # the first root has 450 children
        half = tree.scrollable_content_region.height // 2
        assert half > 1
        await step(pilot, "ctrl+d")
        assert tree.cursor_line == half
        await step(pilot, "ctrl+d")
        assert tree.cursor_line == 2 * half
        await step(pilot, "ctrl+u")
        assert tree.cursor_line == half
        await step(pilot, "ctrl+u", "ctrl+u")
        assert tree.cursor_line == 0


@run_async
async def test_vim_keys_move_the_decisions_table(workdir: Path) -> None:
    app = PlandeskApp(database_url(demo_database(workdir)))
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "4", "tab")
        pane = plans_screen(app).detail_pane
        table = pane.decision_table
        assert app.focused is table and table.row_count >= 2
        await step(pilot, "j")
        assert table.cursor_row == 1
        await step(pilot, "k")
        assert table.cursor_row == 0
        await step(pilot, "G")
        assert table.cursor_row == table.row_count - 1
        assert pane.selected_decision is not None
        assert pane.selected_decision.sequence == table.row_count
        await step(pilot, "g")
        assert table.cursor_row == 0
        await step(pilot, "ctrl+d")
        assert table.cursor_row > 0
        await step(pilot, "ctrl+u")
        assert table.cursor_row == 0
