"""Benchmark of search as you type (not a timed test): per-keystroke filter latency.

    .venv/bin/python tests/benchmarks/bench_search.py [--plans 1000000] [--runs 5] [--dir DIR]
        [--pg-plans N] [--like-baseline]

Seeds (once, cached in --dir, default /tmp/plandesk-bench-search, by plan count and depth) a
SQLite database of --plans plans with `plandesk seed`; with $PLANDESK_TEST_PG_URL set and
--pg-plans > 0, also a PostgreSQL database of that many plans (cached by name on the server).
A cached database behind the code's head is upgraded first. For 1-, 3- and 8-character texts,
each a few hits and a few no-hits, it measures:
  - keystroke: in the running app (headless), from the filter's search starting (the debounce
    left out) to its matches placed in the tree and counted in the pane title ("placed,
    counted": the issue's "query + first results placed"), and to the end of the first frame
    drawn with them ("on screen"). Each one
    starts from the forest with every worker done (the forest's reload is not measured);
  - typing: the same for each prefix of a few words typed a key at a time, each search
    starting from the previous prefix's matches (every worker done between keys), reported
    for the first two characters and for the third to the eighth; and, apart, the session's
    first search (it compiles the search's statements and opens a connection, once);
  - query: `store.plans.search_matches` alone, asked for as many matches as the app places
    at once: the baseline, so that keystroke / query is what the app adds to the store;
  - with --like-baseline, the query the filter ran before the search index (LIKE '%…%' over
    names and namespaces, ordered by id, first page; seconds per no-hit on 1M plans).
Prints p50/p95 in milliseconds, the ratios, and the load average (the machine may be shared).
Target: keystroke p95 <= 50 ms on SQLite; PostgreSQL is reported.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

HERE = Path(__file__).resolve()
SEARCH_REVISION = "0006"
MAX_DEPTH = 8
sys.path.insert(0, str(HERE.parents[2]))

from store import migrations  # noqa: E402
from store.db import create_db_engine, database_url, session_scope  # noqa: E402
from store.plans import PlanFilter, search_matches  # noqa: E402
from store.plans.search import MATCH_LIMIT  # noqa: E402

# `plandesk seed` names plans "nsXX/task-N" and describes them "Synthetic plan N at depth D":
# no-hits use letters none of those have.
QUERIES = {
    "1 char, hits": ("t", "k", "9"),
    "1 char, no hits": ("q", "z", "#"),
    "3 chars, hits": ("sk-", "/ta", "c p"),
    "3 chars, no hits": ("zqx", "qwv", "#b#"),
    "8 chars, hits": ("task-123", "plan 999", "ns07/tas"),
    "8 chars, no hits": ("task-abc", "zzzzzzzz", "depth 99"),
}

BASELINE_SQL = (
    "SELECT plan_id, parent_plan_id, root_plan_id, namespaced_name, namespace, phase,"
    " processing_state FROM plans WHERE plan_id LIKE :prefix ESCAPE '\\'"
    " OR lower(namespaced_name) LIKE :pattern ESCAPE '\\'"
    " OR lower(namespace) LIKE :pattern ESCAPE '\\' ORDER BY plan_id LIMIT 201"
)


def seed_then_index(target: str, plans: int) -> None:
    """Seed at the revision before the search index, then build it with `db upgrade`: the
    index is built in one pass instead of by its triggers row by row (and timed)."""
    plandesk = Path(sys.executable).with_name("plandesk")
    revisions = migrations.known_revisions()
    before = revisions[revisions.index(SEARCH_REVISION) - 1]
    subprocess.run([str(plandesk), "seed", target, "--plans", str(plans), "--max-depth",
                    str(MAX_DEPTH), "--revision", before], check=True)
    start = time.perf_counter()
    subprocess.run([str(plandesk), "db", "upgrade", "--db", target], check=True)
    print(f"building the search index (db upgrade) on {plans:,} plans: "
          f"{time.perf_counter() - start:.1f} s")


def at_head(url: str) -> str:
    """A cached database written by an older plandesk, brought to the code's head."""
    if not migrations.inspect_database(url).up_to_date:
        progress(f"upgrading {sa.make_url(url).render_as_string()} to the code's head")
        plandesk = Path(sys.executable).with_name("plandesk")
        subprocess.run([str(plandesk), "db", "upgrade", "--db", url], check=True)
    return url


def seeded_sqlite(folder: Path, plans: int) -> str:
    path = folder / f"bench-search-{plans}-d{MAX_DEPTH}.db"
    if not path.exists():
        progress(f"seeding {path} (once; it is cached)")
        seed_then_index(str(path), plans)
    return at_head(database_url(path))


