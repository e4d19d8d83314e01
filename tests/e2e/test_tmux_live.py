"""Team mode end to end: two real `plandesk` processes in tmux on one database (a SQLite file,
or one PostgreSQL database). A appends a correction by keys; B shows the new decision by itself
(no key pressed in B); then, while B has a correction modal open on the same decision, a third
process (`plandesk correct`) appends to it, and B's modal says its preview is stale and refuses
to run on it."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from tmux_driver import (
    E2E_MARKS,
    PLANDESK,
    press_and_wait_for_redraw,
    screen_of,
    tmux,
    wait_for,
    wait_until,
)

pytestmark = E2E_MARKS

PLAN = "billing/migrate-invoices"  # the demo's first root, with decisions #1 and #2
# B must show another process's commit within this (the app looks 10 times a second; the
# margin is for a loaded machine, and it is a bound on waiting, not a measured time)
SHOWN_WITHIN = 5.0


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The demo database both instances open."""
    if request.param == "sqlite":
        url = str(tmp_path / "team.db")
        env = None
    else:
        url = request.getfixturevalue("pg_url")
        env = {"PLANDESK_ARTIFACTS": str(tmp_path / "demo-artifacts")}
    subprocess.run([str(PLANDESK), "demo", url], check=True, capture_output=True,
                   env={**os.environ, **(env or {})})
    return url


@contextmanager
def instance(tmp_path: Path, url: str, who: str) -> Iterator[str]:
    """One real plandesk on `url` in its own 120x40 tmux session (named after this branch)."""
    session = f"plandesk-live-{who}-{uuid.uuid4().hex[:8]}"
    tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "40", "-c", str(tmp_path),
         "-e", "TEXTUAL_ANIMATIONS=none",
         "-e", f"PLANDESK_ARTIFACTS={tmp_path / ('artifacts-' + who)}",
         f"env -u COLUMNS -u LINES {PLANDESK} --db '{url}'; echo plandesk-exited-$?; read _")
    try:
        tmux("set-option", "-t", session, "window-size", "manual")
        tmux("resize-window", "-t", session, "-x", "120", "-y", "40")
        yield session
    finally:
        subprocess.run(["tmux", "send-keys", "-t", session, "ctrl+q"], capture_output=True)
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def keys(session: str, *pressed: str) -> None:
    for key in pressed:
        tmux("send-keys", "-t", session, key)


def to_second_decision(session: str) -> None:
    """The first root's Decisions tab, its table focused, decision #2 highlighted."""
    wait_for(session, PLAN)
    keys(session, "4")
    wait_for(session, "seq  state")
    press_and_wait_for_redraw(session, "Tab")  # focus shows only in the colours
    press_and_wait_for_redraw(session, "Down")


def decision_rationales(url: str) -> list[str]:
    engine = sa.create_engine(url if "://" in url else f"sqlite:///{url}")
    try:
        with engine.connect() as connection:
            return [str(row[0]) for row in connection.execute(sa.text(
                "SELECT d.rationale FROM decisions d JOIN plans p ON p.plan_id = d.plan_id "
                "WHERE p.namespaced_name = :n ORDER BY d.sequence"), {"n": PLAN})]
    finally:
        engine.dispose()


def plan_and_second_decision(url: str) -> tuple[str, str]:
    engine = sa.create_engine(url if "://" in url else f"sqlite:///{url}")
    try:
        with engine.connect() as connection:
            plan_id, decision_id = connection.execute(sa.text(
                "SELECT p.plan_id, d.decision_id FROM decisions d JOIN plans p"
                " ON p.plan_id = d.plan_id WHERE p.namespaced_name = :n AND d.sequence = 2"),
                {"n": PLAN}).one()
    finally:
        engine.dispose()
    return str(plan_id), str(decision_id)


def append_from(session: str, guidance: str) -> None:
    """In an instance whose Decisions table has #2 highlighted: append after it, confirmed."""
    keys(session, "a")
    wait_for(session, "Append after decision #2")
    tmux("send-keys", "-t", session, "-l", guidance)
    wait_for(session, guidance)
    keys(session, "C-s")
    wait_for(session, "Append complete")


def test_two_instances_on_one_database(shared_url: str, tmp_path: Path) -> None:
    count = len(decision_rationales(shared_url))
    with instance(tmp_path, shared_url, "a") as a, instance(tmp_path, shared_url, "b") as b:
        for session in (a, b):
            to_second_decision(session)
            wait_until(session, lambda screen: "Correct #2" not in screen and "live" in screen,
                       "the Decisions table, live")
        append_from(a, "Announce the freeze first")
        # B, untouched, shows A's new decision #3
        wait_for(b, "Correct #2", timeout=SHOWN_WITHIN)
        assert "updated" in screen_of(b)

        # B starts an append on the preview it has; A appends again before B confirms
        keys(b, "a")
        wait_for(b, "Append after decision #2")
        wait_for(b, f"Adds decision #{count + 2}")
        tmux("send-keys", "-t", b, "-l", "Mine from B")
        wait_for(b, "Mine from B")
        # a third process (`plandesk correct`, as an agent would) appends to #2 meanwhile
        plan_id, second = plan_and_second_decision(shared_url)
        subprocess.run([str(PLANDESK), "correct", plan_id, second, "--mode", "append",
                        "--guidance", "And tell support", "--db", shared_url], check=True,
                       capture_output=True, cwd=tmp_path,
                       env={**os.environ, "PLANDESK_ARTIFACTS": str(tmp_path / "artifacts-c")})
        stale = wait_for(b, "The plan changed since the preview", timeout=SHOWN_WITHIN)
        newest = f"Adds decision #{count + 3}"
        assert newest in stale or newest in wait_for(b, newest, timeout=SHOWN_WITHIN)
        keys(b, "C-s")  # what was typed for the old preview must not run unseen
        wait_for(b, "Not run: the plan changed since the preview")
        assert "Append after decision #2" in screen_of(b)  # the modal is still open
        assert decision_rationales(shared_url)[count:] == ["Announce the freeze first",
                                                       "And tell support"]
