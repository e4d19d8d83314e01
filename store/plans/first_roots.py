"""The first page of roots of a SQLite file at head, read with stdlib sqlite3 before SQLAlchemy
loads: the app shows it while the engine is built (importing SQLAlchemy and SQLModel takes
longer than reading and drawing the page).

It says only "here is the page" or "cannot tell" (None): a file behind or ahead of head, not a
database, locked, unreadable or read-only (when it will be written) goes the full way, which
explains what is wrong. The rows are the same `PlanSummary` the store's `roots_page` builds.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from store.locations import is_writable
from store.plans.summaries import (
    CHECKED_JSON_COLUMNS,
    SUMMARY_COLUMNS,
    PlanNode,
    PlanPage,
    plan_summary,
)
from store.revisions import head_revision

_COLUMNS = (*SUMMARY_COLUMNS, *CHECKED_JSON_COLUMNS)
# roots_page's statement: one index range of (parent_plan_id, plan_id) per counted row
_FIRST_ROOTS = f"""
SELECT {", ".join(_COLUMNS)},
       (SELECT count(*) FROM plans AS child WHERE child.parent_plan_id = plans.plan_id)
FROM plans WHERE parent_plan_id IS NULL ORDER BY plan_id LIMIT ?
"""


def read_first_roots(path: Path, limit: int, *, needs_write: bool) -> PlanPage | None:
    """The first `limit` roots of the SQLite file at `path` if it is at head, else None.

    `needs_write`: the app will write to it (not --read-only), so a read-only file is left to
    the full way, which refuses it with its own screen.
    """
    if not path.is_file() or (needs_write and not is_writable(path)):
        return None
    try:
        # mode=ro and query_only: this look can never write, whatever the file holds;
        # timeout 0: a locked file is left to the full way and its busy timeout
        connection = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=0)
    except sqlite3.Error:
        return None
    try:
        connection.execute("PRAGMA query_only = ON")
        versions = connection.execute("SELECT version_num FROM alembic_version").fetchall()
        if versions != [(head_revision(),)]:
            return None
        rows = connection.execute(_FIRST_ROOTS, (limit + 1,)).fetchall()
    except sqlite3.Error:
        return None
    finally:
        connection.close()
    nodes = tuple(
        PlanNode(plan_summary(dict(zip(_COLUMNS, row, strict=False))), int(row[-1]))
        for row in rows[:limit]
    )
    more = len(rows) > limit and bool(nodes)
    return PlanPage(nodes, nodes[-1].plan.plan_id if more else None)
