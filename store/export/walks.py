"""Walks over plans in keyset pages: every plan matching a filter, a plan's tree depth first,
and the details of a tree a batch at a time, so memory stays flat however many plans."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlmodel import Session

from store.errors import StoreError
from store.plans import (
    PAGE_SIZE,
    AncestorPath,
    PlanDetail,
    PlanFilter,
    PlanNode,
    PlanSummary,
    ancestor_path,
    children_page,
    descendant_count,
    plan_details,
    search_page,
    siblings_from,
)


class ExportCancelledError(StoreError):
    title = "Export cancelled"


def all_plans(
    session: Session, plan_filter: PlanFilter | None = None, page_size: int = PAGE_SIZE
) -> Iterator[PlanNode]:
    """Every plan matching `plan_filter` (all plans without one), by id, a keyset page at a
    time: memory holds one page, however many plans there are."""
    after: str | None = None
    while True:
        page = search_page(session, plan_filter or PlanFilter(), after=after, limit=page_size)
        yield from page.nodes
        if page.next_after is None:
            return
        after = page.next_after


def matches(plan: PlanSummary, plan_filter: PlanFilter) -> bool:
    """Whether `plan` is one `search_page(plan_filter)` finds: id prefix, name or namespace
    containing the text (case-insensitive), phase and state."""
    text = plan_filter.text.strip()
    if text and not (
        plan.plan_id.startswith(text.upper())
        or text.lower() in plan.namespaced_name.lower()
        or text.lower() in plan.namespace.lower()
    ):
        return False
    if plan_filter.phase is not None and plan.phase != plan_filter.phase.value:
        return False
    return plan_filter.state is None or plan.processing_state == plan_filter.state.value


@dataclass(frozen=True)
class TreeEntry:
    """One plan met on a walk down a tree, `depth` levels below where the walk started."""

    depth: int
    node: PlanNode
    # a child that is the start plan again: its parent links loop; the walk does not go on
    loops_to_start: bool = False


def _children(session: Session, parent_id: str, page_size: int) -> Iterator[PlanNode]:
    after: str | None = None
    while True:
        page = children_page(session, parent_id, after=after, limit=page_size)
        yield from page.nodes
        if page.next_after is None:
            return
        after = page.next_after


def walk_tree(
    session: Session, plan_id: str, *, max_depth: int | None = None, page_size: int = PAGE_SIZE
) -> Iterator[TreeEntry]:
    """`plan_id` and the plans under it, depth first in id order, reading children a keyset
    page at a time (memory: one page per level). Raises PlanNotFoundError.

    Every plan has one parent, so a walk can only come back to a plan through the start plan
    itself (its parent links loop): that child is reported with `loops_to_start` and not
    entered, which keeps the walk finite without remembering the plans it has seen.
    """
    start = siblings_from(session, plan_id, limit=1).nodes[0]
    yield TreeEntry(0, start)
    levels: list[Iterator[PlanNode]] = []
    if start.child_count and max_depth != 0:
        levels.append(_children(session, plan_id, page_size))
    while levels:
        node = next(levels[-1], None)
        if node is None:
            levels.pop()
            continue
        depth = len(levels)
        if node.plan.plan_id == plan_id:
            yield TreeEntry(depth, node, loops_to_start=True)
            continue
        yield TreeEntry(depth, node)
        if node.child_count and (max_depth is None or depth < max_depth):
            levels.append(_children(session, node.plan.plan_id, page_size))


def walk_details(
    session: Session,
    plan_id: str,
    *,
    whole_tree: bool,
    cancelled: Callable[[], bool] | None = None,
    batch_size: int = PAGE_SIZE,
) -> Iterator[tuple[int, PlanDetail]]:
    """The detail of `plan_id` (and with `whole_tree`, of every plan under it, depth first),
    read a batch of plans at a time with one query per table; each plan's ancestors come from
    the walk instead of a query per plan. The session keeps nothing of a batch once it is
    handed out, so memory stays flat however big the tree."""
    start_path = ancestor_path(session, plan_id)
    trail: list[str] = []  # the walk's current plan's ancestors, from plan_id down
    batch: list[tuple[int, str, AncestorPath]] = []

    def flush() -> Iterator[tuple[int, PlanDetail]]:
        found = plan_details(session, [entry_id for _, entry_id, _ in batch],
                             {entry_id: path for _, entry_id, path in batch})
        session.expunge_all()
        depths = [depth for depth, _, _ in batch]
        batch.clear()
        yield from zip(depths, found, strict=True)

    for entry in walk_tree(session, plan_id, max_depth=None if whole_tree else 0,
                           page_size=batch_size):
        if entry.loops_to_start:
            continue
        if cancelled is not None and cancelled():
            raise ExportCancelledError("Export cancelled; nothing was written.")
        del trail[entry.depth:]
        batch.append((entry.depth, entry.node.plan.plan_id,
                      AncestorPath(start_path.ids + tuple(trail), start_path.stopped)))
        trail.append(entry.node.plan.plan_id)
        if len(batch) >= batch_size:
            yield from flush()
    if batch:
        yield from flush()


def tree_size(session: Session, plan_id: str) -> int:
    """How many plans an export of the tree under `plan_id` writes, itself included."""
    return 1 + descendant_count(session, plan_id)
