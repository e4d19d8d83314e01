"""The plan forest as a lazy Tree: roots and children arrive a keyset page at a time.

Textual's Tree re-measures on every change, so at most one page (PAGE_SIZE nodes) is added at
once: a "loading…" leaf while a thread worker runs one store query, then the page, then a
"… more" leaf that fetches the next page when it is highlighted, selected or scrolled to.
A jump to a plan that is not loaded yet inserts the page starting at it as its own segment,
with a "… more" gap before it, so that no level ever has to be read in full; End reads a
level's last page backwards from its end the same way.

Whatever changes under it, the tree says which plan its cursor is on (`PlanHighlighted`,
None when the cursor is on no plan), so that the detail pane can never show another one.

Longer than our ~400-line guide on purpose: paging, segments, the tail, jumps and restoring a
place all edit the same gaps ("… more" rows) and must agree on them; the queries themselves
live in `store.plans` and the row types and worker messages in `plan_rows`.
"""

from __future__ import annotations

import time
from collections import deque
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import NodeID, TreeNode, UnknownNodeID
from textual.worker import get_current_worker

from store import plans
from store.db import SessionFactory
from store.models import Plan
from store.plans import PlanFilter, PlanNode, PlanPage, RevealStep, TailPage
from tui.widgets.literal import literal_text, visible
from tui.widgets.plan_label import MIN_ID_CHARS, plan_label, unique_suffix_chars
from tui.widgets.plan_rows import (
    LoadingRow,
    MatchesLoaded,
    MoreRow,
    NoteRow,
    PageFailed,
    PageLoaded,
    PageRequest,
    PlaceRestored,
    PlanRow,
    RevealReady,
    TailLoaded,
    TreePlace,
    TreeRow,
)
from tui.widgets.plan_tree_live import LiveRefreshed, LiveTreeRefresh
from tui.widgets.vim_keys import VIM_TREE_BINDINGS

STATE_STYLES = ("queued", "processing", "errored", "complete", "cancelled")


