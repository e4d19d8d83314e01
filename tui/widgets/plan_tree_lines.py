"""How the plan tree draws a line: what Tree._render_line draws, from parts kept between
frames (Textual is pinned to an exact version).

Tree._render_line asks for nine component styles, builds a rich Text of guides and label and
renders it through the console for each line, and its line cache is keyed by line number and
the tree's update count: a page placed, or a search's matches, redrew every visible line from
scratch (~0.45 ms a line, most of the frame that shows them). Here the styles are worked out
once per style change (`LineLook`), the guides are strings picked per line, and a label's
segments are kept by what it shows (`LabelSegments`): a row drawn once before (the same plan
in the next keystroke's matches, lines moved down by a page) costs a few lookups.
The strips are the same, segment for segment and style for style, as Tree's own
(tests/tui/test_tree_lines.py).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual._segment_tools import line_pad
from textual.cache import LRUCache
from textual.strip import Strip
from textual.widgets import Tree

NULL_STYLE = Style()
LABELS_KEPT = 4096  # rows' segments kept across frames: screens of matches and pages


@dataclass
class LineLook:
    """The styles of a tree's lines, as Tree._render_line works them out for every line."""

    guide: Style
    guide_hover: Style
    guide_selected: Style
    guide_hidden: bool
    guide_hover_hidden: bool
    guide_selected_hidden: bool
    highlight_line: Style
    labels: dict[tuple[bool, bool], Style]  # by (mouse over the line, cursor on it)
    parts: dict[str, Style]  # the plan rows' own component styles (plan_tree.py)
    show_guides: bool
    guide_depth: int
    line_sets: dict[str, tuple[str, str, str, str]]
    _guides: dict[tuple[Style, bool], tuple[str, str, str, str]] = field(default_factory=dict)

    @classmethod
    def of(cls, tree: Tree[Any], parts: dict[str, Style]) -> LineLook:
        styles_of, style_of = tree.get_component_styles, tree.get_component_rich_style
        guide = style_of("tree--guides", partial=True)
        label = style_of("tree--label", partial=True)
        highlight = style_of("tree--highlight", partial=True)
        cursor = style_of("tree--cursor", partial=False)
        return cls(
            guide=guide,
            guide_hover=guide + style_of("tree--guides-hover", partial=True),
            guide_selected=guide + style_of("tree--guides-selected", partial=True),
            guide_hidden=styles_of("tree--guides").color.a == 0,
            guide_hover_hidden=styles_of("tree--guides-hover").color.a == 0,
            guide_selected_hidden=styles_of("tree--guides-selected").color.a == 0,
            highlight_line=style_of("tree--highlight-line"),
            labels={(False, False): label, (True, False): label + highlight,
                    (False, True): label + cursor, (True, True): label + highlight + cursor},
            parts=parts,
            show_guides=tree.show_guides,
            guide_depth=tree.guide_depth,
            line_sets=tree.LINES,
        )

    def guides(self, style: Style, hidden: bool) -> tuple[str, str, str, str]:
        """Space, vertical, terminator and cross for guides in `style` (Tree's get_guides)."""
        known = self._guides.get((style, hidden))
        if known is not None:
            return known
        if self.show_guides and not hidden:
            lines = self.line_sets["default"]
            if style.bold:
                lines = self.line_sets["bold"]
            elif style.underline2:
                lines = self.line_sets["double"]
        else:
            lines = ("  ", "  ", "  ", "  ")
        depth = max(0, self.guide_depth - 2)
        made = tuple(f"{chars[0]}{chars[1] * depth} " for chars in lines)
        self._guides[(style, hidden)] = made  # type: ignore[assignment]
        return made  # type: ignore[return-value]


class LabelSegments:
    """Labels as segments without a line's own styles, kept by what they show."""

    def __init__(self) -> None:
        self._kept: LRUCache[Hashable, tuple[list[tuple[str, Style]], int]] = LRUCache(
            LABELS_KEPT)

    def get(self, key: Hashable, draw: Callable[[], Text], tree: Tree[Any]
            ) -> tuple[list[tuple[str, Style]], int]:
        kept = self._kept.get(key)
        if kept is None:
            text = draw()
            pieces = [(segment.text, segment.style or NULL_STYLE)
                      for segment in text.render(tree.app.console)]
            kept = self._kept[key] = (pieces, text.cell_len)
        return kept


def draw_line(tree: Tree[Any], y: int, path: Sequence[Any], last: bool, is_hover: bool,
              width: int, base_style: Style, look: LineLook,
              label: tuple[list[tuple[str, Style]], int]) -> Strip:
    """Tree._render_line's strip for the line `y` whose nodes from the top are `path`, with
    the label's segments `label` (drawn by render_label with a null base style)."""
    line_style = (look.highlight_line if is_hover else base_style) + Style(meta={"line": y})
    first = path[0]
    has_focus = tree.has_focus
    hover = first._hover
    selected = first._selected and has_focus
    segments: list[Segment] = []
    append = segments.append
    guide_style = look.guide
    hidden = True
    cells = 0
    node = path[-1]
    for step in path[1:]:
        hidden = look.guide_hidden
        if hover:
            guide_style, hidden = look.guide_hover, look.guide_hover_hidden
        if selected:
            guide_style, hidden = look.guide_selected, look.guide_selected_hidden
        if step is not node:
            space, vertical, _, _ = look.guides(guide_style, hidden)
            guide = space if step.is_last else vertical
            append(Segment(guide, line_style + guide_style))
            cells += len(guide)
        hover = hover or step._hover
        selected = (selected or step._selected) and has_focus
    if len(path) > 1:
        _, _, terminator, cross = look.guides(guide_style, hidden)
        guide = terminator if last else cross
        append(Segment(guide, line_style + guide_style))
        cells += len(guide)
    node_meta = Style(meta={"node": node._id})
    pieces, label_cells = label
    for text, style in pieces:
        append(Segment(text, line_style + style + node_meta))
    cells += label_cells
    pad_width = max(tree.virtual_size.width, width)
    return Strip(line_pad(segments, 0, pad_width - cells, line_style), max(pad_width, cells))