def seeded_postgres(admin_url: str, plans: int) -> str:
    name = f"plandesk_bench_search_{plans}_d{MAX_DEPTH}"
    url = sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.execute(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
    admin.dispose()
    if exists is None:
        progress(f"seeding the PostgreSQL database {name} (once; it is cached)")
        seed_then_index(url, plans)
    return at_head(url)


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000


def measure_queries(url: str, runs: int, limit: int, like: bool,
                    ) -> dict[str, dict[str, list[float]]]:
    engine = create_db_engine(url)
    timings: dict[str, dict[str, list[float]]] = {}
    try:
        with session_scope(engine) as session:
            for label, texts in QUERIES.items():
                progress(f"  store query: {label}")
                indexed: list[float] = []
                baseline: list[float] = []
                for _ in range(runs):
                    for text in texts:
                        start = time.perf_counter()
                        search_matches(session, PlanFilter(text), limit=limit)
                        indexed.append(time.perf_counter() - start)
                        if not like:
                            continue
                        escaped = (text.replace("\\", "\\\\").replace("%", "\\%")
                                   .replace("_", "\\_"))
                        start = time.perf_counter()
                        session.execute(sa.text(BASELINE_SQL), {
                            "prefix": f"{escaped.upper()}%",
                            "pattern": f"%{escaped.lower()}%"}).all()
                        baseline.append(time.perf_counter() - start)
                timings[label] = {"query": indexed, "baseline": baseline}
    finally:
        engine.dispose()
    return timings


async def settled(app: Any, timeout: float = 120.0) -> None:
    """Until no worker runs but the live watcher (one cancelled by a newer one, e.g. the
    detail's, is fine).

    The live watcher (tui/live.py) runs until the app ends: waiting for every worker, as this
    once did, waited forever, and the benchmark printed nothing.
    """
    from textual.worker import WorkerCancelled

    from tui.live import ending_workers

    deadline = time.perf_counter() + timeout
    while True:
        running = [worker for worker in ending_workers(app) if not worker.is_finished]
        if not running:
            return
        if time.perf_counter() > deadline:
            raise TimeoutError(f"workers still running: {[w.description for w in running]}")
        try:
            await asyncio.wait_for(app.workers.wait_for_complete(running), timeout=5)
        except (TimeoutError, WorkerCancelled):
            continue


def progress(text: str) -> None:
    """What the benchmark is doing, on stderr (a 1M-plan run takes minutes)."""
    print(text, file=sys.stderr, flush=True)


# Typing a word a key at a time, each search starting from the previous text's matches (what
# a user does), not from the forest: the texts' prefixes, by length.
TYPED = ("task-123", "plan 999", "ns07/tas", "task-abc", "zzzzzzzz", "depth 99")
TYPING = {"typing, chars 1-2": (1, 2), "typing, chars 3-8": (3, 8)}


class Frames:
    """When the filter's matches for `waiting_for` were placed and counted (the moment the
    pane's title took their count, recorded: a poll cannot run while a frame is drawn, so
    polling for it added the frame's time), and the end of the first frame drawn after."""

    def __init__(self, screen: Any) -> None:
        self.screen = screen
        self.waiting_for: Any = None
        self.counted_at: float | None = None
        self.drawn_at: float | None = None
        search = screen.plan_search
        say = search.say

        def timed_say(*args: Any, **kwargs: Any) -> None:
            say(*args, **kwargs)
            if (self.waiting_for is not None and self.counted_at is None
                    and search.shown_filter == self.waiting_for):
                self.counted_at = time.perf_counter()

        search.say = timed_say  # the last step of taking the count (PlanSearch._matches_shown)
        refresh = screen._compositor_refresh

        def timed_refresh() -> None:
            shows = (self.waiting_for is not None
                     and screen.plan_search.shown_filter == self.waiting_for)
            refresh()
            if shows and self.drawn_at is None:
                self.drawn_at = time.perf_counter()

        screen._compositor_refresh = timed_refresh


async def idle(app: Any, pilot: Any) -> None:
    """Every worker done and what their results set off on screen (the detail pane filling
    in): else the next keystroke's time held the end of this one."""
    screen = app.screen
    await settled(app)
    while screen.detail_pane.loading:
        await pilot.pause(0.01)
    await pilot.pause()


async def keystroke(screen: Any, frames: Frames, text: str) -> tuple[float, float] | None:
    """Seconds from the search of `text` starting (the debounce left out) to its matches
    placed and counted, and to the first frame drawn with them."""
    from store.plans import PlanFilter as Filter

    wanted = Filter.parse(text)
    search = screen.plan_search
    if wanted == search.plan_filter:
        return None  # the same search as the text before ("plan " after "plan")
    frames.waiting_for, frames.counted_at, frames.drawn_at = wanted, None, None
    collector = getattr(screen.app, "rest_collector", None)
    if collector is not None:
        collector.input_seen()  # as the key would: no collection at rest during a keystroke
    start = time.perf_counter()
    search.search(text, delay=0)
    # a bare sleep: pilot.pause() makes every widget of the screen flush its messages on
    # each poll, which slowed down what it measured
    deadline = time.perf_counter() + 10
    while frames.counted_at is None or frames.drawn_at is None:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"no frame was drawn with the matches of {text!r}")
        await asyncio.sleep(0.0005)
    return frames.counted_at - start, frames.drawn_at - start


