"""The plandesk Textual app: global bindings, and opening the database off the UI thread.

The first frame is the loading screen; the database is inspected (read-only) in a thread
worker (tui/app_opening.py), which then asks for the migration, error or plans screen.
Corrections run in the App too (tui/app_corrections.py), one thread worker per decision, so
that they outlive whatever screen asked for them; the config file is applied and written
back by tui/app_settings.py.

Draw first, import later: this module, like the CLI, loads only what the loading screen needs.
SQLAlchemy and the store services are imported by the worker that opens the database, after
the first frame, and the other screens when they are first shown
(tests/tui/test_startup_imports.py keeps it so).
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, ClassVar

from textual import events, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Input, TextArea

from store.locations import archive_root, artifacts_root, sqlite_path
from tui.app_corrections import CorrectionRunning
from tui.app_opening import OpenRequest, freeze_startup_objects, open_database
from tui.app_settings import SettingsKeeping
from tui.commands import IntegrityCommands, PlanCommands
from tui.config import DEFAULTS, Config
from tui.context import DatabaseContext, PendingEngine
from tui.live import DatabaseChanged, LiveUpdates, WatcherOpened
from tui.messages import (
    DatabaseFailed,
    DatabaseFileChanged,
    DatabaseOpened,
    FirstRootsRead,
    MigrationFinished,
    MigrationNeeded,
    MigrationStopped,
)
from tui.rest_collector import RestCollector, collect_rarely
from tui.screens.help import HelpScreen
from tui.screens.loading import LoadingScreen
from tui.widgets.literal import short_location
from tui.widgets.pane_layout import PaneLayout

if TYPE_CHECKING:
    from store.db import Engine, SessionFactory
    from store.plans import PlanPage
    from tui.screens.plans import PlansScreen


class PlandeskApp(CorrectionRunning, SettingsKeeping, App[None]):
    """Browse the plans of one database (a file path's URL or any SQLAlchemy URL).

    Its corrections (`CorrectionRunning`) and config file (`SettingsKeeping`) are parts of it
    kept in their own modules; they read the attributes set here.
    """

    CSS_PATH = "plandesk.tcss"
    TITLE = "plandesk"
    COMMANDS = App.COMMANDS | {PlanCommands, IntegrityCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="app.quit"),
        # Textual 8 only tells ctrl+c users to press ctrl+q; in a terminal ctrl+c means stop,
        # so it quits like q (a focused text box copies a selection with it: its binding comes
        # first, and with nothing selected action_interrupt keeps what was typed).
        Binding("ctrl+c", "interrupt", "Quit", show=False, id="app.interrupt"),
        Binding("question_mark", "help", "Help", key_display="?", id="app.help"),
        Binding("ctrl+p", "command_palette", "Palette",
                show=False, id="app.command_palette"),
    ]
    # whether other connections' commits are looked for at all (the test suite turns it off;
    # the config's refresh_seconds says how often, 0 for never)
    LIVE_UPDATES: bool = True

    def __init__(
        self,
        url: str,
        *,
        create_demo: bool = False,
        config: Config | None = None,
        config_problem: str | None = None,
        first_run_demo_url: str | None = None,
    ) -> None:
        super().__init__()
        self.rest_collector = RestCollector()  # full garbage collections while input rests
        self.url = url
        self.create_demo = create_demo
        # set when no database exists at the default path: offer to create one or the demo
        self.first_run_demo_url = first_run_demo_url
        self.create_empty = False
        # None: nothing is read from or written to a config file (as in most tests)
        self.config = config
        self.settings = config.settings if config is not None else DEFAULTS
        self.read_only = self.settings.read_only
        # what was wrong with the config file, told once the app is on screen
        self.config_problems = [p for p in (config_problem,) if p] + list(
            config.warnings if config is not None else ())
        if self.read_only:
            self.title = "plandesk (read-only)"
        # off until the config's own theme is applied: only a change the user makes is saved
        self.remember_theme = False
        self.engine: Engine | None = None
        # what screens are given about the open database; None until it is open
        self.database: DatabaseContext | None = None
        # set while the plans screen shows roots read before the engine was built
        self.pending_engine: PendingEngine | None = None
        self.first_roots_shown = threading.Event()
        self.sub_title = short_location(url)
        self.live: LiveUpdates | None = None
        self.artifacts_root = artifacts_root(url)
        self.archive_root = archive_root(url)

    def get_default_screen(self) -> Screen[None]:
        return LoadingScreen(short_location(self.url), creating=self.create_demo)

    # how often the open SQLite file is checked for having been replaced or deleted
    FILE_CHECK_SECONDS = 2.0

    def on_mount(self) -> None:
        self.apply_config_theme()
        self.remember_theme = self.config is not None
        if self.config_problems:
            self.notify("\n".join(self.config_problems), title="Config file",
                        severity="error", markup=False, timeout=30)
        if self.settings.keymap:
            self.apply_config_keymap()
        if self.first_run_demo_url is not None:
            from tui.screens.first_run import FirstRunScreen

            self.push_screen(FirstRunScreen(short_location(self.url),
                                            short_location(self.first_run_demo_url)),
                             callback=self._first_run_chosen)
        else:
            # after the first frame: the worker's imports would otherwise compete with drawing it
            self.call_after_refresh(self.open_database)
        self.file_check = self.set_interval(self.FILE_CHECK_SECONDS, self._start_file_check)
        self.rest_collector.start(self)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.InputEvent) and not event.is_forwarded:
            self.rest_collector.input_seen()
        await super().on_event(event)

    def _first_run_chosen(self, choice: str | None) -> None:
        if choice == "create":
            self.create_empty = True
        elif choice == "demo" and self.first_run_demo_url is not None:
            self.url, self.create_demo = self.first_run_demo_url, True
            self.sub_title = short_location(self.url)
            self.artifacts_root = artifacts_root(self.url)
            self.archive_root = archive_root(self.url)
        else:
            self.exit()
            return
        loading = self.screen_stack[0]
        if isinstance(loading, LoadingScreen):
            loading.show_where(short_location(self.url), creating=True)
        self.open_database()

    def _start_file_check(self) -> None:
        # one check at a time, none before the database is open: a slow stat is skipped,
        # never cancelled (tests and the user wait on workers that finish)
        if self.engine is None or any(
            w.group == "file-check" and not w.is_finished for w in self.workers
        ):
            return
        self.check_database_file()

    @work(thread=True, exit_on_error=False, group="file-check",
          description="Checking the database file")
    def check_database_file(self) -> None:
        """Writes are refused by the store anyway; this tells the user before they try one."""
        from store.db import StoreError, check_database_file

        if self.engine is None:
            return
        try:
            check_database_file(self.engine)
        except StoreError as exc:
            self.post_message(DatabaseFileChanged(exc, self.url))

    def on_database_file_changed(self, message: DatabaseFileChanged) -> None:
        from tui.screens.error import ErrorScreen

        self.file_check.stop()
        if not isinstance(self.screen, ErrorScreen):
            self.push_screen(ErrorScreen(message.error, message.url))

    def on_unmount(self) -> None:
        self.first_roots_shown.set()
        self._engine_failed("plandesk is quitting.")
        if self.live is not None:
            self.live.stop()
        if self.engine is not None:
            self.engine.dispose()

    @property
    def session(self) -> SessionFactory:
        """Opens a session on the open database; only for thread workers."""
        from store.db import StoreError

        if self.database is None:
            raise StoreError("The database is not open yet.")
        return self.database.session

    # at most this long (seconds) the opening worker waits for the first roots to be drawn
    FIRST_ROOTS_DRAWN_TIMEOUT = 30.0

    def show_first_roots_early(self) -> bool:
        """In the opening worker: a SQLite file at head gets its first roots, read with stdlib
        sqlite3, on screen before SQLAlchemy and SQLModel are imported (they take longer than
        the read and the drawing); whether it did. Anything else goes the full way, which
        explains what is wrong with the file."""
        path = sqlite_path(self.url)
        if path is None:
            return False
        from store.plans.first_roots import read_first_roots

        first_roots = read_first_roots(path, self.settings.tree_page_size,
                                       needs_write=not self.read_only)
        if first_roots is None:
            return False
        shown = threading.Event()
        self.first_roots_shown = shown  # let go of on unmount, should the app quit first
        self.post_message(FirstRootsRead(first_roots, shown))
        # the imports that follow would otherwise compete with drawing the roots
        shown.wait(self.FIRST_ROOTS_DRAWN_TIMEOUT)
        return True

    @work(thread=True, exclusive=True, exit_on_error=False, group="connect",
          description="Opening the database")
    def open_database(self) -> None:
        shown_early = self.show_first_roots_early()
        request = OpenRequest(self.url, read_only=self.read_only,
                              tree_page_size=self.settings.tree_page_size,
                              create_demo=self.create_demo, create_empty=self.create_empty,
                              shown_early=shown_early)
        self.post_message(open_database(request))

    def _show(self, screen: Screen[None]) -> Awaitable[object]:
        # The loading screen stays at the bottom of the stack; what replaces it goes on top.
        if len(self.screen_stack) > 1:
            return self.switch_screen(screen)
        return self.push_screen(screen)

    async def on_first_roots_read(self, message: FirstRootsRead) -> None:
        """The plans screen with the first roots, while the worker builds the engine: its
        workers (the detail, further pages) wait for it through a PendingEngine."""
        self.pending_engine = PendingEngine()
        screen = self._plans_screen(self.pending_engine.session, message.first_roots)
        await self._show(screen)
        screen.call_after_refresh(message.shown.set)

    def _plans_screen(self, session: SessionFactory, first_roots: PlanPage | None) -> PlansScreen:
        from tui.screens.plans import PlansScreen

        self.database = DatabaseContext(
            url=self.url,
            session=session,
            artifacts_root=self.artifacts_root,
            archive_root=self.archive_root,
            read_only=self.read_only,
            tree_page_size=self.settings.tree_page_size,
            correction_running=self.correction_running,
        )
        saved = self.settings.layout  # as the user left it last time (config [layout])
        layout = PaneLayout(tree_width=saved.tree_width, tree_hidden=saved.tree_hidden)
        return PlansScreen(self.database, first_roots, layout=layout)

    def on_database_opened(self, message: DatabaseOpened) -> None:
        from store.db import session_scope

        if self.engine is not None:
            self.engine.dispose()
        self.engine = message.engine
        if self.pending_engine is not None and self.pending_engine.pending:
            # the plans screen is up with the first roots already: its sessions can start
            self.pending_engine.opened(message.engine)
        else:
            self._show(self._plans_screen(partial(session_scope, message.engine),
                                          message.first_roots))
        if not self.read_only:
            self.recover_corrections()
        self._start_live(message.engine)
        freeze_startup_objects()
        collect_rarely()  # the rest collector runs them instead

    # -- live refresh (tui/live.py) ------------------------------------------------------------

    def live_clock(self) -> datetime:
        """When an update was seen, for the header (snapshot tests freeze it)."""
        return datetime.now()

    def _start_live(self, engine: Engine) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None
        if not self.LIVE_UPDATES:
            return
        if not self.settings.refresh_seconds:
            self.sub_title = f"{short_location(self.url)} · live off"
            return
        self.live = LiveUpdates(self, engine, clock=self.live_clock,
                                poll_seconds=self.settings.refresh_seconds)
        self.live.start()
        self._show_live_state()

    def _show_live_state(self) -> None:
        if self.live is not None:
            self.sub_title = f"{short_location(self.url)} · {self.live.indicator}"

    def on_watcher_opened(self, message: WatcherOpened) -> None:
        if self.live is None:
            message.watcher.close()
            return
        self.live.opened(message.watcher)
        self._show_live_state()
        if (screen := self.plans_screen) is not None:
            screen.changes_heard()  # the tree reads pages ahead from now on

    def on_database_changed(self, message: DatabaseChanged) -> None:
        """Another connection committed: refresh what is visible, in place."""
        if self.live is None:
            return
        changed = self.live.changed(message)
        self._show_live_state()
        if not changed:
            return
        screen = self.plans_screen
        if screen is not None:
            screen.refresh_live(message.plan_rows, message.plans_touched)
        from tui.screens.correction import CorrectionModal

        for modal in self.screen_stack:
            if isinstance(modal, CorrectionModal):
                modal.recheck_preview(message.plans_touched)

    def _engine_failed(self, why: str) -> None:
        # what waits for a pending engine gives up (its screen is being replaced anyway); not a
        # StoreError: quitting before the engine is built must not import SQLAlchemy
        if self.pending_engine is not None:
            self.pending_engine.failed(RuntimeError(why))

    def on_migration_needed(self, message: MigrationNeeded) -> None:
        from tui.screens.migration import MigrationScreen

        self._engine_failed("The database needs a migration.")
        self._show(MigrationScreen(message.status, is_sqlite=message.is_sqlite))

    def on_database_failed(self, message: DatabaseFailed) -> None:
        from tui.screens.error import ErrorScreen

        self._engine_failed(str(message.error))
        self._show(ErrorScreen(message.error, message.url))

    def on_migration_finished(self, message: MigrationFinished) -> None:
        """Every revision is applied: open the database as usual."""
        self.open_database()

    def on_migration_stopped(self, message: MigrationStopped) -> None:
        status = message.status
        at = status.current or "empty (no schema)"
        left = ", ".join(r.revision for r in status.pending)
        backup = f" A backup was written to {message.backup_path}." if message.backup_path else ""
        self.exit(
            return_code=0 if status.up_to_date else 1,
            message=(
                f"plandesk: migration stopped; {status.where} is at revision {at}"
                + (f" ({left} not applied; run plandesk again to finish)." if left else ".")
                + backup
            ),
        )

    async def action_quit(self) -> None:
        # ctrl+q is a priority binding, so it reaches here even over a running migration:
        # that must be asked about like q, never leave a half-run worker behind.
        from tui.screens.migration import MigrationScreen

        migrating = next((s for s in self.screen_stack
                          if isinstance(s, MigrationScreen) and s.running), None)
        if migrating is not None:
            migrating.action_leave()
            return
        self.exit()

    async def action_interrupt(self) -> None:
        if isinstance(self.focused, Input | TextArea):
            self.notify("ctrl+c does not quit while you type here (that would lose the text): "
                        "leave the box with escape first, or press ctrl+q.",
                        title="Quit?", markup=False)
            return
        await self.action_quit()

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen.for_screen(self.screen))

    def action_quit_with_error(self) -> None:
        self.exit(return_code=1)
