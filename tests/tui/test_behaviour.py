"""Pilot tests of behaviour: lazy loading, filter, palette jump, migration, markup safety."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
from tui_states import (
    demo_database,
    legacy_database,
    press,
    read_only_database,
    run_async,
    settle,
    until,
)

from store import plans
from store.db import create_db_engine, database_url, session_scope
from store.plans import pages as plan_pages
from store.seed import seed_database
from tui.app import PlandeskApp
from tui.screens.error import ErrorScreen
from tui.screens.migration import MigrationScreen
from tui.screens.plans import PlansScreen
from tui.widgets.plan_detail import PlanDetailPane
from tui.widgets.plan_rows import MoreRow, PlanRow
from tui.widgets.plan_tree import PlanTree

SIZE = (120, 36)


def count_calls(monkeypatch: pytest.MonkeyPatch, name: str) -> list[tuple[object, ...]]:
    calls: list[tuple[object, ...]] = []
    original = getattr(plans, name)

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(args[1:])
        return original(*args, **kwargs)

    # Patched where the tree calls it and where the pages module calls it itself (reveal_path).
    monkeypatch.setattr(plans, name, counted)
    monkeypatch.setattr(plan_pages, name, counted)
    return calls


def tree_of(app: PlandeskApp) -> PlanTree:
    return app.screen.query_one(PlanTree)


def rows(node) -> list[object]:  # type: ignore[no-untyped-def]
    return [child.data for child in node.children]


def matches(tree: PlanTree) -> list[str]:
    """The filter's matches, top down (not the dimmed ancestors shown around them)."""
    found = (tree.get_node_at_line(line) for line in range(tree.last_line + 1))
    return [node.data.name for node in found if node is not None
            and isinstance(node.data, PlanRow) and not node.data.context]


def assert_no_wal_content(folder: Path) -> None:
    # A read-only SQLite reader of a WAL database may leave an empty -wal and an -shm index
    # behind; the database itself and its log must carry nothing new.
    for wal in folder.glob("*.db-wal"):
        assert wal.stat().st_size == 0


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@run_async
async def test_expanding_a_node_runs_one_children_query(workdir, monkeypatch) -> None:
    children = count_calls(monkeypatch, "children_page")
    roots = count_calls(monkeypatch, "roots_page")  # once, by the worker that opens the DB
    app = PlandeskApp(database_url(demo_database(workdir)))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, PlansScreen)
        assert len(roots) == 1 and children == []
        tree = tree_of(app)
        assert [r.name for r in rows(tree.root)] == [
            "billing/migrate-invoices", "search/reindex-catalog", "infra/upgrade-postgres",
            "docs/refresh-api-reference", "platform/retire-feature-flags", "mobile/release-4-2",
            "payments/retry-webhooks", "security/rotate-credentials",
            "legacy/import-2024-plans", "legacy/orphaned-export", "legacy/looping-sync",
        ]
        await press(pilot, "right")
        assert len(children) == 1
        billing = tree.root.children[0]
        assert [r.name for r in rows(billing)] == [
            "billing/design-schema", "billing/backfill-invoices",
        ]
        # collapsing and expanding again does not query again
        await press(pilot, "left", "right")
        assert len(children) == 1


