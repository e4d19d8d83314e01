"""An open correction modal and other writers' commits (Pilot, a real SQLite file and the real
PostgreSQL): a change that cannot touch its preview leaves it as it is (on PostgreSQL it is
not even computed again); one that leaves the preview the same changes nothing on screen and
confirm runs; one that changes what confirming would do says so, and the next confirm is
refused once. (A stale preview after a correction elsewhere: test_live.)"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from test_live import PLAN, append_modal, decision_ids, live_app, plan_id_of, writer
from textual.content import Content
from textual.widgets import Static
from tui_states import run_async, until

import tui.screens.correction as correction_screen
from tui.app import PlandeskApp

__all__ = ["writer"]  # a fixture, shared with test_live

SIZE = (120, 36)
OTHER_TREE = "search/reindex-catalog"


def previewing(app: PlandeskApp) -> bool:
    return any(w.group == "preview" and not w.is_finished for w in app.workers)


@run_async
async def test_an_open_modal_changes_only_when_its_preview_does(
        demo_url: str, writer: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    computed: list[str] = []  # every preview computed, by plan
    plan_correction = correction_screen.plan_correction

    def counting(session: Any, plan_id: str, *args: Any, **kwargs: Any) -> Any:
        computed.append(plan_id)
        return plan_correction(session, plan_id, *args, **kwargs)

    monkeypatch.setattr(correction_screen, "plan_correction", counting)
    app = live_app(demo_url)
    root_id = plan_id_of(writer, PLAN)
    other_root = plan_id_of(writer, OTHER_TREE)
    known = decision_ids(writer, root_id)
    second, count = known[1], len(known)
    postgresql = writer.dialect.name == "postgresql"
    async with app.run_test(size=SIZE) as pilot:
        modal = await append_modal(pilot, app, second)
        await until(pilot, lambda: modal.preview is not None and not previewing(app),
                    "the preview")
        box = modal.query_one("#correction-preview", Static)
        error = modal.query_one("#correction-error", Static)
        shown = box.content
        assert isinstance(shown, Content) and "stays in execute" in shown.plain
        live = app.live
        assert live is not None

        def untouched() -> None:
            assert box.content is shown  # not even redrawn with the same text
            assert not error.display and modal.changed_since is None
            assert app.screen is modal and modal.query_one("#guidance").has_focus

        # another tree's plan: nothing of the preview can have changed
        seen, previews, taken_in = live.changes_seen, len(computed), modal.preview
        with writer.begin() as connection:
            connection.execute(sa.text("UPDATE plans SET description = 'elsewhere' "
                                       "WHERE plan_id = :p"), {"p": other_root})
        if postgresql:  # its notification names the other plan: nothing is computed
            await until(pilot, lambda: live.changes_seen > seen, "the change heard")
            assert len(computed) == previews and modal.preview is taken_in
        else:  # SQLite says only that something changed: computed again, and taken in
            await until(pilot, lambda: modal.preview is not taken_in and not previewing(app),
                        "the preview computed again")
        untouched()

        # its own plan, in a way the preview does not show: computed again, shown as it was
        taken_in = modal.preview
        with writer.begin() as connection:
            connection.execute(sa.text("UPDATE plans SET description = 'reworded' "
                                       "WHERE plan_id = :p"), {"p": root_id})
        await until(pilot, lambda: modal.preview is not taken_in and not previewing(app),
                    "the preview computed again and taken in")
        untouched()

        # its own plan, in a way that changes what confirming does: said, confirm refused once
        with writer.begin() as connection:
            connection.execute(sa.text("UPDATE plans SET phase = 'apply' WHERE plan_id = :p"),
                               {"p": root_id})
        await until(pilot, lambda: modal.changed_since is not None and error.display,
                    "the modal saying the preview changed")
        assert "The plan changed since the preview" in str(error.render())
        assert isinstance(box.content, Content) and "stays in apply" in box.content.plain
        await pilot.press("ctrl+s")
        assert app.screen is modal and "Not run" in str(error.render())
        await pilot.press("ctrl+s")  # on the new preview, seen: runs
        await until(pilot, lambda: len(decision_ids(writer, root_id)) == count + 1,
                    "the confirmed correction")
        await until(pilot, lambda: any(n.title == "Correction complete"
                                       for n in app._notifications), "the toast")
