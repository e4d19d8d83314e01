"""Pilot tests of `e`: the export modal writes the highlighted plan or its tree as JSON or CSV,
asks before overwriting, says what is wrong with a bad path, and a cancel writes nothing."""

from __future__ import annotations

import csv
import json
import sqlite3
import threading
from pathlib import Path

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from textual.widgets import Input, ProgressBar, Static
from tui_states import (
    demo_database,
    notifications,
    press,
    run_async,
    settle,
    typed,
    until,
)

from store.db import database_url
from store.export import CSV_COLUMNS
from store.plans import PAGE_SIZE
from store.seed import seed_database
from tui.app import PlandeskApp
from tui.screens.export import ExportModal
from tui.screens.plans import PlansScreen

SIZE = (120, 36)
PLAN = "billing/migrate-invoices"  # the demo's first root, where the tree's cursor starts
SCHEMAS = Path(__file__).resolve().parent.parent.parent / "docs" / "json"


def export_validator() -> Draft202012Validator:
    schemas = [json.loads((SCHEMAS / f"{n}.schema.json").read_text())
               for n in ("export-1", "plan-1")]
    registry = Registry().with_resources(
        [(s["$id"].rsplit("/", 1)[-1], Resource.from_contents(s)) for s in schemas])
    return Draft202012Validator(schemas[0], registry=registry)


def subtree(path: Path, name: str) -> list[str]:
    """The plan named `name` and every plan under it, depth first in id order."""
    connection = sqlite3.connect(path)
    try:
        rows = connection.execute("SELECT plan_id, parent_plan_id, namespaced_name FROM plans"
                                  " ORDER BY plan_id").fetchall()
    finally:
        connection.close()
    children: dict[str | None, list[str]] = {}
    for plan_id, parent, _ in rows:
        children.setdefault(parent, []).append(plan_id)
    order, stack = [], [next(p for p, _, n in rows if n == name)]
    while stack:
        plan_id = stack.pop()
        order.append(plan_id)
        stack.extend(reversed(children.get(plan_id, [])))
    return order


def assert_on_plan(app: PlandeskApp, plan_id: str) -> None:
    """Back on the plans screen with the tree, the detail pane and the export on one plan."""
    screen = app.screen
    assert isinstance(screen, PlansScreen)
    assert screen.plan_tree.cursor_plan_id == plan_id
    assert screen.detail_pane.plan_id == plan_id
    assert screen.focused is screen.plan_tree


def open_modal(app: PlandeskApp) -> ExportModal:
    modal = app.screen
    assert isinstance(modal, ExportModal)
    return modal


@run_async
async def test_export_the_tree_under_a_plan_as_json(workdir: Path) -> None:
    name = demo_database(workdir)
    expected = subtree(workdir / name, PLAN)
    app = PlandeskApp(database_url(name))
    app.NOTIFICATION_TIMEOUT = 3600
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "e")
        modal = open_modal(app)
        assert modal.plan_id == expected[0]
        assert modal.path_box.value == f"./plandesk-export-{expected[0]}.json"
        await press(pilot, "down", "enter")  # scope: the whole tree under it
        assert modal.whole_tree
        await press(pilot, "ctrl+s")
        await settle(pilot)
        assert_on_plan(app, expected[0])
        written = workdir / f"plandesk-export-{expected[0]}.json"
        exported = json.loads(written.read_text())
        errors = list(export_validator().iter_errors(exported))
        assert not errors, errors[:2]
        assert exported["scope"] == "tree" and exported["plan_count"] == len(expected)
        assert [p["plan"]["plan_id"] for p in exported["plans"]] == expected
        assert exported["plans"][0]["depth"] == 0 and exported["plans"][0]["decisions"]
        assert exported["plans"][0]["snapshot"]["data"] is not None
        assert f"Export: Exported {len(expected)} plans to {written}" in notifications(app)
        assert [p.name for p in workdir.iterdir() if p.name.endswith(".part")] == []


