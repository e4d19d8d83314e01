"""Benchmark: the integrity check on a database of 1,000,000 plans, with a few damaged rows.

Times each kind of `store.integrity` and the whole report, against a baseline measured in the
same run on the same file: one full `SELECT count(*)` pass over `plans` through the same
engine (what any check that looks at every plan must at least cost). Prints times and ratios.

    .venv/bin/python tests/benchmarks/bench_integrity.py [--plans N] [--depth D] [--db PATH]

With --db, an existing head database is used as it is (it is damaged first: a few rows).
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from store import integrity
from store.db import create_db_engine, database_url, session_scope
from store.seed import seed_database


def damage(path: Path) -> None:
    """A root mismatch, a dangling parent and a 2-cycle, written with foreign keys off."""
    connection = sqlite3.connect(path)
    try:
        # far apart, so that no damage undoes another
        ids = [row[0] for row in connection.execute(
            "SELECT plan_id FROM plans WHERE parent_plan_id IS NOT NULL"
            " AND (rowid % 100000) = 7 ORDER BY plan_id LIMIT 3")]
        with connection:
            connection.execute("UPDATE plans SET root_plan_id = plan_id WHERE plan_id = ?",
                               (ids[0],))
            connection.execute("UPDATE plans SET parent_plan_id = '01BENCHMISSING000000000000'"
                               " WHERE plan_id = ?", (ids[1],))
            parent = connection.execute("SELECT parent_plan_id FROM plans WHERE plan_id = ?",
                                        (ids[2],)).fetchone()[0]
            connection.execute("UPDATE plans SET parent_plan_id = ? WHERE plan_id = ?",
                               (ids[2], parent))
    finally:
        connection.close()


def timed(label: str, run: Callable[[], object]) -> float:
    started = time.perf_counter()
    result = run()
    elapsed = time.perf_counter() - started
    count = getattr(result, "count", getattr(result, "total", result))
    print(f"{label:<16} {elapsed:8.2f} s   ({count})")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--plans", type=int, default=1_000_000)
    parser.add_argument("--depth", type=int, default=50)
    parser.add_argument("--db", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = args.db or Path(folder) / "bench.db"
        if args.db is None:
            seed_database(database_url(path), args.plans, args.depth)
        damage(path)
        engine = create_db_engine(database_url(path))
        try:
            with session_scope(engine) as session:
                baseline = timed("count(*) scan", lambda: session.execute(
                    sa.text("SELECT count(*) FROM plans")).scalar_one())
                kinds = {
                    "repaired": integrity.repaired,
                    "root mismatch": integrity.root_mismatches,
                    "dangling parent": integrity.dangling_parents,
                    "parent cycle": integrity.parent_cycles,
                    "decision gaps": integrity.decision_gaps,
                }
                for label, kind in kinds.items():
                    elapsed = timed(label, lambda kind=kind: kind(session, 100))
                    print(f"{'':<16} {elapsed / baseline:8.1f} x the scan")
                whole = timed("whole report", lambda: integrity.integrity_report(session))
                print(f"{'':<16} {whole / baseline:8.1f} x the scan")
        finally:
            engine.dispose()


if __name__ == "__main__":
    main()
