"""The plan tree's read-ahead: the first page of the node the cursor rests on, and the page
behind a "… more" row near it, are read in a thread worker before they are asked for, so that
expanding the node or reaching the gap places them with the key, in one frame, no worker.

Why: a page read by a worker started on the key cannot show within 50 ms here; Textual first
draws a frame with the node's arrow turned, then the worker starts, reads, and the page is
placed and drawn (60 to 100 ms for Textual's own Tree on an idle 2-core machine).

A page read ahead is never older than what the rest of the tree shows: pages are read only
while the App's live updates watch for other connections' commits, every commit they report
drops them all (as does the tree starting over: a reload, ctrl+r, a search bump its
generation, and a correction of its own), and a page read before a drop is not kept after it.
"""

from __future__ import annotations

import gc
import time
from collections import OrderedDict
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.message import Message
from textual.timer import Timer

from store import plans
from store.plans import PlanPage
from tui.widgets.plan_rows import MoreRow, PlanRow

if TYPE_CHECKING:
    from tui.widgets.plan_tree_pages import PlanTreePages

# how long the cursor rests before anything is read ahead (the detail pane's settle): scrolling
# through rows reads nothing
READ_AHEAD_REST = 0.15
# pages kept, the newest
READ_AHEAD_KEEP = 4
# pages one rest reads at most (the cursor's node, and gaps within a screen of it)
READ_AHEAD_AT_ONCE = 3

# a page's parent plan (None: the roots), the id it starts after (None: the first page), and
# how many plans it holds
PageKey = tuple[str | None, str | None, int]


@dataclass
class PageReadAhead(Message, bubble=False):
    """A page read ahead (None: reading it failed; it is asked for on the key as before)."""

    epoch: int
    key: PageKey
    page: PlanPage | None


class ReadAheadPages:
    """The pages read ahead, newest last, and those being read. `epoch` counts the drops, so
    that a page read before a drop is not kept after it."""

    def __init__(self, keep: int = READ_AHEAD_KEEP) -> None:
        self.keep = keep
        self.epoch = 0
        self.generation = 0  # the tree's generation the pages were read for
        self.reading: set[PageKey] = set()
        self._pages: OrderedDict[PageKey, PlanPage] = OrderedDict()

    def drop(self) -> bool:
        """Forget every page, and the ones being read; whether there was any."""
        had = bool(self._pages or self.reading)
        self._pages.clear()
        self.reading.clear()
        self.epoch += 1
        return had

    def __contains__(self, key: PageKey) -> bool:
        return key in self._pages

    def wanted(self, key: PageKey) -> bool:
        return key not in self._pages and key not in self.reading

    def take(self, key: PageKey) -> PlanPage | None:
        """The page for `key`, once: a placed page is the tree's from then on."""
        return self._pages.pop(key, None)

    def put(self, epoch: int, key: PageKey, page: PlanPage | None) -> None:
        if epoch != self.epoch:
            return  # read before a drop: it may miss what the drop was for
        self.reading.discard(key)
        if page is None:
            return
        self._pages[key] = page
        self._pages.move_to_end(key)
        while len(self._pages) > self.keep:
            self._pages.popitem(last=False)


