"""Benchmark: the 0003 backfill on a legacy database of 1,000,000 plans, depth 50.

Compares, on copies of one seeded file, in one run:
  ours      - the revision's backfill functions through SQLAlchemy (repairs, recursive CTE,
              profile map, chunked UPDATE ... FROM), i.e. everything but the table copy;
  raw       - the very same SQL statements run through the bare sqlite3 module;
  iterative - the seeds' approach: an UPDATE with a parent-readiness guard, repeated until
              no row changes (one pass per tree level).
Then the whole `upgrade` 0002 -> head on another copy. Prints times and ratios.

    .venv/bin/python tests/benchmarks/bench_backfill.py [--plans N] [--depth D]
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from store import migrations
from store.db import create_db_engine, database_url
from store.seed import seed_database

REVISION_FILE = migrations.script_location() / "versions" / "0003_align_plans_schema.py"


def load_revision():
    spec = importlib.util.spec_from_file_location("rev0003", REVISION_FILE)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def prepare(path: Path) -> None:
    """Put the legacy file into the state 0003's upgrade() has just before its backfill."""
    connection = sqlite3.connect(path)
    connection.executescript(
        """
        CREATE TABLE automation_profiles (name VARCHAR PRIMARY KEY, description TEXT,
            settings_json TEXT NOT NULL DEFAULT '{}', updated_at VARCHAR NOT NULL);
        INSERT INTO automation_profiles VALUES
            ('manual', 'm', '{"auto_apply": false}', 'x'),
            ('supervised', 's', '{"auto_apply": false}', 'x'),
            ('balanced', 'b', '{"auto_apply": false}', 'x'),
            ('autonomous', 'a', '{"auto_apply": true}', 'x');
        CREATE TABLE plan_repairs (id INTEGER PRIMARY KEY, plan_id VARCHAR NOT NULL,
            column_name VARCHAR NOT NULL, old_value TEXT, reason VARCHAR NOT NULL,
            repaired_at VARCHAR NOT NULL);
        ALTER TABLE plans ADD COLUMN effective_profile_snapshot TEXT;
        """
    )
    connection.commit()
    connection.close()


class RawResult:
    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self.cursor = cursor
        self.rowcount = cursor.rowcount

    def __iter__(self):
        names = [d[0] for d in self.cursor.description or ()]
        row_type = collections.namedtuple("Row", names)
        return (row_type(*row) for row in self.cursor)

    def scalar_one(self):
        return self.cursor.fetchone()[0]

    scalar = scalar_one


class RawBind:
    """Just enough of a SQLAlchemy connection to run the revision's SQL on bare sqlite3."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def execute(self, clause, params=None):
        if isinstance(params, list):
            return RawResult(self.connection.executemany(clause.text, params))
        return RawResult(self.connection.execute(clause.text, params or {}))


def run_ours(module, path: Path) -> float:
    engine = create_db_engine(database_url(path), foreign_keys=False, transactional_ddl=True)
    start = time.perf_counter()
    with engine.connect() as connection, connection.begin():
        now = "2026-01-01T00:00:00+00:00"
        module.repair_parents(connection, now)
        module.compute_roots(connection, now)
        module.map_profiles(connection, now)
        module.write_backfill(connection)
    elapsed = time.perf_counter() - start
    engine.dispose()
    return elapsed


def run_raw(module, path: Path) -> float:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA cache_size = -524288")
    connection.execute("PRAGMA temp_store = MEMORY")
    bind = RawBind(connection)
    start = time.perf_counter()
    connection.execute("BEGIN IMMEDIATE")
    now = "2026-01-01T00:00:00+00:00"
    module.repair_parents(bind, now)
    module.compute_roots(bind, now)
    module.map_profiles(bind, now)
    module.write_backfill(bind)
    connection.execute("COMMIT")
    elapsed = time.perf_counter() - start
    connection.close()
    return elapsed


def run_iterative(path: Path) -> tuple[float, int]:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA cache_size = -524288")
    connection.execute("UPDATE plans SET root_plan_id = NULL")
    start = time.perf_counter()
    connection.execute("BEGIN IMMEDIATE")
    connection.execute("UPDATE plans SET root_plan_id = plan_id WHERE parent_plan_id IS NULL")
    passes = 0
    while True:
        passes += 1
        changed = connection.execute(
            "UPDATE plans SET root_plan_id = (SELECT p.root_plan_id FROM plans p"
            " WHERE p.plan_id = plans.parent_plan_id)"
            " WHERE root_plan_id IS NULL AND EXISTS (SELECT 1 FROM plans p"
            " WHERE p.plan_id = plans.parent_plan_id AND p.root_plan_id IS NOT NULL)"
        ).rowcount
        if changed == 0:
            break
    connection.execute("COMMIT")
    elapsed = time.perf_counter() - start
    connection.close()
    return elapsed, passes


def check_roots(path: Path) -> int:
    connection = sqlite3.connect(path)
    wrong = connection.execute(
        "WITH RECURSIVE t(id, root) AS (SELECT plan_id, plan_id FROM plans"
        " WHERE parent_plan_id IS NULL UNION ALL SELECT p.plan_id, t.root FROM plans p"
        " JOIN t ON p.parent_plan_id = t.id)"
        " SELECT count(*) FROM plans JOIN t ON t.id = plans.plan_id"
        " WHERE plans.root_plan_id <> t.root"
    ).fetchone()[0]
    connection.close()
    return int(wrong)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plans", type=int, default=1_000_000)
    parser.add_argument("--depth", type=int, default=50)
    args = parser.parse_args()
    module = load_revision()
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder) / "legacy.db"
        t0 = time.perf_counter()
        seed_database(database_url(base), args.plans, args.depth, revision="0002")
        print(f"seeded {args.plans:,} plans, depth {args.depth}: {time.perf_counter() - t0:.1f}s")
        copies = {}
        for name in ("ours", "raw", "iterative", "full"):
            copies[name] = Path(folder) / f"{name}.db"
            shutil.copy(base, copies[name])
            if name != "full":
                prepare(copies[name])
        ours = run_ours(module, copies["ours"])
        raw = run_raw(module, copies["raw"])
        iterative, passes = run_iterative(copies["iterative"])
        start = time.perf_counter()
        migrations.upgrade(database_url(copies["full"]))
        full = time.perf_counter() - start
        assert check_roots(copies["ours"]) == 0 and check_roots(copies["raw"]) == 0
        print(f"ours (SQLAlchemy):      {ours:7.2f}s")
        print(f"raw sqlite3, same SQL:  {raw:7.2f}s   ours/raw = {ours / raw:.2f}x (target <= 2x)")
        print(f"iterative UPDATE loop:  {iterative:7.2f}s   ({passes} passes)"
              f"   iterative/ours = {iterative / ours:.1f}x (target >= 10x)")
        print(f"full upgrade 0002 -> head: {full:.1f}s (target < 60 s)")
        engine = create_db_engine(database_url(copies["full"]))
        with engine.connect() as connection:
            nulls = connection.execute(
                sa.text("SELECT count(*) FROM plans WHERE root_plan_id IS NULL")
            ).scalar_one()
        engine.dispose()
        assert nulls == 0


if __name__ == "__main__":
    main()
