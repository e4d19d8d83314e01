"""The plandesk Textual app: global bindings, and opening the database off the UI thread.

The first frame is the loading screen; the database is inspected (read-only) in a thread
worker, which then asks for the migration, error or plans screen. Corrections run here too,
one thread worker per decision, so that they outlive whatever screen asked for them.

Draw first, import later: this module, like the CLI, loads only what the loading screen needs.
SQLAlchemy and the store services are imported by the worker that opens the database, after
the first frame, and the other screens when they are first shown
(tests/tui/test_startup_imports.py keeps it so).
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable
from dataclasses import replace
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Input, TextArea

from store.locations import archive_root, artifacts_root, sqlite_path
from tui.commands import IntegrityCommands, PlanCommands
from tui.config import DEFAULTS, Config, ConfigError, save_settings
from tui.context import DatabaseContext, PendingEngine
from tui.keymap import check_keymap, declared_bindings
from tui.live import DatabaseChanged, LiveUpdates, WatcherOpened
from tui.messages import (
    CorrectionFinished,
    CorrectionRefused,
    CorrectionRequest,
    CorrectionRequested,
    CorrectionsRecovered,
    CorrectionStateChanged,
    DatabaseFailed,
    DatabaseFileChanged,
    DatabaseOpened,
    FirstRootsRead,
    MigrationFinished,
    MigrationNeeded,
    MigrationStopped,
)
from tui.screens.help import HelpScreen
from tui.screens.loading import LoadingScreen
from tui.widgets.literal import short_location
from tui.widgets.pane_layout import LayoutChanged, PaneLayout

if TYPE_CHECKING:
    from store.db import Engine, SessionFactory
    from store.models import CorrectionAttempt
    from store.plans import PlanPage
    from tui.screens.plans import PlansScreen


class PlandeskApp(App[None]):
    """Browse the plans of one database (a file path's URL or any SQLAlchemy URL)."""

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

    @work(thread=True, exit_on_error=False, group="keymap", description="Checking the keymap")
    def apply_config_keymap(self) -> None:
        """Check the config's `[keymap]` against every binding, off the UI thread: that means
        importing every screen, which the first frame does not wait for."""
        keymap = check_keymap(self.settings.keymap, declared_bindings())
        self.call_from_thread(self._apply_keymap, keymap.keymap, keymap.problems)

    def _apply_keymap(self, keymap: dict[str, str], problems: tuple[str, ...]) -> None:
        self.set_keymap(keymap)
        if problems:
            self.notify("\n".join(problems), title="Config file", severity="error",
                        markup=False, timeout=30)

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
        from store import migrations, plans
        from store.db import (
            ReadOnlyModeError,
            check_writable,
            create_db_engine,
            session_scope,
            to_store_error,
        )

        try:
            path = sqlite_path(self.url)
            if self.create_demo and path is not None and not path.exists():
                if self.read_only:
                    raise ReadOnlyModeError(
                        "read-only: the demo database does not exist yet, and creating it "
                        "would write. Start plandesk --demo once without --read-only.")
                from store.demo import create_demo

                create_demo(self.url)
            if self.create_empty and path is not None and not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                migrations.upgrade(self.url)  # an empty database at head
            status = migrations.inspect_database(self.url)
            if path is not None and not self.read_only:
                # inspect_database never writes; the engine below would (WAL), so a read-only
                # file stops here with nothing written.
                check_writable(path)
            if not status.up_to_date and self.read_only:
                raise ReadOnlyModeError(
                    f"read-only: {status.where} is at revision {status.current or '(empty)'} "
                    f"and needs a migration to {status.head}, which would write. Quit, then "
                    "run `plandesk db upgrade`, or start plandesk without --read-only.")
            if not status.up_to_date:
                self.post_message(MigrationNeeded(status, is_sqlite=path is not None))
                return
            engine = create_db_engine(self.url, read_only=self.read_only)
            try:
                with session_scope(engine) as session:
                    # fails here, on the loading screen, if it cannot connect or read
                    first_roots = plans.roots_page(
                        session, limit=1 if shown_early else self.settings.tree_page_size)
            except Exception:
                engine.dispose()
                raise
            # the engine is kept by the handler, on the UI thread
            self.post_message(DatabaseOpened(status, None if shown_early else first_roots,
                                             engine))
        except Exception as exc:
            self.post_message(DatabaseFailed(to_store_error(exc, self.url), self.url))

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
            screen.refresh_live()
        from tui.screens.correction import CorrectionModal

        for modal in self.screen_stack:
            if isinstance(modal, CorrectionModal):
                modal.recheck_preview()

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

    # -- config ------------------------------------------------------------------------------

    def apply_config_theme(self) -> None:
        theme = self.settings.theme
        if theme is None:
            return
        if theme not in self.available_themes:
            self.config_problems.append(
                f"theme: {theme!r} is not a theme plandesk has (ctrl+p, \"theme\" lists them)")
            return
        self.theme = theme

    def watch_theme(self, theme: str) -> None:
        # the theme picked in the palette is remembered; the one the config set is already
        if self.config is not None and self.remember_theme and theme != self.settings.theme:
            self.settings = self.settings.replaced(theme=theme)
            self.save_theme(self.config)

    @work(thread=True, exit_on_error=False, group="config",
          description="Saving the theme in the config file")
    def save_theme(self, config: Config) -> None:
        try:
            # the newest choice, read when the file is free: quick picks end on the last one
            save_settings(config.path, lambda: {"theme": self.settings.theme})
        except (ConfigError, OSError) as exc:
            self.call_from_thread(self.notify, f"The theme was not saved: {exc}",
                                  title="Config file", severity="warning", markup=False)

    def on_layout_changed(self, message: LayoutChanged) -> None:
        """The user resized or hid the tree: remembered in the config file's [layout]."""
        layout = message.layout
        saved = self.settings.layout
        if self.config is None or (layout.tree_width, layout.tree_hidden) == (
                saved.tree_width, saved.tree_hidden):
            return
        self.settings = self.settings.replaced(layout=replace(
            saved, tree_width=layout.tree_width, tree_hidden=layout.tree_hidden))
        self.save_layout(self.config)

    @work(thread=True, exit_on_error=False, group="config",
          description="Saving the layout in the config file")
    def save_layout(self, config: Config) -> None:
        def values() -> dict[str, object]:
            # the newest layout, read when the file is free
            layout = self.settings.layout
            return {"layout.tree_hidden": layout.tree_hidden,
                    **({"layout.tree_width": layout.tree_width}
                       if layout.tree_width is not None else {})}

        try:
            save_settings(config.path, values)
        except (ConfigError, OSError) as exc:
            self.call_from_thread(self.notify, f"The layout was not saved: {exc}",
                                  title="Config file", severity="warning", markup=False)

    # -- corrections -------------------------------------------------------------------------

    @property
    def plans_screen(self) -> PlansScreen | None:
        from tui.screens.plans import PlansScreen

        return next((s for s in self.screen_stack if isinstance(s, PlansScreen)), None)

    @work(thread=True, exclusive=True, exit_on_error=False, group="recover",
          description="Recovering interrupted corrections")
    def recover_corrections(self) -> None:
        """Fail (and move back the artifacts of) corrections a dead process left open."""
        from store.corrections import RecoveryReport, recover_interrupted
        from store.db import to_store_error

        if self.engine is None:
            return
        try:
            report = recover_interrupted(self.engine, self.artifacts_root, self.archive_root)
        except Exception as exc:
            report = RecoveryReport(problems=(f"{to_store_error(exc, self.url)}",))
        if report.recovered or report.problems:
            self.post_message(CorrectionsRecovered(report))

    def on_corrections_recovered(self, message: CorrectionsRecovered) -> None:
        report = message.report
        if report.recovered:
            count = len(report.recovered)
            self.notify(
                f"{count} interrupted correction{'s were' if count != 1 else ' was'} rolled "
                "back and marked failed (interrupted).",
                title="Recovered at start-up", severity="warning", markup=False,
            )
        if report.problems:
            self.notify("\n".join(report.problems), title="Recovery left problems",
                        severity="error", markup=False, timeout=30)
        screen = self.plans_screen
        if screen is not None:
            screen.action_reload()

    @staticmethod
    def _group(decision_id: str) -> str:
        return f"correction:{decision_id}"

    def correction_running(self, decision_id: str) -> bool:
        group = self._group(decision_id)
        return any(w.group == group and not w.is_finished for w in self.workers)

    def start_correction(self, request: CorrectionRequest) -> None:
        """Run a confirmed correction in a thread worker (one at a time per decision)."""
        if self.read_only:
            self.notify("read-only: corrections are disabled.", title="Correction",
                        severity="warning", markup=False)
            return
        if self.correction_running(request.decision_id):
            self.notify(f"A correction of decision #{request.sequence} is still running.",
                        title="Correction", severity="warning", markup=False)
            return
        self.run_worker(
            partial(self._run_correction, request), thread=True, exclusive=True,
            exit_on_error=False, group=self._group(request.decision_id),
            description=f"Correcting decision #{request.sequence}",
        )

    def on_correction_requested(self, message: CorrectionRequested) -> None:
        self.start_correction(message.request)

    def _run_correction(self, request: CorrectionRequest) -> None:
        from store.corrections import CorrectionError, run_correction
        from store.db import to_store_error
        from store.models import Decision, Plan

        def on_state(attempt: CorrectionAttempt) -> None:
            self.post_message(CorrectionStateChanged(attempt))

        try:
            attempt = run_correction(
                self.engine or self.url, request.plan_id, request.decision_id, request.mode,
                request.guidance, artifacts_root=self.artifacts_root,
                archive_root=self.archive_root, expected_version=request.seen,
                on_state=on_state,
            )
        except CorrectionError as exc:
            self.post_message(CorrectionRefused(
                request.plan_id, request.decision_id, exc.title, str(exc)))
            return
        except Exception as exc:
            error = to_store_error(exc, self.url)
            self.post_message(CorrectionRefused(
                request.plan_id, request.decision_id, error.title, str(error)))
            return
        plan: Plan | None = None
        new_sequence: int | None = None
        try:
            with self.session() as session:
                plan = session.get(Plan, request.plan_id)
                if attempt.new_decision_id is not None:
                    new = session.get(Decision, attempt.new_decision_id)
                    new_sequence = new.sequence if new is not None else None
        except Exception:
            pass  # the toast still reports the outcome; the views refresh from the database
        self.post_message(CorrectionFinished(attempt, plan, new_sequence))

    def on_correction_state_changed(self, message: CorrectionStateChanged) -> None:
        screen = self.plans_screen
        if screen is not None:
            screen.show_attempt(message.attempt)

    def on_correction_finished(self, message: CorrectionFinished) -> None:
        from store.models import CorrectionState

        attempt = message.attempt
        if attempt.state == CorrectionState.COMPLETE:
            created = (f"new decision #{message.new_sequence}"
                       if message.new_sequence is not None else "a new decision")
            self.notify(f"{str(attempt.mode).capitalize()} complete: {created}.",
                        title="Correction complete", markup=False)
        else:
            self.notify(f"Correction failed: {attempt.failure_reason or 'unknown reason'}",
                        title="Correction failed", severity="error", markup=False, timeout=15)
        screen = self.plans_screen
        if screen is not None:
            screen.show_attempt(attempt)
            screen.correction_ended(attempt.plan_id, message.plan)

    def on_correction_refused(self, message: CorrectionRefused) -> None:
        self.notify(message.reason, title=message.title, severity="error", markup=False,
                    timeout=15)
        screen = self.plans_screen
        if screen is not None:
            screen.correction_ended(message.plan_id, None)
