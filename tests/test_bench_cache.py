"""The TUI benchmarks' cached database is brought to head when an older plandesk seeded it
(a file behind head opens the migration screen, so the benchmarks would time the wrong app)."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

from store.revisions import head_revision
from store.seed import seed_database

sys.path.insert(0, str(Path(__file__).parent / "benchmarks"))
import bench_tui


def test_a_cached_database_behind_head_is_migrated_and_keeps_its_plans(tmp_path: Path) -> None:
    cached = tmp_path / "bench-40.db"
    seed_database(f"sqlite:///{cached}", 40, 3, revision="0005")
    assert bench_tui.stored_revision(cached) == "0005"

    assert bench_tui.seeded(tmp_path, 40) == cached

    assert bench_tui.stored_revision(cached) == head_revision()
    with sqlite3.connect(cached) as connection:
        assert connection.execute("SELECT count(*) FROM plans").fetchone() == (40,)
