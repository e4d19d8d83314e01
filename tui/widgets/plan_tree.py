"""The plan forest as a lazy Tree: roots and children arrive a keyset page at a time, and a
filter shows its matches under their ancestors.

The widget is put together from one class per concern: paging and the cursor plan
(`plan_tree_pages`), jumps and reloads (`plan_tree_reveal`), search as you type
(`plan_tree_search`) and live refresh (`plan_tree_live`); this module adds the keys and how
a row is drawn. The queries live in `store.plans`, the row types and messages in `plan_rows`.
"""

from __future__ import annotations

from typing import ClassVar, TypeAlias

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import on
from textual.binding import Binding, BindingType
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from tui.widgets import plan_rows
from tui.widgets.plan_label import facts_width, plan_label
from tui.widgets.plan_rows import (
    LoadingRow,
    MoreMatchesRow,
    MoreRow,
    NoteRow,
    PlaceRestored,
    PlanRow,
    TreeRow,
)
from tui.widgets.plan_tree_lines import NULL_STYLE, LabelSegments, LineLook, draw_line
from tui.widgets.plan_tree_live import LiveRefreshed, LiveTreeRefresh
from tui.widgets.plan_tree_reveal import PlanTreeReveal
from tui.widgets.plan_tree_search import PlanTreeSearch
from tui.widgets.vim_keys import VIM_TREE_BINDINGS

__all__ = ["PlanRow", "PlanTree"]

STATE_STYLES = ("queued", "processing", "errored", "complete", "cancelled")


