"""Streamed exports of plans to JSON or CSV files, shared by `plandesk plans …` and the app's
export key; the shapes are in store.export.shapes, the walks in store.export.walks."""

from __future__ import annotations

import csv
import errno
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TextIO

from store.db import SessionFactory
from store.errors import StoreError, disk_full_message

# re-exported: callers name the shapes and walks from store.export
from store.export.shapes import CSV_COLUMNS as CSV_COLUMNS
from store.export.shapes import EXPORT_FORMAT as EXPORT_FORMAT
from store.export.shapes import PLAN_FORMAT as PLAN_FORMAT
from store.export.shapes import SUMMARY_FORMAT as SUMMARY_FORMAT
from store.export.shapes import csv_row as csv_row
from store.export.shapes import detail_dict as detail_dict
from store.export.shapes import printable as printable
from store.export.shapes import problem_dict as problem_dict
from store.export.shapes import row_dict as row_dict
from store.export.shapes import summary_dict as summary_dict
from store.export.shapes import to_json as to_json
from store.export.walks import ExportCancelledError as ExportCancelledError
from store.export.walks import TreeEntry as TreeEntry
from store.export.walks import all_plans as all_plans
from store.export.walks import matches as matches
from store.export.walks import tree_size as tree_size
from store.export.walks import walk_details as walk_details
from store.export.walks import walk_tree as walk_tree
from store.plans import PlanDetail

ExportFormat = Literal["json", "csv"]


class ExportDestinationError(StoreError):
    title = "Cannot export there"

    def __init__(self, message: str, *, exists: bool = False) -> None:
        super().__init__(message)
        self.exists = exists  # the file is there: asking to overwrite it may settle it


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
