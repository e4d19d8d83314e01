"""The plan forest as a lazy Tree: roots and children arrive a keyset page at a time.

Textual's Tree re-measures on every change, so at most one page (PAGE_SIZE nodes) is added at
once: a "loading…" leaf while a thread worker runs one store query, then the page, then a
"… more" leaf that fetches the next page when it is highlighted, selected or scrolled to.
A jump to a plan that is not loaded yet inserts the page starting at it as its own segment,
with a "… more" gap before it, so that no level ever has to be read in full.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import ClassVar, TypeAlias

from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import NodeID, TreeNode, UnknownNodeID

from store import plans
from store.db import SessionFactory
from store.models import Plan
from store.plans import PlanFilter, PlanNode, PlanPage
from tui.widgets.literal import literal_text, visible


@dataclass
class PlanRow:
    plan_id: str
    name: str
    phase: str
    state: str
    child_count: int
    children_loaded: bool = False
    unreadable: str = ""  # "unreadable: phase 'bogus'" for a row the models cannot read


@dataclass
class MoreRow:
    """A gap of not-yet-loaded siblings: ids after `after` and before `until`."""

    after: str | None
    until: str | None = None
    remaining: int | None = None
    loading: bool = False


@dataclass
class LoadingRow:
    what: str = "loading…"


TreeRow: TypeAlias = PlanRow | MoreRow | LoadingRow


@dataclass(frozen=True)
class PageRequest:
    generation: int
    parent_node: NodeID | None  # None: the tree's root (Tree.clear() makes a new, unregistered one)
    parent_plan_id: str | None
    plan_filter: PlanFilter | None
    after: str | None
    until: str | None
    placeholder: NodeID | None


@dataclass(frozen=True)
class RevealStep:
    """One level on the way down to a plan: its parent's first page and/or its own segment."""

    parent_plan_id: str | None
    plan_id: str
    first_page: PlanPage | None
    segment: PlanPage | None


@dataclass
class PageLoaded(Message):
    request: PageRequest
    page: PlanPage


@dataclass
class PageFailed(Message):
    request: PageRequest
    error: str


@dataclass
class RevealReady(Message):
    generation: int
    plan_id: str
    steps: tuple[RevealStep, ...] = field(default=())
    error: str | None = None


STATE_STYLES = ("queued", "processing", "errored", "complete", "cancelled")


