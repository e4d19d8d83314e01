"""End to end: `y` in the real console script reaches tmux's paste buffer through OSC 52.

A tmux server of its own (`-L`), so that `set-clipboard on` changes no one else's server.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from tmux_driver import E2E_MARKS, PLANDESK, one_value, poll_until

pytestmark = E2E_MARKS


def first_root_id(db: Path) -> str:
    return one_value(db, "SELECT plan_id FROM plans"
                         " WHERE namespaced_name = 'billing/migrate-invoices'")


def test_y_lands_in_the_tmux_buffer(tmp_path: Path) -> None:
    subprocess.run([str(PLANDESK), "demo", str(tmp_path / "demo.db")], check=True,
                   capture_output=True)
    socket = f"keys-clipboard-{uuid.uuid4().hex[:8]}"

    def tmux(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["tmux", "-L", socket, *args], check=check,
                              capture_output=True, text=True)

    def wait_until(holds: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
        poll_until(holds, what, lambda: tmux("capture-pane", "-p", "-t", "keys",
                                             check=False).stdout, timeout=timeout)

    tmux("-f", "/dev/null", "new-session", "-d", "-s", "keys", "-x", "120", "-y", "40",
         "-c", str(tmp_path), "-e", "TEXTUAL_ANIMATIONS=none",
         f"env -u COLUMNS -u LINES {PLANDESK} --db demo.db; read _")
    try:
        if tmux("set-option", "-g", "set-clipboard", "on", check=False).returncode != 0:
            pytest.skip("this tmux cannot take the clipboard from applications "
                        "(set-clipboard on failed)")
        tmux("set-option", "-s", "set-clipboard", "on", check=False)
        wait_until(lambda: "billing/migrate-invoices" in tmux(
            "capture-pane", "-p", "-t", "keys").stdout, "the tree showing")
        tmux("send-keys", "-t", "keys", "y")
        expected = first_root_id(tmp_path / "demo.db")
        wait_until(lambda: "Copied" in tmux("capture-pane", "-p", "-t", "keys").stdout,
                   "the copied toast")

        def buffer() -> str:
            return tmux("show-buffer", check=False).stdout

        try:
            wait_until(lambda: buffer() == expected, "the id reaching tmux's buffer",
                       timeout=10)
        except AssertionError:
            if buffer() == "":
                print("tmux kept no buffer from OSC 52 (its terminal features do not allow "
                      "it here): skipped")
                pytest.skip("this tmux did not store OSC 52 in a buffer")
            raise
    finally:
        tmux("kill-server", check=False)
