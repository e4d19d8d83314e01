"""Pilot test: migrating on a full disk (a real 20 MB tmpfs) shows what happened in words, the
failed revision's bar does not claim it finished, and the database keeps its revision."""

from __future__ import annotations

import shutil

import pytest
from disk_space import files_in, fill, legacy_seed, make_room, revision_of, small_disk
from textual.widgets import Static
from tui_states import press, run_async, settle

from store.db import database_url
from tui.app import PlandeskApp
from tui.screens.migration import MigrationScreen
from tui.widgets.revision_progress import RevisionProgress

__all__ = ["legacy_seed", "small_disk"]  # fixtures, used by name

SIZE = (120, 36)


@pytest.mark.parametrize(("keys", "expected"), [
    (("b", "enter"), "The disk holding legacy.db is full. Free some space there and try again."),
    (("enter",), "Not enough free space for a backup of legacy.db"),
])
@run_async
async def test_migration_on_a_full_disk_explains_itself(
    small_disk, legacy_seed, monkeypatch, keys, expected
) -> None:
    monkeypatch.chdir(small_disk)
    path = small_disk / "legacy.db"
    shutil.copyfile(legacy_seed, path)
    fill(small_disk, leave=1024 * 1024)
    app = PlandeskApp(database_url(path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, MigrationScreen)
        await press(pilot, *keys)
        help_text = str(app.screen.query_one("#migration-help", Static).render())
        assert help_text.startswith(f"Migration failed: {expected}"), help_text
        assert "left at revision 0002" in help_text
        assert "Error" not in help_text and "sqlite" not in help_text.lower()
        for row in app.screen.query(RevisionProgress):
            assert row.bar.percentage in (None, 0), row.revision  # nothing was applied
        await pilot.press("escape")
    make_room(small_disk)
    assert files_in(small_disk) == {"legacy.db"}
    assert revision_of(path) == "0002"
