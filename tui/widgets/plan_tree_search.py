"""The plan tree's search as you type: the matches of a filter under their dimmed ancestors.

`search()` starts a thread worker that waits out the debounce (a newer search cancels it),
asks `store.plans.search_matches` and posts the result back; the matches replace the tree.
Only a screenful of matches (MATCHES_AT_ONCE) is read and placed per keystroke: Tree measures
every line it holds, so placing all of them with their ancestors took most of a keystroke's
time. A "… N more matches" row places the next ones (`store.plans.matches_of`) once it is
reached, highlighted or chosen.

The forest the first keystroke replaces is kept aside, nodes and all (`KeptForest`), and put
back at once by escape: keys pressed right after escape act on the forest the user left, not
on matches still shown while the forest was read again. A live refresh then reads what
changed in it meanwhile.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import on, work
from textual.widgets import Tree
from textual.widgets.tree import NodeID, TreeNode
from textual.worker import get_current_worker

from store import plans
from store.plans import PlanFilter, PlanNode
from tui.widgets.literal import literal_text
from tui.widgets.plan_rows import (
    MatchesLoaded,
    MatchesShown,
    MoreMatchesLoaded,
    MoreMatchesRow,
    NoteRow,
    PlanRow,
    TreeRow,
)
from tui.widgets.plan_tree_pages import PlanTreePages

if TYPE_CHECKING:
    from store.query_interrupt import QueryInterrupt
    from tui.widgets.plan_tree import PlanTree

# matches read at a time: a screenful or more, with their ancestors
MATCHES_AT_ONCE = 50
# screens of rows placed at once from the matches read (the others wait in "… more matches")
SCREENS_AT_ONCE = 2


def screenful(result: plans.SearchResult, rows: int,
              keep: str | None = None) -> tuple[plans.MatchChunk, tuple[str, ...]]:
    """The first of `result`'s matches that, with their ancestors, make `rows` rows (up to
    `keep` at least, if it is one of them), and the ids of the other matches, in order.

    Deep matches bring their ancestors: 50 of them in a forest 8 levels deep were 216 rows
    for a screen of about 30, and every row placed is paid for by the keystroke. A match taken
    brings the matches above it too, placed as matches."""
    matches = {plan.plan_id: plan for plan in result.matches}
    ancestors = {plan.plan_id: plan for plan in result.ancestors}
    order = list(matches)
    must = order.index(keep) + 1 if keep in matches else 0
    taken: dict[str, None] = {}
    for index, plan_id in enumerate(order):
        if len(taken) >= rows and index >= must:
            break
        step: str | None = plan_id
        while step is not None and step not in taken and (step in matches or step in ancestors):
            taken[step] = None
            step = (matches.get(step) or ancestors[step]).parent_plan_id
    if all(plan_id in taken for plan_id in order):
        chunk = plans.MatchChunk(result.matches, result.ancestors, result.child_counts)
        return chunk, result.more_ids
    chunk = plans.MatchChunk(
        tuple(plan for plan in result.matches if plan.plan_id in taken),
        tuple(plan for plan in result.ancestors if plan.plan_id in taken),
        {plan_id: count for plan_id, count in result.child_counts.items() if plan_id in taken},
    )
    return chunk, (*(plan_id for plan_id in order if plan_id not in taken), *result.more_ids)


@dataclass
class KeptForest:
    """The forest's nodes and the tree's bookkeeping of them, as the first match replaced
    them (Tree.clear() makes a new root and numbers new nodes from 0 again, so the node ids
    and Tree's id map are kept too)."""

    root: TreeNode[TreeRow]
    tree_nodes: dict[NodeID, TreeNode[TreeRow]]
    current_id: int
    nodes_by_plan: dict[str, TreeNode[TreeRow]]
    label_widths: dict[NodeID, tuple[tuple[object, ...], int]]
    cursor_plan_id: str | None
    cursor_line: int
    scroll_y: float
    id_chars: int


class PlanTreeSearch(PlanTreePages):
    """Mixed into PlanTree: `search(plan_filter)` and the placing of its matches."""

    matches_at_once = MATCHES_AT_ONCE
    search_interrupt: QueryInterrupt | None = None  # the newest search's, until a newer one
    kept_forest: KeptForest | None = None  # the forest the matches replaced, for escape
    shows_forest = True  # what the tree holds now: the forest, or a filter's matches

    def _start_over(self, plan_filter: PlanFilter | None) -> None:
        """Empty the tree for `plan_filter`'s matches (None: the forest); the forest they
        replace is kept aside, whole, for escape to put back (see bring_back_forest)."""
        to_matches = plan_filter is not None and not plan_filter.empty
        if to_matches and self.shows_forest:
            self.kept_forest = self._keep_forest()
        elif not to_matches:
            self.kept_forest = None  # the forest is read anew
        self.shows_forest = not to_matches
        super()._start_over(plan_filter)

    def _keep_forest(self) -> KeptForest | None:
        tree = cast("PlanTree", self)
        if not tree.settled():
            return None  # a page on its way to it would never arrive: read it again instead
        kept = KeptForest(self.root, dict(self._tree_nodes), self._current_id,
                          self.nodes_by_plan, self._label_widths, self.cursor_plan_id,
                          self.cursor_line, self.scroll_y, self.id_chars)
        # _start_over empties these in place: the kept forest has them now
        self.nodes_by_plan = {}
        self._label_widths = {}
        return kept

    def bring_back_forest(self) -> bool:
        """Put the kept forest back at once, the cursor and scroll as they were (False: none
        is kept; the caller reads it again). What changed in it meanwhile is read after."""
        kept = self.kept_forest
        if kept is None or self.shows_forest:
            return False
        self.kept_forest = None
        self.shows_forest = True
        self.generation += 1  # what the matches' workers still post is for them
        stale, self.search_interrupt = self.search_interrupt, None
        self._stop_search(stale)  # a search still running is for matches no longer wanted
        self.plan_filter = None
        self.root = kept.root
        self._tree_nodes = kept.tree_nodes
        self._current_id = kept.current_id
        self.nodes_by_plan = kept.nodes_by_plan
        self._label_widths = kept.label_widths
        self.id_chars = kept.id_chars
        self._invalidate()
        _ = self.last_line  # its lines, for the cursor's
        node = self.nodes_by_plan.get(kept.cursor_plan_id or "")
        self._cursor_to_line(node.line if node is not None else kept.cursor_line)
        self.scroll_y = kept.scroll_y
        self._after_change()
        cast("PlanTree", self).refresh_live(None)
        return True

    def search(self, plan_filter: PlanFilter, *, delay: float = 0.0,
               keep_cursor: bool = False) -> None:
        """Show the matches of `plan_filter` with their ancestors, after `delay` seconds unless
        another search comes first (the newer one cancels this one and stops its SQL)."""
        from store.query_interrupt import QueryInterrupt

        self.generation += 1
        self.plan_filter = None if plan_filter.empty else plan_filter
        cursor = self.cursor_plan_id if keep_cursor else None
        stale, self.search_interrupt = self.search_interrupt, QueryInterrupt()
        self._stop_search(stale)
        rows = SCREENS_AT_ONCE * self.scrollable_content_region.height or self.matches_at_once
        self._fetch_matches(self.generation, plan_filter, delay, cursor, rows,
                            self.search_interrupt)

    def _stop_search(self, stale: QueryInterrupt | None) -> None:
        """Stop the SQL of a search no longer wanted. Cancelling a worker does not stop the
        SQL its thread runs: a stale scan kept a core busy under the newer search. SQLite's is
        stopped by a flag; a PostgreSQL statement needs a round trip to the server, sent from
        a thread of its own (never cancelled)."""
        if stale is not None and stale.stop_soon():
            self.run_worker(stale.interrupt, thread=True, exit_on_error=False,
                            group="search-interrupt", description="Stopping a stale search")

    @work(thread=True, exclusive=True, exit_on_error=False, group="search",
          description="Searching plans")
    def _fetch_matches(self, generation: int, plan_filter: PlanFilter, delay: float,
                       cursor_plan_id: str | None, rows: int, interrupt: QueryInterrupt) -> None:
        """The matches, and (here, off the UI thread) the screenful of them to place first."""
        from store.query_interrupt import QueryInterrupted

        worker = get_current_worker()
        if delay:
            time.sleep(delay)  # the debounce: a key typed meanwhile cancels this worker
        if worker.is_cancelled:
            return
        try:
            with self.session() as session, interrupt.watching(session):
                result = plans.search_matches(session, plan_filter, limit=self.matches_at_once)
        except QueryInterrupted:
            return  # a newer search took over: its results are the ones to show
        except Exception as exc:
            self.post_message(MatchesLoaded(generation, None, error=str(exc)))
            return
        chunk, rest = screenful(result, rows, cursor_plan_id)
        if not worker.is_cancelled:
            self.post_message(MatchesLoaded(generation, result, chunk, rest, cursor_plan_id))

    @on(MatchesLoaded)
    def _matches_loaded(self, message: MatchesLoaded) -> None:
        if message.generation != self.generation:
            return
        result, chunk = message.result, message.chunk
        if result is None or chunk is None:
            self.notify(message.error or "", title="Could not search the plans",
                        severity="error", markup=False)
            return
        self._start_over(self.plan_filter)
        self._place_matches(chunk, message.rest)
        if result.capped:
            note = f"… past {result.total:,} matches: type more to narrow them"
            self.root.add_leaf(Text(note), NoteRow(note))
        target = self.nodes_by_plan.get(message.cursor_plan_id or "")
        if target is None:
            target = self._first_match()
        # the count first: what the cursor's move sets off (the detail pane) comes after it
        self.post_message(MatchesShown(result.count_label, result.window))
        if target is not None:
            self._cursor_to(target)
        self._after_change()

    def _place_matches(self, chunk: plans.MatchChunk, rest: tuple[str, ...]) -> None:
        """The matches under their (dimmed) ancestors, every level open, below what is placed
        already; a plan whose ancestors cannot be shown (a cycle, too deep) stands at the top.
        Then a "… N more matches" row for `rest`."""
        shown: dict[str, tuple[plans.PlanSummary, bool]] = {}
        for plan in chunk.matches:
            known = self.nodes_by_plan.get(plan.plan_id)
            if known is None:
                shown[plan.plan_id] = (plan, True)
            elif isinstance(known.data, PlanRow) and known.data.context:
                known.data.context = False  # an ancestor shown dimmed is a match itself
                known.refresh()
        for ancestor in chunk.ancestors:
            if ancestor.plan_id not in self.nodes_by_plan:
                shown.setdefault(ancestor.plan_id, (ancestor, False))
        children: dict[str | None, list[str]] = {}
        for plan_id, (plan, _) in shown.items():
            parent = plan.parent_plan_id
            if parent not in shown and parent not in self.nodes_by_plan:
                parent = None
            children.setdefault(parent, []).append(plan_id)
        placed: set[str] = set()

        def add(parent_node: TreeNode[TreeRow], plan_id: str) -> TreeNode[TreeRow]:
            plan, is_match = shown[plan_id]
            # opened as it is added: expand() would post a NodeExpanded per ancestor, each
            # bubbling up to the app before the matches' count could reach the title
            node = self._add_match(parent_node, PlanNode(plan, chunk.child_counts.get(plan_id, 0)),
                                   context=not is_match, opened=plan_id in children)
            placed.add(plan_id)
            return node

        for trailing in [c for c in self.root.children
                         if isinstance(c.data, MoreMatchesRow | NoteRow)]:
            trailing.remove()
        # under the plans placed before; the roots; then, from its smallest id, what a parent
        # cycle kept unplaced
        tops: list[tuple[TreeNode[TreeRow], str | None]] = []
        for placed_id in sorted(p for p in children if p is not None and p not in shown):
            placed_node = self.nodes_by_plan[placed_id]
            self._open(placed_node)
            tops.append((placed_node, placed_id))
        tops.append((self.root, None))
        for top_node, top_id in tops:
            self._place_below(top_node, top_id, children, placed, add)
        for top in sorted(shown):
            if top not in placed:
                self._place_below(add(self.root, top), top, children, placed, add)
        self._invalidate()  # once for every node placed (see _add_match)
        if rest:
            row = MoreMatchesRow(rest)
            self.root.add_leaf(self._more_matches_label(row), row)

    def _add_match(self, parent_node: TreeNode[TreeRow], node: PlanNode, *, context: bool,
                   opened: bool) -> TreeNode[TreeRow]:
        """A row for a match or its ancestor, after the plans under `parent_node`, as
        `_add_plan` puts it but without invalidating the tree: TreeNode.add does that for
        every node, and a keystroke places a hundred or more (_place_matches invalidates once
        after). Tree's private node API, as `_add_plans` uses it (Textual is pinned)."""
        label = literal_text(node.plan.namespaced_name, one_line=True)
        tree_node = self._add_node(parent_node, label, self._plan_row(node, context, opened))
        tree_node._expanded = opened
        tree_node._allow_expand = node.child_count > 0 or opened
        parent_node._children.insert(self._end_of(parent_node), tree_node)
        parent_node._updates += 1
        self.nodes_by_plan[node.plan.plan_id] = tree_node
        return tree_node

    @staticmethod
    def _place_below(parent_node: TreeNode[TreeRow], parent_id: str | None,
                     children: dict[str | None, list[str]], placed: set[str],
                     add: Callable[[TreeNode[TreeRow], str], TreeNode[TreeRow]]) -> None:
        queue: deque[tuple[TreeNode[TreeRow], str | None]] = deque([(parent_node, parent_id)])
        while queue:
            node, plan_id = queue.popleft()
            for child_id in sorted(children.get(plan_id, ())):
                if child_id not in placed:
                    queue.append((add(node, child_id), child_id))

    @staticmethod
    def _open(node: TreeNode[TreeRow]) -> None:
        if isinstance(node.data, PlanRow):
            node.data.children_loaded = True
        node.allow_expand = True
        node.expand()

    def _end_of(self, parent_node: TreeNode[TreeRow]) -> int:
        """Where a new match goes: after the plans, before a trailing "… more" row."""
        children = parent_node.children
        index = len(children)
        while index and isinstance(children[index - 1].data, MoreMatchesRow | NoteRow):
            index -= 1
        return index

    def _first_match(self) -> TreeNode[TreeRow] | None:
        """The topmost match on screen (rows above it may be its dimmed ancestors)."""
        for line in range(self.last_line + 1):
            node = self.get_node_at_line(line)
            if node is not None and isinstance(node.data, PlanRow) and not node.data.context:
                return node
        return None

    # -- the next matches -------------------------------------------------------------------

    @staticmethod
    def _more_matches_label(row: MoreMatchesRow) -> Text:
        if row.loading:
            return Text("loading…")
        noun = "match" if len(row.plan_ids) == 1 else "matches"
        return Text(f"… {len(row.plan_ids):,} more {noun}")

    def load_more_matches(self, node: TreeNode[TreeRow]) -> None:
        """Read and place the next matches behind a "… N more matches" row (once)."""
        row = node.data
        if not isinstance(row, MoreMatchesRow) or row.loading:
            return
        row.loading = True
        node.set_label(self._more_matches_label(row))
        chunk, rest = row.plan_ids[:self.matches_at_once], row.plan_ids[self.matches_at_once:]
        self._fetch_more_matches(self.generation, chunk, rest, frozenset(self.nodes_by_plan))

    @work(thread=True, exclusive=True, exit_on_error=False, group="search-more",
          description="Loading more matches")
    def _fetch_more_matches(self, generation: int, plan_ids: tuple[str, ...],
                            rest: tuple[str, ...], known: frozenset[str]) -> None:
        try:
            with self.session() as session:
                chunk = plans.matches_of(session, plan_ids, known)
        except Exception as exc:
            self.post_message(MoreMatchesLoaded(generation, None, rest, str(exc)))
            return
        self.post_message(MoreMatchesLoaded(generation, chunk, rest))

    @on(MoreMatchesLoaded)
    def _more_matches_loaded(self, message: MoreMatchesLoaded) -> None:
        if message.generation != self.generation:
            return
        more = next((c for c in self.root.children if isinstance(c.data, MoreMatchesRow)), None)
        if message.chunk is None:
            if more is not None and isinstance(more.data, MoreMatchesRow):
                more.data.loading = False
                more.set_label(self._more_matches_label(more.data))
            self.notify(message.error or "", title="Could not load the matches",
                        severity="error", markup=False)
            return
        on_more = more is not None and self.cursor_node is more
        cursor = self.cursor_node
        self._place_matches(message.chunk, message.rest)
        first = next((self.nodes_by_plan[p.plan_id] for p in message.chunk.matches
                      if p.plan_id in self.nodes_by_plan), None)
        if on_more and first is not None:
            self._cursor_to(first)  # the cursor was on the row that stood for them
        elif cursor is not None and self._node(cursor.id) is cursor:
            self._cursor_to(cursor)
        self._after_change()

    @on(Tree.NodeHighlighted)
    def _more_matches_highlighted(self, event: Tree.NodeHighlighted[TreeRow]) -> None:
        if isinstance(event.node.data, MoreMatchesRow):
            self.load_more_matches(event.node)

    @on(Tree.NodeSelected)
    def _more_matches_selected(self, event: Tree.NodeSelected[TreeRow]) -> None:
        if isinstance(event.node.data, MoreMatchesRow):
            self.load_more_matches(event.node)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        # like the roots' "… more": the next matches load once their row is seen
        if self.plan_filter is None:
            return
        more = next((c for c in self.root.children if isinstance(c.data, MoreMatchesRow)), None)
        if more is not None and 0 <= more.line <= new_value + self.scrollable_content_region.height:
            self.call_later(self.load_more_matches, more)
