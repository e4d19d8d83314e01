"""Driving the real `plandesk` console script in tmux: start it in a session of a fixed size,
send keys, and wait on what `capture-pane` shows (the only waiting the e2e tests do)."""

from __future__ import annotations

import shlex
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

PLANDESK = Path(sys.executable).with_name("plandesk")
HELP_TITLE = "plandesk — keys"

# every e2e module's `pytestmark`
E2E_MARKS = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


def tmux(*args: str) -> str:
    return subprocess.run(
        ["tmux", *args], check=True, capture_output=True, text=True
    ).stdout


def screen_of(session: str, *, styled: bool = False) -> str:
    """What the pane shows now; `styled` keeps the colours (focus shows only in those)."""
    return tmux("capture-pane", "-p", *(["-e"] if styled else []), "-t", session)


def poll_until(holds: Callable[[], bool], what: str, screen: Callable[[], str], *,
               timeout: float = 20.0) -> None:
    """Poll until `holds()`, else fail showing `screen()`; the only waiting these tests do."""
    deadline = time.monotonic() + timeout
    while not holds():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen; the screen was:\n{screen()}")
        time.sleep(0.1)  # poll interval, not a wait for anything in particular


def wait_until(session: str, holds: Callable[[str], bool], what: str, *, styled: bool = False,
               timeout: float = 20.0) -> str:
    """Poll the pane until `holds(screen)` and return that screen."""
    shown = [""]

    def now_holds() -> bool:
        shown[0] = screen_of(session, styled=styled)
        return holds(shown[0])

    poll_until(now_holds, what, lambda: shown[0], timeout=timeout)
    return shown[0]


def wait_for(session: str, text: str, *, timeout: float = 20.0) -> str:
    return wait_until(session, lambda screen: text in screen, f"{text!r} appearing",
                      timeout=timeout)


def wait_until_gone(session: str, text: str) -> None:
    wait_until(session, lambda screen: text not in screen, f"{text!r} leaving")


def open_and_close_help(session: str) -> None:
    """`?` shows the help screen and escape closes it again."""
    tmux("send-keys", "-t", session, "?")
    wait_for(session, HELP_TITLE)
    tmux("send-keys", "-t", session, "Escape")
    wait_until_gone(session, HELP_TITLE)


def one_value(db: Path, query: str) -> str:
    """The single value `query` reads from the SQLite file `db` (ids the tests look up)."""
    connection = sqlite3.connect(db)
    try:
        (value,) = connection.execute(query).fetchone()
    finally:
        connection.close()
    return str(value)


def press_and_wait_for_redraw(session: str, key: str) -> None:
    """Send a key and wait until the screen, colours included, has answered it."""
    before = screen_of(session, styled=True)
    tmux("send-keys", "-t", session, key)
    wait_until(session, lambda screen: screen != before, f"a redraw after {key}", styled=True)


@contextmanager
def app_on(tmp_path: Path, *args: str, width: int = 120, height: int = 40) -> Iterator[str]:
    """The real console script with `args`, run in tmp_path in a width x height tmux session.

    When it exits, the pane shows "plandesk-exited-<status>" until the session is killed.
    """
    session = f"plandesk-e2e-{uuid.uuid4().hex[:8]}"
    command = " ".join(shlex.quote(part) for part in (str(PLANDESK), *args))
    # Textual sizes itself with shutil.get_terminal_size(), which believes COLUMNS/LINES
    # over the terminal; a tmux server started from inside pytest can hand stale ones down.
    tmux("new-session", "-d", "-s", session, "-x", str(width), "-y", str(height),
         "-c", str(tmp_path), "-e", "TEXTUAL_ANIMATIONS=none",
         # `read` keeps the pane (and the exit status on it) until the session is killed
         f"env -u COLUMNS -u LINES {command}; echo plandesk-exited-$?; read _")
    try:
        tmux("set-option", "-t", session, "window-size", "manual")
        tmux("resize-window", "-t", session, "-x", str(width), "-y", str(height))
        yield session
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


@contextmanager
def app_on_demo(tmp_path: Path) -> Iterator[str]:
    """The real console script on a new demo database in a 120x40 tmux session."""
    subprocess.run([str(PLANDESK), "demo", str(tmp_path / "demo.db")], check=True,
                   capture_output=True)
    with app_on(tmp_path, "--db", "demo.db") as session:
        yield session