class PlanTree(LiveTreeRefresh, PlanTreeSearch, PlanTreeReveal):
    """Plans by root, or the flat matches of a filter, loaded lazily (and refreshed live:
    `plan_tree_live`)."""

    LiveRefreshed = LiveRefreshed

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("right", "expand_or_down", "Expand", show=False, id="tree.expand.arrow"),
        Binding("left", "collapse_or_parent", "Collapse", show=False, id="tree.collapse.arrow"),
        Binding("home", "first_sibling", "First plan of this level", show=False,
                id="tree.first.home"),
        Binding("end", "last_sibling", "Last plan of this level", show=False,
                id="tree.last.end"),
        Binding("pageup", "page_up", "Page up", show=False, id="tree.page_up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="tree.page_down"),
        *VIM_TREE_BINDINGS,
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = Tree.COMPONENT_CLASSES | {
        "plan-tree--id",
        "plan-tree--phase",
        "plan-tree--count",
        "plan-tree--more",
        "plan-tree--unreadable",
        "plan-tree--context",
        "plan-tree--changed",
        *(f"plan-tree--state-{state}" for state in STATE_STYLES),
    }

    DEFAULT_CSS = """
    PlanTree > .plan-tree--id { color: $text-muted; }
    PlanTree > .plan-tree--phase { color: $text-secondary; }
    PlanTree > .plan-tree--count { color: $text-muted; }
    PlanTree > .plan-tree--more { color: $text-accent; text-style: italic; }
    PlanTree > .plan-tree--unreadable { color: $text-error; text-style: bold; }
    PlanTree > .plan-tree--context { text-style: dim; }
    PlanTree > .plan-tree--changed { background: $warning-muted; }
    PlanTree > .plan-tree--state-queued { color: $text-muted; }
    PlanTree > .plan-tree--state-processing { color: $text-primary; }
    PlanTree > .plan-tree--state-errored { color: $text-error; text-style: bold; }
    PlanTree > .plan-tree--state-complete { color: $text-success; }
    PlanTree > .plan-tree--state-cancelled { color: $text-warning; }
    """

    # the messages the screen listens to, by the names they always had
    PlanHighlighted: TypeAlias = plan_rows.PlanHighlighted
    MatchesShown: TypeAlias = plan_rows.MatchesShown
    MatchChosen: TypeAlias = plan_rows.MatchChosen

    def refresh_live(self, plan_ids: frozenset[str] | None = None) -> None:
        self.drop_read_ahead()  # another connection committed: pages read ahead may be old
        super().refresh_live(plan_ids)

    @on(Tree.NodeSelected)
    def _node_selected(self, event: Tree.NodeSelected[TreeRow]) -> None:
        row = event.node.data
        if isinstance(row, MoreRow):
            self.load_more(event.node)
        elif isinstance(row, PlanRow) and self.plan_filter is not None:
            self.post_message(plan_rows.MatchChosen(row.plan_id))
        elif isinstance(row, PlanRow) and event.node.allow_expand:
            event.node.toggle()

    # -- keys -----------------------------------------------------------------------------

    def action_expand_or_down(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        if node.allow_expand and not node.is_expanded:
            node.expand()
        elif node.is_expanded and node.children:
            self.action_cursor_down()

    def action_collapse_or_parent(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        if node.is_expanded:
            node.collapse()
        elif node.parent is not None and node.parent is not self.root:
            self.move_cursor(node.parent)

    def action_page_down(self) -> None:
        # Tree's own page keys scroll with an animation, during which the cursor is off screen.
        step = max(1, self.scrollable_content_region.height - 1)
        self.cursor_line = min(self.last_line, max(self.cursor_line, 0) + step)
        self._keep_cursor_visible()

    def action_page_up(self) -> None:
        step = max(1, self.scrollable_content_region.height - 1)
        self.cursor_line = max(0, self.cursor_line - step)
        self._keep_cursor_visible()

    def action_half_page_down(self) -> None:
        step = max(1, self.scrollable_content_region.height // 2)
        self.cursor_line = min(self.last_line, max(self.cursor_line, 0) + step)
        self._keep_cursor_visible()

    def action_half_page_up(self) -> None:
        step = max(1, self.scrollable_content_region.height // 2)
        self.cursor_line = max(0, self.cursor_line - step)
        self._keep_cursor_visible()

    def _level(self) -> TreeNode[TreeRow]:
        node = self.cursor_node
        return node.parent if node is not None and node.parent is not None else self.root

    def action_first_sibling(self) -> None:
        """The first plan of the cursor's level (a level's first page is always loaded)."""
        first = next((c for c in self._level().children if isinstance(c.data, PlanRow)), None)
        if first is not None:
            self.move_cursor(first)

    def action_last_sibling(self) -> None:
        """The real last plan of the cursor's level, read from the end if it is not loaded."""
        level = self._level()
        if not level.children:
            return
        last = level.children[-1]
        gap = last.data
        if not isinstance(gap, MoreRow):
            self.move_cursor(last)
            return
        if level is self.root and self.plan_filter is not None:
            self.move_cursor(last)  # matches are read forwards only: load the next page
            return
        if gap.loading:
            return
        gap.loading = True
        last.set_label(self._more_label(gap))
        parent_plan_id = level.data.plan_id if isinstance(level.data, PlanRow) else None
        self._fetch_tail(self.generation, parent_plan_id, gap.after)

    # -- labels ---------------------------------------------------------------------------

    _build_width: int | None = None  # the tree's width while Tree._build measures every line

    def _build(self) -> None:
        self._build_width = self.scrollable_content_region.width
        try:
            super()._build()
        finally:
            self._build_width = None

    def get_label_width(self, node: TreeNode[TreeRow]) -> int:
        # Tree measures every line's label on each rebuild (each page added, each cursor
        # read): a plan's width is measured once, again only when what it shows changes.
        row = node.data
        if not isinstance(row, PlanRow):
            return super().get_label_width(node)
        # read once: Widget works the region out anew on each read (a third of the measuring)
        tree_width = (self._build_width if self._build_width is not None
                      else self.scrollable_content_region.width)
        # (a new label bumps the node's _updates: cheaper to compare than the label's text)
        shows = (node._updates, node._allow_expand, node._expanded, row.phase, row.state,
                 row.child_count, row.unreadable, row.context, self.id_chars, tree_width)
        known = self._label_widths.get(node.id)
        if known is not None and known[0] == shows:
            return known[1]
        # a laid-out row is as wide as its room (plan_label pads or cuts the name to it): no
        # need to draw it, which placing a search's matches did for every line
        icon = (self.ICON_NODE_EXPANDED if node.is_expanded else self.ICON_NODE
                ) if node.allow_expand else ""
        room = self._label_room(node, cell_len(icon), tree_width)
        facts = facts_width(row, id_chars=self.id_chars, tree_width=tree_width)
        if room > 0 and facts < room:
            width = cell_len(icon) + room
        elif tree_width <= 0:
            # not laid out yet (the first roots are placed at mount): the unpadded row
            label = node.label
            width = cell_len(icon) + (label.cell_len if isinstance(label, Text)
                                      else cell_len(str(label))) + facts
        else:
            width = super().get_label_width(node)
        self._label_widths[node.id] = (shows, width)
        return width

    # What every line of one frame shares, worked out once per frame (render_lines), not per
    # line: the widget's rich_style (a walk up the DOM), the tree's width (a region) and the
    # styles of its lines (worked out again only when styles change). (base style, tree
    # width, look)
    _frame: tuple[Style, int, LineLook] | None = None
    _look: tuple[object, LineLook] | None = None  # (what it was worked out for, the look)
    _labels_drawn: LabelSegments  # labels drawn with the look, by what they show

    def notify_style_update(self) -> None:
        self._look = None  # styles changed: the look is worked out anew
        super().notify_style_update()

    def render_lines(self, crop: Region) -> list[Strip]:
        self._frame = (self.rich_style, self.scrollable_content_region.width,
                       self._line_look())
        try:
            return super().render_lines(crop)
        finally:
            self._frame = None

    def _line_look(self) -> LineLook:
        """The styles lines are drawn with, for the tree's current styles and pseudo classes;
        the labels kept were drawn with the look before, so they go when it changes."""
        key = (self.get_pseudo_class_state(), self.show_guides, self.guide_depth)
        if self._look is not None and self._look[0] == key:
            return self._look[1]
        look = LineLook.of(self, self._label_styles())
        self._look = (key, look)
        self._labels_drawn = LabelSegments()
        return look

    def render_line(self, y: int) -> Strip:
        if self._frame is None:
            return super().render_line(y)
        # Tree.render_line with the frame's style (Textual is pinned to an exact version)
        scroll_x, scroll_y = self.scroll_offset
        return self._render_line(y + scroll_y, scroll_x, scroll_x + self.size.width,
                                 self._frame[0])

    def _render_line(self, y: int, x1: int, x2: int, base_style: Style) -> Strip:
        # Tree._render_line, from the frame's look and labels kept by what they show
        # (plan_tree_lines); its own line cache stays as it is, keyed by line and updates
        frame = self._frame
        if frame is None:
            return super()._render_line(y, x1, x2, base_style)
        tree_lines = self._tree_lines
        width = self.size.width
        if y >= len(tree_lines):
            return Strip.blank(width, base_style)
        line = tree_lines[y]
        path = line.path
        is_hover = self.hover_line >= 0 and any(node._hover for node in path)
        cache_key = (y, is_hover, width, self._updates, self._pseudo_class_state,
                     tuple(node._updates for node in path))
        strip = self._line_cache.get(cache_key)
        if strip is None:
            look = frame[2]
            node = path[-1]
            label_style = look.labels[(self.hover_line == y, self.cursor_line == y)]
            label = self._labels_drawn.get(
                self._label_key(node, len(path), frame[1], label_style),
                lambda: self.render_label(node, NULL_STYLE, label_style), self)
            strip = draw_line(self, y, path, line.last, is_hover, width, base_style, look,
                              label)
            self._line_cache[cache_key] = strip
        return strip.crop(x1, x2)

    def _label_key(self, node: TreeNode[TreeRow], depth: int, tree_width: int,
                   label_style: Style) -> tuple[object, ...]:
        """Everything render_label draws a row from (a label kept under this key is the
        same drawing)."""
        label = node._label
        row = node.data
        shows: tuple[object, ...] = (
            type(row), label.plain, tuple(label.spans), label.style, node._allow_expand,
            node._expanded, depth, tree_width, label_style)
        if isinstance(row, PlanRow):
            shows += (row.plan_id, row.phase, row.state, row.child_count, row.unreadable,
                      row.context, row.plan_id in self.changed_plan_ids, self.id_chars)
        return shows

    def render_label(self, node: TreeNode[TreeRow], base_style: Style, style: Style) -> Text:
        row = node.data
        text = node.label if isinstance(node.label, Text) else Text(str(node.label))
        if node.allow_expand:
            prefix = (self.ICON_NODE_EXPANDED if node.is_expanded else self.ICON_NODE,
                      base_style + Style(bold=True))
        else:
            prefix = ("", base_style)
        frame = self._frame
        if isinstance(row, PlanRow):
            parts = frame[2].parts if frame else self._label_styles()
            tree_width = frame[1] if frame else self.scrollable_content_region.width
            label = plan_label(text, row, id_chars=self.id_chars,
                               width=self._label_room(node, len(prefix[0]), tree_width),
                               tree_width=tree_width, style_of=parts)
            if row.context:  # an ancestor shown only for a filter match's sake: dimmed
                label.stylize(parts["context"])
            if row.plan_id in self.changed_plan_ids:
                label.stylize(parts["changed"])
        else:
            label = text.copy()
            if isinstance(row, MoreRow | MoreMatchesRow | LoadingRow | NoteRow):
                label.stylize(frame[2].parts["more"] if frame else
                              self.get_component_rich_style("plan-tree--more", partial=True))
        label.stylize(style)
        return Text.assemble(prefix, label)

    def _label_room(self, node: TreeNode[TreeRow], prefix_width: int, width: int) -> int:
        """The cells a label has in a tree `width` wide after its guides and icon (0: not
        laid out yet)."""
        if width <= 0:
            return 0
        depth = 0
        parent = node.parent
        while parent is not None and parent is not self.root:
            depth += 1
            parent = parent.parent
        return width - depth * self.guide_depth - prefix_width

    def _label_styles(self) -> dict[str, Style]:
        style_of = self.get_component_rich_style
        styles = {part: style_of(f"plan-tree--{part}", partial=True)
                  for part in ("id", "phase", "count", "unreadable", "context", "more",
                               "changed")}
        styles.update({f"state-{state}": style_of(f"plan-tree--state-{state}", partial=True)
                       for state in STATE_STYLES})
        return styles

    # -- a reload's result -------------------------------------------------------------

    @on(PlaceRestored)
    def _place_restored(self, message: PlaceRestored) -> None:
        if message.live:
            self.live_restored(message)
            return
        if message.generation != self.generation:
            return
        if message.error is not None:
            self.notify(message.error, title="Could not reload the plans", severity="error",
                        markup=False)
            return
        place = message.place
        target, gone = self._rebuild(place, message.pages, message.steps)
        if gone and target is not None and message.say_if_gone:
            name = target.data.name if isinstance(target.data, PlanRow) else "?"
            self.notify(f"The plan {place.cursor_plan_id} is gone; showing {name}.",
                        title="Plan gone", severity="warning", markup=False)
