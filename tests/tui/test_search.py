"""Search as you type: `/` takes every key typed right after it, results follow the keys
(debounced, the newest search cancelling the older), matches come with their dimmed
ancestors and a count in the pane title, `enter` on a match shows it in the full tree and
`escape` goes back to where the user was. The trust invariants are checked after each step."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.style import Style
from test_trust import (
    check,
    cursor_name,
    cursor_plan,
    expanded,
    notifications,
    plans_screen,
    step,
)
from textual import events
from textual._xterm_parser import XTermParser
from textual.widgets import Input
from tui_states import demo_database, press, run_async, settle, until

from store import plans
from store.db import create_db_engine, database_url, session_scope
from store.plans import PlanFilter
from store.plans.search import SHORT_TEXT_WINDOW
from tui.app import PlandeskApp
from tui.widgets.plan_rows import PlanRow
from tui.widgets.plan_tree import PlanTree

SIZE = (120, 36)


def type_at_once(app: PlandeskApp, keys: str) -> None:
    """Hand every key to the driver in one go, as a fast typist or a paste does: none waits
    for the previous one to be handled."""
    assert app._driver is not None
    for char in keys:
        key = "slash" if char == "/" else char
        if char == "-":
            key = "minus"
        event = events.Key(key, char)
        event.set_sender(app)
        app._driver.send_message(event)


def shown_rows(tree: PlanTree) -> list[tuple[str, bool]]:
    """Every plan row the tree draws, top down: (name, dimmed as context)."""
    found = []
    for line in range(tree.last_line + 1):
        node = tree.get_node_at_line(line)
        if node is not None and isinstance(node.data, PlanRow):
            found.append((node.data.name, node.data.context))
    return found


def title(app: PlandeskApp) -> str:
    return str(plans_screen(app).query_one("#tree-column").border_title)


@run_async
async def test_keys_typed_right_after_slash_all_reach_the_filter(workdir: Path) -> None:
    app = PlandeskApp(database_url(demo_database(workdir)))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        type_at_once(app, "/BILLING/Write")
        box = plans_screen(app).query_one("#filter", Input)
        await until(pilot, lambda: box.value == "BILLING/Write", "every key is in the box")
        await settle(pilot)
        check(app, "BILLING/Write")
        assert shown_rows(plans_screen(app).plan_tree) == [
            ("billing/migrate-invoices", True), ("billing/design-schema", True),
            ("billing/write-ddl", False)]
        # and through Pilot's own key presses, with no pause after `/`
        await pilot.press("escape")
        await pilot.press("/", "d", "r", "y")
        await settle(pilot)
        check(app, "dry")
        assert cursor_name(app) == "billing/dry-run"


@run_async
async def test_results_follow_typing_with_ancestors_dimmed_and_a_count(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    searches: list[str] = []
    real = plans.search_matches

    def counted(session, plan_filter, *args, **kwargs):  # type: ignore[no-untyped-def]
        searches.append(plan_filter.text)
        return real(session, plan_filter, *args, **kwargs)

    monkeypatch.setattr(plans, "search_matches", counted)
    app = PlandeskApp(database_url(demo_database(workdir)))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        tree = plans_screen(app).plan_tree
        await step(pilot, "slash")
        text = ""
        for char in "golden":
            text += char
            await step(pilot, char, filter_text=text)  # no enter: results follow the keys
        assert shown_rows(tree) == [
            ("search/reindex-catalog", True), ("search/evaluate-tokenizer", True),
            ("search/golden-queries", False), ("search/golden-queries-de", False),
            ("search/golden-queries-ja", False)]
        assert title(app) == "Plans: 3 matches"
        assert cursor_name(app) == "search/golden-queries"  # the first match, not a context row
        # a burst of keys: the search waits for the pause, each key cancelling the last one
        searches.clear()
        type_at_once(app, "xyz")
        await until(pilot, lambda: plans_screen(app).filter_box.value == "goldenxyz",
                    "the burst is typed")
        await until(pilot, lambda: title(app) == "Plans: 0 matches"
                    and not [w for w in app.workers if w.group == "search"],
                    "the last search is shown and the cancelled ones have ended")
        # the count reaches the title before the emptied tree's highlight reaches the detail
        await settle(pilot)
        assert searches[-1] == "goldenxyz" and len(searches) < 3
        assert shown_rows(tree) == [] and title(app) == "Plans: 0 matches"
        check(app, "goldenxyz")
        # deleting everything brings the tree back
        for length in range(len("goldenxyz") - 1, -1, -1):
            await step(pilot, "backspace", filter_text="goldenxyz"[:length])
        assert title(app) == "Plans" and tree.plan_filter is None
        assert len([n for n in tree.root.children if isinstance(n.data, PlanRow)]) >= 4


@run_async
async def test_enter_on_a_match_shows_it_in_the_full_tree(workdir: Path) -> None:
    app = PlandeskApp(database_url(demo_database(workdir)))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await step(pilot, "slash")
        for length in range(1, len("ddl-post") + 1):
            await step(pilot, "ddl-post"[length - 1], filter_text="ddl-post"[:length])
        await step(pilot, "enter", filter_text="ddl-post")  # to the results
        tree = plans_screen(app).plan_tree
        assert app.focused is tree and cursor_name(app) == "billing/ddl-postgres"
        chosen = cursor_plan(app)
        await step(pilot, "enter")  # shows it in the tree
        assert tree.plan_filter is None and not plans_screen(app).filter_box.display
        assert cursor_plan(app) == chosen and title(app) == "Plans"
        assert plans_screen(app).detail_pane.plan_id == chosen
        roots = [n.data.name for n in tree.root.children if isinstance(n.data, PlanRow)]
        assert roots[:2] == ["billing/migrate-invoices", "search/reindex-catalog"]
        names = [n.data.name for n in tree.nodes_by_plan.values() if isinstance(n.data, PlanRow)]
        assert "billing/review-schema" in names  # the full levels, not only the way down
        await step(pilot, "down")  # the next row of the full tree
        assert cursor_name(app) == "billing/backfill-invoices"


@run_async
async def test_escape_goes_back_to_the_place_from_before_the_filter(workdir: Path) -> None:
    app = PlandeskApp(database_url(demo_database(workdir)))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await step(pilot, "down", "right", "down")
        tree = plans_screen(app).plan_tree
        before = (cursor_name(app), expanded(tree))
        assert before[0] == "search/evaluate-tokenizer"
        await step(pilot, "slash")
        for char in "replica":
            await press(pilot, char)
        await step(pilot, "enter", "down", "down", filter_text="replica")
        assert cursor_name(app) != before[0]
        await step(pilot, "ctrl+r", filter_text="replica")  # a reload keeps the results
        assert title(app) == "Plans: 4 matches"  # three names and a description
        await step(pilot, "escape")
        assert (cursor_name(app), expanded(tree)) == before
        assert not plans_screen(app).filter_box.display


@run_async
async def test_a_bad_filter_says_why_and_keeps_the_results(workdir: Path) -> None:
    app = PlandeskApp(database_url(demo_database(workdir)))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await step(pilot, "slash")
        text = ""
        for char in "dry phase:lunch":
            text += char
            await step(pilot, "space" if char == " " else char, filter_text=text)
        status = plans_screen(app).query_one("#filter-status")
        assert "Unknown phase 'lunch'" in str(status.render())
        assert title(app) == "Plans: 0 matches"  # what "dry phase:" found stays
        for length in range(len(text) - 1, len("dry") - 1, -1):
            await step(pilot, "backspace", filter_text=text[:length])
        assert cursor_name(app) == "billing/dry-run" and title(app) == "Plans: 1 match"


@run_async
async def test_a_short_text_says_it_searched_the_newest_plans_only(workdir: Path) -> None:
    """Trigrams need three characters: one or two are looked for in the newest plans only,
    and the title and the line under the box say so until a third character is typed."""
    app = PlandeskApp(database_url(demo_database(workdir)))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        status = plans_screen(app).query_one("#filter-status")
        await step(pilot, "slash")
        text = ""
        for char in "gol":
            text += char
            await step(pilot, char, filter_text=text)
            said = f"{title(app)} | {status.render()}"
            if len(text) < 3:
                assert title(app).endswith(f"in the newest {SHORT_TEXT_WINDOW:,} plans"), said
                assert (f"matches for {text} in the newest {SHORT_TEXT_WINDOW:,} plans only: "
                        "a third character searches them all") in str(status.render()), said
            else:
                assert "newest" not in said, said
                assert str(status.render()).startswith(f"matches for {text} (escape"), said
        assert ("search/golden-queries", False) in shown_rows(plans_screen(app).plan_tree)
        await step(pilot, "backspace", filter_text="go")  # back to two: said again
        assert "plans only: a third character" in str(status.render())


def terminal_sends(app: PlandeskApp, data: str) -> None:
    """Hand the driver the keys Textual's own terminal parser reads from `data`, as if the
    terminal had sent those bytes in one go."""
    assert app._driver is not None
    parser = XTermParser()
    for event in [*parser.feed(data), *parser.feed("")]:
        event.set_sender(app)
        app._driver.send_message(event)


@run_async
async def test_matches_are_placed_a_screenful_at_a_time(workdir: Path) -> None:
    """A keystroke places only the first matches (Tree measures every line it holds); the
    "… N more matches" row places the next ones once reached, and in the end all of them."""
    url = database_url(demo_database(workdir))
    engine = create_db_engine(url)
    with session_scope(engine) as session:
        every = plans.search_matches(session, PlanFilter("billing"), limit=1000)
    engine.dispose()
    assert every.total == 9 and not every.ancestors
    app = PlandeskApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        tree = plans_screen(app).plan_tree
        tree.matches_at_once = 4
        await step(pilot, "slash")
        for length in range(1, len("billing") + 1):
            await step(pilot, "billing"[length - 1], filter_text="billing"[:length])
        assert len(shown_rows(tree)) == 4 and title(app) == "Plans: 9 matches"
        assert last_row(tree) == "… 5 more matches"
        await step(pilot, "enter", filter_text="billing")  # to the matches
        await step(pilot, "end", filter_text="billing")  # onto "… 5 more matches"
        assert len(shown_rows(tree)) == 8 and last_row(tree) == "… 1 more match"
        assert cursor_plan(app) == every.matches[4].plan_id  # the first of those placed now
        while tree.cursor_line < tree.last_line:  # down onto "… 1 more match"
            await step(pilot, "down", filter_text="billing")
        assert sorted(name for name, _ in shown_rows(tree)) == sorted(
            plan.namespaced_name for plan in every.matches)
        assert isinstance(tree.get_node_at_line(tree.last_line).data, PlanRow)
        for line in range(tree.last_line + 1):  # measured without drawing, as drawn
            node = tree.get_node_at_line(line)
            assert node is not None
            assert tree.get_label_width(node) == tree.render_label(node, Style(), Style()).cell_len
        assert title(app) == "Plans: 9 matches"
        await step(pilot, "escape")
        assert tree.plan_filter is None and title(app) == "Plans"


def last_row(tree: PlanTree) -> str:
    node = tree.get_node_at_line(tree.last_line)
    assert node is not None
    return str(node.label)


@run_async
async def test_escape_and_the_next_key_sent_together_close_the_filter_at_80x24(
    workdir: Path,
) -> None:
    """tmux holds an escape for its escape-time (500 ms by default) and sends it with the next
    key as one sequence, which Textual reads as one key ("\x1b4" is "¢", "\x1bj" alt+j): the
    escape must still close the filter, and the key after it act on the tree."""
    app = PlandeskApp(database_url(demo_database(workdir)))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await step(pilot, "down", "down")
        screen = plans_screen(app)
        before = cursor_plan(app)
        await step(pilot, "slash")
        for length in range(1, len("bill") + 1):
            await step(pilot, "bill"[length - 1], filter_text="bill"[:length])
        terminal_sends(app, "\x1b4")  # escape, then 4 (the Decisions tab)
        await until(pilot, lambda: screen.detail_pane.active_tab == "decisions",
                    "4 shows the Decisions tab")
        await settle(pilot)
        check(app)
        assert app.focused is screen.plan_tree and cursor_plan(app) == before
        await step(pilot, "slash")
        await step(pilot, "b", filter_text="b")
        terminal_sends(app, "\x1by")  # escape, then y (copy the plan's id): alt+y to Textual
        await until(pilot, lambda: not screen.filter_box.display, "the filter closes")
        await settle(pilot)
        check(app)
        assert app.focused is screen.plan_tree and cursor_plan(app) == before
        # y acted (on the row under the cursor as it then was: the forest comes back after)
        assert notifications(app)[-1].startswith("Copied: plan id: ")
