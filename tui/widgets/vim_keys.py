"""Vim-style movement keys for the tree and the tables, each with an id that a keymap can rebind.

They come in addition to the arrow keys, which keep working: rebinding `tree.down` moves `j`,
never `down`.
"""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import DataTable

VIM_TREE_BINDINGS: tuple[Binding, ...] = (
    Binding("j", "cursor_down", "Down", show=False, id="tree.down"),
    Binding("k", "cursor_up", "Up", show=False, id="tree.up"),
    Binding("h", "collapse_or_parent", "Collapse, or to the parent", show=False,
            id="tree.collapse"),
    Binding("l", "expand_or_down", "Expand, or to the first child", show=False,
            id="tree.expand"),
    Binding("g", "first_sibling", "First plan of this level", show=False, id="tree.first"),
    Binding("G", "last_sibling", "Last plan of this level (read from the end)", show=False,
            id="tree.last"),
    Binding("ctrl+d", "half_page_down", "Half a page down", show=False,
            id="tree.half_page_down"),
    Binding("ctrl+u", "half_page_up", "Half a page up", show=False, id="tree.half_page_up"),
)


class VimDataTable(DataTable):  # type: ignore[type-arg]
    """A DataTable that also moves with j/k, h/l, g/G and ctrl+d/ctrl+u."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False, id="table.down"),
        Binding("k", "cursor_up", "Up", show=False, id="table.up"),
        Binding("h", "cursor_left", "Left", show=False, id="table.left"),
        Binding("l", "cursor_right", "Right", show=False, id="table.right"),
        Binding("g", "first_row", "First row", show=False, id="table.first"),
        Binding("G", "last_row", "Last row", show=False, id="table.last"),
        Binding("ctrl+d", "half_page_down", "Half a page down", show=False,
                id="table.half_page_down"),
        Binding("ctrl+u", "half_page_up", "Half a page up", show=False,
                id="table.half_page_up"),
    ]

    def action_first_row(self) -> None:
        if self.row_count:
            self.move_cursor(row=0, animate=False)

    def action_last_row(self) -> None:
        if self.row_count:
            self.move_cursor(row=self.row_count - 1, animate=False)

    def _half_page(self) -> int:
        return max(1, self.scrollable_content_region.height // 2)

    def action_half_page_down(self) -> None:
        if self.row_count:
            row = min(self.row_count - 1, self.cursor_row + self._half_page())
            self.move_cursor(row=row, animate=False)

    def action_half_page_up(self) -> None:
        if self.row_count:
            self.move_cursor(row=max(0, self.cursor_row - self._half_page()), animate=False)


class VimScroll(VerticalScroll):
    """A scrolling text pane that also scrolls with j/k, g/G and ctrl+d/ctrl+u."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "scroll_down", "Scroll down", show=False, id="pane.down"),
        Binding("k", "scroll_up", "Scroll up", show=False, id="pane.up"),
        Binding("g", "scroll_home", "Top", show=False, id="pane.first"),
        Binding("G", "scroll_end", "Bottom", show=False, id="pane.last"),
        Binding("ctrl+d", "half_page_down", "Half a page down", show=False,
                id="pane.half_page_down"),
        Binding("ctrl+u", "half_page_up", "Half a page up", show=False,
                id="pane.half_page_up"),
    ]

    def action_half_page_down(self) -> None:
        self.scroll_relative(y=max(1, self.scrollable_content_region.height // 2),
                             animate=False)

    def action_half_page_up(self) -> None:
        self.scroll_relative(y=-max(1, self.scrollable_content_region.height // 2),
                             animate=False)
