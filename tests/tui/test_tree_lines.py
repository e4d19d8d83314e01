"""The plan tree draws each line as Textual's Tree would, segment for segment and style for
style (tui/widgets/plan_tree_lines.py draws them from styles and labels kept between frames):
guides at every depth, expanded and leaf rows, the cursor line with and without focus, a
line under the mouse, dimmed filter context, a row marked changed, "… more" rows; and after a
row's facts change under a label drawn before."""

from __future__ import annotations

from pathlib import Path

from rich.segment import Segment
from test_trust import plans_screen
from textual.widgets import Tree
from tui_states import demo_database, press, run_async, settle

from store.db import database_url
from tui.app import PlandeskApp
from tui.widgets.plan_rows import PlanRow
from tui.widgets.plan_tree import PlanTree


def drawn_both_ways(tree: PlanTree) -> list[tuple[int, list[Segment], list[Segment]]]:
    """Every line of the tree, drawn by PlanTree and by Tree._render_line, as one frame draws
    them (the line cache emptied before each, so neither reads the other's)."""
    tree._pseudo_class_state = tree.get_pseudo_class_state()
    base = tree.rich_style
    tree._frame = (base, tree.scrollable_content_region.width, tree._line_look())
    width = tree.size.width
    lines = []
    try:
        for y in range(len(tree._tree_lines)):
            tree._line_cache.clear()
            ours = list(tree._render_line(y, 0, width, base))
            tree._line_cache.clear()
            textuals = list(Tree._render_line(tree, y, 0, width, base))
            lines.append((y, ours, textuals))
    finally:
        tree._frame = None
        tree._line_cache.clear()
    return lines


def assert_drawn_as_tree_does(tree: PlanTree) -> None:
    lines = drawn_both_ways(tree)
    assert lines
    for y, ours, textuals in lines:
        assert ours == textuals, f"line {y}: {ours!r} != {textuals!r}"


@run_async
async def test_lines_are_drawn_as_tree_draws_them(workdir: Path) -> None:
    app = PlandeskApp(database_url(demo_database(workdir)))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        tree = plans_screen(app).plan_tree
        # open three levels: guides and terminators at every depth, expanded icons
        await press(pilot, "right", "down", "right", "down", "down", "right", "down")
        await settle(pilot)
        assert any(len(line.path) >= 3 for line in tree._tree_lines)
        assert tree.has_focus
        assert_drawn_as_tree_does(tree)
        # the mouse over a line: its own line style and hover guides
        tree.hover_line = 2
        assert_drawn_as_tree_does(tree)
        tree.hover_line = -1
        # a row's facts change under a label drawn (and kept) before: drawn anew
        node = tree.cursor_node
        assert node is not None and isinstance(node.data, PlanRow)
        before = [ours for _, ours, _ in drawn_both_ways(tree)]
        node.data.state = "cancelled"  # one field at a time: each is part of what is kept
        node.refresh()
        assert_drawn_as_tree_does(tree)
        node.data.child_count = 12
        node.refresh()
        assert_drawn_as_tree_does(tree)
        tree.changed_plan_ids = frozenset({node.data.plan_id})
        node.refresh()
        assert_drawn_as_tree_does(tree)
        assert [ours for _, ours, _ in drawn_both_ways(tree)] != before
        tree.id_chars += 2
        assert_drawn_as_tree_does(tree)
        # without focus the cursor line has another style, and so do the selected guides
        app.screen.set_focus(None)
        await pilot.pause()
        assert not tree.has_focus
        assert_drawn_as_tree_does(tree)
        # filter matches under their dimmed ancestors, and the "… more" rows of a search
        tree.focus()
        await press(pilot, "slash", *"ddl")
        await settle(pilot)
        assert any(isinstance(n.data, PlanRow) and n.data.context
                   for n in tree.nodes_by_plan.values())
        assert_drawn_as_tree_does(tree)


@run_async
async def test_more_rows_are_drawn_as_tree_draws_them(workdir: Path) -> None:
    app = PlandeskApp(database_url(demo_database(workdir)))
    app.tree_page_size = 2  # type: ignore[attr-defined]
    async with app.run_test(size=(60, 20)) as pilot:
        await settle(pilot)
        tree = plans_screen(app).plan_tree
        tree.page_size = 2
        tree.load()
        await settle(pilot)
        assert any(type(n.data).__name__ == "MoreRow" for n in tree.root.children)
        assert_drawn_as_tree_does(tree)
