"""Benchmark: keypress to `executing` and to `complete` for a revert of 100 decisions / 100 folders.

Not part of the test suite. It seeds a large database with `plandesk seed` (1M plans by default),
adds background decisions so the decisions table is not tiny, then for each run gives a fresh
plan 100 decisions with one artifact folder each and reverts its first decision, timing:

  preview    plan_correction() as the modal computes it (keypress -> preview on screen)
  executing  run_correction() called (confirm) -> on_state sees `executing`
  complete   run_correction() called -> attempt `complete` returned

    .venv/bin/python tests/benchmarks/bench_corrections.py [--db PATH_OR_URL] [--plans N] [--runs R]

With a PostgreSQL URL the database must be empty (seed writes a new one); artifacts go to a
temporary folder.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from ulid import ULID

from store.corrections import plan_correction, run_correction
from store.db import create_db_engine, database_url, display_name, session_scope, sqlite_path
from store.models import CorrectionState, utc_now

REPO = Path(__file__).resolve().parents[2]
DECISIONS = 100


def seed(url: str, plans: int, max_depth: int) -> None:
    path = sqlite_path(url)
    if path is not None and path.exists():
        print(f"reusing {path}")
        return
    if path is None:
        engine = create_db_engine(url)
        try:
            if sa.inspect(engine).has_table("plans"):
                print(f"reusing {display_name(url)}")
                return
        finally:
            engine.dispose()
    started = time.perf_counter()
    subprocess.run(
        [str(Path(sys.executable).with_name("plandesk")), "seed", url, "--plans", str(plans),
         "--max-depth", str(max_depth)],
        check=True, cwd=REPO,
    )
    print(f"seeded {plans:,} plans in {time.perf_counter() - started:.1f} s")


def add_background_decisions(engine: sa.Engine, per_plan: int, every: int) -> None:
    with engine.begin() as connection:
        existing = connection.execute(sa.text("SELECT count(*) FROM decisions")).scalar_one()
        if existing:
            print(f"{existing:,} decisions already present")
            return
        plan_ids = [r[0] for r in connection.execute(
            sa.text("SELECT plan_id FROM plans ORDER BY plan_id")).all()[::every]]
        now = utc_now()
        rows = [
            {"decision_id": str(ULID()), "plan_id": plan_id, "sequence": n, "phase": "execute",
             "title": f"Background decision {n}", "created_at": now}
            for plan_id in plan_ids for n in range(1, per_plan + 1)
        ]
        for start in range(0, len(rows), 20_000):
            connection.execute(
                sa.text("INSERT INTO decisions (decision_id, plan_id, sequence, phase, title, "
                        "created_at) VALUES (:decision_id, :plan_id, :sequence, :phase, "
                        ":title, :created_at)"),
                rows[start:start + 20_000],
            )
    print(f"added {len(rows):,} background decisions")


def prepare_plan(engine: sa.Engine, artifacts: Path, run: int) -> tuple[str, str]:
    """A plan from the seeded forest, given 100 fresh decisions with artifact folders."""
    with engine.begin() as connection:
        plan_id = connection.execute(
            sa.text("SELECT plan_id FROM plans WHERE plan_id NOT IN "
                    "(SELECT plan_id FROM decisions) ORDER BY plan_id DESC LIMIT 1 OFFSET :n"),
            {"n": run * 7},
        ).scalar_one()
        now = utc_now()
        first = None
        previous = None
        for number in range(1, DECISIONS + 1):
            decision_id = str(ULID())
            relative = f"bench-{run}/{number:03d}"
            folder = artifacts / relative
            folder.mkdir(parents=True)
            (folder / "decision.md").write_text(f"decision {number}\n")
            connection.execute(
                sa.text("INSERT INTO decisions (decision_id, plan_id, parent_decision_id, "
                        "sequence, phase, title, artifacts_path, created_at) VALUES (:id, :plan,"
                        " :parent, :seq, 'execute', :title, :path, :now)"),
                {"id": decision_id, "plan": plan_id, "parent": previous, "seq": number,
                 "title": f"Decision {number}", "path": relative, "now": now},
            )
            first = first or decision_id
            previous = decision_id
    assert first is not None
    return plan_id, first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=str(Path(tempfile.gettempdir()) / "plandesk-bench.db"))
    parser.add_argument("--plans", type=int, default=1_000_000)
    parser.add_argument("--max-depth", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--background-every", type=int, default=4,
                        help="give every Nth plan 3 background decisions")
    args = parser.parse_args()

    url = database_url(args.db)
    seed(url, args.plans, args.max_depth)
    engine = create_db_engine(url)
    add_background_decisions(engine, 3, args.background_every)
    with tempfile.TemporaryDirectory(prefix="plandesk-bench-") as folder:
        artifacts = Path(folder) / "artifacts"
        archive = artifacts / "_archive"
        figures: dict[str, list[float]] = {"preview": [], "executing": [], "complete": []}
        for run in range(args.runs):
            plan_id, decision_id = prepare_plan(engine, artifacts, run)
            started = time.perf_counter()
            with session_scope(engine) as session:
                preview = plan_correction(session, plan_id, decision_id, "revert",
                                          artifacts_root=artifacts, archive_root=archive)
            figures["preview"].append(time.perf_counter() - started)
            assert len(preview.reverted) == DECISIONS and len(preview.moves) == DECISIONS

            marks: dict[str, float] = {}
            started = time.perf_counter()
            attempt = run_correction(
                engine, plan_id, decision_id, "revert", "Benchmark guidance",
                artifacts_root=artifacts, archive_root=archive,
                on_state=lambda a, marks=marks: marks.setdefault(a.state.value,
                                                                 time.perf_counter()),
            )
            figures["complete"].append(time.perf_counter() - started)
            figures["executing"].append(marks["executing"] - started)
            assert attempt.state == CorrectionState.COMPLETE, attempt.failure_reason
            moved = sum(1 for _ in (archive / attempt.correction_attempt_id).glob("bench-*/*"))
            assert moved == DECISIONS, moved
        engine.dispose()

    print(f"\n{args.plans:,} plans, revert of {DECISIONS} decisions / {DECISIONS} folders, "
          f"{args.runs} runs ({make_backend(url)})")
    for name, values in figures.items():
        print(f"  to {name:<10} median {statistics.median(values) * 1000:7.1f} ms   "
              f"max {max(values) * 1000:7.1f} ms")


def make_backend(url: str) -> str:
    return sa.engine.make_url(url).get_backend_name()


if __name__ == "__main__":
    main()
