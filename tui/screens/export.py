"""The export modal (`e` on the plans screen): the highlighted plan, or the whole tree under it,
as JSON or CSV to a chosen file, written by `store.export.export_plans` in a thread worker
with a progress bar. It is dismissed with the `ExportResult`, or None when cancelled."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, ProgressBar, RadioButton, RadioSet, Static

from store.db import StoreError, to_store_error
from store.export import (
    ExportCancelledError,
    ExportDestinationError,
    ExportFormat,
    ExportResult,
    export_plans,
)
from tui.context import DatabaseContext
from tui.widgets.literal import literal, visible

__all__ = ["ExportModal", "ExportResult", "default_export_path"]


def default_export_path(plan_id: str, file_format: ExportFormat) -> str:
    return f"./plandesk-export-{plan_id}.{file_format}"


@dataclass
class ExportProgressed(Message, bubble=False):
    done: int
    total: int

    def can_replace(self, message: Message) -> bool:
        # one plan written after another: only the latest count is worth drawing
        return isinstance(message, ExportProgressed)


@dataclass
class ExportEnded(Message, bubble=False):
    """The worker is done: `result` on success, else `error` (and whether the file exists)."""

    result: ExportResult | None
    error: StoreError | None = None


class ExportModal(ModalScreen[ExportResult | None]):
    """Export one named plan, or the tree under it: scope, format, path, then ctrl+s."""

    # Its own look, kept with it: the modal is self-contained and used from one screen.
    DEFAULT_CSS = """
    ExportModal { align: center middle; }
    #export-dialog {
        width: 90%; max-width: 90; height: auto; max-height: 100%;
        border: thick $primary; background: $panel; padding: 1 2;
    }
    #export-dialog RadioSet { width: 100%; margin-bottom: 1; }
    #export-title { height: auto; margin-bottom: 1; }
    #export-error { color: $text-error; text-style: bold; height: auto; }
    #export-progress { margin-top: 1; }
    #export-buttons { height: 1; margin-top: 1; align-horizontal: right; }
    #export-buttons Button { margin-left: 2; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "export", "Export", key_display="ctrl+s", id="export.confirm"),
        Binding("escape", "cancel", "Cancel", key_display="esc", id="export.cancel"),
    ]

    def __init__(self, context: DatabaseContext, plan_id: str, plan_name: str,
                 child_count: int) -> None:
        super().__init__()
        self.context = context
        self.plan_id = plan_id
        self.plan_name = plan_name
        self.child_count = child_count
        # the path the user was told exists: a second ctrl+s on the same path overwrites it
        self.overwrite_path: Path | None = None
        self.cancel_requested = threading.Event()
        self.running = False

    def compose(self) -> ComposeResult:
        with Vertical(id="export-dialog"):
            yield Static(Content("\n").join([
                Content.styled("Export", "bold"),
                Content.assemble(("Plan  ", "$text-muted"),
                                 literal(visible(self.plan_name, keep_newlines=False), "bold"),
                                 "  ", (self.plan_id, "$text-muted")),
            ]), id="export-title")
            with RadioSet(id="export-scope"):
                yield RadioButton("This plan only", value=True, id="scope-plan")
                yield RadioButton(f"This plan and the whole tree under it "
                                  f"({self.child_count} direct children)", id="scope-tree")
            with RadioSet(id="export-format"):
                yield RadioButton("JSON (plandesk.export/1)", value=True, id="format-json")
                yield RadioButton("CSV (one row per plan)", id="format-csv")
            yield Static(Content.styled("File", "bold"))
            yield Input(default_export_path(self.plan_id, "json"), id="export-path")
            yield Static(id="export-error")
            yield ProgressBar(id="export-progress", show_eta=False)
            with Horizontal(id="export-buttons"):
                yield Button("Export (ctrl+s)", id="export-go", compact=True, variant="primary")
                yield Button("Cancel (esc)", id="export-cancel", compact=True)

    def on_mount(self) -> None:
        self.show_error(None)
        self.query_one(ProgressBar).display = False
        self.query_one("#export-scope", RadioSet).focus()

    @property
    def whole_tree(self) -> bool:
        return self.query_one("#scope-tree", RadioButton).value

    @property
    def file_format(self) -> ExportFormat:
        return "csv" if self.query_one("#format-csv", RadioButton).value else "json"

    @property
    def path_box(self) -> Input:
        return self.query_one("#export-path", Input)

    @on(RadioSet.Changed, "#export-format")
    def _format_changed(self) -> None:
        # the suggested name follows the format, unless the user has typed their own
        box, other = self.path_box, "json" if self.file_format == "csv" else "csv"
        if box.value.endswith(f".{other}"):
            box.value = box.value.removesuffix(other) + self.file_format

    @on(Input.Changed, "#export-path")
    def _path_changed(self) -> None:
        if self.running:
            return
        self.show_error(None)
        if self.overwrite_path is not None and \
                Path(self.path_box.value.strip()).expanduser().absolute() != self.overwrite_path:
            self.overwrite_path = None  # a new path is asked about again
            self.query_one("#export-go", Button).label = "Export (ctrl+s)"

    def show_error(self, reason: str | None) -> None:
        box = self.query_one("#export-error", Static)
        box.display = reason is not None
        box.update(literal(reason or ""))

    # -- running ----------------------------------------------------------------------------

    def action_export(self) -> None:
        if self.running:
            return
        text = self.path_box.value.strip()
        if not text:
            self.show_error("Name the file to export to.")
            self.path_box.focus()
            return
        path = Path(text).expanduser().absolute()
        overwrite = path == self.overwrite_path
        self.running = True
        self.cancel_requested.clear()
        self.show_error(None)
        for widget in (*self.query(RadioSet), self.path_box, self.query_one("#export-go")):
            widget.disabled = True
        bar = self.query_one(ProgressBar)
        bar.display = True
        bar.update(total=None, progress=0)
        self.run_export(path, overwrite, self.whole_tree, self.file_format)

    @work(thread=True, exclusive=True, exit_on_error=False, group="export",
          description="Exporting plans")
    def run_export(self, path: Path, overwrite: bool, whole_tree: bool,
                   file_format: ExportFormat) -> None:
        def progress(done: int, total: int) -> None:
            self.post_message(ExportProgressed(done, total))

        try:
            result = export_plans(
                self.context.session, self.plan_id, path, whole_tree=whole_tree,
                file_format=file_format, overwrite=overwrite, progress=progress,
                cancelled=self.cancel_requested.is_set,
            )
        except Exception as exc:
            self.post_message(ExportEnded(None, to_store_error(exc, self.context.url)))
            return
        self.post_message(ExportEnded(result))

    def on_export_progressed(self, message: ExportProgressed) -> None:
        self.query_one(ProgressBar).update(total=message.total, progress=message.done)

    def on_export_ended(self, message: ExportEnded) -> None:
        self.running = False
        if message.result is not None:
            self.dismiss(message.result)
            return
        error = message.error
        if isinstance(error, ExportCancelledError):
            self.notify(str(error), title="Export", markup=False)
            self.dismiss(None)
            return
        for widget in (*self.query(RadioSet), self.path_box, self.query_one("#export-go")):
            widget.disabled = False
        self.query_one(ProgressBar).display = False
        go = self.query_one("#export-go", Button)
        if isinstance(error, ExportDestinationError) and error.exists:
            self.overwrite_path = Path(self.path_box.value.strip()).expanduser().absolute()
            self.show_error(f"{error} Press ctrl+s again to overwrite it, or change the path.")
            go.label = "Overwrite (ctrl+s)"
        else:
            self.overwrite_path = None
            self.show_error(str(error))
            go.label = "Export (ctrl+s)"
        self.path_box.focus()

    def action_cancel(self) -> None:
        if self.running:
            # the worker stops before its next plan and removes its temporary file
            self.cancel_requested.set()
            return
        self.dismiss(None)

    @on(Input.Submitted, "#export-path")
    def _path_submitted(self) -> None:
        self.action_export()

    @on(Button.Pressed, "#export-go")
    def _go_pressed(self) -> None:
        self.action_export()

    @on(Button.Pressed, "#export-cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()
