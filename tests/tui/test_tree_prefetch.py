"""Pages read ahead, with Pilot on a real SQLite file and the real PostgreSQL: the first page of
the node the cursor rests on, and the page behind a "… more" row near it, are read before they
are asked for and placed at once (no worker) when they are; another connection's commit drops
them, so what is placed is never older than what the rest of the tree shows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from textual.pilot import Pilot
from tui_states import run_async, until
from ulid import ULID

from store.db import create_db_engine, database_url, session_scope
from store.plans import create_plan
from store.seed import seed_database
from tui.app import PlandeskApp
from tui.screens.plans import PlansScreen
from tui.widgets.plan_rows import LoadingRow, MoreRow, PageRequest, PlanRow
from tui.widgets.plan_tree import PlanTree

SIZE = (120, 36)
WIDE = 59  # children seed --wide gives the first root (it may get a few more)


@pytest.fixture(params=["sqlite", "postgresql"])
def wide_url(request: pytest.FixtureRequest, workdir: Path) -> str:
    """A small seeded forest whose first root has WIDE children, on each backend."""
    if request.param == "sqlite":
        url = database_url(workdir / "wide.db")
    else:
        url = request.getfixturevalue("pg_url")
    seed_database(url, 80, 3, wide=WIDE)
    return url


@pytest.fixture
def writer(wide_url: str) -> Iterator[sa.Engine]:
    """Another connection (its own engine) that writes behind the app's back."""
    engine = create_db_engine(wide_url)
    yield engine
    engine.dispose()


def live_app(url: str) -> PlandeskApp:
    app = PlandeskApp(url)
    app.LIVE_UPDATES = True  # pages are read ahead only while other commits are heard
    return app


def in_step(screen: PlansScreen) -> bool:
    """The trust invariant: the cursor plan is the detail's plan (and it has loaded), and so
    the plan a correction would act on."""
    pane = screen.detail_pane
    cursor = screen.plan_tree.cursor_plan_id
    return cursor is not None and pane.plan_id == cursor and pane.detail is not None \
        and pane.detail.plan.plan_id == cursor and not pane.loading


async def opened(pilot: Pilot[None], app: PlandeskApp) -> tuple[PlansScreen, PlanTree]:
    def ready() -> bool:
        screen = app.plans_screen
        return screen is not None and bool(screen.query(PlanTree)) and in_step(screen)

    await until(pilot, ready, "the plans screen with its first plan's detail")
    screen = app.plans_screen
    assert screen is not None
    return screen, screen.plan_tree


def requests_of(tree: PlanTree) -> list[PageRequest]:
    """Every page the tree asks a worker for from now on (its real workers still run)."""
    asked: list[PageRequest] = []
    fetch = tree._fetch_page

    def spy(request: PageRequest) -> None:
        asked.append(request)
        fetch(request)

    tree._fetch_page = spy  # type: ignore[method-assign]
    return asked


def wide_node(tree: PlanTree):  # type: ignore[no-untyped-def]
    first = tree.root.children[0]  # the first root, with the children
    assert isinstance(first.data, PlanRow) and first.data.child_count >= WIDE
    return first


def plans_under(node) -> list[str]:  # type: ignore[no-untyped-def]
    return [c.data.plan_id for c in node.children if isinstance(c.data, PlanRow)]


@run_async
async def test_a_node_read_ahead_is_expanded_without_a_worker(wide_url: str) -> None:
    app = live_app(wide_url)
    async with app.run_test(size=SIZE) as pilot:
        screen, tree = await opened(pilot, app)
        wide = wide_node(tree)
        assert tree.cursor_node is wide  # the first root: the cursor rests on it
        wide_id = wide.data.plan_id
        await until(pilot, lambda: tree.read_ahead(wide_id, None), "its first page read ahead")
        asked = requests_of(tree)
        await pilot.press("right")
        await until(pilot, lambda: plans_under(wide), "the children placed")
        # placed by the key itself: no worker asked for it (nor a "loading…" row shown)
        assert not any(isinstance(c.data, LoadingRow) for c in wide.children)
        assert len(plans_under(wide)) == wide.data.child_count and asked == []
        await until(pilot, lambda: in_step(screen), "the detail of the cursor plan")
        assert tree.cursor_plan_id == wide_id
        await pilot.press("down")
        await until(pilot, lambda: in_step(screen)
                    and tree.cursor_plan_id == plans_under(wide)[0], "the first child's detail")
        assert not tree.read_ahead(wide_id, None)  # a page is placed once, then forgotten
        assert asked == []


@run_async
async def test_a_commit_elsewhere_drops_what_was_read_ahead(wide_url: str,
                                                            writer: sa.Engine) -> None:
    app = live_app(wide_url)
    async with app.run_test(size=SIZE) as pilot:
        screen, tree = await opened(pilot, app)
        wide = wide_node(tree)
        wide_id = wide.data.plan_id
        await until(pilot, lambda: tree.read_ahead(wide_id, None), "its first page read ahead")
        refreshes, children = tree.live_refreshes, wide.data.child_count
        # a child that sorts first, written by another connection after the page was read
        early_id = str(ULID.from_bytes((1_700_000_000_000).to_bytes(6, "big") + bytes(10)))
        with session_scope(writer) as session:
            create_plan(session, namespaced_name="wide/zz-added-elsewhere", plan_id=early_id,
                        description="added elsewhere", parent_plan_id=wide_id)
        await until(pilot, lambda: tree.live_refreshes > refreshes, "the commit heard")
        await pilot.press("right")
        await until(pilot, lambda: early_id in plans_under(wide), "the new child shown")
        assert plans_under(wide)[0] == early_id and len(plans_under(wide)) == children + 1
        await pilot.press("down")
        await until(pilot, lambda: in_step(screen) and tree.cursor_plan_id == early_id,
                    "the new child's detail")