async def measure_keystrokes(url: str, runs: int
                             ) -> tuple[dict[str, list[tuple[float, float]]], int]:
    """Keystroke to matches placed (and to their frame), per text; and how many matches the
    app places at once."""
    from tui.app import PlandeskApp
    from tui.screens.plans import PlansScreen

    app = PlandeskApp(url)
    timings: dict[str, list[tuple[float, float]]] = {}
    async with app.run_test(size=(120, 36)) as pilot:
        deadline = time.perf_counter() + 120
        while not isinstance(app.screen, PlansScreen) or not [
                tree for tree in app.screen.query("PlanTree") if tree.cursor_line >= 0]:
            if time.perf_counter() > deadline:
                raise TimeoutError("the plans screen did not show")
            await pilot.pause(0.01)
        screen = app.screen
        screen.action_filter()
        frames = Frames(screen)
        # as many as the app places at once (all the store gives, before that was capped)
        limit = getattr(screen.plan_tree, "matches_at_once", MATCH_LIMIT)
        # the session's first search compiles the search's statements and opens a pooled
        # connection, once: timed apart, not in the first category's p95
        screen.plan_search.search("", delay=0)
        await idle(app, pilot)  # what opening the database left running (as for every sample)
        first = await keystroke(screen, frames, "warm")
        assert first is not None
        timings["first search"] = [first]
        await idle(app, pilot)
        for label, texts in QUERIES.items():
            progress(f"  keystroke: {label}")
            samples: list[tuple[float, float]] = []
            for _ in range(runs):
                for text in texts:
                    screen.plan_search.search("", delay=0)  # back to the forest: a new search
                    await idle(app, pilot)  # the forest's reload, not timed
                    sample = await keystroke(screen, frames, text)
                    assert sample is not None
                    samples.append(sample)
            timings[label] = samples
        progress("  keystroke: typing")
        for label in TYPING:
            timings[label] = []
        for _ in range(runs):
            for word in TYPED:
                screen.plan_search.search("", delay=0)
                await idle(app, pilot)
                for length in range(1, len(word) + 1):
                    sample = await keystroke(screen, frames, word[:length])
                    await idle(app, pilot)
                    if sample is None:
                        continue
                    timings[next(label for label, (low, high) in TYPING.items()
                                  if low <= length <= high)].append(sample)
    return timings, limit


def report(backend: str, url: str, runs: int, like: bool) -> None:
    progress(f"{backend}: measuring")
    keystrokes, limit = asyncio.run(measure_keystrokes(url, runs))
    queries = measure_queries(url, runs, limit, like)
    loads = " ".join(f"{load:.1f}" for load in os.getloadavg())
    print(f"\n{backend}: ms, p50 / p95 over {runs} runs of 3 texts each (typing: of"
          f" {len(TYPED)} words); the store query asked for {limit} matches; load average"
          f" {loads}")
    print(f"{'':18} {'placed, counted':>17} {'on screen':>17} {'store query':>17}"
          f" {'key/query':>9}" + (f" {'LIKE before index':>17} {'query/LIKE':>10}"
                                  if like else ""))
    for label in (*QUERIES, *TYPING, "first search"):
        key50, key95 = percentiles([counted for counted, _ in keystrokes[label]])
        drawn50, drawn95 = percentiles([drawn for _, drawn in keystrokes[label]])
        line = f"{label:18} {key50:8.1f} {key95:8.1f} {drawn50:8.1f} {drawn95:8.1f}"
        if label not in queries:
            print(line)
            continue
        q50, q95 = percentiles(queries[label]["query"])
        line += f" {q50:8.1f} {q95:8.1f} {key50 / q50 if q50 else 0:9.2f}"
        if like:
            b50, b95 = percentiles(queries[label]["baseline"])
            line += f" {b50:8.1f} {b95:8.1f} {q50 / b50 if b50 else 0:10.2f}"
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plans", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/plandesk-bench-search"))
    parser.add_argument("--pg-plans", type=int, default=1_000_000)
    parser.add_argument("--only", choices=("sqlite", "postgresql"),
                        help="measure one backend only")
    parser.add_argument("--like-baseline", action="store_true",
                        help="also time the LIKE query from before the index (slow)")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    if args.only != "postgresql":
        report(f"SQLite, {args.plans:,} plans", seeded_sqlite(args.dir, args.plans), args.runs,
               args.like_baseline)
    pg = os.environ.get("PLANDESK_TEST_PG_URL")
    if pg and args.pg_plans > 0 and args.only != "sqlite":
        report(f"PostgreSQL, {args.pg_plans:,} plans", seeded_postgres(pg, args.pg_plans),
               args.runs, args.like_baseline)


if __name__ == "__main__":
    main()
