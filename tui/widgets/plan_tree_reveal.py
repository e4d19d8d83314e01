"""The plan tree's jumps and reloads: reveal a plan that is not loaded yet, and put the user
back where they were after a reload (ctrl+r, the end of a filter, a live refresh).

A jump to a plan that is not loaded yet inserts the page starting at it as its own segment,
with a "… more" gap before it, so that no level ever has to be read in full; the queries
(ancestors, first pages, segments) are `store.plans.reveal_path`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.widgets.tree import TreeNode

from store import plans
from store.plans import PlanFilter, PlanPage
from tui.widgets.plan_rows import (
    LoadingRow,
    MoreRow,
    PlaceRestored,
    PlanRow,
    RevealReady,
    TreePlace,
    TreeRow,
)
from tui.widgets.plan_tree_pages import PlanTreePages

if TYPE_CHECKING:  # its module loads SQLAlchemy, which the first roots do without
    from store.plans import RevealStep


class PlanTreeReveal(PlanTreePages):
    """Mixed into PlanTree: `reveal(plan_id)`, `place()` and `restore(place)`."""

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
