"""The baseline for bench_startup.py: a bare Textual app (Header, Tree, Footer) that reads the
first page of root plans with stdlib sqlite3 in a thread worker, as plandesk's tree shows it.

    .venv/bin/python tests/benchmarks/bare_tree_app.py PATH_TO_PLANS.db
"""

from __future__ import annotations

import sqlite3
import sys

from textual import work
from textual.app import App, ComposeResult
from textual.widgets import Footer, Header, Tree

FIRST_ROOTS = """
SELECT plan_id, namespaced_name, phase, processing_state,
       (SELECT count(*) FROM plans AS child WHERE child.parent_plan_id = plans.plan_id)
FROM plans WHERE parent_plan_id IS NULL ORDER BY plan_id LIMIT 200
"""


class BareTreeApp(App[None]):
    TITLE = "bare"
    BINDINGS = [("q", "quit", "Quit")]

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path

    def compose(self) -> ComposeResult:
        yield Header()
        tree: Tree[None] = Tree("plans")
        tree.show_root = False
        yield tree
        yield Footer()

    def on_mount(self) -> None:
        self.read_roots()

    @work(thread=True)
    def read_roots(self) -> None:
        connection = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        try:
            rows = connection.execute(FIRST_ROOTS).fetchall()
        finally:
            connection.close()
        self.call_from_thread(self.show_roots, rows)

    def show_roots(self, rows: list[tuple[str, str, str, str, int]]) -> None:
        tree = self.query_one(Tree)
        for plan_id, name, phase, state, children in rows:
            tree.root.add(f"{plan_id[:8]} {name} {phase} {state} ({children:,})",
                          allow_expand=children > 0)


if __name__ == "__main__":
    BareTreeApp(sys.argv[1]).run()
