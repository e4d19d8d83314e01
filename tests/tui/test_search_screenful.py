"""A keystroke places a screenful or two of rows, not every match it read with all their
ancestors: deep matches in a big forest brought 4 rows each. What is left waits in the
"… N more matches" row, in the order the search found it, and every plan placed stands under
its own parent."""

from __future__ import annotations

import pytest
from test_search import shown_rows, title
from test_trust import plans_screen, step
from tui_states import run_async, settle

from store import plans
from store.db import create_db_engine, database_url, session_scope
from store.plans import PlanFilter
from store.plans.search import SearchResult
from store.seed import seed_database
from tui.app import PlandeskApp
from tui.widgets.plan_rows import MoreMatchesRow, PlanRow
from tui.widgets.plan_tree_search import MATCHES_AT_ONCE, screenful

TEXT = "task-1"  # in a seeded forest: task-1, task-10…19, task-100…199, at every depth


@pytest.fixture(scope="module")
def forest(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = database_url(tmp_path_factory.mktemp("screenful") / "forest.db")
    seed_database(url, 400, 6)
    return url


def first_matches(url: str, limit: int = MATCHES_AT_ONCE) -> SearchResult:
    engine = create_db_engine(url)
    try:
        with session_scope(engine) as session:
            return plans.search_matches(session, PlanFilter(TEXT), limit=limit)
    finally:
        engine.dispose()


def rows_of(chunk: plans.MatchChunk) -> int:
    return len(chunk.matches) + len(chunk.ancestors)


def test_a_screenful_is_the_first_matches_that_fill_it_under_their_ancestors(forest: str):
    result = first_matches(forest)
    order = [plan.plan_id for plan in result.matches]
    known = {plan.plan_id: plan for plan in (*result.matches, *result.ancestors)}
    assert len(result.ancestors) >= 10, "the seeded matches should be under ancestors"

    def up_to(index: int) -> tuple[plans.MatchChunk, tuple[str, ...]]:
        """The first index + 1 matches, kept whatever the rows (as the cursor's plan is)."""
        return screenful(result, 1, keep=order[index])

    for rows in (1, 5, 12, 40, len(known) - 1, len(known), 10 * len(known)):
        chunk, rest = screenful(result, rows)
        placed = [plan.plan_id for plan in (*chunk.matches, *chunk.ancestors)]
        assert len(placed) == len(set(placed))
        # every plan placed stands under its parent, or has no parent the search read
        for plan in (*chunk.matches, *chunk.ancestors):
            assert plan.parent_plan_id not in known or plan.parent_plan_id in placed
            assert chunk.child_counts[plan.plan_id] == result.child_counts[plan.plan_id]
        # the shortest run of first matches that fills the rows (or all of them)
        shortest = next((index for index in range(len(order))
                         if rows_of(up_to(index)[0]) >= rows), len(order) - 1)
        assert (chunk, rest) == up_to(shortest)
        assert rows_of(chunk) >= min(rows, len(known))
        if shortest > 0:
            assert rows_of(up_to(shortest - 1)[0]) < rows
        # the matches not placed follow, in the order the search found them, then the next
        taken = {plan.plan_id for plan in chunk.matches}
        assert set(order[:shortest + 1]) <= taken
        assert rest == (*(p for p in order if p not in taken), *result.more_ids)
    # one row: the first match under its ancestors, nothing else
    chain, step = [], order[0]
    while step in known:
        chain.append(step)
        step = known[step].parent_plan_id
    chunk, _ = screenful(result, 1)
    assert sorted(plan.plan_id for plan in (*chunk.matches, *chunk.ancestors)) == sorted(chain)
    # every match read, once the rows ask for them all
    chunk, rest = screenful(result, len(known))
    assert chunk.matches == result.matches and rest == result.more_ids


@run_async
async def test_a_keystroke_places_two_screens_and_the_rest_follows_in_order(forest: str) -> None:
    every = first_matches(forest, limit=1000)
    assert not every.capped
    app = PlandeskApp(forest)
    async with app.run_test(size=(100, 20)) as pilot:
        await settle(pilot)
        tree = plans_screen(app).plan_tree
        await step(pilot, "slash")
        height = tree.scrollable_content_region.height  # under the filter box
        for length in range(1, len(TEXT) + 1):
            await step(pilot, TEXT[length - 1], filter_text=TEXT[:length])
        rows = shown_rows(tree)
        first = first_matches(forest)
        read = len(first.matches) + len(first.ancestors)
        assert 2 * height <= len(rows) < read  # two screens, not all 50 with their ancestors
        assert title(app) == f"Plans: {every.total} matches"
        last = tree.get_node_at_line(tree.last_line)
        assert last is not None and isinstance(last.data, MoreMatchesRow)
        assert str(last.label) == f"… {every.total - sum(not c for _, c in rows):,} more matches"
        await step(pilot, "enter", filter_text=TEXT)  # to the matches
        for _ in range(100):  # a page down at a time, past each "… more matches" row
            if not any(isinstance(node.data, MoreMatchesRow)
                       for node in tree.root.children):
                break
            await step(pilot, "pagedown", filter_text=TEXT)
        names = {name for name, context in shown_rows(tree) if not context}
        assert names == {plan.namespaced_name for plan in every.matches}
        # each plan under its own parent, as the full tree has it
        summaries = {plan.plan_id: plan for plan in (*every.matches, *every.ancestors)}
        for line in range(tree.last_line + 1):
            node = tree.get_node_at_line(line)
            assert node is not None and isinstance(node.data, PlanRow)
            parent = node.parent.data if node.parent is not None else None
            shown_under = parent.plan_id if isinstance(parent, PlanRow) else None
            assert shown_under == summaries[node.data.plan_id].parent_plan_id
