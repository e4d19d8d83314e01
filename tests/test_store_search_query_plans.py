"""phase: and state: narrow a search, they never drive it: SQLite's EXPLAIN QUERY PLAN for the
statements `search_matches` sends reads the search index's matches, the id range or the newest
window first, where the phase and state indexes made it read every plan in that phase (two
minutes for "task-123 phase:execute" on 1,000,000 plans)."""

from __future__ import annotations

from store import plans
from store.db import create_db_engine
from store.plans import PlanFilter
from store.seed import seed_database
from tests.test_store_page_query_plans import query_plans

FILTER_INDEXES = ("ix_plans_phase", "ix_plans_processing_state")


def steps_of(engine, query: str) -> list[list[str]]:  # type: ignore[no-untyped-def]
    return query_plans(engine, lambda session: plans.search_matches(
        session, PlanFilter.parse(query), limit=10))


def first_read(steps: list[str]) -> str:
    """What a statement reads first: the ids' statements read inside the subquery whose ids
    they aggregate ("CO-ROUTINE anon_1")."""
    return steps[1] if steps[0].startswith("CO-ROUTINE anon") else steps[0]


def test_phase_and_state_narrow_a_search_without_driving_it(sqlite_url):
    seed_database(sqlite_url, 60, 3, random_seed=5)
    engine = create_db_engine(sqlite_url)
    try:
        for query, driver in (
            ("task phase:execute", "SCAN plan_search VIRTUAL TABLE"),  # the index's matches
            ("sk- state:errored phase:apply", "SCAN plan_search VIRTUAL TABLE"),
            ("t phase:apply", "SEARCH plans USING INDEX sqlite_autoindex_plans_1 (plan_id>?)"),
            ("01 state:queued", "SEARCH plans USING INDEX sqlite_autoindex_plans_1 (plan_id>?"),
        ):
            statements = steps_of(engine, query)  # ids by prefix, text, rows, ancestors
            assert any(first_read(steps).startswith(driver) for steps in statements), (
                query, statements)
            for steps in statements:
                assert not any(index in step for index in FILTER_INDEXES
                               for step in steps), (query, steps)
        # with no text nor id, the phase is all there is: its index is the way in
        ids, *_ = steps_of(engine, "phase:execute")
        assert first_read(ids).startswith("SEARCH plans USING INDEX ix_plans_phase"), ids
    finally:
        engine.dispose()
