"""End to end: the real `plandesk` console script in tmux on a demo database, driven by keys
and read back with `capture-pane`."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

PLANDESK = Path(sys.executable).with_name("plandesk")


def tmux(*args: str) -> str:
    return subprocess.run(
        ["tmux", *args], check=True, capture_output=True, text=True
    ).stdout


def wait_for(session: str, text: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = tmux("capture-pane", "-p", "-t", session)
        if text in screen:
            return screen
        time.sleep(0.1)
    raise AssertionError(f"{text!r} did not appear; the screen was:\n{screen}")


def wait_until_gone(session: str, text: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text not in tmux("capture-pane", "-p", "-t", session):
            return
        time.sleep(0.1)
    raise AssertionError(f"{text!r} stayed on screen")


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_browse_demo_in_tmux(tmp_path: Path) -> None:
    subprocess.run([str(PLANDESK), "demo", str(tmp_path / "demo.db")], check=True,
                   capture_output=True)
    session = f"plandesk-e2e-{uuid.uuid4().hex[:8]}"
    tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "40", "-c", str(tmp_path),
         "-e", "TEXTUAL_ANIMATIONS=none",
         f"{PLANDESK} --db demo.db; echo plandesk-exited-$?; sleep 30")
    try:
        tmux("set-option", "-t", session, "window-size", "manual")
        tmux("resize-window", "-t", session, "-x", "120", "-y", "40")
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
        tmux("send-keys", "-t", session, "?")
        wait_for(session, "plandesk — keys")
        tmux("send-keys", "-t", session, "Escape")
        wait_until_gone(session, "plandesk — keys")
        tmux("send-keys", "-t", session, "q")
        wait_for(session, "plandesk-exited-0")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