@run_async
async def test_export_one_plan_as_csv(workdir: Path) -> None:
    name = demo_database(workdir)
    top = subtree(workdir / name, PLAN)[0]
    app = PlandeskApp(database_url(name))
    app.NOTIFICATION_TIMEOUT = 3600
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "e", "tab", "down", "enter")  # format: CSV
        modal = open_modal(app)
        assert modal.file_format == "csv" and not modal.whole_tree
        assert modal.path_box.value == f"./plandesk-export-{top}.csv"
        await press(pilot, "ctrl+s")
        assert_on_plan(app, top)
        with (workdir / f"plandesk-export-{top}.csv").open(newline="") as handle:
            reader = csv.DictReader(handle)
            assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
            [row] = list(reader)
        assert (row["plan_id"], row["namespaced_name"], row["depth"]) == (top, PLAN, "0")
        assert int(row["decision_count"]) == len(json.loads(row["decisions_json"])) > 0
        assert "Export: Exported 1 plan to" in "\n".join(notifications(app))


@run_async
async def test_cancel_writes_nothing(workdir: Path) -> None:
    name = demo_database(workdir)
    top = subtree(workdir / name, PLAN)[0]
    app = PlandeskApp(database_url(name))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)  # the database opens after the first frame (its -wal, -shm)
        before = sorted(p.name for p in workdir.iterdir())
        await press(pilot, "e", "down", "enter", "escape")
        assert_on_plan(app, top)
        assert sorted(p.name for p in workdir.iterdir()) == before
        # nothing typed in the modal reached the tree's screen
        screen = app.screen
        assert isinstance(screen, PlansScreen)
        assert screen.filter_box.value == "" and not screen.filter_box.display


@run_async
async def test_a_bad_path_says_why_and_an_existing_file_is_overwritten_only_when_asked(
    workdir: Path,
) -> None:
    name = demo_database(workdir)
    top = subtree(workdir / name, PLAN)[0]
    app = PlandeskApp(database_url(name))
    app.NOTIFICATION_TIMEOUT = 3600
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "e", "tab", "tab", "home", "ctrl+k",
                    *typed("no-such-folder/out.json"), "enter")
        modal = open_modal(app)
        error = str(modal.query_one("#export-error", Static).render())
        assert f"The folder {workdir / 'no-such-folder'} does not exist." in error
        assert not (workdir / "no-such-folder").exists()
        assert app.focused is modal.query_one("#export-path", Input)

        existing = workdir / "kept.json"
        existing.write_text("precious")
        await press(pilot, "home", "ctrl+k", *typed("kept.json"), "ctrl+s")
        error = str(modal.query_one("#export-error", Static).render())
        assert f"{existing} already exists. Press ctrl+s again to overwrite it" in error
        assert existing.read_text() == "precious" and app.screen is modal
        await press(pilot, "ctrl+s")
        assert_on_plan(app, top)
        assert json.loads(existing.read_text())["plan_id"] == top
        assert [p.name for p in workdir.iterdir() if p.name.endswith(".part")] == []


class HeldAfterFirstCheck(threading.Event):
    """A cancel flag that, once the first batch of plans is exported (checked once per plan),
    waits (up to 30 s) until it is set."""

    def __init__(self) -> None:
        super().__init__()
        self.checks = 0

    def is_set(self) -> bool:
        self.checks += 1
        if self.checks > PAGE_SIZE:
            self.wait(30)
        return super().is_set()


@run_async
async def test_a_large_tree_shows_progress_and_escape_stops_it_leaving_nothing(
    workdir: Path,
) -> None:
    seed_database(database_url(workdir / "wide.db"), 2_050, 3, wide=2_000)
    app = PlandeskApp(database_url("wide.db"))
    app.NOTIFICATION_TIMEOUT = 3600
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "e", "down", "enter")
        modal = open_modal(app)
        top = modal.plan_id
        # The export is fast; the worker waits after its first batch until escape,
        # so the bar is seen mid-way whatever the machine's speed.
        modal.cancel_requested = HeldAfterFirstCheck()
        bar = modal.query_one(ProgressBar)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: bar.display and (bar.progress or 0) > 0,
                    "the progress bar counts exported plans")
        assert bar.total is not None and bar.total > 2_000
        assert modal.path_box.disabled  # nothing can be changed while it runs
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, PlansScreen), "the modal closes")
        await settle(pilot)
        assert_on_plan(app, top)
        assert "Export: Export cancelled; nothing was written." in notifications(app)
        assert not (workdir / f"plandesk-export-{top}.json").exists()
        assert [p.name for p in workdir.iterdir() if p.name.endswith(".part")] == []
