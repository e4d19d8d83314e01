"""End to end: the real `plandesk` console script in tmux on a demo database, driven by keys
and read back with `capture-pane`."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tmux_driver import (
    E2E_MARKS,
    app_on_demo,
    one_value,
    open_and_close_help,
    press_and_wait_for_redraw,
    tmux,
    wait_for,
    wait_until_gone,
)

pytestmark = E2E_MARKS


def test_browse_demo_in_tmux(tmp_path: Path) -> None:
    with app_on_demo(tmp_path) as session:
        wait_for(session, "billing/migrate-invoices")
        # expand the first root, move to its first child, expand that too
        tmux("send-keys", "-t", session, "Right")
        wait_for(session, "billing/design-schema")
        tmux("send-keys", "-t", session, "Down", "Right")
        screen = wait_for(session, "billing/write-ddl")
        assert "billing/review-schema" in screen
        # the snapshot tab of billing/design-schema, with its drift
        tmux("send-keys", "-t", session, "2")
        screen = wait_for(session, "Effective profile snapshot")
        screen = wait_for(session, "Drift")
        assert "billing/design-schema" in screen
        assert "Captured when the plan was created" in screen
        # help, then quit
        open_and_close_help(session)
        tmux("send-keys", "-t", session, "q")
        wait_for(session, "plandesk-exited-0")


def second_decision_id(db: Path) -> str:
    return one_value(db, "SELECT d.decision_id FROM decisions d JOIN plans p"
                         " ON p.plan_id = d.plan_id WHERE p.namespaced_name ="
                         " 'billing/migrate-invoices' AND d.sequence = 2")


def test_revert_a_decision_in_tmux(tmp_path: Path) -> None:
    with app_on_demo(tmp_path) as session:
        wait_for(session, "billing/migrate-invoices")
        # the Decisions tab of the first root; tab focuses its table; down to #2
        tmux("send-keys", "-t", session, "4")
        wait_for(session, "Keep the monolith writable")
        press_and_wait_for_redraw(session, "Tab")  # the decisions table takes the focus
        tmux("send-keys", "-t", session, "Down")
        # the pane under the table follows the highlighted decision
        wait_for(session, f"Decision {second_decision_id(tmp_path / 'demo.db')}")
        tmux("send-keys", "-t", session, "r")
        screen = wait_for(session, "Revert decision #2 and the 1 after it")
        # the modal names the plan, with its full id (the demo's ids are fixed)
        assert "billing/migrate-invoices  01KJPWT0S01JAWFV71SRD9EM17" in screen
        screen = wait_for(session, "Moves 2 artifact folders to the archive")
        assert "billing/02" in screen and "Reverts 2 decisions" in screen
        tmux("send-keys", "-t", session, "-l", "Keep it [b]writable[/b] for a week")
        wait_for(session, "Keep it [b]writable[/b] for a week")
        tmux("send-keys", "-t", session, "C-s")
        screen = wait_for(session, "new decision #4")
        assert "Revert complete" in screen
        wait_until_gone(session, "Revert decision #2 and the 1 after it")
        tmux("send-keys", "-t", session, "5")
        screen = wait_for(session, "complete  revert")
        assert "Keep it [b]writable[/b]" in screen  # guidance shown literally, not as markup
        tmux("send-keys", "-t", session, "q")
        wait_for(session, "plandesk-exited-0")

    connection = sqlite3.connect(tmp_path / "demo.db")
    try:
        plan_id, state = connection.execute(
            "SELECT plan_id, processing_state FROM plans "
            "WHERE namespaced_name = 'billing/migrate-invoices'").fetchone()
        decisions = connection.execute(
            "SELECT sequence, state, rationale FROM decisions WHERE plan_id = ? "
            "ORDER BY sequence", (plan_id,)).fetchall()
        attempts = connection.execute(
            "SELECT mode, state, guidance, archived_artifacts_path FROM correction_attempts"
            " WHERE plan_id = ?", (plan_id,)).fetchall()
    finally:
        connection.close()
    assert state == "queued"
    assert [(d[0], d[1]) for d in decisions] == [
        (1, "active"), (2, "reverted"), (3, "reverted"), (4, "active")]
    assert decisions[3][2] == "Keep it [b]writable[/b] for a week"
    [(mode, attempt_state, guidance, archived)] = attempts
    assert (mode, attempt_state, guidance) == (
        "revert", "complete", "Keep it [b]writable[/b] for a week")
    assert not (tmp_path / "demo-artifacts" / "billing" / "02").exists()
    assert (tmp_path / "demo-artifacts" / archived / "billing" / "02" / "decision.md").exists()
