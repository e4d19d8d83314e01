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
        shows = (node.label, node.allow_expand, node.is_expanded, row.phase, row.state,
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
    # line: Tree.render_line reads the widget's rich_style (a walk up the DOM) for each line,
    # and the labels their width (a region) and styles. (base style, tree width, styles)
    _frame: tuple[Style, int, dict[str, Style]] | None = None

    def render_lines(self, crop: Region) -> list[Strip]:
        self._frame = (self.rich_style, self.scrollable_content_region.width,
                       self._label_styles())
        try:
            return super().render_lines(crop)
        finally:
            self._frame = None

    def render_line(self, y: int) -> Strip:
        if self._frame is None:
            return super().render_line(y)
        # Tree.render_line with the frame's style (Textual is pinned to an exact version)
        scroll_x, scroll_y = self.scroll_offset
        return self._render_line(y + scroll_y, scroll_x, scroll_x + self.size.width,
                                 self._frame[0])

    def render_label(self, node: TreeNode[TreeRow], base_style: Style, style: Style) -> Text:
        row = node.data
        text = node.label if isinstance(node.label, Text) else Text(str(node.label))
        if node.allow_expand:
            prefix = (self.ICON_NODE_EXPANDED if node.is_expanded else self.ICON_NODE,
                      base_style + Style(bold=True))
        else:
            prefix = ("", base_style)
        if isinstance(row, PlanRow):
            frame = self._frame
            tree_width = frame[1] if frame else self.scrollable_content_region.width
            label = plan_label(text, row, id_chars=self.id_chars,
                               width=self._label_room(node, len(prefix[0]), tree_width),
                               tree_width=tree_width,
                               style_of=frame[2] if frame else self._label_styles())
            if row.context:  # an ancestor shown only for a filter match's sake: dimmed
                label.stylize(self.get_component_rich_style("plan-tree--context", partial=True))
        else:
            label = text.copy()
            if isinstance(row, MoreRow | MoreMatchesRow | LoadingRow | NoteRow):
                label.stylize(self.get_component_rich_style("plan-tree--more", partial=True))
        if isinstance(row, PlanRow) and row.plan_id in self.changed_plan_ids:
            label.stylize(self.get_component_rich_style("plan-tree--changed", partial=True))
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
                  for part in ("id", "phase", "count", "unreadable")}
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
