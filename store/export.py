"""Plans as plain JSON-ready dicts in versioned shapes, walks of a plan's tree in keyset pages,
and streamed exports to JSON or CSV: shared by `plandesk plans …` and the app's export key.

The shapes are documented as JSON Schemas in docs/json/ (README "Scripting"); a change that
breaks a script bumps the number after the slash in "format".
"""

from __future__ import annotations

import csv
import errno
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TextIO

import sqlalchemy as sa
from sqlmodel import Session

from store.db import SessionFactory, StoreError, disk_full_message
from store.plans import (
    PAGE_SIZE,
    AncestorPath,
    PlanDetail,
    PlanFilter,
    PlanNode,
    PlanSummary,
    RowProblem,
    ancestor_path,
    children_page,
    descendant_count,
    plan_details,
    search_page,
    siblings_from,
    unreadable_label,
)

SUMMARY_FORMAT = "plandesk.plan-summary/1"
PLAN_FORMAT = "plandesk.plan/1"
EXPORT_FORMAT = "plandesk.export/1"

ExportFormat = Literal["json", "csv"]

# C1 controls and DEL pass through json.dumps(ensure_ascii=False) as they are; some terminals
# act on them (\x9b is a CSI), so they are written as \u escapes, which JSON reads back the same.
_RAW_CONTROLS = {code: f"\\u{code:04x}" for code in (0x7F, *range(0x80, 0xA0))}


def to_json(value: Any, *, indent: int | None = None) -> str:
    """JSON text that keeps non-ASCII names readable and carries no raw control character."""
    return json.dumps(value, ensure_ascii=False, indent=indent).translate(_RAW_CONTROLS)


def printable(text: str | None) -> str:
    """Database text for a terminal line: every control character written as an escape."""
    if not text:
        return ""
    return "".join(
        f"\\x{ord(char):02x}" if ord(char) < 0x20 or 0x7F <= ord(char) < 0xA0 else char
        for char in text
    )


def _plain(value: Any) -> Any:
    # enum members (StrEnum) become their stored text; everything else is already JSON-ready
    return str(value) if isinstance(value, str) else value


def row_dict(entity: Any) -> dict[str, Any]:
    """Every column of a table row, as stored (an unreadable enum value is its stored text)."""
    table = entity.__table__
    assert isinstance(table, sa.Table)
    return {column.name: _plain(getattr(entity, column.name)) for column in table.columns}


def problem_dict(problem: RowProblem) -> dict[str, str]:
    return {"table": problem.table, "row_id": problem.row_id, "column": problem.column,
            "explanation": problem.explanation}


def summary_dict(node: PlanNode) -> dict[str, Any]:
    """One line of `plandesk plans list --json` (shape plandesk.plan-summary/1)."""
    plan = node.plan
    return {
        "format": SUMMARY_FORMAT,
        "plan_id": plan.plan_id,
        "parent_plan_id": plan.parent_plan_id,
        "root_plan_id": plan.root_plan_id,
        "namespaced_name": plan.namespaced_name,
        "namespace": plan.namespace,
        "phase": plan.phase,
        "processing_state": plan.processing_state,
        "child_count": node.child_count,
        "problems": [problem_dict(p) for p in plan.problems],
    }


def detail_dict(detail: PlanDetail) -> dict[str, Any]:
    """Everything known of one plan (shape plandesk.plan/1): `plandesk plans show --json` and
    each plan of an export."""
    snapshot, drift = detail.snapshot, detail.drift
    return {
        "format": PLAN_FORMAT,
        "plan": row_dict(detail.plan),
        "child_count": detail.child_count,
        "ancestors": list(detail.ancestors),
        "path_stopped": detail.path_stopped,
        "snapshot": {
            "raw": snapshot.raw,
            "data": snapshot.data,
            "error": snapshot.error,
            "source": snapshot.source,
        },
        "drift": {
            "profile_name": drift.profile_name,
            "current_exists": drift.current_exists,
            "drifted": drift.drifted,
            "diff": list(drift.diff_lines),
        },
        "arguments": [row_dict(row) for row in detail.arguments],
        "invariants": [row_dict(row) for row in detail.invariants],
        "projects": [row_dict(row) for row in detail.projects],
        "decisions": [row_dict(row) for row in detail.decisions],
        "corrections": [row_dict(row) for row in detail.corrections],
        "repairs": [row_dict(row) for row in detail.repairs],
        "problems": [problem_dict(p) for p in detail.problems],
    }


# -- walks -------------------------------------------------------------------------------


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


# -- files -------------------------------------------------------------------------------

CSV_COLUMNS = (
    "plan_id", "parent_plan_id", "root_plan_id", "depth", "namespaced_name", "namespace",
    "description", "phase", "processing_state", "automation_profile", "attempt",
    "created_at", "updated_at", "strategized_at", "executed_at", "applied_at", "completed_at",
    "child_count", "decision_count", "active_decision_count", "correction_count",
    "snapshot_source", "drifted", "unreadable", "effective_profile_snapshot",
    "decisions_json", "corrections_json",
)


