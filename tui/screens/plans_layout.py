"""The plans screen's layout keys: the tree's width (`<` `>`), hiding it (ctrl+b) and
maximizing the detail (`f`), each change told to the App as `LayoutChanged` (for the config)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from textual.screen import Screen
from textual.widget import Widget

from tui.widgets.pane_layout import TREE_STEP, LayoutChanged, PaneLayout, bounded_tree_width

if TYPE_CHECKING:
    from tui.widgets.plan_detail import PlanDetailPane
    from tui.widgets.plan_tree import PlanTree


class PaneLayoutKeys(Screen[None]):
    """Mixed into `PlansScreen`, which sets `pane_layout` and has the panes below."""

    pane_layout: PaneLayout  # as the user shaped it (for the config)

    if TYPE_CHECKING:
        @property
        def plan_tree(self) -> PlanTree: ...

        @property
        def detail_pane(self) -> PlanDetailPane: ...

        def _ensure_focus(self) -> None: ...

    def apply_layout(self, layout: PaneLayout) -> None:
        """Shape the panes as `layout` says (at start, from a saved config)."""
        column = self.query_one("#tree-column")
        if layout.tree_width is not None:
            column.styles.width = bounded_tree_width(layout.tree_width, self.size.width or 80)
        column.display = not layout.tree_hidden
        if layout.detail_maximized:
            self._maximize_detail()
        self._layout_changed(replace(layout, detail_maximized=self.maximized is not None))
        self.call_after_refresh(self._ensure_focus)

    def _layout_changed(self, layout: PaneLayout) -> None:
        if layout != self.pane_layout:
            self.pane_layout = layout
            self.post_message(LayoutChanged(layout))

    def action_resize_tree(self, direction: int) -> None:
        column = self.query_one("#tree-column")
        if not column.display or self.maximized is not None:
            self.notify("The tree is hidden: ctrl+b shows it, escape restores the detail.",
                        title="Layout", markup=False)
            return
        width = bounded_tree_width(column.outer_size.width + direction * TREE_STEP,
                                   self.size.width)
        column.styles.width = width
        self._layout_changed(replace(self.pane_layout, tree_width=width))

    def _show_tree(self) -> None:
        if self.maximized is not None:
            self.minimize()
        column = self.query_one("#tree-column")
        if not column.display:
            column.display = True
            self._layout_changed(replace(self.pane_layout, tree_hidden=False))

    def action_toggle_tree(self) -> None:
        column = self.query_one("#tree-column")
        if column.display and self.maximized is None:
            column.display = False
            self._layout_changed(replace(self.pane_layout, tree_hidden=True))
            self._focus_detail()
        else:
            self._show_tree()
            self.plan_tree.focus()

    def _focus_detail(self) -> None:
        target = self.detail_pane.focus_target()
        if target is not None:
            target.focus()
        else:
            self.set_focus(None)

    def _maximize_detail(self) -> None:
        self.maximize(self.detail_pane, container=False)
        focused = self.focused
        if focused is None or self.detail_pane not in focused.ancestors:
            self._focus_detail()

    def action_toggle_maximized(self) -> None:
        if self.maximized is not None:
            self.minimize()
        else:
            self._maximize_detail()

    def watch_maximized(self, maximized: Widget | None) -> None:
        # escape minimizes through Textual itself: this is where every change is seen
        self._layout_changed(replace(self.pane_layout, detail_maximized=maximized is not None))
