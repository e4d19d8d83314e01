"""End to end in tmux: quitting the real `plandesk` mid-migration, and keys after help on the
Decisions table (issue 8's defects 2 and 5)."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

from tmux_driver import (
    E2E_MARKS,
    PLANDESK,
    app_on,
    app_on_demo,
    open_and_close_help,
    press_and_wait_for_redraw,
    tmux,
    wait_for,
    wait_until_gone,
)

from store.migrations import history

pytestmark = E2E_MARKS

# enough legacy plans that revision 0003 runs for seconds: time to ask and answer mid-way
MIGRATING_PLANS = 150_000
# the revisions after the legacy 0002 shape, 0003 first
LATER = tuple(r.revision for r in history() if r.revision > "0002")


def test_quit_mid_migration_stops_at_a_whole_revision_with_status_1(tmp_path: Path) -> None:
    subprocess.run([str(PLANDESK), "seed", str(tmp_path / "legacy.db"), "--plans",
                    str(MIGRATING_PLANS), "--max-depth", "6", "--revision", "0002"],
                   check=True, capture_output=True)
    with app_on(tmp_path, "--db", "legacy.db") as session:
        wait_for(session, "This database needs to be migrated")
        tmux("send-keys", "-t", session, "Enter")
        wait_for(session, f"Migrating {len(LATER)} revisions")
        # past the backup, inside 0003: a stop now finishes 0003 and never starts 0004
        wait_for(session, "Walking every plan tree", timeout=60)
        tmux("send-keys", "-t", session, "q")
        wait_for(session, "Stop the migration?")
        tmux("send-keys", "-t", session, "s")
        screen = wait_for(session, "plandesk-exited-", timeout=120)
        assert "plandesk-exited-1" in screen
        flat = " ".join(screen.split())
        assert "migration stopped" in flat and "is at revision 0003" in flat, screen
        assert f"{', '.join(LATER[1:])} not applied" in flat

    connection = sqlite3.connect(tmp_path / "legacy.db")
    try:
        (revision,) = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        (plans,) = connection.execute("SELECT count(*) FROM plans").fetchone()
        (unsnapshotted,) = connection.execute(
            "SELECT count(*) FROM plans WHERE effective_profile_snapshot IS NULL").fetchone()
        tables = {row[0] for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        connection.close()
    assert revision == "0003"
    assert plans == MIGRATING_PLANS and unsnapshotted == 0
    assert "correction_attempts" not in tables  # 0004 never started


def test_keys_work_after_help_over_the_decisions_table(tmp_path: Path) -> None:
    """Decisions table focused -> 5 -> 4 -> ? -> escape; then q, ?, 2 and / still act."""
    with app_on_demo(tmp_path) as session:
        wait_for(session, "billing/migrate-invoices")
        tmux("send-keys", "-t", session, "4")
        wait_for(session, "Keep the monolith writable")
        # a focus move shows only in the colours of the pane borders
        press_and_wait_for_redraw(session, "Tab")
        press_and_wait_for_redraw(session, "Tab")
        tmux("send-keys", "-t", session, "5")
        wait_for(session, "none yet")
        tmux("send-keys", "-t", session, "4")
        wait_for(session, "Keep the monolith writable")
        open_and_close_help(session)
        open_and_close_help(session)  # ? still opens help
        # 2 still switches to the snapshot tab
        tmux("send-keys", "-t", session, "2")
        wait_for(session, "Effective profile snapshot")
        # / still opens an empty filter box (nothing typed earlier went into it)
        tmux("send-keys", "-t", session, "/")
        screen = wait_for(session, "search: text or id")
        assert "?2" not in screen and "q/" not in screen
        tmux("send-keys", "-t", session, "Escape")
        wait_until_gone(session, "search: text or id")
        tmux("send-keys", "-t", session, "q")
        wait_for(session, "plandesk-exited-0")
