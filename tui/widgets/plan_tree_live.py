"""The plan tree's live refresh: after another connection commits, a worker reads again only
what the tree has loaded (each loaded level outside its "… more" gaps, or just the plans a
PostgreSQL notification named) and the UI thread applies only what changed: labels of rows
whose summary changed, new children inserted in id order, deleted ones removed. Unchanged rows
keep their nodes; nothing collapses and the cursor stays on its plan (a deleted cursor plan
gives way to its nearest surviving ancestor, with a toast). Changed rows are marked a moment.

At most one refresh is in flight and the changes heard meanwhile are folded into one more, so
a burst of commits costs a bounded number of refreshes; a refresh that finds the tree busy (a
page loading, a jump, a reload) or a level it read changed under it tries again a tick later.
Under a filter the matches are read again and laid out anew (`PlanTree.place()` / restore).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.message import Message
from textual.timer import Timer
from textual.widgets.tree import TreeNode

from store import plans
from store.plans import LevelRows, LoadedLevel, PlanNode, PlanPage
from tui.widgets.literal import literal_text, visible
from tui.widgets.plan_rows import LoadingRow, MoreRow, PlaceRestored, PlanRow, TreePlace, TreeRow

if TYPE_CHECKING:
    from store.db import Session
    from tui.widgets.plan_tree import PlanTree

# how long a changed row stays marked
FLASH_SECONDS = 1.0
# how soon a refresh that found the tree busy tries again
RETRY_SECONDS = 0.25
# the tree's workers whose results a refresh could get in the way of
TREE_WORK = frozenset({"plan-pages", "plan-tail", "reveal", "restore"})


def covers(place: TreePlace, pages: dict[str | None, PlanPage]) -> bool:
    """Whether `pages` hold every level `place` has loaded, as far as it has loaded them."""
    for parent_id, count in place.loaded:
        page = pages.get(parent_id)
        if page is None or (count > len(page.nodes) and page.has_more):
            return False
    return True


def _row_key(row: PlanRow) -> tuple[object, ...]:
    return (row.name, row.phase, row.state, row.child_count, row.unreadable)


def _merge(scope: frozenset[str] | None, more: frozenset[str] | None) -> frozenset[str] | None:
    """Two refreshes' plans as one (None: everything loaded)."""
    return None if scope is None or more is None else scope | more


class LiveRefreshed(Message):
    """The tree was read again after another connection's commit, in place; `changed` holds
    the plans whose rows are new or different."""

    def __init__(self, changed: frozenset[str]) -> None:
        super().__init__()
        self.changed = changed


@dataclass
class LiveRead(Message, bubble=False):
    """What a live refresh's worker read: loaded levels again (with the cursor's plan in
    `plans` if it still exists), or the named plans (None for one that no longer exists), and
    how many plans the gaps of the levels it read (or of the named plans' parents and
    children) hide now (`plans.gap_sizes`)."""

    generation: int
    levels: tuple[LoadedLevel, ...]
    rows: dict[str | None, LevelRows] = field(default_factory=dict)
    plans: dict[str, PlanNode | None] = field(default_factory=dict)
    gaps: dict[str | None, tuple[int | None, ...]] = field(default_factory=dict)
    error: str | None = None


