"""Two `plandesk db upgrade` processes on one PostgreSQL database take turns, never collide."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from store import migrations
from store.migration_lock import MIGRATION_LOCK_KEY

PLANDESK = [sys.executable, "-c", "from tui.cli import main; main()"]
REPO = Path(__file__).resolve().parent.parent
PATIENCE_S = 120  # only a guard against hanging forever; the tests wait on what they read


def upgrade_process(url: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*PLANDESK, "db", "upgrade", "--db", url],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def read_stderr_until(process: subprocess.Popen[str], wanted: str) -> str:
    """Lines of stderr up to the one containing `wanted` (fails if the process ends first)."""
    assert process.stderr is not None
    seen = ""
    deadline = time.monotonic() + PATIENCE_S
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            pytest.fail(f"stderr ended without {wanted!r}: {seen!r}")
        seen += line
        if wanted in line:
            return seen
    pytest.fail(f"no {wanted!r} on stderr: {seen!r}")


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=PATIENCE_S)
    return process.returncode, out, err


def current_revision(url: str) -> str | None:
    return migrations.inspect_database(url).current


def test_second_upgrade_waits_for_the_first_then_finds_head(pg_url):
    """While the migration lock is held, both upgrades wait, change nothing, and say so; once it
    is released one migrates to head and the other reports it already there."""
    holder_engine = sa.create_engine(pg_url)
    holder = holder_engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    holder.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
    first = second = None
    try:
        first = upgrade_process(pg_url)
        read_stderr_until(first, "waiting for another migration")
        second = upgrade_process(pg_url)
        read_stderr_until(second, "waiting for another migration")
        assert current_revision(pg_url) is None  # nothing written while the lock is held
        holder.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_KEY})
        results = [finish(first), finish(second)]
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
        holder.close()
        holder_engine.dispose()
    for code, _out, err in results:
        assert code == 0, err
        assert "Traceback" not in err
    outputs = sorted(out for _code, out, _err in results)
    assert sum("already at head" in out for out in outputs) == 1, outputs
    assert current_revision(pg_url) == migrations.head_revision()


def test_two_upgrades_started_a_moment_apart_both_succeed(pg_url):
    """The issue's race: the second run started 0.3 s after the first."""
    first = upgrade_process(pg_url)
    time.sleep(0.3)  # the race being reproduced, not a wait for a result
    second = upgrade_process(pg_url)
    results = [finish(first), finish(second)]
    for code, _out, err in results:
        assert code == 0, err
        assert "Traceback" not in err and "UniqueViolation" not in err
    assert sum("already at head" in out for _code, out, _err in results) == 1, results
    assert current_revision(pg_url) == migrations.head_revision()


def test_lock_is_released_after_a_migration(pg_url):
    """An upgrade (here the app's per-revision calls) leaves the lock free for the next one."""
    for revision in migrations.known_revisions():
        migrations.upgrade(pg_url, revision)
    engine = sa.create_engine(pg_url)
    try:
        with engine.connect() as connection:
            taken = connection.execute(
                sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": MIGRATION_LOCK_KEY}
            ).scalar_one()
            assert taken
            connection.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_KEY})
    finally:
        engine.dispose()
