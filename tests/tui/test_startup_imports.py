"""Draw first, import later: the app's first frame is drawn before SQLAlchemy, SQLModel,
Alembic, psycopg or any store service is imported; on a SQLite file at head so is its first
page of roots (read with stdlib sqlite3); and Alembic loads only for a database that is behind
head.

Each case starts the console script's module and the app in a fresh interpreter (headless)
and reports which heavy modules were in `sys.modules` when the first frame went to the
terminal driver, and once the database was open. import-linter cannot see imports made inside
functions, so this is checked at run time (as Harlequin's import tests do).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from demo_copy import copy_demo

from store.locations import database_url
from store.seed import seed_database

REPORT_FIRST_FRAME = """
import asyncio, gc, json, sys, time

# pygments: the detail pane highlights JSON with it, after the first roots
HEAVY = ("alembic", "sqlalchemy", "sqlmodel", "psycopg", "pydantic", "pygments")
# store modules the first frame may use: none of them imports SQLAlchemy
LIGHT_STORE = {"store", "store.locations"}


def heavy_loaded():
    return sorted(
        {name.split(".")[0] for name in sys.modules if name.split(".")[0] in HEAVY}
        | {name for name in sys.modules if name.startswith("store") and name not in LIGHT_STORE}
    )


import tui.cli  # the console entry point's module, as `plandesk` imports it
from tui.app import PlandeskApp

app = PlandeskApp(tui.cli.database_url(sys.argv[1]))
report = {}
display = app._display


def first_frame(screen, renderable):
    if renderable is not None and "first_frame" not in report:
        report["first_frame"] = heavy_loaded()
        report["first_frame_screen"] = type(screen).__name__
    if (renderable is not None and "first_roots" not in report
            and type(screen).__name__ == "PlansScreen"):
        # the plans screen's first frame: its tree holds the first page of roots
        report["first_roots"] = heavy_loaded()
        report["first_roots_shown"] = len(screen.plan_tree.root.children)
    return display(screen, renderable)


app._display = first_frame


async def run():
    async with app.run_test(size=(100, 30)) as pilot:
        deadline = time.monotonic() + 120  # a guard against hanging, not a timing check
        while type(app.screen).__name__ not in ("PlansScreen", "MigrationScreen", "ErrorScreen"):
            assert time.monotonic() < deadline, "the database never opened"
            await pilot.pause(0.01)
        # all but live refresh's watching worker, which runs as long as the app
        await app.workers.wait_for_complete(
            [w for w in app.workers if w.group != "live-watch"])
        await pilot.pause()
        report["opened"] = heavy_loaded()
        report["opened_screen"] = type(app.screen).__name__
        # what a full collection would scan, and what it leaves out (gc.freeze)
        report["objects_scanned"] = len(gc.get_objects())
        report["objects_frozen"] = gc.get_freeze_count()
        error = getattr(app.screen, "error", None)
        report["error"] = str(error) if error is not None else None


asyncio.run(run())
print("REPORT " + json.dumps(report))
"""


def first_frame_report(database: Path, cwd: Path) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-c", REPORT_FIRST_FRAME, str(database)],
        capture_output=True, text=True, cwd=cwd, timeout=300,
        env={**os.environ, "TEXTUAL_ANIMATIONS": "none"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    [line] = [line for line in result.stdout.splitlines() if line.startswith("REPORT ")]
    report: dict[str, object] = json.loads(line.removeprefix("REPORT "))
    return report


# store modules the first roots may use: the light row types and the sqlite3 read
FIRST_ROOTS_STORE = {"store.enums", "store.plans", "store.plans.summaries",
                     "store.plans.filters", "store.plans.first_roots", "store.revisions"}


def test_first_frame_and_roots_come_before_sqlalchemy_and_alembic_never_loads_at_head(
        workdir: Path):
    database = workdir / "plans.db"
    copy_demo(database)
    report = first_frame_report(database, workdir)
    assert report["first_frame_screen"] == "LoadingScreen"
    assert report["first_frame"] == []
    assert report["opened_screen"] == "PlansScreen", report["error"]
    # a SQLite file at head: its roots, read with sqlite3, are in the plans screen's very
    # first frame, drawn before SQLAlchemy, SQLModel or pydantic loads
    assert report["first_roots_shown"] == 11  # the demo's roots
    assert set(report["first_roots"]) <= FIRST_ROOTS_STORE, report["first_roots"]
    # the check sees what the worker imported; a database at head needs no Alembic
    assert {"sqlalchemy", "sqlmodel", "store.db", "store.plans"} <= set(report["opened"])
    assert "alembic" not in report["opened"]
    # what opening made is frozen: a full collection (a third of a second over all of it)
    # never scans it again while pages are drawn
    assert report["objects_frozen"] > report["objects_scanned"], report


def test_a_database_behind_head_loads_alembic_for_its_migration_screen(workdir: Path):
    database = workdir / "legacy.db"
    seed_database(database_url(database), 10, 2, revision="0002")
    report = first_frame_report(database, workdir)
    assert report["first_frame"] == []
    assert report["opened_screen"] == "MigrationScreen", report["error"]
    assert "alembic" in report["opened"]