class PlanTreeReadAhead:
    """Mixed into PlanTreePages: reads pages ahead while the cursor rests, and hands them out."""

    _rest_timer: Timer | None = None
    _collected_at = float("-inf")  # when a read-ahead page last ended in a collection

    def _read_ahead_pages(self) -> ReadAheadPages:
        tree = cast("PlanTreePages", self)
        pages = tree._pages_ahead
        if pages.generation != tree.generation:  # started over: other levels, other pages
            pages.drop()
            pages.generation = tree.generation
        return pages

    def hears_changes(self) -> bool:
        """Whether other connections' commits are reported to the tree (the App's live
        updates with their watcher open; widgets do not import the App)."""
        tree = cast("PlanTreePages", self)
        live = getattr(tree.app, "live", None)
        return live is not None and getattr(live, "watcher", None) is not None

    def read_ahead(self, parent_plan_id: str | None, after: str | None) -> bool:
        """Whether the page of `parent_plan_id`'s level after `after` is read ahead."""
        tree = cast("PlanTreePages", self)
        return (parent_plan_id, after, tree.page_size) in self._read_ahead_pages()

    def read_ahead_pending(self) -> bool:
        """Whether pages are about to be read ahead, or being read."""
        return self._rest_timer is not None or bool(self._read_ahead_pages().reading)

    def take_read_ahead(self, parent_plan_id: str | None, after: str | None) -> PlanPage | None:
        """The page read ahead for this level after `after`, if it is in hand (once)."""
        tree = cast("PlanTreePages", self)
        pages = self._read_ahead_pages()
        if not self.hears_changes():  # live updates stopped: a commit may go unreported
            pages.drop()
            return None
        return pages.take((parent_plan_id, after, tree.page_size))

    def drop_read_ahead(self) -> None:
        """What was read ahead may be out of date (a commit): forget it, and read again what
        the resting cursor is near."""
        if self._read_ahead_pages().drop():
            self.read_ahead_soon()

    def read_ahead_soon(self) -> None:
        """The cursor moved (or what it is near changed): read ahead once it rests."""
        tree = cast("PlanTreePages", self)
        if not tree.is_mounted:  # (Tree sets its cursor while it is being built)
            return
        if self._rest_timer is not None:
            self._rest_timer.stop()
            self._rest_timer = None
        if tree.plan_filter is None and self.hears_changes():
            self._rest_timer = tree.set_timer(READ_AHEAD_REST, self._read_ahead_near_cursor,
                                              name="read-ahead")

    def _wanted_near_cursor(self) -> list[PageKey]:
        """The cursor's unread node's first page, then the gaps within a screen of it."""
        tree = cast("PlanTreePages", self)
        keys: list[PageKey] = []
        node = tree.cursor_node
        if node is not None and isinstance(node.data, PlanRow) and node.allow_expand \
                and not node.data.children_loaded and not node.children:
            keys.append((node.data.plan_id, None, tree.page_size))
        height = max(1, tree.scrollable_content_region.height)
        cursor = max(tree.cursor_line, 0)
        top = int(tree.scroll_y)
        for line in range(max(0, min(top, cursor - height)),
                          min(tree.last_line, max(top + height, cursor + height)) + 1):
            gap_node = tree.get_node_at_line(line)
            gap = gap_node.data if gap_node is not None else None
            if isinstance(gap, MoreRow) and not gap.loading and gap_node is not None \
                    and gap_node.parent is not None:
                parent = gap_node.parent.data
                keys.append((parent.plan_id if isinstance(parent, PlanRow) else None,
                             gap.after, tree.page_size))
        pages = self._read_ahead_pages()
        return [key for key in dict.fromkeys(keys) if pages.wanted(key)][:READ_AHEAD_AT_ONCE]

    def _read_ahead_near_cursor(self) -> None:
        tree = cast("PlanTreePages", self)
        self._rest_timer = None
        if tree.plan_filter is not None or not self.hears_changes():
            return
        keys = self._wanted_near_cursor()
        if not keys:
            return
        pages = self._read_ahead_pages()
        pages.reading.update(keys)
        tree.run_worker(partial(self._read_pages, pages.epoch, tuple(keys)), thread=True,
                        exit_on_error=False, group="plan-read-ahead",
                        description="Reading plans ahead")

    def _read_pages(self, epoch: int, keys: tuple[PageKey, ...]) -> None:
        """In a thread worker: the pages, each posted as soon as it is read."""
        tree = cast("PlanTreePages", self)
        read = 0
        try:
            with tree.session() as session:
                for parent_plan_id, after, limit in keys:
                    page = (plans.roots_page(session, after, limit=limit)
                            if parent_plan_id is None
                            else plans.children_page(session, parent_plan_id, after,
                                                     limit=limit))
                    tree.post_message(PageReadAhead(epoch, keys[read], page))
                    read += 1
        except Exception:
            pass  # not read ahead: the key reads it as before, and says what went wrong
        for key in keys[read:]:
            tree.post_message(PageReadAhead(epoch, key, None))

    def on_page_read_ahead(self, message: PageReadAhead) -> None:
        pages = self._read_ahead_pages()
        pages.put(message.epoch, message.key, message.page)
        now = time.monotonic()
        if message.key in pages and not pages.reading and now - self._collected_at >= 1.0:
            # The cursor rests: collect now (5-10 ms), so that the collector's counts start
            # afresh and a full collection (30-50 ms with 1,000,000 plans) does not fall into
            # the frame that places the page when the key comes; at most once a second (a
            # burst of commits drops and reads pages again up to four times a second).
            self._collected_at = now
            gc.collect()