async def first_page_of_ten(pilot, app: PlandeskApp):  # type: ignore[no-untyped-def]
    """The app opened with pages of 10, the wide node expanded to its first page."""
    screen, tree = await opened(pilot, app)
    tree.page_size = 10  # (the config's tree_page_size)
    wide = wide_node(tree)
    await pilot.press("right")
    await until(pilot, lambda: len(plans_under(wide)) == 10, "the first 10 children")
    return screen, tree, wide


@run_async
async def test_the_page_behind_a_gap_near_the_cursor_is_read_ahead(wide_url: str) -> None:
    app = live_app(wide_url)
    async with app.run_test(size=SIZE) as pilot:
        screen, tree, wide = await first_page_of_ten(pilot, app)
        await until(pilot, lambda: in_step(screen), "the detail of the cursor plan")
        gap = wide.children[-1]
        children = wide.data.child_count
        assert isinstance(gap.data, MoreRow) and gap.data.remaining == children - 10
        # the cursor goes to the last child above the gap, which is on screen
        tree.move_cursor(wide.children[-2])
        await until(pilot, lambda: in_step(screen), "the last child's detail")
        await until(pilot, lambda: tree.read_ahead(wide.data.plan_id, gap.data.after),
                    "the page behind the gap read ahead")
        asked = requests_of(tree)
        last_child = tree.cursor_plan_id
        await pilot.press("down")  # onto the gap: its page takes its place at once
        await until(pilot, lambda: len(plans_under(wide)) == 20, "the next page placed")
        assert asked == []
        shown = plans_under(wide)
        assert shown.index(last_child) == 9
        await until(pilot, lambda: in_step(screen) and tree.cursor_plan_id == shown[10],
                    "the next page's first plan's detail")
        gap = wide.children[-1]
        assert isinstance(gap.data, MoreRow) and gap.data.remaining == children - 20
        await pilot.press("up")
        await until(pilot, lambda: in_step(screen) and tree.cursor_plan_id == last_child,
                    "the detail back on the last child")


@run_async
async def test_nothing_is_read_ahead_while_live_updates_are_off(workdir: Path) -> None:
    """Without live updates no commit elsewhere would drop a page read ahead: the node's
    page is read when it is expanded, as fresh as it can be."""
    url = database_url(workdir / "wide.db")
    seed_database(url, 80, 3, wide=WIDE)
    app = PlandeskApp(url)  # the suite runs with live updates off
    async with app.run_test(size=SIZE) as pilot:
        _, tree = await opened(pilot, app)
        wide = wide_node(tree)
        await pilot.pause(0.3)  # longer than the rest before reading ahead
        assert not tree.read_ahead(wide.data.plan_id, None) and not tree.read_ahead_pending()
        asked = requests_of(tree)
        await pilot.press("right")
        await until(pilot, lambda: len(plans_under(wide)) == wide.data.child_count,
                    "the children read")
        assert len(asked) == 1


@run_async
async def test_the_next_page_redraws_only_from_the_gap_and_moves_the_cursor_once(
        wide_url: str) -> None:
    app = live_app(wide_url)
    async with app.run_test(size=SIZE) as pilot:
        screen, tree, wide = await first_page_of_ten(pilot, app)
        tree.move_cursor(wide.children[-2])
        gap = wide.children[-1]
        await until(pilot, lambda: in_step(screen), "the last child's detail")
        await until(pilot, lambda: tree.read_ahead(wide.data.plan_id, gap.data.after),
                    "the page behind the gap read ahead")
        await pilot.pause()
        above = [tree.get_node_at_line(line) for line in range(gap.line - 1)]
        drawn: list[int] = []  # the nodes whose lines are drawn anew from the key on
        cursor_lines: list[int] = []
        render_label, watch_cursor_line = tree.render_label, tree.watch_cursor_line

        def spy_label(node, base_style, style):  # type: ignore[no-untyped-def]
            drawn.append(node.id)
            return render_label(node, base_style, style)

        def spy_cursor(previous_line: int, line: int) -> None:
            cursor_lines.append(line)
            watch_cursor_line(previous_line, line)

        tree.render_label = spy_label  # type: ignore[method-assign]
        tree.watch_cursor_line = spy_cursor  # type: ignore[method-assign]
        gap_line = gap.line
        await pilot.press("down")  # onto the gap: its page takes its place at once
        await until(pilot, lambda: len(plans_under(wide)) == 20, "the next page placed")
        shown = plans_under(wide)
        await until(pilot, lambda: in_step(screen) and tree.cursor_plan_id == shown[10],
                    "the next page's first plan's detail")
        await until(pilot, lambda: tree.nodes_by_plan[shown[10]].id in drawn,
                    "the next page drawn")
        # the lines above the gap (but the one the cursor left) were drawn before: kept
        assert [node.id for node in above if node is not None and node.id in drawn] == []
        # from the last child onto the gap, then the page's first plan on that line: the
        # cursor never leaves the line (no -1 in between, which redraws and scrolls twice)
        assert -1 not in cursor_lines and set(cursor_lines) == {gap_line}
