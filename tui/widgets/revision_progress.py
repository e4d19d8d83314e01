"""One pending revision on the migration screen: its id, description, a progress bar, and a
line saying which step it is in, how many rows are done, and for how long it has run."""

from __future__ import annotations

import time
from collections.abc import Callable

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, ProgressBar

from store.migrations import Revision
from tui.widgets.literal import literal


class RevisionProgress(Vertical):
    DEFAULT_CSS = """
    RevisionProgress { height: auto; }
    RevisionProgress > Horizontal { height: auto; }
    RevisionProgress .revision-id { width: 6; }
    RevisionProgress .revision-description { width: 1fr; height: auto; }
    RevisionProgress ProgressBar { width: auto; margin-left: 1; }
    RevisionProgress ProgressBar > Bar { width: 16; }
    RevisionProgress > .revision-step { margin-left: 6; color: $text-muted; display: none; }
    RevisionProgress.-running > .revision-step,
    RevisionProgress.-done > .revision-step,
    RevisionProgress.-failed > .revision-step { display: block; }
    """

    def __init__(self, revision: Revision, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(id=f"revision-{revision.revision}")
        self.revision = revision
        self.clock = clock
        self.started_at: float | None = None
        self.step = ""
        self.done = 0
        self.count = 0

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Label(literal(self.revision.revision), classes="revision-id")
            yield Label(literal(self.revision.description), classes="revision-description")
            yield ProgressBar(total=1, show_eta=False)
        yield Label("", classes="revision-step")

    @property
    def bar(self) -> ProgressBar:
        return self.query_one(ProgressBar)

    @property
    def step_text(self) -> str:
        return str(self.query_one(".revision-step", Label).content)

    def _elapsed(self) -> int:
        return 0 if self.started_at is None else int(self.clock() - self.started_at)

    def _show_step(self) -> None:
        rows = f": {self.done:,}/{self.count:,} rows" if self.count else ""
        self.query_one(".revision-step", Label).update(
            literal(f"{self.step}{rows} · {self._elapsed()} s"))

    def started(self) -> None:
        self.add_class("-running")
        self.started_at = self.clock()
        self.step = "Starting"
        self.bar.update(total=None, progress=0)
        self._show_step()

    def rows(self, step: str, done: int, count: int) -> None:
        self.step, self.done, self.count = step, done, count
        if count:
            self.bar.update(total=count, progress=done)
        else:
            # a step that cannot count its rows: the bar says "working" instead of a stale %
            self.bar.update(total=None)
        self._show_step()

    def tick(self) -> None:
        """Once a second while running: the elapsed time keeps the text moving."""
        if self.has_class("-running"):
            self._show_step()

    def finished(self) -> None:
        self.remove_class("-running")
        self.add_class("-done")
        self.bar.update(total=1, progress=1)
        self.query_one(".revision-step", Label).update(literal(f"done in {self._elapsed()} s"))

    def failed(self) -> None:
        self.remove_class("-running")
        self.add_class("-failed")
        # the revision was rolled back: a full bar would claim it was applied
        self.bar.update(total=1, progress=0)
        self.query_one(".revision-step", Label).update(
            literal(f"failed after {self._elapsed()} s; rolled back"))
