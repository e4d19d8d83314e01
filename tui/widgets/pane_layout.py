"""The plans screen's pane sizes as plain values (for a config file to keep) and the message
that says they changed."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding
from textual.message import Message

TREE_STEP = 5  # columns per `<` / `>` press
MIN_TREE_WIDTH = 30  # as `#tree-column { min-width }`: below it labels lose their states
MIN_DETAIL_WIDTH = 30

# The plans screen's layout keys (its actions are the screen's).
LAYOUT_BINDINGS: tuple[Binding, ...] = (
    Binding("less_than_sign", "resize_tree(-1)", "Narrower tree", key_display="<",
            show=False, id="layout.tree_narrower"),
    Binding("minus", "resize_tree(-1)", "Narrower tree", key_display="-", show=False,
            id="layout.tree_narrower.minus"),
    Binding("greater_than_sign", "resize_tree(1)", "Wider tree", key_display=">",
            show=False, id="layout.tree_wider"),
    Binding("plus", "resize_tree(1)", "Wider tree", key_display="+", show=False,
            id="layout.tree_wider.plus"),
    Binding("ctrl+b", "toggle_tree", "Hide / show the tree", show=False,
            id="layout.toggle_tree"),
    Binding("f", "toggle_maximized", "Maximize / restore the detail (escape restores)",
            show=False, id="layout.maximize_detail"),
)


@dataclass(frozen=True)
class PaneLayout:
    """`tree_width` in columns, borders included (None: the stylesheet's default share)."""

    tree_width: int | None = None
    tree_hidden: bool = False
    detail_maximized: bool = False


@dataclass
class LayoutChanged(Message):
    """The user resized, hid or maximized a pane; `layout` is how it is now."""

    layout: PaneLayout


def bounded_tree_width(width: int, screen_width: int) -> int:
    """`width` kept between the tree's minimum and what leaves the detail its minimum."""
    return max(MIN_TREE_WIDTH, min(width, screen_width - MIN_DETAIL_WIDTH))
