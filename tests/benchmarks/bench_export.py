"""Benchmark of exports (not a timed test): peak memory of exporting a 1,000- and a 10,000-plan
tree, as JSON and as CSV, and the ratio between them (flat memory: about 1x).

    .venv/bin/python tests/benchmarks/bench_export.py [--plans 10000] [--dir DIR]

Each tree is one root with --plans (or a tenth of it) direct children, seeded with
`store.seed`. Peak memory is Python's allocations during `export_plans` (tracemalloc), so the
figure is the export's own, not the interpreter's.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
from pathlib import Path

import sqlalchemy as sa

from store.db import create_db_engine, database_url, session_scope
from store.export import ExportFormat, export_plans
from store.seed import seed_database


def widest_parent(engine: sa.Engine) -> str:
    with engine.connect() as connection:
        return connection.execute(sa.text(
            "SELECT parent_plan_id FROM plans WHERE parent_plan_id IS NOT NULL"
            " GROUP BY parent_plan_id ORDER BY count(*) DESC LIMIT 1")).scalar_one()


def measure(folder: Path, plans: int, file_format: ExportFormat) -> tuple[int, int, float]:
    """(peak bytes, plans written, seconds) of exporting a tree of about `plans` plans."""
    path = folder / f"export-{plans}.db"
    url = database_url(path)
    if not path.exists():
        seed_database(url, plans + 50, 3, wide=plans)
    engine = create_db_engine(url)
    try:
        top = widest_parent(engine)
        out = folder / f"export-{plans}.{file_format}"
        out.unlink(missing_ok=True)
        tracemalloc.start()
        started = time.perf_counter()
        try:
            result = export_plans(lambda: session_scope(engine), top, out, whole_tree=True,
                                  file_format=file_format)
            return tracemalloc.get_traced_memory()[1], result.plan_count, \
                time.perf_counter() - started
        finally:
            tracemalloc.stop()
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plans", type=int, default=10_000)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    folder = args.dir or Path(tempfile.mkdtemp(prefix="plandesk-bench-export-"))
    for file_format in ("json", "csv"):
        small = measure(folder, args.plans // 10, file_format)
        large = measure(folder, args.plans, file_format)
        print(f"{file_format}: {small[1]:,} plans peak {small[0] / 2**20:.1f} MiB "
              f"({small[2]:.1f} s); {large[1]:,} plans peak {large[0] / 2**20:.1f} MiB "
              f"({large[2]:.1f} s); peak ratio {large[0] / small[0]:.2f}x for "
              f"{large[1] / small[1]:.0f}x the plans")


if __name__ == "__main__":
    main()
