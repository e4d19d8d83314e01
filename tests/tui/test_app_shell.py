"""Pilot tests of the App around the screens: the migration screen (progress, quitting during a
migration), `?` help for where the user is, ctrl+c, and the import rules of `tui`."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from textual.app import App, ComposeResult
from textual.widgets import Input, Label
from tui_states import demo_database, legacy_database, press, run_async, settle

from store import migrations
from store.db import database_url
from store.migrations import Revision
from store.seed import seed_database
from tui.app import PlandeskApp
from tui.screens.help import HelpScreen
from tui.screens.migration import MigrationScreen
from tui.screens.plans import PlansScreen
from tui.screens.stop_migration import StopMigrationModal
from tui.widgets.revision_progress import RevisionProgress

SIZE = (120, 36)
SLOW_PLANS = 3_000
# each progress report is held this long on the worker thread, so that a migration lasts long
# enough to be watched and interrupted however fast the machine is
REPORT_PACE_S = 0.15


def shown_keys(app: PlandeskApp) -> dict[str, str]:
    """What the footer offers now (key -> description): one key per action, as Footer does."""
    seen_actions: set[str] = set()
    keys: dict[str, str] = {}
    for key, active in app.screen.active_bindings.items():
        if active.binding.show and active.binding.action not in seen_actions:
            seen_actions.add(active.binding.action)
            keys[active.binding.key_display or key] = active.binding.description
    return keys


def slow_legacy_database(folder: Path, monkeypatch) -> Path:
    """A legacy database whose migration reports progress at a walking pace."""
    real_upgrade = migrations.upgrade

    def paced_upgrade(url, target="head", *, progress=None, **kwargs):
        def paced(event):
            if progress is not None:
                progress(event)
            time.sleep(REPORT_PACE_S)

        return real_upgrade(url, target, progress=paced, **kwargs)

    monkeypatch.setattr(migrations, "upgrade", paced_upgrade)
    path = folder / "slow.db"
    seed_database(database_url(path), SLOW_PLANS, 5, revision="0002")
    return path


def title_of(app: PlandeskApp) -> str:
    return str(app.screen.query_one("#migration-title").render())


@run_async
async def test_footer_before_migrating_shows_only_keys_that_work(workdir) -> None:
    app = PlandeskApp(database_url(legacy_database(workdir)))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, MigrationScreen)
        assert title_of(app) == "This database needs to be migrated"
        keys = shown_keys(app)
        assert keys["enter"] == "Migrate"
        assert keys["b"] == "Backup on/off"
        assert keys["esc"] == "Quit without changes"
        assert "Stop…" not in keys.values()
        backup = app.screen.query_one("#backup")
        await pilot.press("b")
        assert backup.value is False  # type: ignore[attr-defined]


@run_async
async def test_backup_key_is_not_offered_when_there_is_nothing_to_back_up(workdir) -> None:
    url = database_url(workdir / "empty.db")
    (workdir / "empty.db").touch()
    app = PlandeskApp(url)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, MigrationScreen)
        assert "b" not in shown_keys(app)


@run_async
async def test_migrating_says_so_and_reports_rows_then_opens_plans(workdir, monkeypatch) -> None:
    path = slow_legacy_database(workdir, monkeypatch)
    app = PlandeskApp(database_url(path))
    headings: set[str] = set()
    steps: set[str] = set()
    footers: list[dict[str, str]] = []
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, MigrationScreen)
        await pilot.press("enter")
        while not isinstance(app.screen, PlansScreen):
            if app.screen is screen and screen.running:
                headings.add(title_of(app))
                footers.append(shown_keys(app))
                steps.update(row.step_text for row in screen.query(RevisionProgress))
            await pilot.pause(0.02)
        await settle(pilot)
    pending = [r for r in migrations.history() if r.revision > "0002"]
    assert f"Migrating {len(pending)} revisions…" in headings
    assert any("Copying plans into the new shape: " in s and f"/{SLOW_PLANS:,} rows" in s
               for s in steps), steps
    assert any(s.startswith("done in ") for s in steps)
    # while it runs: no enter, no backup toggle, and the quit keys say what they will do
    assert footers and all("enter" not in f and "b" not in f for f in footers)
    assert all(f.get("esc") == "Stop…" for f in footers)


@run_async
async def test_step_text_moves_every_second_without_progress_reports(workdir) -> None:
    now = [100.0]

    class OneRow(App[None]):
        def compose(self) -> ComposeResult:
            yield RevisionProgress(Revision("0003", "Align plans"), clock=lambda: now[0])

    app = OneRow()
    async with app.run_test() as pilot:
        row = app.query_one(RevisionProgress)
        row.started()
        row.rows("Checking foreign keys", 0, 0)
        seen = [row.step_text]
        for _ in range(3):
            now[0] += 1.0
            row.tick()
            await pilot.pause()
            seen.append(row.step_text)
        assert seen == [f"Checking foreign keys · {n} s" for n in range(4)]
        assert app.query_one(".revision-step", Label).display


async def _quit_during_migration(
    workdir: Path, monkeypatch, key: str, answer: str
) -> tuple[PlandeskApp, Path]:
    path = slow_legacy_database(workdir, monkeypatch)
    app = PlandeskApp(database_url(path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, MigrationScreen)
        await pilot.press("enter")
        await pilot.press(key)
        assert isinstance(app.screen, StopMigrationModal), (
            f"{key} during a migration must ask first")
        text = " ".join(str(s.render()) for s in app.screen.query("Static"))
        assert "Stop the migration?" in text and "0003" in text
        await pilot.press(answer)
        # a stop ends in the App exiting by itself (status 1); keeping going, in the plans
        while app.is_running and (answer != "escape" or screen.running):
            await pilot.pause(0.02)
        if answer == "escape":  # kept going: the plans open as after any migration
            await settle(pilot)
            assert isinstance(app.screen, PlansScreen)
    return app, path


@run_async
async def test_q_during_migration_asks_and_stop_leaves_a_whole_revision(
    workdir, monkeypatch
) -> None:
    app, path = await _quit_during_migration(workdir, monkeypatch, "q", "s")
    assert app.return_code == 1
    assert_stopped_at_a_whole_revision(path)


def assert_stopped_at_a_whole_revision(path: Path) -> None:
    """Past the legacy 0002, short of head, and exactly the later revisions left to apply."""
    status = migrations.inspect_database(database_url(path))
    assert status.current is not None and "0002" < status.current < status.head
    assert [r.revision for r in status.pending] == [
        r.revision for r in migrations.history() if r.revision > status.current]


@run_async
async def test_ctrl_c_during_migration_asks_too(workdir, monkeypatch) -> None:
    app, path = await _quit_during_migration(workdir, monkeypatch, "ctrl+c", "s")
    assert app.return_code == 1
    assert_stopped_at_a_whole_revision(path)


@run_async
async def test_escape_during_migration_then_keep_going_finishes(workdir, monkeypatch) -> None:
    _app, path = await _quit_during_migration(workdir, monkeypatch, "escape", "escape")
    assert migrations.inspect_database(database_url(path)).up_to_date


@run_async
async def test_help_shows_where_you_are_first_each_key_once(workdir) -> None:
    app = PlandeskApp(database_url(demo_database(workdir)))
    async with app.run_test(size=(160, 48)) as pilot:
        await press(pilot, "question_mark")
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        titles = [section.title for section in help_screen.sections]
        assert titles[0].startswith("This pane")
        assert titles[1:] == ["Plans screen", "Everywhere"]
        keys = [key for section in help_screen.sections for keys, _ in section.rows
                for key in keys.split(", ")]
        assert len(keys) == len(set(keys)), keys
        for generic in ("ctrl+shift+left", "ctrl+pageup", "ctrl+pagedown", "ctrl+home"):
            assert generic not in keys
        assert keys.count("tab") == 1
        assert {"/", "ctrl+r", "2", "q", "?"} <= set(keys)
        # r and a belong to the plans screen: listed there (pressed off the Decisions tab they
        # say what to do instead of doing nothing)
        screen_rows = dict(help_screen.sections[1].rows)
        assert "every later one" in screen_rows["r"] and "Append" in screen_rows["a"]
        text = "\n".join(str(s.render()) for s in help_screen.query(".help-table"))
        assert "ctrl+shift" not in text and "ctrl+pageup" not in text
        await press(pilot, "escape")
        assert isinstance(app.screen, PlansScreen)
        await press(pilot, "q")
    assert app.return_code == 0


@run_async
async def test_help_on_the_migration_screen_lists_its_keys(workdir) -> None:
    app = PlandeskApp(database_url(legacy_database(workdir)))
    async with app.run_test(size=(160, 48)) as pilot:
        await press(pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen)
        rows = dict(row for section in app.screen.sections for row in section.rows)
        assert rows["enter"] == "Migrate"
        assert "Stop…" not in " ".join(rows.values())


@run_async
async def test_ctrl_c_quits_the_plans_screen(workdir) -> None:
    app = PlandeskApp(database_url(demo_database(workdir)))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, PlansScreen)
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert not app.is_running or app._exit
    assert app.return_code == 0


@run_async
async def test_ctrl_c_in_the_filter_box_keeps_the_app_and_the_text(workdir) -> None:
    app = PlandeskApp(database_url(demo_database(workdir)))
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "slash", "x")
        box = app.screen.query_one("#filter", Input)
        assert box.has_focus and box.value == "x"
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert app.is_running and not app._exit
        assert box.value == "x"


def test_tui_modules_import_without_sqlalchemy_of_their_own_and_cli_without_textual() -> None:
    """import-linter cannot see what a function imports when it runs; a fresh interpreter can."""
    probe = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from tui.cli import main\n"
        "result = CliRunner().invoke(main, ['db', 'history'])\n"
        "assert result.exit_code == 0, result.output\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'textual', 'tui'}))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "['tui']"  # tui.cli itself, but no Textual for a headless command
