"""One pending revision on the migration screen: its id, description and a progress bar."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label, ProgressBar

from store.migrations import Revision
from tui.widgets.literal import literal


class RevisionProgress(Horizontal):
    DEFAULT_CSS = """
    RevisionProgress { height: auto; }
    RevisionProgress > .revision-id { width: 6; }
    RevisionProgress > .revision-description { width: 1fr; height: auto; }
    RevisionProgress > ProgressBar { width: auto; margin-left: 1; }
    RevisionProgress > ProgressBar > Bar { width: 16; }
    """

    def __init__(self, revision: Revision) -> None:
        super().__init__(id=f"revision-{revision.revision}")
        self.revision = revision

    def compose(self) -> ComposeResult:
        yield Label(literal(self.revision.revision), classes="revision-id")
        yield Label(literal(self.revision.description), classes="revision-description")
        yield ProgressBar(total=1, show_eta=False)

    @property
    def bar(self) -> ProgressBar:
        return self.query_one(ProgressBar)

    def started(self) -> None:
        self.add_class("-running")
        self.bar.update(total=None, progress=0)

    def rows(self, done: int, count: int) -> None:
        if count:
            self.bar.update(total=count, progress=done)

    def finished(self) -> None:
        self.remove_class("-running")
        self.add_class("-done")
        self.bar.update(total=1, progress=1)

    def failed(self) -> None:
        self.remove_class("-running")
        self.add_class("-failed")
        # the revision was rolled back: a full bar would claim it was applied
        self.bar.update(total=1, progress=0)