def csv_row(depth: int, detail: PlanDetail) -> dict[str, Any]:
    """One plan as one CSV row (columns CSV_COLUMNS; lists as JSON text)."""
    plan = detail.plan
    return {
        "plan_id": plan.plan_id,
        "parent_plan_id": plan.parent_plan_id or "",
        "root_plan_id": plan.root_plan_id,
        "depth": depth,
        "namespaced_name": plan.namespaced_name,
        "namespace": plan.namespace,
        "description": plan.description,
        "phase": str(plan.phase),
        "processing_state": str(plan.processing_state),
        "automation_profile": plan.automation_profile,
        "attempt": plan.attempt,
        "created_at": plan.created_at,
        "updated_at": plan.updated_at,
        "strategized_at": plan.strategized_at or "",
        "executed_at": plan.executed_at or "",
        "applied_at": plan.applied_at or "",
        "completed_at": plan.completed_at or "",
        "child_count": detail.child_count,
        "decision_count": len(detail.decisions),
        "active_decision_count": sum(1 for d in detail.decisions if d.state == "active"),
        "correction_count": len(detail.corrections),
        "snapshot_source": detail.snapshot.source,
        "drifted": "yes" if detail.drift.drifted else "no",
        "unreadable": unreadable_label(detail.problems),
        "effective_profile_snapshot": detail.snapshot.raw,
        "decisions_json": to_json([row_dict(d) for d in detail.decisions]),
        "corrections_json": to_json([row_dict(c) for c in detail.corrections]),
    }


class ExportDestinationError(StoreError):
    title = "Cannot export there"

    def __init__(self, message: str, *, exists: bool = False) -> None:
        super().__init__(message)
        self.exists = exists  # the file is there: asking to overwrite it may settle it


class ExportCancelledError(StoreError):
    title = "Export cancelled"


@dataclass(frozen=True)
class ExportResult:
    path: Path
    plan_count: int


def check_destination(path: Path, *, overwrite: bool = False) -> None:
    """Refuse a path the export cannot write, before anything is read or written."""
    if path.is_dir():
        raise ExportDestinationError(f"{path} is a folder; name a file to export to.")
    if path.exists() and not overwrite:
        raise ExportDestinationError(f"{path} already exists.", exists=True)
    folder = path.parent
    if folder.exists() and not folder.is_dir():
        raise ExportDestinationError(f"{folder} is a file, not a folder.")
    if not folder.is_dir():
        raise ExportDestinationError(f"The folder {folder} does not exist.")
    # the mode bits too: root may write anywhere, but a folder marked read-only says "don't"
    if not folder.stat().st_mode & 0o222 or not os.access(folder, os.W_OK | os.X_OK):
        raise ExportDestinationError(f"The folder {folder} is not writable.")


def _os_error(exc: OSError, path: Path) -> StoreError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StoreError(disk_full_message(str(path.parent)) + " Nothing was exported.")
    reason = exc.strerror or str(exc)
    return ExportDestinationError(f"Could not write {path}: {reason}. Nothing was exported.")


def _write_plans(
    out: TextIO,
    entries: Iterator[tuple[int, PlanDetail]],
    file_format: ExportFormat,
    header: dict[str, Any],
) -> int:
    count = 0
    if file_format == "csv":
        writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for depth, detail in entries:
            writer.writerow(csv_row(depth, detail))
            count += 1
        return count
    # streamed by hand so that the plans never sit in memory together
    out.write(to_json(header)[:-1] + ', "plans": [')
    for depth, detail in entries:
        out.write(",\n" if count else "\n")
        out.write(to_json({**detail_dict(detail), "depth": depth}))
        count += 1
    out.write(f"\n], \"plan_count\": {count}}}\n")
    return count


def export_plans(
    session_factory: SessionFactory,
    plan_id: str,
    path: Path,
    *,
    whole_tree: bool,
    file_format: ExportFormat,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> ExportResult:
    """Write `plan_id` (with `whole_tree`, every plan under it too) to `path` as JSON or CSV.

    Counts first (for `progress(done, total)`), then streams one plan at a time into a
    temporary file beside `path` that is renamed into place only when complete: a failure or
    a cancel leaves no file behind, and an existing file is replaced only with `overwrite`.
    """
    path = path.expanduser().absolute()
    check_destination(path, overwrite=overwrite)
    try:
        handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                             suffix=".part")
    except OSError as exc:
        raise _os_error(exc, path) from exc
    temp = Path(temp_name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out, \
                session_factory() as session:
            total = tree_size(session, plan_id) if whole_tree else 1
            if progress is not None:
                progress(0, total)

            def details() -> Iterator[tuple[int, PlanDetail]]:
                walk = walk_details(session, plan_id, whole_tree=whole_tree,
                                    cancelled=cancelled)
                for done, (depth, detail) in enumerate(walk, start=1):
                    yield depth, detail
                    if progress is not None:
                        progress(done, max(total, done))

            header = {"format": EXPORT_FORMAT, "plan_id": plan_id,
                      "scope": "tree" if whole_tree else "plan"}
            count = _write_plans(out, details(), file_format, header)
            out.flush()
            os.fsync(out.fileno())
        if overwrite:
            os.replace(temp, path)
        else:
            # link, not rename: it fails instead of replacing a file that appeared meanwhile
            try:
                os.link(temp, path)
            except FileExistsError:
                raise ExportDestinationError(f"{path} already exists.", exists=True) from None
        return ExportResult(path, count)
    except OSError as exc:
        raise _os_error(exc, path) from exc
    finally:
        temp.unlink(missing_ok=True)
