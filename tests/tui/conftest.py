"""Fixtures for the app tests: a temporary working folder holding the database, so that
paths on screen are short and the same on every run; no animations, no cursor blink."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from demo_copy import copy_demo

from store.db import database_url
from tui.app import PlandeskApp

os.environ["TEXTUAL_ANIMATIONS"] = "none"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")
    return tmp_path


@pytest.fixture(autouse=True)
def no_live_refresh(monkeypatch: pytest.MonkeyPatch) -> None:
    """Live refresh watches the database and redraws after any commit, the test's own
    included; tests not about it run without it so that what they check stays put
    (test_live.py and the tmux tests turn it on)."""
    monkeypatch.setattr(PlandeskApp, "LIVE_UPDATES", False)


@pytest.fixture
def snap_compare(snap_compare, request: pytest.FixtureRequest):
    """pytest-textual-snapshot's `snap_compare`, whose failure shows which rows differ (the
    plugin's HTML report stays on the machine that ran the tests)."""
    import pickle

    from pytest_textual_snapshot import node_to_report_path
    from snapshot_text import screen_difference

    def compare(*args: object, **kwargs: object) -> bool:
        if snap_compare(*args, **kwargs):
            return True
        data = pickle.loads(node_to_report_path(request.node).read_bytes())
        expected_svg, actual_svg, snapshot_exists = data[1], data[2], data[9]
        if not snapshot_exists:
            return False
        pytest.fail("the screen differs from its snapshot:\n"
                    + screen_difference(expected_svg, actual_svg), pytrace=False)

    return compare


@pytest.fixture(params=["sqlite", "postgresql"])
def demo_url(request: pytest.FixtureRequest, workdir: Path,
             monkeypatch: pytest.MonkeyPatch) -> str:
    """The demo database on each backend."""
    if request.param == "sqlite":
        copy_demo(workdir / "demo.db")
        return database_url("demo.db")
    url: str = request.getfixturevalue("pg_demo_url")  # its artifacts in workdir/artifacts
    return url
