"""Fixtures for the app tests: a temporary working folder holding the database, so that
paths on screen are short and the same on every run; no animations, no cursor blink."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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
