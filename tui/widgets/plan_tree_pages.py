"""The plan tree's paging: roots and children arrive a keyset page at a time.

Textual's Tree re-measures on every change, so at most one page (PAGE_SIZE nodes) is added at
once: a "loading…" leaf while a thread worker runs one store query, then the page, then a
"… more" leaf that fetches the next page when it is highlighted, selected or scrolled to.
End reads a level's last page backwards from its end the same way.

Whatever changes under it, the tree says which plan its cursor is on (`PlanHighlighted`,
None when the cursor is on no plan), so that the detail pane can never show another one.
Jumps and reloads (`plan_tree_reveal`), search (`plan_tree_search`) and live refresh
(`plan_tree_live`) build on this class; `plan_tree.PlanTree` puts them together.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import on, work
from textual.widgets import Tree
from textual.widgets.tree import NodeID, TreeNode, UnknownNodeID

# store.plans loads its query modules (and SQLAlchemy) on first use, in the workers: the
# first page of roots is placed before that (PlanNode and PlanPage are plain dataclasses)
from store import plans
from store.plans import PlanFilter, PlanNode, PlanPage
from tui.widgets.literal import literal_text, visible
from tui.widgets.plan_label import MIN_ID_CHARS, unique_suffix_chars
from tui.widgets.plan_rows import (
    LoadingRow,
    MoreRow,
    PageFailed,
    PageLoaded,
    PageRequest,
    PlanHighlighted,
    PlanRow,
    TailLoaded,
    TreeRow,
)
from tui.widgets.plan_tree_prefetch import PlanTreeReadAhead, ReadAheadPages

if TYPE_CHECKING:
    from store.db import SessionFactory
    from store.models import Plan
    from store.plans import TailPage


class PlanTreePages(PlanTreeReadAhead, Tree[TreeRow]):
    """The loaded levels of the plan tree, their "… more" gaps and the cursor plan."""

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
        self._pages_ahead = ReadAheadPages()  # pages read ahead (plan_tree_prefetch)

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
            self.post_message(PlanHighlighted(plan_id))

    def watch_cursor_line(self, previous_line: int, line: int) -> None:
        super().watch_cursor_line(previous_line, line)
        self.call_later(self._announce_cursor)
        self.read_ahead_soon()

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
        from_line = None  # the first line that changes, when the lines above it stay as drawn
        if placeholder is not None and placeholder.parent is parent:
            if self.cursor_node is placeholder:
                cursor_line = self.cursor_line  # the cursor stays on this line, not on a ghost
            index = parent.children.index(placeholder)
            if self._tree_lines_cached is not None and placeholder.line >= 0:
                from_line = placeholder.line
            placeholder._remove()  # (TreeNode.remove without its whole-tree invalidation)
        else:
            index = len(parent.children)
        reached_until = False
        new_nodes: list[PlanNode] = []
        for node in page.nodes:
            if node.plan.plan_id in self.nodes_by_plan or (
                until is not None and node.plan.plan_id >= until
            ):
                reached_until = True
                break
            new_nodes.append(node)
        self._add_plans(parent, new_nodes, before=index)
        added = len(new_nodes)
        if page.has_more and not reached_until:
            gap = MoreRow(after=page.next_after, until=until, remaining=self._remaining(parent))
            gap_node = self._new_node(parent, self._more_label(gap), gap)
            parent._children.insert(index + added, gap_node)
        if from_line is None:
            self._invalidate()
        else:
            self._invalidate_from(from_line)
        if isinstance(parent.data, PlanRow):
            parent.data.children_loaded = True
        if cursor_line >= 0:
            self._cursor_to_line(cursor_line)
        self._after_change()

    def _cursor_to(self, node: TreeNode[TreeRow]) -> None:
        _ = self.last_line  # nodes were just added: their lines must exist first
        self.move_cursor(node)

    def _cursor_to_line(self, line: int) -> None:
        """Put the cursor on whatever is drawn at `line` now (and say so): one move, from no
        line (set quietly) onto it, so that Tree highlights the node there, even when the
        line is the one the cursor is on; moving it to -1 first would redraw and scroll twice."""
        last = self.last_line
        self.set_reactive(Tree.cursor_line, -1)
        self.cursor_line = min(line, last)

    def _remaining(self, parent: TreeNode[TreeRow]) -> int | None:
        if not isinstance(parent.data, PlanRow):
            return None
        loaded = sum(1 for child in parent.children if isinstance(child.data, PlanRow))
        gaps = sum(1 for child in parent.children if isinstance(child.data, MoreRow))
        return parent.data.child_count - loaded if gaps == 0 else None

    @staticmethod
    def _plan_row(node: PlanNode, context: bool = False, opened: bool = False) -> PlanRow:
        plan = node.plan
        return PlanRow(
            plan_id=plan.plan_id,
            name=plan.namespaced_name,
            # stored text: an unreadable value may hold anything, escapes included
            phase=visible(plan.phase, keep_newlines=False),
            state=visible(plan.processing_state, keep_newlines=False),
            child_count=node.child_count,
            unreadable=plans.unreadable_label(plan.problems),
            context=context,
            children_loaded=opened,
        )

    def _add_plan(self, parent: TreeNode[TreeRow], node: PlanNode, before: int, *,
                  context: bool = False, opened: bool = False) -> TreeNode[TreeRow]:
        """A row for `node`'s plan; `opened`: expanded, its children placed by the caller
        (without the NodeExpanded message expand() posts, which bubbles up to the app)."""
        tree_node = parent.add(
            literal_text(node.plan.namespaced_name, one_line=True),
            self._plan_row(node, context, opened),
            before=before,
            expand=opened,
            allow_expand=node.child_count > 0 or opened,
        )
        self.nodes_by_plan[node.plan.plan_id] = tree_node
        return tree_node

    def _add_plans(self, parent: TreeNode[TreeRow], nodes: list[PlanNode], before: int) -> None:
        """A page of plans at `before`, as `_add_plan` one by one would put them, but with
        one invalidation: TreeNode.add invalidates the whole tree (and asks for a layout)
        for every node. Uses Tree's private node API, as TreeNode.add does (Textual is
        pinned to an exact version)."""
        if not nodes:
            return
        added: list[TreeNode[TreeRow]] = []
        for node in nodes:
            # one line already (literal_text), so Tree.process_label has nothing to cut
            label = literal_text(node.plan.namespaced_name, one_line=True)
            tree_node = self._new_node(parent, label, self._plan_row(node))
            tree_node._allow_expand = node.child_count > 0
            self.nodes_by_plan[node.plan.plan_id] = tree_node
            added.append(tree_node)
        parent._children[before:before] = added

    def _new_node(self, parent: TreeNode[TreeRow], label: Text, row: TreeRow) -> TreeNode[TreeRow]:
        """A node for `parent`, not placed yet: Tree._add_node without its `_updates` count
        (part of every line's cache key: it would redraw every line) and without
        process_label (the label is one line already). The caller invalidates."""
        tree_node = TreeNode(self, parent, self._new_id(), label, row, expanded=False)
        self._tree_nodes[tree_node._id] = tree_node
        return tree_node

    def _invalidate_from(self, line: int) -> None:
        """Lines from `line` on changed (a page took a gap's place), those above it did not:
        Tree._invalidate, but the lines drawn above `line` stay drawn (its line cache is keyed
        by line number, the tree's and the path's update counts, which stay as they were)."""
        cache = self._line_cache
        # (LRUCache is not iterable: its keys are; a key starts with its line number)
        for key in [key for key in cache.keys() if cast(int, key[0]) >= line]:  # noqa: SIM118
            cache.discard(key)
        self._tree_lines_cached = None
        self.refresh(layout=True)

    def update_plan(self, plan: Plan) -> None:
        """Redraw a loaded plan's row with its current phase and state (after a correction)."""
        self.drop_read_ahead()  # a page read ahead may hold the plan as it was
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
        parent = node.parent
        if self.plan_filter is None:
            page = self.take_read_ahead(
                parent.data.plan_id if isinstance(parent.data, PlanRow) else None, gap.after)
            if page is not None:  # in hand: placed with the key, in one frame
                self._place_page(parent, page, node, gap.until)
                return
        gap.loading = True
        node.set_label(self._more_label(gap))
        self._request(parent, gap.after, gap.until, node)

    @on(Tree.NodeExpanded)
    def _node_expanded(self, event: Tree.NodeExpanded[TreeRow]) -> None:
        node = event.node
        row = node.data
        if not isinstance(row, PlanRow) or row.children_loaded or node.children:
            return
        page = self.take_read_ahead(row.plan_id, None)
        if page is not None:  # in hand: placed with the key, in one frame
            self._place_page(node, page, None, None)
            return
        placeholder = node.add_leaf(literal_text("loading…"), LoadingRow())
        self._request(node, None, None, placeholder)

    @on(Tree.NodeHighlighted)
    def _node_highlighted(self, event: Tree.NodeHighlighted[TreeRow]) -> None:
        if isinstance(event.node.data, MoreRow):
            self.load_more(event.node)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self.read_ahead_soon()  # gaps scrolled into view
        # Roots load a page at a time as you scroll: the trailing "… more" loads once seen.
        visible_to = new_value + self.scrollable_content_region.height
        if 0 <= self.last_line <= visible_to:
            last = self.get_node_at_line(self.last_line)
            if last is not None and isinstance(last.data, MoreRow) and last.parent is self.root:
                self.call_later(self.load_more, last)

    # -- a level's last page (End) ------------------------------------------------------

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

    def _shorten_ids(self) -> None:
        """Ids as short as they can be while every loaded row's stays unique, and never
        shorter than they were: a collapsed level or a reload that shortened them redrew
        every row, and the next page lengthened them again (and redrew every row again)."""
        chars = unique_suffix_chars(self.nodes_by_plan, minimum=self.id_chars)
        if chars != self.id_chars:
            self.id_chars = chars
            self._invalidate()

