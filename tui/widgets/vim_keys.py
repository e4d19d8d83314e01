"""Vim-style movement keys for the tree and the tables, each with an id that a keymap can rebind.

They come in addition to the arrow keys, which keep working: rebinding `tree.down` moves `j`,
never `down`.
"""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import DataTable


def hidden_bindings(
    scope: str, moves: tuple[tuple[str, str, str, str], ...]
) -> tuple[Binding, ...]:
    """Bindings left out of the footer, one per (key, action, description, id name), each with
    the id `scope.<name>` that a keymap rebinds it by."""
    return tuple(Binding(key, action, description, show=False, id=f"{scope}.{name}")
                 for key, action, description, name in moves)


# every vim-keyed widget pages by half a screen the same way
HALF_PAGE_MOVES = (
    ("ctrl+d", "half_page_down", "Half a page down", "half_page_down"),
    ("ctrl+u", "half_page_up", "Half a page up", "half_page_up"),
)

VIM_TREE_BINDINGS = hidden_bindings("tree", (
    ("j", "cursor_down", "Down", "down"),
    ("k", "cursor_up", "Up", "up"),
    ("h", "collapse_or_parent", "Collapse, or to the parent", "collapse"),
    ("l", "expand_or_down", "Expand, or to the first child", "expand"),
    ("g", "first_sibling", "First plan of this level", "first"),
    ("G", "last_sibling", "Last plan of this level (read from the end)", "last"),
    *HALF_PAGE_MOVES,
))


class VimDataTable(DataTable):  # type: ignore[type-arg]
    """A DataTable that also moves with j/k, h/l, g/G and ctrl+d/ctrl+u."""

    BINDINGS: ClassVar[list[BindingType]] = [*hidden_bindings("table", (
        ("j", "cursor_down", "Down", "down"),
        ("k", "cursor_up", "Up", "up"),
        ("h", "cursor_left", "Left", "left"),
        ("l", "cursor_right", "Right", "right"),
        ("g", "first_row", "First row", "first"),
        ("G", "last_row", "Last row", "last"),
        *HALF_PAGE_MOVES,
    ))]

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

    BINDINGS: ClassVar[list[BindingType]] = [*hidden_bindings("pane", (
        ("j", "scroll_down", "Scroll down", "down"),
        ("k", "scroll_up", "Scroll up", "up"),
        ("g", "scroll_home", "Top", "first"),
        ("G", "scroll_end", "Bottom", "last"),
        *HALF_PAGE_MOVES,
    ))]

    def action_half_page_down(self) -> None:
        self.scroll_relative(y=max(1, self.scrollable_content_region.height // 2),
                             animate=False)

    def action_half_page_up(self) -> None:
        self.scroll_relative(y=-max(1, self.scrollable_content_region.height // 2),
                             animate=False)