class PlanTree(LiveTreeRefresh, Tree[TreeRow]):
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

    class PlanHighlighted(Message):
        """The cursor is now on `plan_id` (None: on no plan, e.g. a "… more" row)."""

        def __init__(self, plan_id: str | None) -> None:
            super().__init__()
            self.plan_id = plan_id

    class MatchesShown(Message):
        """The filter's matches are on screen; `label` says how many ("312 matches")."""

        def __init__(self, label: str) -> None:
            super().__init__()
            self.label = label

    class MatchChosen(Message):
        """`enter` on a plan among the filter's matches: show it in the full tree."""

        def __init__(self, plan_id: str) -> None:
            super().__init__()
            self.plan_id = plan_id

    def __init__(
        self, session: SessionFactory, *, page_size: int = plans.PAGE_SIZE, id: str | None = None
    ) -> None:
        super().__init__("plans", id=id)
        self.session = session
        self.page_size = page_size  # plans read at a time per level (config tree_page_size)
        self.show_root = False
        self.guide_depth = 2
        self.auto_expand = False
        self.generation = 0
        self.plan_filter: PlanFilter | None = None
        self.nodes_by_plan: dict[str, TreeNode[TreeRow]] = {}
        self.announced_plan_id: str | None = None
        self._label_widths: dict[NodeID, tuple[tuple[object, ...], int]] = {}
        self.id_chars = MIN_ID_CHARS  # how much of each id labels show (unique_suffix_chars)

    # -- the cursor plan ---------------------------------------------------------------------

    @property
    def cursor_plan_id(self) -> str | None:
        """The plan under the cursor as drawn now (None on a "… more" or "loading…" row)."""
        _ = self.last_line  # rebuilds the lines, so the cursor follows its node first
        node = self.cursor_node
        if node is None or self._node(node.id) is not node:
            return None
        return node.data.plan_id if isinstance(node.data, PlanRow) else None

    def _announce_cursor(self) -> None:
        plan_id = self.cursor_plan_id
        if plan_id != self.announced_plan_id:
            self.announced_plan_id = plan_id
            self.post_message(self.PlanHighlighted(plan_id))

    def watch_cursor_line(self, previous_line: int, line: int) -> None:
        super().watch_cursor_line(previous_line, line)
        self.call_later(self._announce_cursor)

    def _keep_cursor_visible(self) -> None:
        if self.cursor_line >= 0:
            self.scroll_to_line(self.cursor_line, animate=False)

    def _after_change(self) -> None:
        """Nodes came or went: say where the cursor is now, and keep it on screen."""
        self._shorten_ids()
        self.call_later(self._announce_cursor)
        self.call_after_refresh(self._keep_cursor_visible)

    # -- loading ---------------------------------------------------------------------------

    def _start_over(self, plan_filter: PlanFilter | None) -> None:
        self.generation += 1
        self.plan_filter = None if plan_filter is None or plan_filter.empty else plan_filter
        self.nodes_by_plan.clear()
        self._label_widths.clear()
        self.clear()
        self.root.data = None
        self.cursor_line = -1

    def load(
        self,
        plan_filter: PlanFilter | None = None,
        *,
        fetch: bool = True,
        first_page: PlanPage | None = None,
    ) -> None:
        """Start over: the forest (no filter) or the matches of `plan_filter`.

        `first_page`, already fetched, is placed at once instead of being queried again.
        """
        self._start_over(plan_filter)
        if first_page is not None and self.plan_filter is None:
            self._place_page(self.root, first_page, None, None)
            if self.root.children:
                self.cursor_line = 0
        elif fetch:
            placeholder = self.root.add_leaf(literal_text("loading…"), LoadingRow())
            self._request(self.root, None, None, placeholder)
        self._after_change()

    def _request(
        self,
        parent: TreeNode[TreeRow],
        after: str | None,
        until: str | None,
        placeholder: TreeNode[TreeRow] | None,
    ) -> None:
        parent_plan_id = parent.data.plan_id if isinstance(parent.data, PlanRow) else None
        request = PageRequest(
            generation=self.generation,
            parent_node=None if parent is self.root else parent.id,
            parent_plan_id=parent_plan_id,
            plan_filter=self.plan_filter if parent_plan_id is None else None,
            after=after,
            until=until,
            placeholder=placeholder.id if placeholder is not None else None,
        )
        self._fetch_page(request)

    @work(thread=True, exit_on_error=False, group="plan-pages", description="Loading plans")
    def _fetch_page(self, request: PageRequest) -> None:
        try:
            with self.session() as session:
                if request.parent_plan_id is not None:
                    page = plans.children_page(session, request.parent_plan_id, request.after,
                                               limit=self.page_size)
                elif request.plan_filter is not None:
                    page = plans.search_page(session, request.plan_filter, request.after,
                                             limit=self.page_size)
                else:
                    page = plans.roots_page(session, request.after, limit=self.page_size)
        except Exception as exc:
            self.post_message(PageFailed(request, str(exc)))
            return
        self.post_message(PageLoaded(request, page))

    def _node(self, node_id: NodeID | None) -> TreeNode[TreeRow] | None:
        if node_id is None:
            return None
        try:
            return self.get_node_by_id(node_id)
        except UnknownNodeID:
            return None

    @on(PageLoaded)
    def _page_loaded(self, message: PageLoaded) -> None:
        request = message.request
        if request.generation != self.generation:
            return
        parent = self.root if request.parent_node is None else self._node(request.parent_node)
        if parent is None:
            return
        self._place_page(parent, message.page, self._node(request.placeholder), request.until)
        if parent is self.root and self.cursor_line < 0 and self.root.children:
            self.cursor_line = 0  # the first plan's detail shows without a key press

    @on(PageFailed)
    def _page_failed(self, message: PageFailed) -> None:
        if message.request.generation != self.generation:
            return
        placeholder = self._node(message.request.placeholder)
        if placeholder is not None and isinstance(placeholder.data, MoreRow):
            placeholder.data.loading = False
            placeholder.set_label(self._more_label(placeholder.data))
        self.notify(message.error, title="Could not load plans", severity="error", markup=False)

    def _place_page(
        self,
        parent: TreeNode[TreeRow],
        page: PlanPage,
        placeholder: TreeNode[TreeRow] | None,
        until: str | None,
    ) -> None:
        """Put one page where its placeholder was (or at the end), and a gap if more follow."""
        cursor_line = -1
        if placeholder is not None and placeholder.parent is parent:
            if self.cursor_node is placeholder:
                cursor_line = self.cursor_line  # the cursor stays on this line, not on a ghost
            index = parent.children.index(placeholder)
            placeholder.remove()
        else:
            index = len(parent.children)
        added = 0
        reached_until = False
        for node in page.nodes:
            if node.plan.plan_id in self.nodes_by_plan or (
                until is not None and node.plan.plan_id >= until
            ):
                reached_until = True
                break
            self._add_plan(parent, node, before=index + added)
            added += 1
        if page.has_more and not reached_until:
            gap = MoreRow(after=page.next_after, until=until, remaining=self._remaining(parent))
            parent.add_leaf(self._more_label(gap), gap, before=index + added)
        if isinstance(parent.data, PlanRow):
            parent.data.children_loaded = True
        if cursor_line >= 0:
            self._cursor_to_line(cursor_line)
        self._after_change()

    def _cursor_to(self, node: TreeNode[TreeRow]) -> None:
        _ = self.last_line  # nodes were just added: their lines must exist first
        self.move_cursor(node)

    def _cursor_to_line(self, line: int) -> None:
        """Put the cursor on whatever is drawn at `line` now (and say so)."""
        last = self.last_line
        self.cursor_line = -1
        self.cursor_line = min(line, last)

    def _remaining(self, parent: TreeNode[TreeRow]) -> int | None:
        if not isinstance(parent.data, PlanRow):
            return None
        loaded = sum(1 for child in parent.children if isinstance(child.data, PlanRow))
        gaps = sum(1 for child in parent.children if isinstance(child.data, MoreRow))
        return parent.data.child_count - loaded if gaps == 0 else None

    def _add_plan(self, parent: TreeNode[TreeRow], node: PlanNode, before: int, *,
                  context: bool = False) -> TreeNode[TreeRow]:
        plan = node.plan
        row = PlanRow(
            plan_id=plan.plan_id,
            name=plan.namespaced_name,
            # stored text: an unreadable value may hold anything, escapes included
            phase=visible(plan.phase, keep_newlines=False),
            state=visible(plan.processing_state, keep_newlines=False),
            child_count=node.child_count,
            unreadable=plans.unreadable_label(plan.problems),
            context=context,
        )
        tree_node = parent.add(
            literal_text(plan.namespaced_name, one_line=True),
            row,
            before=before,
            allow_expand=node.child_count > 0,
        )
        self.nodes_by_plan[plan.plan_id] = tree_node
        return tree_node

    def update_plan(self, plan: Plan) -> None:
        """Redraw a loaded plan's row with its current phase and state (after a correction)."""
        node = self.nodes_by_plan.get(plan.plan_id)
        if node is None or not isinstance(node.data, PlanRow):
            return
        row = node.data
        phase = visible(str(plan.phase), keep_newlines=False)
        state = visible(str(plan.processing_state), keep_newlines=False)
        if (row.phase, row.state, row.name) != (phase, state, plan.namespaced_name):
            row.phase, row.state, row.name = phase, state, plan.namespaced_name
            node.set_label(literal_text(plan.namespaced_name, one_line=True))

    @staticmethod
    def _more_label(gap: MoreRow) -> Text:
        if gap.loading:
            return Text("loading…")
        if gap.remaining:
            return Text(f"… {gap.remaining:,} more")
        return Text("… more")

    def load_more(self, node: TreeNode[TreeRow]) -> None:
        """Fetch the page behind a "… more" leaf (once, however often it is asked for)."""
        gap = node.data
        if not isinstance(gap, MoreRow) or gap.loading or node.parent is None:
            return
        gap.loading = True
        node.set_label(self._more_label(gap))
        self._request(node.parent, gap.after, gap.until, node)

    @on(Tree.NodeExpanded)
    def _node_expanded(self, event: Tree.NodeExpanded[TreeRow]) -> None:
        node = event.node
        row = node.data
        if not isinstance(row, PlanRow) or row.children_loaded or node.children:
            return
        placeholder = node.add_leaf(literal_text("loading…"), LoadingRow())
        self._request(node, None, None, placeholder)

    @on(Tree.NodeHighlighted)
    def _node_highlighted(self, event: Tree.NodeHighlighted[TreeRow]) -> None:
        if isinstance(event.node.data, MoreRow):
            self.load_more(event.node)

    @on(Tree.NodeSelected)
    def _node_selected(self, event: Tree.NodeSelected[TreeRow]) -> None:
        row = event.node.data
        if isinstance(row, MoreRow):
            self.load_more(event.node)
        elif isinstance(row, PlanRow) and self.plan_filter is not None:
            self.post_message(self.MatchChosen(row.plan_id))
        elif isinstance(row, PlanRow) and event.node.allow_expand:
            event.node.toggle()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        # Roots load a page at a time as you scroll: the trailing "… more" loads once seen.
        visible_to = new_value + self.scrollable_content_region.height
        if 0 <= self.last_line <= visible_to:
            last = self.get_node_at_line(self.last_line)
            if last is not None and isinstance(last.data, MoreRow) and last.parent is self.root:
                self.call_later(self.load_more, last)

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

    @work(thread=True, exclusive=True, exit_on_error=False, group="plan-tail",
          description="Loading the last plans")
    def _fetch_tail(self, generation: int, parent_plan_id: str | None, after: str | None) -> None:
        try:
            with self.session() as session:
                tail = plans.last_page(session, parent_plan_id, after, limit=self.page_size)
        except Exception as exc:
            self.post_message(TailLoaded(generation, parent_plan_id, None, str(exc)))
            return
        self.post_message(TailLoaded(generation, parent_plan_id, tail))

    @on(TailLoaded)
    def _tail_loaded(self, message: TailLoaded) -> None:
        if message.generation != self.generation:
            return
        level = (self.root if message.parent_plan_id is None
                 else self.nodes_by_plan.get(message.parent_plan_id))
        if level is None or not level.children:
            return
        gap_node = level.children[-1]
        gap = gap_node.data
        if not isinstance(gap, MoreRow):
            return
        if message.tail is None:
            gap.loading = False
            gap_node.set_label(self._more_label(gap))
            self.notify(message.error or "", title="Could not load plans", severity="error",
                        markup=False)
            return
        self._place_tail(level, gap_node, message.tail)
        self._cursor_to(level.children[-1])
        self._after_change()

    def _place_tail(self, level: TreeNode[TreeRow], gap_node: TreeNode[TreeRow],
                    tail: TailPage) -> None:
        """Put a level's last page after its trailing gap, which shrinks or goes."""
        gap = gap_node.data
        assert isinstance(gap, MoreRow)
        index = level.children.index(gap_node)
        nodes = [n for n in tail.nodes if n.plan.plan_id not in self.nodes_by_plan
                 and (gap.after is None or n.plan.plan_id > gap.after)]
        if tail.more_before and nodes:
            gap.until = nodes[0].plan.plan_id
            gap.remaining = None
            gap.loading = False
            gap_node.set_label(self._more_label(gap))
            index += 1
        else:
            gap_node.remove()
        for offset, node in enumerate(nodes):
            self._add_plan(level, node, before=index + offset)

    # -- labels ---------------------------------------------------------------------------

    def get_label_width(self, node: TreeNode[TreeRow]) -> int:
        # Tree measures every line's label on each rebuild (each page added, each cursor
        # read): a plan's width is measured once, again only when what it shows changes.
        row = node.data
        if not isinstance(row, PlanRow):
            return super().get_label_width(node)
        shows = (node.label, node.allow_expand, row.phase, row.state, row.child_count,
                 row.unreadable, row.context, self.id_chars,
                 self.scrollable_content_region.width)
        known = self._label_widths.get(node.id)
        if known is not None and known[0] == shows:
            return known[1]
        width = super().get_label_width(node)
        self._label_widths[node.id] = (shows, width)
        return width

    def render_label(self, node: TreeNode[TreeRow], base_style: Style, style: Style) -> Text:
        row = node.data
        text = node.label if isinstance(node.label, Text) else Text(str(node.label))
        if node.allow_expand:
            prefix = (self.ICON_NODE_EXPANDED if node.is_expanded else self.ICON_NODE,
                      base_style + Style(bold=True))
        else:
            prefix = ("", base_style)
        if isinstance(row, PlanRow):
            label = plan_label(text, row, id_chars=self.id_chars,
                               width=self._label_room(node, len(prefix[0])),
                               tree_width=self.scrollable_content_region.width,
                               style_of=self._label_styles())
            if row.context:  # an ancestor shown only for a filter match's sake: dimmed
                label.stylize(self.get_component_rich_style("plan-tree--context", partial=True))
        else:
            label = text.copy()
            if isinstance(row, MoreRow | LoadingRow | NoteRow):
                label.stylize(self.get_component_rich_style("plan-tree--more", partial=True))
        if isinstance(row, PlanRow) and row.plan_id in self.changed_plan_ids:
            label.stylize(self.get_component_rich_style("plan-tree--changed", partial=True))
        label.stylize(style)
        return Text.assemble(prefix, label)

    # -- search as you type ---------------------------------------------------------------

    def search(self, plan_filter: PlanFilter, *, delay: float = 0.0,
               keep_cursor: bool = False) -> None:
        """Show the matches of `plan_filter` with their ancestors, after `delay` seconds unless
        another search comes first (the newer one cancels this one)."""
        self.generation += 1
        self.plan_filter = None if plan_filter.empty else plan_filter
        cursor = self.cursor_plan_id if keep_cursor else None
        self._fetch_matches(self.generation, plan_filter, delay, cursor)

    @work(thread=True, exclusive=True, exit_on_error=False, group="search",
          description="Searching plans")
    def _fetch_matches(self, generation: int, plan_filter: PlanFilter, delay: float,
                       cursor_plan_id: str | None) -> None:
        worker = get_current_worker()
        if delay:
            time.sleep(delay)  # the debounce: a key typed meanwhile cancels this worker
        if worker.is_cancelled:
            return
        try:
            with self.session() as session:
                result = plans.search_matches(session, plan_filter)
        except Exception as exc:
            self.post_message(MatchesLoaded(generation, None, error=str(exc)))
            return
        if not worker.is_cancelled:
            self.post_message(MatchesLoaded(generation, result, cursor_plan_id))

    @on(MatchesLoaded)
    def _matches_loaded(self, message: MatchesLoaded) -> None:
        if message.generation != self.generation:
            return
        if message.result is None:
            self.notify(message.error or "", title="Could not search the plans",
                        severity="error", markup=False)
            return
        self._place_matches(message.result, message.cursor_plan_id)
        self.post_message(self.MatchesShown(message.result.count_label))

    def _place_matches(self, result: plans.SearchResult, cursor_plan_id: str | None) -> None:
        """The matches under their (dimmed) ancestors, every level open; a plan whose
        ancestors cannot be shown (a cycle, too deep) stands at the top."""
        self._start_over(self.plan_filter)
        shown = {p.plan_id: (p, True) for p in result.matches}
        for ancestor in result.ancestors:
            shown.setdefault(ancestor.plan_id, (ancestor, False))
        children: dict[str | None, list[str]] = {}
        for plan_id, (plan, _) in shown.items():
            parent = plan.parent_plan_id if plan.parent_plan_id in shown else None
            children.setdefault(parent, []).append(plan_id)
        placed: set[str] = set()

        def add(parent_node: TreeNode[TreeRow], plan_id: str) -> TreeNode[TreeRow]:
            plan, is_match = shown[plan_id]
            node = self._add_plan(parent_node, PlanNode(plan, result.child_counts.get(plan_id, 0)),
                                  len(parent_node.children), context=not is_match)
            placed.add(plan_id)
            if plan_id in children:
                assert isinstance(node.data, PlanRow)
                node.data.children_loaded = True
                node.allow_expand = True
                node.expand()
            return node

        # the roots first; then, from its smallest id, what a parent cycle kept unplaced
        for top in [None, *sorted(shown)]:
            if top is not None and top in placed:
                continue
            queue: deque[tuple[TreeNode[TreeRow], str | None]] = deque(
                [(self.root, None) if top is None else (add(self.root, top), top)])
            while queue:
                parent_node, parent_id = queue.popleft()
                for plan_id in sorted(children.get(parent_id, ())):
                    if plan_id not in placed:
                        queue.append((add(parent_node, plan_id), plan_id))
        more = result.total - len(result.matches)
        if more > 0 or result.capped:
            note = f"… {more:,}{'+' if result.capped else ''} more: type more to narrow them"
            self.root.add_leaf(Text(note), NoteRow(note))
        target = self.nodes_by_plan.get(cursor_plan_id or "")
        if target is None:
            target = self._first_match()
        if target is not None:
            self._cursor_to(target)
        self._after_change()

    def _first_match(self) -> TreeNode[TreeRow] | None:
        """The topmost match on screen (rows above it may be its dimmed ancestors)."""
        for line in range(self.last_line + 1):
            node = self.get_node_at_line(line)
            if node is not None and isinstance(node.data, PlanRow) and not node.data.context:
                return node
        return None
    def _label_room(self, node: TreeNode[TreeRow], prefix_width: int) -> int:
        """The cells a label has after its guides and icon (0: not laid out yet)."""
        width = self.scrollable_content_region.width
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

    def _shorten_ids(self) -> None:
        """Ids as short as they can be while every loaded row's stays unique."""
        chars = unique_suffix_chars(self.nodes_by_plan)
        if chars != self.id_chars:
            self.id_chars = chars
            self._invalidate()

    # -- jumping to a plan ----------------------------------------------------------------

    def _loaded_parents(self) -> frozenset[str | None]:
        loaded: set[str | None] = {
            row.plan_id for row in (n.data for n in self.nodes_by_plan.values())
            if isinstance(row, PlanRow) and row.children_loaded
        }
        if self._has_rows(self.root):
            loaded.add(None)
        return frozenset(loaded)

    def reveal(self, plan_id: str) -> None:
        """Load whatever is missing on the way down to `plan_id`, expand it and select it."""
        if self.plan_filter is not None:
            self._start_over(None)
        node = self.nodes_by_plan.get(plan_id)
        if node is not None:
            self._select(node)
            return
        self._fetch_path(plan_id, self.generation, frozenset(self.nodes_by_plan),
                         self._loaded_parents())

    @work(thread=True, exclusive=True, exit_on_error=False, group="reveal",
          description="Finding a plan")
    def _fetch_path(
        self,
        plan_id: str,
        generation: int,
        known: frozenset[str],
        loaded_parents: frozenset[str | None],
    ) -> None:
        try:
            with self.session() as session:
                steps = plans.reveal_path(session, plan_id, known, loaded_parents,
                                          limit=self.page_size)
        except Exception as exc:
            self.post_message(RevealReady(generation, plan_id, error=str(exc)))
            return
        self.post_message(RevealReady(generation, plan_id, steps))

    @on(RevealReady)
    def _reveal_ready(self, message: RevealReady) -> None:
        if message.error is not None:
            self.notify(message.error, title="Could not find the plan", severity="error",
                        markup=False)
            return
        if message.generation != self.generation:
            return
        self._apply_steps(message.steps)
        node = self.nodes_by_plan.get(message.plan_id)
        if node is not None:
            self._select(node)
        self._after_change()

    def _apply_steps(self, steps: tuple[RevealStep, ...]) -> None:
        for step in steps:
            parent = (self.root if step.parent_plan_id is None
                      else self.nodes_by_plan.get(step.parent_plan_id))
            if parent is None:
                return
            row = parent.data
            if step.first_page is not None and not (
                isinstance(row, PlanRow) and row.children_loaded
            ) and not (parent is self.root and self._has_rows(parent)):
                placeholder = next(
                    (c for c in parent.children if isinstance(c.data, LoadingRow)), None
                )
                self._place_page(parent, step.first_page, placeholder, None)
            if step.segment is not None and step.plan_id not in self.nodes_by_plan:
                self._place_segment(parent, step.plan_id, step.segment)
            if parent is not self.root:
                parent.expand()

    @staticmethod
    def _has_rows(parent: TreeNode[TreeRow]) -> bool:
        return any(isinstance(c.data, PlanRow) for c in parent.children)

    def _place_segment(self, parent: TreeNode[TreeRow], start: str, page: PlanPage) -> None:
        """Insert the page that starts at `start` into the gap that covers it."""
        gap_node = next(
            (c for c in parent.children if isinstance(c.data, MoreRow)
             and (c.data.after is None or c.data.after < start)
             and (c.data.until is None or start < c.data.until)),
            None,
        )
        if gap_node is None:
            self._place_page(parent, page, None, None)
            return
        gap = gap_node.data
        assert isinstance(gap, MoreRow)
        until = gap.until
        gap.until = start
        gap.remaining = None
        gap_node.set_label(self._more_label(gap))
        index = parent.children.index(gap_node) + 1
        marker = parent.add_leaf(Text(""), LoadingRow(), before=index)
        self._place_page(parent, page, marker, until)

    def _select(self, node: TreeNode[TreeRow]) -> None:
        parent = node.parent
        while parent is not None and parent is not self.root:
            parent.expand()
            parent = parent.parent
        self.call_after_refresh(self._move_to, node)

    def _move_to(self, node: TreeNode[TreeRow]) -> None:
        self.move_cursor(node)
        self.scroll_to_node(node, animate=False)

    # -- keeping the user's place across a reload ---------------------------------------

    def place(self) -> TreePlace:
        """The expanded nodes, loaded levels, cursor plan and scroll, as they are now."""
        expanded: list[str] = []
        loaded: list[tuple[str | None, int]] = [(None, self._plan_count(self.root))]

        def walk(parent: TreeNode[TreeRow]) -> None:
            for child in parent.children:
                row = child.data
                if isinstance(row, PlanRow) and row.children_loaded:
                    loaded.append((row.plan_id, self._plan_count(child)))
                    if child.is_expanded:
                        expanded.append(row.plan_id)
                    walk(child)

        walk(self.root)
        cursor = self.cursor_node
        path: list[str] = []
        index = 0
        if cursor is not None and self._node(cursor.id) is cursor:
            parent = cursor.parent
            siblings: list[TreeNode[TreeRow]] = (list(parent.children) if parent is not None
                                                 else [])
            index = sum(1 for c in siblings[:siblings.index(cursor)]
                        if isinstance(c.data, PlanRow)) if cursor in siblings else 0
            while parent is not None and isinstance(parent.data, PlanRow):
                path.insert(0, parent.data.plan_id)
                parent = parent.parent
        return TreePlace(tuple(expanded), tuple(loaded), self.cursor_plan_id, tuple(path),
                         index, self.scroll_y)

    @staticmethod
    def _plan_count(parent: TreeNode[TreeRow]) -> int:
        return sum(1 for c in parent.children if isinstance(c.data, PlanRow))

    def restore(self, place: TreePlace, plan_filter: PlanFilter | None = None, *,
                say_if_gone: bool = True) -> None:
        """Read the levels of `place` again (under `plan_filter`) and put the user back: the
        same nodes expanded, the cursor on the same plan, the same scroll. If that plan is
        gone, its nearest surviving sibling or ancestor, and a toast saying so."""
        self.generation += 1
        self.plan_filter = None if plan_filter is None or plan_filter.empty else plan_filter
        self._fetch_place(self.generation, place, self.plan_filter, say_if_gone)

    @work(thread=True, exclusive=True, exit_on_error=False, group="restore",
          description="Reloading plans")
    def _fetch_place(self, generation: int, place: TreePlace,
                     plan_filter: PlanFilter | None, say_if_gone: bool) -> None:
        self._read_place(generation, place, plan_filter, say_if_gone)

    def _read_place(self, generation: int, place: TreePlace, plan_filter: PlanFilter | None,
                    say_if_gone: bool, *, live: bool = False) -> None:
        """In a thread worker: the levels of `place` and the way down to its cursor plan."""
        try:
            with self.session() as session:
                pages = plans.level_pages(session, place.loaded, plan_filter)
                steps: tuple[RevealStep, ...] | None = None
                if place.cursor_plan_id is not None and plan_filter is None:
                    known = {n.plan.plan_id for page in pages.values() for n in page.nodes}
                    try:
                        steps = plans.reveal_path(session, place.cursor_plan_id, known,
                                                  set(pages), limit=self.page_size)
                    except plans.PlanNotFoundError:
                        steps = None
        except Exception as exc:
            self.post_message(PlaceRestored(generation, place, {}, None, str(exc), live=live))
            return
        self.post_message(PlaceRestored(generation, place, pages, steps,
                                        say_if_gone=say_if_gone, live=live))

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

    def _rebuild(self, place: TreePlace, pages: dict[str | None, PlanPage],
                 steps: tuple[RevealStep, ...] | None, *, prefer_ancestor: bool = False,
                 ) -> tuple[TreeNode[TreeRow] | None, bool]:
        """Lay the read levels out as `place` had them; the cursor's node and whether its
        plan is gone."""
        plan_filter = self.plan_filter
        self._start_over(plan_filter)
        for parent_id, _count in place.loaded:
            parent = self.root if parent_id is None else self.nodes_by_plan.get(parent_id)
            page = pages.get(parent_id)
            if parent is not None and page is not None:
                self._place_page(parent, page, None, None)
        for plan_id in place.expanded:
            node = self.nodes_by_plan.get(plan_id)
            if node is not None and node.allow_expand:
                node.expand()
        if steps:
            self._apply_steps(steps)
        target, gone = self._surviving(place, prefer_ancestor=prefer_ancestor)
        _ = self.last_line  # lines and virtual size as they are now
        self.cursor_line = target.line if target is not None else -1
        self.scroll_y = place.scroll_y
        self._after_change()
        return target, gone

    def _surviving(self, place: TreePlace, *, prefer_ancestor: bool = False,
                   ) -> tuple[TreeNode[TreeRow] | None, bool]:
        """The cursor plan's node, else its nearest surviving sibling or ancestor (with
        `prefer_ancestor`, the ancestor whenever there is one)."""
        if place.cursor_plan_id is not None:
            node = self.nodes_by_plan.get(place.cursor_plan_id)
            if node is not None:
                return node, False
        parent: TreeNode[TreeRow] = self.root
        for ancestor_id in reversed(place.cursor_path):
            found = self.nodes_by_plan.get(ancestor_id)
            if found is not None:
                parent = found
                break
        siblings = [c for c in parent.children if isinstance(c.data, PlanRow)]
        gone = place.cursor_plan_id is not None
        if prefer_ancestor and parent is not self.root:
            return parent, gone
        if siblings and (parent.is_expanded or parent is self.root):
            return siblings[min(place.cursor_index, len(siblings) - 1)], gone
        return (None if parent is self.root else parent), gone