@run_async
async def test_wide_node_shows_first_page_then_more(workdir, monkeypatch) -> None:
    seed_database(database_url(workdir / "wide.db"), 520, 2, wide=450)
    children = count_calls(monkeypatch, "children_page")
    app = PlandeskApp(database_url("wide.db"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        tree = tree_of(app)
        wide = next(n for n in tree.root.children
                    if isinstance(n.data, PlanRow) and n.data.child_count == 450)
        tree.move_cursor(wide)
        await press(pilot, "right")
        assert len(children) == 1
        page = rows(wide)
        assert sum(isinstance(r, PlanRow) for r in page) == plans.PAGE_SIZE
        assert isinstance(page[-1], MoreRow) and page[-1].remaining == 450 - plans.PAGE_SIZE
        # the "… more" leaf loads exactly the next page when it is reached
        tree.move_cursor(wide.children[-1])
        await settle(pilot)
        assert len(children) == 2
        assert sum(isinstance(r, PlanRow) for r in rows(wide)) == 2 * plans.PAGE_SIZE


@run_async
async def test_jump_deep_into_a_wide_level_loads_a_segment(workdir) -> None:
    url = database_url(workdir / "wide.db")
    seed_database(url, 520, 2, wide=450)
    engine = create_db_engine(url)
    with session_scope(engine) as session:
        parent = next(n for n in plans.roots_page(session).nodes if n.child_count == 450)
        target = plans.children_page(session, parent.plan.plan_id, limit=450).nodes[420].plan
    engine.dispose()
    app = PlandeskApp(database_url("wide.db"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, PlansScreen)
        screen.jump_to(target.plan_id)
        await settle(pilot)
        tree = tree_of(app)
        assert tree.cursor_node is not None and tree.cursor_node.data is not None
        assert tree.cursor_node.data.plan_id == target.plan_id  # type: ignore[union-attr]
        level = rows(tree.nodes_by_plan[parent.plan.plan_id])
        loaded = [r for r in level if isinstance(r, PlanRow)]
        assert len(loaded) == plans.PAGE_SIZE + 30  # first page + the segment from #420
        assert isinstance(level[plans.PAGE_SIZE], MoreRow)  # the gap between them


@run_async
async def test_filter_by_state_and_text(workdir) -> None:
    name = demo_database(workdir)
    connection = sqlite3.connect(workdir / name)
    errored = sorted(n for (n,) in connection.execute(
        "SELECT namespaced_name FROM plans WHERE processing_state = 'errored'"))
    (roots,) = connection.execute(
        "SELECT count(*) FROM plans WHERE parent_plan_id IS NULL").fetchone()
    connection.close()
    assert {"billing/run-backfill", "infra/replica-us"} <= set(errored)
    app = PlandeskApp(database_url(name))
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "slash", *"state:errored", "enter")
        tree = tree_of(app)
        assert sorted(matches(tree)) == errored
        await press(pilot, "escape")
        assert len(rows(tree.root)) == roots
        await press(pilot, "slash", *"golden", "enter")
        assert matches(tree) == [
            "search/golden-queries", "search/golden-queries-de", "search/golden-queries-ja",
        ]


@run_async
async def test_palette_jump_expands_ancestors(workdir) -> None:
    app = PlandeskApp(database_url(demo_database(workdir)))
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "ctrl+p", *"verify-constraints")
        await until(pilot, lambda: "billing/verify-constraints" in palette_text(app),
                    "the palette lists the plan")
        await press(pilot, "enter")
        tree = tree_of(app)
        await until(pilot, lambda: tree.cursor_node is not None
                    and isinstance(tree.cursor_node.data, PlanRow)
                    and tree.cursor_node.data.name == "billing/verify-constraints",
                    "the tree's cursor is on the plan")
        await settle(pilot)
        node = tree.cursor_node
        assert node is not None and isinstance(node.data, PlanRow)
        assert node.data.name == "billing/verify-constraints"
        assert [a.data.name for a in _ancestors(node)] == [
            "billing/migrate-invoices", "billing/design-schema", "billing/write-ddl",
            "billing/ddl-postgres",
        ]
        pane = app.screen.query_one(PlanDetailPane)
        assert pane.detail is not None
        assert pane.detail.plan.namespaced_name == "billing/verify-constraints"


@run_async
async def test_palette_shows_names_and_ids_only_where_names_repeat(workdir) -> None:
    url = database_url(demo_database(workdir))
    engine = create_db_engine(url)
    twins = ("01KAAAAAAAAAAAAAAAAAAA7Q2F", "01KAAAAAAAAAAAAAAAAAAB7Q2F")  # same last four
    with session_scope(engine) as session:
        for plan_id in twins:
            plans.create_plan(session, namespaced_name="ops/nightly-verify", plan_id=plan_id,
                              description="twin", now="2026-01-01T00:00:00+00:00")
    engine.dispose()
    app = PlandeskApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "ctrl+p", *"verify")
        await until(pilot, lambda: "billing/verify-constraints" in palette_text(app),
                    "the palette lists the plans")
        await settle(pilot)
        prompts = palette_text(app).splitlines()
        # a name of its own stands alone, as in the tree; twins get the shortest id suffix
        # that tells them apart, written as the tree writes short ids
        assert "billing/verify-constraints" in prompts
        assert {"ops/nightly-verify  …A7Q2F", "ops/nightly-verify  …B7Q2F"} <= set(prompts)
        assert not [p for p in prompts if p.startswith("01K")]


def palette_text(app: PlandeskApp) -> str:
    from textual.command import CommandList

    return "\n".join(str(option.prompt) for lists in app.screen.query(CommandList)
                     for option in lists.options)


def _ancestors(node):  # type: ignore[no-untyped-def]
    found = []
    parent = node.parent
    while parent is not None and parent.data is not None:
        assert parent.is_expanded
        found.append(parent)
        parent = parent.parent
    return list(reversed(found))


