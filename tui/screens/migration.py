"""The migration screen: where the database stands, what will run, and a worker that runs it.

Nothing is written until the user presses enter; escape quits with the database untouched.
"""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Checkbox, Header, Log, Static

from store import migrations
from store.migrations import MigrationProgress, MigrationStatus
from tui.messages import MigrationFailed, MigrationFinished, MigrationProgressed
from tui.widgets.footer import KeysFooter
from tui.widgets.literal import literal, short_location, shorten_paths, visible
from tui.widgets.revision_progress import RevisionProgress


class MigrationScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "apply", "Apply migrations", priority=True),
        Binding("escape", "leave", "Quit without changes"),
        Binding("b", "toggle_backup", "Toggle backup", show=False),
    ]

    def __init__(self, status: MigrationStatus, *, is_sqlite: bool) -> None:
        super().__init__()
        self.status = status
        self.is_sqlite = is_sqlite
        self.running = False
        self.finished = False

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
                literal(f"{len(status.pending)} pending revision(s), each in its own transaction:"),
                classes="section-title",
            )
            with Vertical(id="revisions"):
                for revision in status.pending:
                    yield RevisionProgress(revision)
            can_backup = self.is_sqlite and status.current is not None
            yield Checkbox(
                "Back up the database file first (SQLite backup API)",
                value=can_backup,
                disabled=not can_backup,
                id="backup",
            )
            yield Static(
                literal("enter applies them; escape quits and changes nothing."),
                id="migration-help",
            )
            yield Log(id="migration-log", highlight=False)
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#migration-log", Log).display = False

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("apply", "toggle_backup"):
            return not self.running and not self.finished
        return True

    def action_toggle_backup(self) -> None:
        backup = self.query_one("#backup", Checkbox)
        if not backup.disabled:
            backup.toggle()

    def action_leave(self) -> None:
        if self.running:
            self.notify("A migration is running; it stops at the end of its current revision.",
                        severity="warning")
            return
        self.app.exit(return_code=0 if self.finished else 1)

    def action_apply(self) -> None:
        if self.running or self.finished:
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
        self.query_one("#migration-help", Static).update(literal("Migrating…"))
        self.run_migration(use_backup)

    @work(thread=True, exclusive=True, exit_on_error=False, group="migrate",
          description="Applying migrations")
    def run_migration(self, backup: bool) -> None:
        reached: list[str | None] = [self.status.current]

        def progress(event: MigrationProgress) -> None:
            if event.step == "end":
                reached[0] = event.revision.revision
            self.post_message(MigrationProgressed(event))

        backup_path: str | None = None
        try:
            if backup and self.is_sqlite and self.status.current is not None:
                backup_path = short_location(
                    "sqlite:///" + str(migrations.backup_sqlite(self.status.url))
                )
            status = migrations.upgrade(self.status.url, progress=progress)
        except Exception as exc:
            self.post_message(MigrationFailed(exc, reached[0]))
            return
        self.post_message(MigrationFinished(status, backup_path))

    def _row(self, event: MigrationProgress) -> RevisionProgress:
        return self.query_one(f"#revision-{event.revision.revision}", RevisionProgress)

    def on_migration_progressed(self, message: MigrationProgressed) -> None:
        event = message.event
        log = self.query_one("#migration-log", Log)
        step = f"[{event.index + 1}/{event.total}] {event.revision.revision}"
        if event.step == "start":
            self._row(event).started()
            log.write_line(f"{step} {visible(event.revision.description)} …")
        elif event.step == "rows":
            self._row(event).rows(event.done, event.count)
            if event.count:
                log.write_line(f"{step}   {visible(event.message)}: "
                               f"{event.done:,}/{event.count:,} rows")
            else:
                log.write_line(f"{step}   {visible(event.message)}")
        else:
            self._row(event).finished()
            log.write_line(f"{step} done")

    def on_migration_finished(self, message: MigrationFinished) -> None:
        self.running = False
        self.finished = True
        log = self.query_one("#migration-log", Log)
        if message.backup_path:
            log.write_line(f"Backup written to {visible(message.backup_path)}")
        log.write_line(f"The database is now at {message.status.current}.")
        self.query_one("#migration-help", Static).update(
            literal(f"Done: the database is at {message.status.current}. Opening the plans…")
        )
        self.refresh_bindings()
        backup = f" Backup: {message.backup_path}" if message.backup_path else ""
        self.app.notify(
            f"The database is now at {message.status.current}.{backup}",
            title="Migration complete", markup=False,
        )
        from tui.app import PlandeskApp

        if isinstance(self.app, PlandeskApp):
            self.app.migrated()

    def on_migration_failed(self, message: MigrationFailed) -> None:
        self.running = False
        self.finished = True
        for row in self.query(RevisionProgress):
            if row.has_class("-running"):
                row.failed()
        left_at = message.revision_left_at or "empty (no schema)"
        text = (
            f"Migration failed: {shorten_paths(str(message.error), self.status.url)}\n"
            f"The failed revision was rolled back: the database was left at revision "
            f"{left_at}. Press escape to quit."
        )
        log = self.query_one("#migration-log", Log)
        log.write_line(visible(text))
        help_text = self.query_one("#migration-help", Static)
        help_text.update(literal(text))
        help_text.add_class("-error")
        self.refresh_bindings()
