"""Screen snapshots of every screen and main state at 80x24 and 160x48 (fixed data)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tui_states import SIZES, STATES, State, locked_database

import store.db


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("state", STATES, ids=lambda s: s.name)
def test_screen(snap_compare, workdir: Path, state: State, size: tuple[int, int]) -> None:
    assert snap_compare(state.app(workdir), terminal_size=size, run_before=state.run_before())


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_error_locked(
    snap_compare, workdir: Path, monkeypatch: pytest.MonkeyPatch, size: tuple[int, int]
) -> None:
    monkeypatch.setattr(store.db, "BUSY_TIMEOUT_MS", 50)
    name, holder = locked_database(workdir)
    state = State("error_locked", lambda folder: name)
    try:
        assert snap_compare(state.app(workdir), terminal_size=size,
                            run_before=state.run_before())
    finally:
        holder.rollback() if holder.in_transaction else None
        holder.close()
