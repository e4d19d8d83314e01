"""The footer rebuilds its keys only when the keys to show change."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Footer
from tui_states import demo_database, press, run_async, settle

from store.db import database_url
from tui.app import PlandeskApp
from tui.screens.plans import PlansScreen

SIZE = (120, 36)


def footer_keys(app: PlandeskApp) -> list[object]:
    return list(app.screen.query("FooterKey"))


@run_async
async def test_the_footer_is_built_once_per_set_of_keys(workdir: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    builds: list[str] = []
    compose = Footer.compose

    def counted(self: Footer):  # type: ignore[no-untyped-def]
        builds.append(type(self.screen).__name__)
        return compose(self)

    monkeypatch.setattr(Footer, "compose", counted)
    app = PlandeskApp(database_url(demo_database(workdir)))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, PlansScreen)
        # opening shows the keys twice at most (the first roots, then with the detail); it
        # was four rebuilds of the same keys, each mounting and styling every key again
        assert builds.count("PlansScreen") <= 2, builds
        before, built = footer_keys(app), len(builds)
        assert {key.key for key in before} >= {"slash", "question_mark"}  # type: ignore[attr-defined]
        await press(pilot, "down", "down", "up")
        assert footer_keys(app) == before and len(builds) == built
        await press(pilot, "slash")  # the filter box takes printable keys: fewer keys shown
        assert "question_mark" not in {key.key for key in footer_keys(app)}  # type: ignore[attr-defined]
        await press(pilot, "escape")
        assert "question_mark" in {key.key for key in footer_keys(app)}  # type: ignore[attr-defined]
