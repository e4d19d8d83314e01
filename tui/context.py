"""What screens and widgets are given about the open database when they are built.

Screens never import the App: the App builds one `DatabaseContext` when the database opens and
hands it down; screens report upward with messages (`tui.messages`) that the App handles.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # store.db loads SQLAlchemy: the App builds a context only once the database is open, or
    # with a PendingEngine while the first roots are on screen and the engine is being built
    from store.db import Engine, Session, SessionFactory

# store.plans.PAGE_SIZE, spelled out: importing store.plans here would load SQLAlchemy before the
# first frame (tests/tui/test_context.py checks that the two agree)
DEFAULT_TREE_PAGE_SIZE = 200


class PendingEngine:
    """The engine the App is still building while the plans screen already shows the first
    roots (read without SQLAlchemy): sessions asked for meanwhile, always by thread workers,
    wait for it, or raise what kept it from opening."""

    def __init__(self) -> None:
        self._engine: Future[Engine] = Future()

    def opened(self, engine: Engine) -> None:
        self._engine.set_result(engine)

    def failed(self, error: BaseException) -> None:
        if not self._engine.done():
            self._engine.set_exception(error)

    @property
    def pending(self) -> bool:
        return not self._engine.done()

    def session(self) -> AbstractContextManager[Session]:
        engine = self._engine.result()  # a worker thread: never the UI's
        from store.db import session_scope

        return session_scope(engine)


@dataclass(frozen=True)
class DatabaseContext:
    """The open database as the screens see it."""

    url: str
    session: SessionFactory
    artifacts_root: Path
    archive_root: Path
    read_only: bool = False
    tree_page_size: int = DEFAULT_TREE_PAGE_SIZE  # plans read at a time per tree level
    # asks the App whether a correction of this decision id is still running
    correction_running: Callable[[str], bool] = lambda decision_id: False
