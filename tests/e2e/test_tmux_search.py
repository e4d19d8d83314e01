"""End to end in tmux: keys typed into the real terminal right after `/` all reach the
filter (issue 11: "BILLING/Write" was searched as "ILLING/Write"), and enter on the match
shows it in the full tree."""

from __future__ import annotations

from pathlib import Path

from tmux_driver import E2E_MARKS, app_on_demo, tmux, wait_for, wait_until_gone

pytestmark = E2E_MARKS


def test_keys_typed_in_one_burst_after_slash_all_reach_the_filter(tmp_path: Path) -> None:
    with app_on_demo(tmp_path) as session:
        wait_for(session, "billing/migrate-invoices")
        # one write to the terminal: the app reads `/` and the text together
        tmux("send-keys", "-t", session, "-l", "/BILLING/Write")
        screen = wait_for(session, "Plans: 1 match")
        assert "BILLING/Write" in screen and "billing/write-ddl" in screen
        tmux("send-keys", "-t", session, "Enter")  # to the matches
        tmux("send-keys", "-t", session, "Enter")  # the match, in the full tree
        wait_until_gone(session, "Plans: 1 match")
        screen = wait_for(session, "backfill-invoices")  # the full tree again
        assert "BILLING/Write" not in screen
        tmux("send-keys", "-t", session, "q")