class PlanTree(Tree[TreeRow]):
    """Plans by root, or the flat matches of a filter, loaded lazily."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("right", "expand_or_down", "Expand", show=False),
        Binding("left", "collapse_or_parent", "Collapse", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = Tree.COMPONENT_CLASSES | {
        "plan-tree--id",
        "plan-tree--phase",
        "plan-tree--count",
        "plan-tree--more",
        "plan-tree--unreadable",
        *(f"plan-tree--state-{state}" for state in STATE_STYLES),
    }

    DEFAULT_CSS = """
    PlanTree > .plan-tree--id { color: $text-muted; }
    PlanTree > .plan-tree--phase { color: $text-secondary; }
    PlanTree > .plan-tree--count { color: $text-muted; }
    PlanTree > .plan-tree--more { color: $text-accent; text-style: italic; }
    PlanTree > .plan-tree--unreadable { color: $text-error; text-style: bold; }
    PlanTree > .plan-tree--state-queued { color: $text-muted; }
    PlanTree > .plan-tree--state-processing { color: $text-primary; }
    PlanTree > .plan-tree--state-errored { color: $text-error; text-style: bold; }
    PlanTree > .plan-tree--state-complete { color: $text-success; }
    PlanTree > .plan-tree--state-cancelled { color: $text-warning; }
    """

    @dataclass
    class PlanHighlighted(Message):
        plan_id: str

    def __init__(self, session: SessionFactory, *, id: str | None = None) -> None:
        super().__init__("plans", id=id)
        self.session = session
        self.show_root = False
        self.guide_depth = 2
        self.auto_expand = False
        self.generation = 0
        self.plan_filter: PlanFilter | None = None
        self.nodes_by_plan: dict[str, TreeNode[TreeRow]] = {}

    # -- loading ---------------------------------------------------------------------------

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
        self.generation += 1
        self.plan_filter = None if plan_filter is None or plan_filter.empty else plan_filter
        self.nodes_by_plan.clear()
        self.clear()
        self.root.data = None
        if first_page is not None and self.plan_filter is None:
            self._place_page(self.root, first_page, None, None)
            if self.root.children:
                self.cursor_line = 0
        elif fetch:
            placeholder = self.root.add_leaf(literal_text("loading…"), LoadingRow())
            self._request(self.root, None, None, placeholder)

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
                    page = plans.children_page(session, request.parent_plan_id, request.after)
                elif request.plan_filter is not None:
                    page = plans.search_page(session, request.plan_filter, request.after)
                else:
                    page = plans.roots_page(session, request.after)
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
        message.stop()
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
        message.stop()
        if message.request.generation != self.generation:
            return
        placeholder = self._node(message.request.placeholder)
        if placeholder is not None and isinstance(placeholder.data, MoreRow):
            placeholder.data.loading = False
        self.notify(message.error, title="Could not load plans", severity="error", markup=False)

    def _place_page(
        self,
        parent: TreeNode[TreeRow],
        page: PlanPage,
        placeholder: TreeNode[TreeRow] | None,
        until: str | None,
    ) -> None:
        """Put one page where its placeholder was (or at the end), and a gap if more follow."""
        if placeholder is not None and placeholder.parent is parent:
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

    def _remaining(self, parent: TreeNode[TreeRow]) -> int | None:
        if not isinstance(parent.data, PlanRow):
            return None
        loaded = sum(1 for child in parent.children if isinstance(child.data, PlanRow))
        gaps = sum(1 for child in parent.children if isinstance(child.data, MoreRow))
        return parent.data.child_count - loaded if gaps == 0 else None

    def _add_plan(self, parent: TreeNode[TreeRow], node: PlanNode, before: int) -> None:
        plan = node.plan
        row = PlanRow(
            plan_id=plan.plan_id,
            name=plan.namespaced_name,
            # stored text: an unreadable value may hold anything, escapes included
            phase=visible(plan.phase, keep_newlines=False),
            state=visible(plan.processing_state, keep_newlines=False),
            child_count=node.child_count,
            unreadable=plans.unreadable_label(plan.problems),
        )
        tree_node = parent.add(
            literal_text(plan.namespaced_name, one_line=True),
            row,
            before=before,
            allow_expand=node.child_count > 0,
        )
        self.nodes_by_plan[plan.plan_id] = tree_node

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
        if gap.remaining:
            return Text(f"… {gap.remaining:,} more")
        return Text("… more")

    def load_more(self, node: TreeNode[TreeRow]) -> None:
        """Fetch the page behind a "… more" leaf (once, however often it is asked for)."""
        gap = node.data
        if not isinstance(gap, MoreRow) or gap.loading or node.parent is None:
            return
        gap.loading = True
        node.set_label(Text("loading…"))
        self._request(node.parent, gap.after, gap.until, node)

    def reload_children(self, node: TreeNode[TreeRow]) -> None:
        """Forget what is loaded below `node`; its first page loads again when it is expanded."""
        def forget(parent: TreeNode[TreeRow]) -> None:
            for child in parent.children:
                if isinstance(child.data, PlanRow):
                    self.nodes_by_plan.pop(child.data.plan_id, None)
                forget(child)

        forget(node)
        node.remove_children()
        if isinstance(node.data, PlanRow):
            node.data.children_loaded = False
        if node.is_expanded:
            placeholder = node.add_leaf(literal_text("loading…"), LoadingRow())
            self._request(node, None, None, placeholder)

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
        row = event.node.data
        if isinstance(row, MoreRow):
            self.load_more(event.node)
        elif isinstance(row, PlanRow):
            self.post_message(self.PlanHighlighted(row.plan_id))

    @on(Tree.NodeSelected)
    def _node_selected(self, event: Tree.NodeSelected[TreeRow]) -> None:
        row = event.node.data
        if isinstance(row, MoreRow):
            self.load_more(event.node)
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

    # -- labels ---------------------------------------------------------------------------

    def render_label(self, node: TreeNode[TreeRow], base_style: Style, style: Style) -> Text:
        row = node.data
        if isinstance(row, PlanRow):
            style_of = self.get_component_rich_style
            label = Text.assemble(
                (row.plan_id[:8], style_of("plan-tree--id", partial=True)),
                " ",
                node._label,
                " ",
                (row.phase, style_of("plan-tree--phase", partial=True)),
                " ",
                (row.state, style_of(f"plan-tree--state-{row.state}", partial=True)
                 if row.state in STATE_STYLES else ""),
                (f" ({row.child_count:,})" if row.child_count else "",
                 style_of("plan-tree--count", partial=True)),
                (f" {row.unreadable}" if row.unreadable else "",
                 style_of("plan-tree--unreadable", partial=True)),
                no_wrap=True,
            )
        elif isinstance(row, MoreRow | LoadingRow):
            label = node._label.copy()
            label.stylize(self.get_component_rich_style("plan-tree--more", partial=True))
        else:
            label = node._label.copy()
        label.stylize(style)
        if node.allow_expand:
            prefix = (self.ICON_NODE_EXPANDED if node.is_expanded else self.ICON_NODE,
                      base_style + Style(bold=True))
        else:
            prefix = ("", base_style)
        return Text.assemble(prefix, label)

    # -- jumping to a plan ----------------------------------------------------------------

    def reveal(self, plan_id: str) -> None:
        """Load whatever is missing on the way down to `plan_id`, expand it and select it."""
        if self.plan_filter is not None:
            self.load(None, fetch=False)
        node = self.nodes_by_plan.get(plan_id)
        if node is not None:
            self._select(node)
            return
        loaded_parents: set[str | None] = {
            row.plan_id for row in (n.data for n in self.nodes_by_plan.values())
            if isinstance(row, PlanRow) and row.children_loaded
        }
        if self._has_rows(self.root.children):
            loaded_parents.add(None)
        self._fetch_path(
            plan_id, self.generation, frozenset(self.nodes_by_plan), frozenset(loaded_parents)
        )

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
                path = (*plans.ancestor_ids(session, plan_id), plan_id)
                steps: list[RevealStep] = []
                parent: str | None = None
                for step_id in path:
                    first: PlanPage | None = None
                    if parent not in loaded_parents:
                        first = (plans.roots_page(session) if parent is None
                                 else plans.children_page(session, parent))
                    in_first = first is not None and any(
                        n.plan.plan_id == step_id for n in first.nodes
                    )
                    segment = None
                    if step_id not in known and not in_first:
                        segment = plans.siblings_from(session, step_id)
                    steps.append(RevealStep(parent, step_id, first, segment))
                    parent = step_id
        except Exception as exc:
            self.post_message(RevealReady(generation, plan_id, error=str(exc)))
            return
        self.post_message(RevealReady(generation, plan_id, tuple(steps)))

    @on(RevealReady)
    def _reveal_ready(self, message: RevealReady) -> None:
        message.stop()
        if message.error is not None:
            self.notify(message.error, title="Could not find the plan", severity="error",
                        markup=False)
            return
        if message.generation != self.generation:
            return
        for step in message.steps:
            parent = (self.root if step.parent_plan_id is None
                      else self.nodes_by_plan.get(step.parent_plan_id))
            if parent is None:
                return
            row = parent.data
            if step.first_page is not None and not (
                isinstance(row, PlanRow) and row.children_loaded
            ) and not (parent is self.root and self._has_rows(parent.children)):
                placeholder = next(
                    (c for c in parent.children if isinstance(c.data, LoadingRow)), None
                )
                self._place_page(parent, step.first_page, placeholder, None)
            if step.segment is not None and step.plan_id not in self.nodes_by_plan:
                self._place_segment(parent, step.plan_id, step.segment)
            if parent is not self.root:
                parent.expand()
        node = self.nodes_by_plan.get(message.plan_id)
        if node is not None:
            self._select(node)

    @staticmethod
    def _has_rows(children: Iterable[TreeNode[TreeRow]]) -> bool:
        return any(isinstance(c.data, PlanRow) for c in children)

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