@run_async
async def test_database_text_is_literal(workdir) -> None:
    url = database_url(demo_database(workdir))
    engine = create_db_engine(url)
    with session_scope(engine) as session:
        plans.create_plan(session, namespaced_name="evil/[@click=app.quit]x[/]",
                          description="[b]not bold[/b] \x1b[2J", plan_id="0" * 26,
                          now="2026-01-01T00:00:00+00:00")
    engine.dispose()
    app = PlandeskApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        tree = tree_of(app)
        first = tree.root.children[0]
        assert str(first.label) == "evil/[@click=app.quit]x[/]"
        await pilot.click(PlanTree, offset=(12, 0))
        await settle(pilot)
        assert app.is_running
        pane = app.screen.query_one(PlanDetailPane)
        assert pane.detail is not None and pane.detail.plan.plan_id == "0" * 26
        text = str(app.screen.query_one("#overview-text").render())
        assert "[b]not bold[/b] \\x1b[2J" in text
        assert "evil/[@click=app.quit]x[/]" in text


@run_async
async def test_migration_applies_in_a_worker_then_opens_plans(workdir) -> None:
    app = PlandeskApp(database_url(legacy_database(workdir)))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, MigrationScreen)
        await press(pilot, "enter")
        assert isinstance(app.screen, PlansScreen)
        assert [r.name for r in rows(tree_of(app).root)][:1] == ["ops/rotate-keys"]
    backups = list(workdir.glob("legacy.backup-*"))
    assert len(backups) == 1


@run_async
async def test_escape_on_migration_screen_writes_nothing(workdir) -> None:
    path = workdir / legacy_database(workdir)
    before = digest(path)
    app = PlandeskApp(database_url(path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, MigrationScreen)
        await pilot.press("escape")
    assert app.return_code == 1
    assert digest(path) == before
    assert_no_wal_content(workdir)


@run_async
async def test_read_only_database_gets_error_screen_and_no_write(workdir) -> None:
    path = workdir / read_only_database(workdir)
    before = digest(path)
    listing = sorted(p.name for p in workdir.iterdir())
    app = PlandeskApp(database_url(path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, ErrorScreen)
        assert app.screen.error.title == "Read-only database"
        await pilot.press("q")
    assert app.return_code == 1
    assert digest(path) == before
    assert {p.name for p in workdir.iterdir()} - {"demo.db-wal", "demo.db-shm"} == set(listing)
    assert_no_wal_content(workdir)


@run_async
async def test_detail_that_arrives_before_the_hidden_tabs_mount_is_shown(workdir) -> None:
    from textual.app import App, ComposeResult

    engine = create_db_engine(database_url(demo_database(workdir)))
    with session_scope(engine) as session:
        root = plans.roots_page(session).nodes[0].plan
        detail = plans.plan_detail(session, root.plan_id)
    engine.dispose()

    class PaneApp(App[None]):
        def compose(self) -> ComposeResult:
            yield PlanDetailPane()

        def on_mount(self) -> None:
            pane = self.query_one(PlanDetailPane)
            assert not pane.tabs_mounted  # the Snapshot, Inputs, ... tabs come a frame later
            pane.show(detail)

    app = PaneApp()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = app.query_one(PlanDetailPane)
        assert pane.tabs_mounted and pane.detail is detail
        assert pane.decision_table.row_count == len(detail.decisions) > 0
        assert root.namespaced_name in str(app.query_one("#overview-text").render())


@run_async
async def test_footer_keys_follow_bindings_with_one_rebuild_per_batch(workdir, monkeypatch):
    from tui.widgets.footer import KeysFooter

    rebuilds: list[int] = []
    original = KeysFooter.recompose

    async def counted(self: KeysFooter) -> None:
        rebuilds.append(1)
        await original(self)

    monkeypatch.setattr(KeysFooter, "recompose", counted)
    app = PlandeskApp(database_url(demo_database(workdir)))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)

        def footer_keys() -> set[str]:
            return {key.key for key in app.screen.query("FooterKey")}

        # every key of the plans screen is always there; r and a say why when they cannot act
        assert {"slash", "ctrl+r", "1", "r", "a", "q", "question_mark"} <= footer_keys()
        before = len(rebuilds)
        for _ in range(6):  # moving through the tree changes no binding: no rebuild
            await pilot.press("down")
        await settle(pilot)
        assert len(rebuilds) == before
        await press(pilot, "4")  # nor does another tab
        assert {"r", "a"} <= footer_keys()
        assert len(rebuilds) == before
