"""The plan tree's live refresh: after another connection commits, the loaded levels are read
again with the same worker and the same rebuild as ctrl+r (`PlanTree.place()` / `restore`),
applied only if the user's place is still what was read, and the rows that changed are marked
for a moment.

At most one refresh is in flight and at most one more waits behind it, so a burst of commits
costs a bounded number of refreshes; a refresh that finds the tree busy (a page loading, a jump,
a reload) or the user somewhere it did not read tries again a tick later instead of undoing it.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, cast

from textual.message import Message
from textual.timer import Timer
from textual.widgets.tree import TreeNode

from store.plans import PlanPage
from tui.widgets.plan_rows import LoadingRow, MoreRow, PlaceRestored, PlanRow, TreePlace, TreeRow

if TYPE_CHECKING:
    from tui.widgets.plan_tree import PlanTree

# how long a changed row stays marked
FLASH_SECONDS = 1.0
# how soon a refresh that found the tree busy tries again
RETRY_SECONDS = 0.25
# the tree's workers whose results a rebuild would throw away
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


class LiveRefreshed(Message):
    """The tree was read again after another connection's commit, in place; `changed` holds
    the plans whose rows are new or different."""

    def __init__(self, changed: frozenset[str]) -> None:
        super().__init__()
        self.changed = changed


class LiveTreeRefresh:
    """Mixed into PlanTree: `refresh_live()` and what it needs."""

    live_fetching = False
    live_again = False
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
        """No page, tail, jump or reload of this tree is under way (a rebuild would lose it)."""
        tree = cast("PlanTree", self)
        for node in tree._tree_nodes_all():
            row = node.data
            if isinstance(row, LoadingRow) or (isinstance(row, MoreRow) and row.loading):
                return False
        return not any(
            w.node is tree and w.group in TREE_WORK and not w.is_finished
            for w in tree.app.workers
        )

    def refresh_live(self) -> None:
        """Another connection committed: read the loaded levels again (one refresh at a time)."""
        tree = cast("PlanTree", self)
        if tree.live_fetching:
            tree.live_again = True
            return
        if not tree.settled():
            tree._retry_live()
            return
        tree.live_fetching = True
        tree.live_refreshes += 1
        tree.run_worker(
            partial(tree._read_place, tree.generation, tree.place(), tree.plan_filter, False,
                    live=True),
            thread=True, exit_on_error=False, group="live-refresh",
            description="Refreshing plans",
        )

    def _retry_live(self) -> None:
        tree = cast("PlanTree", self)
        if tree._live_retry is None:
            tree._live_retry = tree.set_timer(RETRY_SECONDS, tree._retry_now)

    def _retry_now(self) -> None:
        tree = cast("PlanTree", self)
        tree._live_retry = None
        tree.refresh_live()

    def live_restored(self, message: PlaceRestored) -> None:
        """Apply a live refresh where the user is now, or try again if that is not what was
        read (they moved into a level the refresh did not read, or the tree is busy)."""
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
            tree._retry_live()
            return
        before = {
            row.plan_id: _row_key(row)
            for row in (n.data for n in tree.nodes_by_plan.values()) if isinstance(row, PlanRow)
        }
        # the way down to the cursor was read for the plan it was on then
        steps = message.steps if cursor == read.cursor_plan_id else None
        target, gone = tree._rebuild(place, message.pages, steps, prefer_ancestor=True)
        changed = frozenset(
            plan_id for plan_id, node in tree.nodes_by_plan.items()
            if isinstance(node.data, PlanRow) and before.get(plan_id) != _row_key(node.data)
        )
        tree._flash(changed)
        if gone and cursor is not None:
            name = target.data.name if target is not None and isinstance(target.data, PlanRow) \
                else None
            tree.notify(
                f"The plan {cursor} was deleted"
                + (f"; showing {name}, the nearest plan above it." if name else "."),
                title="Plan deleted", severity="warning", markup=False)
        tree.post_message(LiveRefreshed(changed))
        if tree.live_again:
            tree.live_again = False
            tree.refresh_live()

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