class LiveTreeRefresh:
    """Mixed into PlanTree: `refresh_live()` and what it needs."""

    live_fetching = False
    live_again = False
    live_scope: frozenset[str] | None = None  # the plans the next refresh reads (None: all)
    live_refreshes = 0  # refreshes started (tests bound them against commits)
    changed_plan_ids: frozenset[str] = frozenset()
    _live_retry: Timer | None = None
    _flash_timer: Timer | None = None

    def _tree_nodes_all(self) -> list[TreeNode[TreeRow]]:
        tree = cast("PlanTree", self)
        found: list[TreeNode[TreeRow]] = []
        stack = list(tree.root.children)
        while stack:
            node = stack.pop()
            found.append(node)
            stack.extend(node.children)
        return found

    def settled(self) -> bool:
        """No page, tail, jump or reload of this tree is under way (a refresh would race it)."""
        tree = cast("PlanTree", self)
        for node in tree._tree_nodes_all():
            row = node.data
            if isinstance(row, LoadingRow) or (isinstance(row, MoreRow) and row.loading):
                return False
        return not any(
            w.node is tree and w.group in TREE_WORK and not w.is_finished
            for w in tree.app.workers
        )

    def refresh_live(self, plan_ids: frozenset[str] | None = None) -> None:
        """Another connection committed (changing `plan_ids`, None: unknown): read again what
        is loaded, or only those plans (one refresh at a time)."""
        tree = cast("PlanTree", self)
        if tree.live_fetching or tree._live_retry is not None:
            tree.live_scope = _merge(tree.live_scope, plan_ids) if tree.live_again else plan_ids
            tree.live_again = True
            return
        if not tree.settled():
            tree.live_scope, tree.live_again = plan_ids, True
            tree._retry_live()
            return
        tree.live_again = False
        if plan_ids is not None and not plan_ids and tree.plan_filter is None:
            return  # only decisions or corrections changed: no row of the tree shows them
        tree.live_fetching = True
        tree.live_refreshes += 1
        if tree.plan_filter is not None:
            tree.run_worker(
                partial(tree._read_place, tree.generation, tree.place(), tree.plan_filter,
                        False, live=True),
                thread=True, exit_on_error=False, group="live-refresh",
                description="Refreshing plans",
            )
            return
        tree.run_worker(partial(tree._read_live, tree.generation, tree.loaded_levels(),
                                plan_ids, tree.cursor_plan_id),
                        thread=True, exit_on_error=False, group="live-refresh",
                        description="Refreshing plans")

    def loaded_levels(self) -> tuple[LoadedLevel, ...]:
        """Every level the tree has loaded, with how many plans and which gaps it shows."""
        tree = cast("PlanTree", self)
        levels: list[LoadedLevel] = []
        parents: list[TreeNode[TreeRow]] = [tree.root]
        while parents:
            parent = parents.pop()
            row = parent.data
            if parent is not tree.root and not (isinstance(row, PlanRow) and row.children_loaded):
                continue
            plans = 0
            gaps: list[tuple[str | None, str | None]] = []
            counted: list[bool] = []
            for child in parent.children:
                if isinstance(child.data, PlanRow):
                    plans += 1
                    parents.append(child)
                elif isinstance(child.data, MoreRow):
                    gaps.append((child.data.after, child.data.until))
                    counted.append(child.data.remaining is not None)
            levels.append(LoadedLevel(row.plan_id if isinstance(row, PlanRow) else None,
                                      plans, tuple(gaps), tuple(counted)))
        return tuple(levels)

    def _read_live(self, generation: int, levels: tuple[LoadedLevel, ...],
                   plan_ids: frozenset[str] | None, cursor_id: str | None = None) -> None:
        """In a thread worker: the loaded levels (and the cursor's plan, if it still exists:
        gone from its level, it moved), or the named plans and their parents."""
        tree = cast("PlanTree", self)
        try:
            with tree.session() as session:
                if plan_ids is None:
                    cursor: dict[str, PlanNode | None] = dict(
                        plans.plan_nodes(session, {cursor_id} if cursor_id else set()))
                    message = LiveRead(generation, levels,
                                       rows=plans.loaded_levels(session, levels),
                                       plans=cursor,
                                       gaps=_gap_sizes(session, levels, None))
                else:
                    found = plans.plan_nodes(session, plan_ids)
                    # a named plan's siblings' gaps: it may have come or gone inside one;
                    # its own children's: one may have moved away from inside one
                    levels_touched = {n.plan.parent_plan_id for n in found.values()} | set(found)
                    parents = levels_touched - {None}
                    found.update(plans.plan_nodes(session, cast(set[str], parents) - set(found)))
                    named: dict[str, PlanNode | None] = dict.fromkeys(plan_ids)

                    named.update(found)
                    message = LiveRead(generation, levels, plans=named,
                                       gaps=_gap_sizes(session, levels, levels_touched))
        except Exception as exc:
            message = LiveRead(generation, levels, error=str(exc))
        tree.post_message(message)

    def on_live_read(self, message: LiveRead) -> None:
        """Apply a live read where the tree is now: only what changed."""
        tree = cast("PlanTree", self)
        tree.live_fetching = False
        if message.error is not None or message.generation != tree.generation \
                or not tree.settled():
            tree._again(None)
            return
        cursor_id = tree.cursor_plan_id
        cursor_line = tree.cursor_line
        changed: set[str] = set()
        removed: dict[str, TreeNode[TreeRow]] = {}  # plan id -> its parent node then
        now = {level.parent_id: level for level in tree.loaded_levels()}
        stale = False
        for level in message.levels if message.rows else ():
            if now.get(level.parent_id, level).gaps != level.gaps:
                stale = True  # a page arrived meanwhile: what the gaps hid is shown now
                continue
            parent = tree.root if level.parent_id is None \
                else tree.nodes_by_plan.get(level.parent_id)
            if parent is not None and level.parent_id in now and tree._has_level(parent):
                tree._apply_level(parent, message.rows[level.parent_id], changed, removed)
        for plan_id, node in message.plans.items():
            if node is None and plan_id not in tree.nodes_by_plan:
                stale = True  # deleted unseen: its parent, if shown, counts one child less
            tree._apply_plan(plan_id, node, now, changed, removed)
        gaps_changed = tree._apply_gaps(message)
        # a removed plan shown again moved to another parent; the cursor goes with its plan
        # when that is in view, else to the nearest plan above where it was
        moved_to = tree.nodes_by_plan.get(cursor_id) if cursor_id in removed else None
        if moved_to is not None and not tree._in_view(moved_to):
            moved_to = None
        target = None
        if cursor_id is not None and cursor_id in removed and moved_to is None:
            target = tree._nearest_surviving(removed[cursor_id])
        if changed or removed or gaps_changed:
            tree._after_change()
        if moved_to is not None:
            _ = tree.last_line
            tree.move_cursor(moved_to)
        elif cursor_id is not None and cursor_id in removed:
            if target is not None:
                _ = tree.last_line
                tree.move_cursor(target)
            else:
                tree._cursor_to_line(cursor_line)
            _say_deleted(tree, cursor_id, target,
                         moved=message.plans.get(cursor_id) is not None)
        else:
            _ = tree.last_line  # the cursor's line follows its node
        changed_now = frozenset(changed) - (set(removed) - set(tree.nodes_by_plan))
        tree._flash(changed_now)
        tree.post_message(LiveRefreshed(changed_now))
        if stale:
            tree._again(None)
        elif tree.live_again:
            tree.live_again = False
            tree.refresh_live(tree.live_scope)

    def _again(self, plan_ids: frozenset[str] | None) -> None:
        tree = cast("PlanTree", self)
        tree.live_scope = _merge(tree.live_scope, plan_ids) if tree.live_again else plan_ids
        tree.live_again = True
        tree._retry_live()

    def _apply_level(self, parent: TreeNode[TreeRow], read: LevelRows, changed: set[str],
                     removed: dict[str, TreeNode[TreeRow]]) -> None:
        """Merge one level read again into its children: both are in id order."""
        tree = cast("PlanTree", self)
        fresh = {n.plan.plan_id: n for n in read.nodes}
        end = read.read_through
        for child in list(parent.children):
            row = child.data
            if not isinstance(row, PlanRow) or (end is not None and row.plan_id > end):
                continue
            node = fresh.pop(row.plan_id, None)
            if node is None:
                tree._remove_plan(child, removed)
            elif tree._update_row(child, node):
                changed.add(row.plan_id)
        for node in fresh.values():
            elsewhere = tree.nodes_by_plan.get(node.plan.plan_id)
            if elsewhere is not None:
                # moved here from a parent whose level is read after this one
                tree._remove_plan(elsewhere, removed)
            if tree._insert_plan(parent, node) is not None:
                changed.add(node.plan.plan_id)
        if end is not None and not any(isinstance(c.data, MoreRow) and c.data.after == end
                                       for c in parent.children):
            # more new plans than a page: the rest behind a gap, as paging would have left them
            later = next((c for c in parent.children if isinstance(c.data, PlanRow)
                          and c.data.plan_id > end), None)
            gap = MoreRow(after=end, until=later.data.plan_id if later is not None
                          and isinstance(later.data, PlanRow) else None)
            parent.add_leaf(tree._more_label(gap), gap,
                            before=later if later is not None else None)

    def _apply_gaps(self, message: LiveRead) -> bool:
        """Give each gap read again its new count; drop a gap that hides nothing any more.
        Whether a row went. Only where the level's gaps are still those the worker counted."""
        tree = cast("PlanTree", self)
        went = False
        for level in message.levels:
            sizes = message.gaps.get(level.parent_id)
            parent = tree.root if level.parent_id is None \
                else tree.nodes_by_plan.get(level.parent_id)
            if sizes is None or parent is None:
                continue
            gap_nodes = [c for c in parent.children if isinstance(c.data, MoreRow)]
            if tuple((g.data.after, g.data.until) for g in gap_nodes
                     if isinstance(g.data, MoreRow)) != level.gaps:
                continue  # a page or new plans came meanwhile: the next refresh counts them
            for gap_node, size in zip(gap_nodes, sizes, strict=True):
                gap = gap_node.data
                assert isinstance(gap, MoreRow)
                if gap.loading:
                    continue
                if size == 0 and gap_node is not tree.cursor_node:
                    tree._label_widths.pop(gap_node.id, None)
                    gap_node.remove()
                    went = True
                elif size is not None and gap.remaining is not None and size != gap.remaining:
                    gap.remaining = size
                    gap_node.set_label(tree._more_label(gap))
        return went

    def _apply_plan(self, plan_id: str, node: PlanNode | None,
                    levels: dict[str | None, LoadedLevel], changed: set[str],
                    removed: dict[str, TreeNode[TreeRow]]) -> None:
        """One plan a notification named (or the parent of one): update, move, add or drop."""
        tree = cast("PlanTree", self)
        shown = tree.nodes_by_plan.get(plan_id)
        if node is None:
            if shown is not None:
                tree._remove_plan(shown, removed)
            return
        parent_id = node.plan.parent_plan_id
        if shown is not None:
            shown_parent = shown.parent.data if shown.parent is not None else None
            shown_parent_id = shown_parent.plan_id if isinstance(shown_parent, PlanRow) else None
            if shown_parent_id == parent_id:
                if tree._update_row(shown, node):
                    changed.add(plan_id)
                return
            tree._remove_plan(shown, removed)  # moved to another parent
        level = levels.get(parent_id)
        parent = tree.root if parent_id is None else tree.nodes_by_plan.get(parent_id)
        if level is None or parent is None or not tree._has_level(parent) or any(
            (after is None or after < plan_id) and (until is None or plan_id < until)
            for after, until in level.gaps
        ):
            return  # its level is not loaded, or it falls in a gap: it shows once read
        if tree._insert_plan(parent, node) is not None:
            changed.add(plan_id)

    @staticmethod
    def _update_row(tree_node: TreeNode[TreeRow], node: PlanNode) -> bool:
        """Give a row its plan's current summary; whether anything it shows changed."""
        row = tree_node.data
        assert isinstance(row, PlanRow)
        plan = node.plan
        unreadable = plans.unreadable_label(plan.problems)
        if (plan.namespaced_name, plan.phase, plan.processing_state, node.child_count,
                unreadable) == _row_key(row):
            return False  # as shown (no escapes to write out): most rows of a refresh
        before = _row_key(row)
        row.name = plan.namespaced_name
        row.phase = visible(plan.phase, keep_newlines=False)
        row.state = visible(plan.processing_state, keep_newlines=False)
        row.child_count = node.child_count
        row.unreadable = unreadable
        if _row_key(row) == before:
            return False
        tree_node.allow_expand = node.child_count > 0 or bool(tree_node.children)
        tree_node.set_label(literal_text(plan.namespaced_name, one_line=True))
        return True

    def _insert_plan(self, parent: TreeNode[TreeRow], node: PlanNode) -> TreeNode[TreeRow] | None:
        """Add a new plan among its loaded siblings, in id order."""
        tree = cast("PlanTree", self)
        plan_id = node.plan.plan_id
        if plan_id in tree.nodes_by_plan:
            return None
        index = len(parent.children)
        for position, child in enumerate(parent.children):
            row = child.data
            if isinstance(row, PlanRow) and row.plan_id > plan_id:
                index = position
                break
            if isinstance(row, MoreRow) and row.after is not None and row.after > plan_id:
                index = position
                break
        return tree._add_plan(parent, node, before=index)

    def _remove_plan(self, tree_node: TreeNode[TreeRow],
                     removed: dict[str, TreeNode[TreeRow]]) -> None:
        """Drop a deleted plan's row and everything loaded under it."""
        tree = cast("PlanTree", self)
        stack = [tree_node]
        while stack:
            node = stack.pop()
            stack.extend(node.children)
            tree._label_widths.pop(node.id, None)
            if isinstance(node.data, PlanRow):
                tree.nodes_by_plan.pop(node.data.plan_id, None)
                assert tree_node.parent is not None
                removed[node.data.plan_id] = tree_node.parent
        tree_node.remove()

    def _has_level(self, parent: TreeNode[TreeRow]) -> bool:
        """Whether `parent`'s children are loaded (a plan moved here meanwhile is a new node
        whose children are not, though its plan's were)."""
        tree = cast("PlanTree", self)
        row = parent.data
        return parent is tree.root or (isinstance(row, PlanRow) and row.children_loaded)

    def _in_view(self, node: TreeNode[TreeRow]) -> bool:
        """Whether every parent of `node` is expanded."""
        tree = cast("PlanTree", self)
        parent = node.parent
        while parent is not None and parent is not tree.root:
            if not parent.is_expanded:
                return False
            parent = parent.parent
        return True

    def _nearest_surviving(self, parent: TreeNode[TreeRow]) -> TreeNode[TreeRow] | None:
        """`parent`, or the nearest ancestor of it still in the tree (None: the roots)."""
        tree = cast("PlanTree", self)
        node: TreeNode[TreeRow] | None = parent
        while node is not None and node is not tree.root:
            row = node.data
            if isinstance(row, PlanRow) and tree.nodes_by_plan.get(row.plan_id) is node:
                return node
            node = node.parent
        return None

    def _retry_live(self) -> None:
        tree = cast("PlanTree", self)
        if tree._live_retry is None:
            tree._live_retry = tree.set_timer(RETRY_SECONDS, tree._retry_now)

    def _retry_now(self) -> None:
        tree = cast("PlanTree", self)
        tree._live_retry = None
        scope, tree.live_again = tree.live_scope, False
        tree.refresh_live(scope)

    def live_restored(self, message: PlaceRestored) -> None:
        """Under a filter: lay the matches read again out where the user is now, or try again
        if that is not what was read (they moved, or the tree is busy)."""
        tree = cast("PlanTree", self)
        tree.live_fetching = False
        place = tree.place()
        read = message.place
        cursor = place.cursor_plan_id
        cursor_was_read = cursor is None or cursor == read.cursor_plan_id or any(
            n.plan.plan_id == cursor for page in message.pages.values() for n in page.nodes
        )
        if message.error is not None or message.generation != tree.generation \
                or not tree.settled() or not covers(place, message.pages) or not cursor_was_read:
            tree._again(None)
            return
        before = {
            row.plan_id: _row_key(row)
            for row in (n.data for n in tree.nodes_by_plan.values()) if isinstance(row, PlanRow)
        }
        steps = message.steps if cursor == read.cursor_plan_id else None
        target, gone = tree._rebuild(place, message.pages, steps, prefer_ancestor=True)
        changed = frozenset(
            plan_id for plan_id, node in tree.nodes_by_plan.items()
            if isinstance(node.data, PlanRow) and before.get(plan_id) != _row_key(node.data)
        )
        tree._flash(changed)
        if gone and cursor is not None:
            _say_deleted(tree, cursor, target)
        tree.post_message(LiveRefreshed(changed))
        if tree.live_again:
            tree.live_again = False
            tree.refresh_live(tree.live_scope)

    def _flash(self, plan_ids: frozenset[str]) -> None:
        tree = cast("PlanTree", self)
        if not plan_ids:
            return
        tree.changed_plan_ids = tree.changed_plan_ids | plan_ids
        if tree._flash_timer is not None:
            tree._flash_timer.stop()
        tree._flash_timer = tree.set_timer(FLASH_SECONDS, tree._unflash)

    def _unflash(self) -> None:
        tree = cast("PlanTree", self)
        tree._flash_timer = None
        plan_ids, tree.changed_plan_ids = tree.changed_plan_ids, frozenset()
        for plan_id in plan_ids:
            node = tree.nodes_by_plan.get(plan_id)
            if node is not None:
                node.refresh()


def _gap_sizes(session: Session, levels: tuple[LoadedLevel, ...],
               parents: set[str | None] | None) -> dict[str | None, tuple[int | None, ...]]:
    """`plans.gap_sizes` of each level with gaps (only of those under `parents`, if given)."""
    return {level.parent_id: plans.gap_sizes(session, level) for level in levels
            if level.gaps and (parents is None or level.parent_id in parents)}


def _say_deleted(tree: PlanTree, plan_id: str, shown: TreeNode[TreeRow] | None, *,
                 moved: bool = False) -> None:
    """The toast for a highlighted plan another process deleted (or moved out of view), naming
    where the cursor went."""
    name = shown.data.name if shown is not None and isinstance(shown.data, PlanRow) else None
    above = "where it was" if moved else "it"
    tree.notify(
        f"The plan {plan_id} was {'moved' if moved else 'deleted'}"
        + (f"; showing {name}, the nearest plan above {above}." if name else "."),
        title="Plan moved" if moved else "Plan deleted", severity="warning", markup=False)
