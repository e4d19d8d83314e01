"""The migration screen: where the database stands, what will run, and a worker that runs it.

Nothing is written until the user presses enter; quitting before that changes nothing. During
a migration, quitting asks first and then stops at the end of the current revision (each
revision is one transaction), so the database is always left at a whole revision.
"""

from __future__ import annotations

import functools
import threading
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Checkbox, Header, Log, Static

from store import migrations
from store.migrations import MigrationProgress, MigrationStatus, Revision
from tui.messages import MigrationFailed, MigrationFinished, MigrationProgressed, MigrationStopped
from tui.screens.stop_migration import StopMigrationModal
from tui.widgets.footer import KeysFooter
from tui.widgets.literal import literal, short_location, shorten_paths, visible
from tui.widgets.revision_progress import RevisionProgress

# ctrl+c gets bindings of its own, hidden, so that the footer keeps enter first and shows esc
QUIT_KEYS = "escape,q"


def _plural(count: int) -> str:
    return f"{count} revision{'s' if count != 1 else ''}"


class MigrationScreen(Screen[None]):
    # The same quit keys mean one of three things; check_action enables the one that fits
    # (before: leave untouched; during: ask, then stop after the revision; after a failure: quit).
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "apply", "Migrate", priority=True, id="migration.migrate"),
        Binding("b", "toggle_backup", "Backup on/off", id="migration.toggle_backup"),
        # one id for the three: a keymap moves the quit keys whatever they mean now
        Binding(QUIT_KEYS, "leave", "Quit without changes", key_display="esc",
                id="migration.quit"),
        Binding(QUIT_KEYS, "stop", "Stop…", key_display="esc",
                tooltip="Finish the current revision and stop, or keep going",
                id="migration.quit"),
        Binding(QUIT_KEYS, "close", "Quit", key_display="esc", id="migration.quit"),
        Binding("ctrl+c", "leave", "Quit without changes", show=False, id="migration.interrupt"),
        Binding("ctrl+c", "stop", "Stop…", show=False, id="migration.interrupt"),
        Binding("ctrl+c", "close", "Quit", show=False, id="migration.interrupt"),
    ]

    RUNNING_HELP = "Migrating… escape (or q, ctrl+c) asks whether to stop after this revision."

    def __init__(self, status: MigrationStatus, *, is_sqlite: bool) -> None:
        super().__init__()
        self.status = status
        self.is_sqlite = is_sqlite
        self.running = False
        self.finished = False
        self.failed = False
        self.current: Revision | None = None  # the revision the worker is in
        # set on the UI thread, read by the worker between revisions
        self.stop_requested = threading.Event()
        self.asking = False
        self._failure_text = ""

    @property
    def can_backup(self) -> bool:
        return self.is_sqlite and self.status.current is not None

    def compose(self) -> ComposeResult:
        status = self.status
        current = status.current or "empty (no schema yet)"
        yield Header()
        with VerticalScroll(id="migration-body"):
            yield Static(literal("This database needs to be migrated"), id="migration-title")
            yield Static(literal(
                f"Database: {short_location(status.url)}\n"
                f"Current revision: {current}\n"
                f"plandesk needs:   {status.head}"
            ), id="migration-where")
            yield Static(
                literal(f"{_plural(len(status.pending))} pending, each in its own transaction:"),
                classes="section-title",
            )
            with Vertical(id="revisions"):
                for revision in status.pending:
                    yield RevisionProgress(revision)
            yield Checkbox(
                "Back up the database file first (SQLite backup API)",
                value=self.can_backup,
                disabled=not self.can_backup,
                id="backup",
            )
            yield Static(
                literal("enter migrates; escape quits and changes nothing."),
                id="migration-help",
            )
            yield Log(id="migration-log", highlight=False)
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#migration-log", Log).display = False
        # A long SQL statement reports nothing for seconds: the running revision's elapsed
        # time keeps the progress text moving so that the screen never looks stuck.
        self.set_interval(1.0, self.tick)

    def tick(self) -> None:
        for row in self.query(RevisionProgress):
            row.tick()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        idle = not self.running and not self.finished and not self.failed
        if action == "apply":
            return idle
        if action == "toggle_backup":
            return idle and self.can_backup
        if action == "leave":
            return idle
        if action == "stop":
            return self.running
        if action == "close":
            return self.failed
        return True

    def _title(self, text: str) -> None:
        self.query_one("#migration-title", Static).update(literal(text))

    def _help(self, text: str, *, error: bool = False) -> None:
        help_text = self.query_one("#migration-help", Static)
        help_text.update(literal(text))
        help_text.set_class(error, "-error")

    def action_toggle_backup(self) -> None:
        backup = self.query_one("#backup", Checkbox)
        if not backup.disabled:
            backup.toggle()

    def action_leave(self) -> None:
        """Quit before migrating: nothing was written."""
        if self.running:
            self.action_stop()
            return
        if self.finished:
            return  # the plans screen is on its way
        at = self.status.current or "empty (no schema)"
        self.app.exit(return_code=1, message=(
            f"plandesk: not migrated; {self.status.where} is still at revision {at}."))

    def action_close(self) -> None:
        """Quit after a failed migration."""
        self.app.exit(return_code=1, message=f"plandesk: {visible(self._failure_text)}")

    def action_stop(self) -> None:
        """Ask whether to finish the current revision and stop, or keep going."""
        if not self.running or self.asking:
            return
        if self.stop_requested.is_set():
            self.notify(self._stopping_text(), title="Stopping", markup=False)
            return
        self.asking = True
        self.app.push_screen(StopMigrationModal(self._where_now()), callback=self._answered)

    def _where_now(self) -> str:
        if self.current is None:
            return "the migration is starting"
        ids = [r.revision for r in self.status.pending]
        index = ids.index(self.current.revision) + 1
        return f"revision {self.current.revision} ({index} of {len(ids)}) is running"

    def _stopping_text(self) -> str:
        where = f"revision {self.current.revision}" if self.current else "the current revision"
        return f"Stopping after {where}…"

    def _close_question(self) -> None:
        """The worker ended while the stop question was open: the answer no longer matters."""
        if self.asking and isinstance(self.app.screen, StopMigrationModal):
            self.app.pop_screen()
        self.asking = False

    def _answered(self, stop: bool | None) -> None:
        self.asking = False
        if not stop or not self.running:
            return
        self.stop_requested.set()
        self._title(self._stopping_text())
        self._help(f"{self._stopping_text()} Then plandesk quits; nothing is left half done.")
        self.query_one("#migration-log", Log).write_line(self._stopping_text())
        self.refresh_bindings()

    def action_apply(self) -> None:
        if self.running or self.finished or self.failed:
            return
        self.running = True
        self.refresh_bindings()
        backup = self.query_one("#backup", Checkbox)
        use_backup = backup.value and not backup.disabled
        backup.disabled = True
        log = self.query_one("#migration-log", Log)
        log.display = True
        where = visible(short_location(self.status.url))
        log.write_line(f"Migrating {where} to {self.status.head}")
        self._title(f"Migrating {_plural(len(self.status.pending))}…")
        self._help("Backing up the database file first…" if use_backup else self.RUNNING_HELP)
        self.run_migration(use_backup)

    @work(thread=True, exclusive=True, exit_on_error=False, group="migrate",
          description="Applying migrations")
    def run_migration(self, backup: bool) -> None:
        """One upgrade per revision, so that a stop request is honoured between two of them."""
        url = self.status.url
        reached = self.status.current
        backup_path: str | None = None
        try:
            if backup and self.can_backup:
                backup_path = short_location("sqlite:///" + str(migrations.backup_sqlite(url)))
            for revision in self.status.pending:
                if self.stop_requested.is_set():
                    break
                migrations.upgrade(url, revision.revision, progress=self._report,
                                   on_wait=functools.partial(self._report_waiting, revision))
                reached = revision.revision
            status = migrations.inspect_database(url)
        except Exception as exc:
            self.post_message(MigrationFailed(exc, reached))
            return
        if self.stop_requested.is_set():
            self.post_message(MigrationStopped(status, backup_path))
        else:
            self.post_message(MigrationFinished(status, backup_path))

    def _report_waiting(self, revision: Revision, text: str) -> None:
        """Another process is migrating this (shared PostgreSQL) database: say why we wait."""
        self._report(MigrationProgress("rows", revision, 0, 1, text.capitalize()))

    def _report(self, event: MigrationProgress) -> None:
        """Called on the worker thread; post_message is thread-safe."""
        self.post_message(MigrationProgressed(event))

    def _row(self, revision: Revision) -> RevisionProgress:
        return self.query_one(f"#revision-{revision.revision}", RevisionProgress)

    def on_migration_progressed(self, message: MigrationProgressed) -> None:
        event = message.event
        log = self.query_one("#migration-log", Log)
        ids = [r.revision for r in self.status.pending]
        # each revision runs as its own upgrade, so the event's index/total are per call
        step = f"[{ids.index(event.revision.revision) + 1}/{len(ids)}] {event.revision.revision}"
        row = self._row(event.revision)
        if event.step == "start":
            if self.current is None and not self.stop_requested.is_set():
                self._help(self.RUNNING_HELP)  # the backup, if any, is done
            self.current = event.revision
            row.started()
            log.write_line(f"{step} {visible(event.revision.description)} …")
        elif event.step == "rows":
            row.rows(event.message, event.done, event.count)
            if event.count:
                log.write_line(f"{step}   {visible(event.message)}: "
                               f"{event.done:,}/{event.count:,} rows")
            else:
                log.write_line(f"{step}   {visible(event.message)}")
        else:
            row.finished()
            log.write_line(f"{step} done")

    def on_migration_finished(self, message: MigrationFinished) -> None:
        """Show the outcome; the message goes on to the App, which opens the plans."""
        self._close_question()
        self.running = False
        self.finished = True
        log = self.query_one("#migration-log", Log)
        if message.backup_path:
            log.write_line(f"Backup written to {visible(message.backup_path)}")
        log.write_line(f"The database is now at {message.status.current}.")
        self._title(f"Migrated: the database is at {message.status.current}")
        self._help(f"Done: the database is at {message.status.current}. Opening the plans…")
        self.refresh_bindings()
        backup = f" Backup: {message.backup_path}" if message.backup_path else ""
        self.app.notify(
            f"The database is now at {message.status.current}.{backup}",
            title="Migration complete", markup=False,
        )

    def on_migration_stopped(self, message: MigrationStopped) -> None:
        """Show where it stopped; the message goes on to the App, which quits."""
        self._close_question()
        self.running = False
        self.finished = True
        at = message.status.current or "empty (no schema)"
        self._title(f"Stopped at revision {at}")
        self._help(f"Stopped: the database is at revision {at}. Quitting…")
        self.refresh_bindings()

    def on_migration_failed(self, message: MigrationFailed) -> None:
        self._close_question()
        self.running = False
        self.failed = True
        for row in self.query(RevisionProgress):
            if row.has_class("-running"):
                row.failed()
        left_at = message.revision_left_at or "empty (no schema)"
        self._failure_text = (
            f"Migration failed: {shorten_paths(str(message.error), self.status.url)}\n"
            f"The failed revision was rolled back: the database was left at revision "
            f"{left_at}."
        )
        self.query_one("#migration-log", Log).write_line(visible(self._failure_text))
        self._title("Migration failed")
        self._help(f"{self._failure_text} Press escape to quit.", error=True)
        self.refresh_bindings()
