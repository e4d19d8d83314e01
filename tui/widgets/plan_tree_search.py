"""The plan tree's search as you type: the matches of a filter under their dimmed ancestors.

`search()` starts a thread worker that waits out the debounce (a newer search cancels it),
asks `store.plans.search_matches` and posts the result back; the matches replace the tree.
"""

from __future__ import annotations

import time
from collections import deque

from rich.text import Text
from textual import on, work
from textual.widgets.tree import TreeNode
from textual.worker import get_current_worker

from store import plans
from store.plans import PlanFilter, PlanNode
from tui.widgets.plan_rows import MatchesLoaded, MatchesShown, NoteRow, PlanRow, TreeRow
from tui.widgets.plan_tree_pages import PlanTreePages


class PlanTreeSearch(PlanTreePages):
    """Mixed into PlanTree: `search(plan_filter)` and the placing of its matches."""

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
        self.post_message(MatchesShown(message.result.count_label))

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
