"""End to end in tmux: the real `plandesk` with --config: a bad file is told and the app starts
anyway; a good one's read_only and keymap are in effect."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tmux_driver import E2E_MARKS, PLANDESK, app_on, screen_of, tmux, wait_for, wait_until_gone

pytestmark = E2E_MARKS


@contextmanager
def app_with_config(tmp_path: Path, config_text: str) -> Iterator[str]:
    """`plandesk --config config.toml --db demo.db` on a new demo, in tmux."""
    subprocess.run([str(PLANDESK), "demo", str(tmp_path / "demo.db")], check=True,
                   capture_output=True)
    (tmp_path / "config.toml").write_text(config_text)
    with app_on(tmp_path, "--config", "config.toml", "--db", "demo.db") as session:
        yield session


def test_a_bad_config_file_is_told_and_the_app_starts_with_defaults(tmp_path: Path) -> None:
    with app_with_config(tmp_path, 'theme = "nord"\nread_only = yes\n') as session:
        screen = wait_for(session, "not valid TOML")
        assert "line 2" in screen
        wait_for(session, "billing/migrate-invoices")  # the plans are there all the same
        assert "plandesk (read-only)" not in screen_of(session)
        tmux("send-keys", "-t", session, "q")
        wait_for(session, "plandesk-exited-0")


def test_read_only_and_a_rebound_quit_key_from_the_config_file(tmp_path: Path) -> None:
    config = 'read_only = true\n[keymap]\n"app.quit" = "x"\n'
    with app_with_config(tmp_path, config) as session:
        wait_for(session, "billing/migrate-invoices")
        assert "plandesk (read-only)" in screen_of(session)
        tmux("send-keys", "-t", session, "q")  # no longer quits: the app still answers ?
        tmux("send-keys", "-t", session, "?")
        wait_for(session, "escape closes this help")
        assert "plandesk-exited" not in screen_of(session)
        tmux("send-keys", "-t", session, "Escape")
        wait_until_gone(session, "escape closes this help")  # else ESC x arrives as alt+x
        tmux("send-keys", "-t", session, "x")
        wait_for(session, "plandesk-exited-0")
