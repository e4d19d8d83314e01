"""Full garbage collections while the user rests, not in the middle of a keystroke.

Textual keeps tens of thousands of strips alive (with seven caches each), so a full
collection takes 60-180 ms once a million-plan database has been browsed and searched a
while. Python's default thresholds ran one every few keystrokes of a search, each time a
frame that late (bench_search's typing p95 was 150 ms against a p50 of 20 ms). Automatic full
collections are made ten times rarer (FULL_AFTER), and one runs instead once input has
rested for REST seconds after enough young collections to be worth it: what cycles the app
left (removed tree nodes, closed screens) is still collected, in a pause nobody waits on.
"""

from __future__ import annotations

import gc
import time
from typing import Any

from textual.app import App

FULL_AFTER = 100  # generation-1 collections between automatic full ones (Python's: 10)
REST = 1.0  # seconds without a key or a click before a full collection may run
DUE = 3  # generation-1 collections since the last full one that make one worth running
AT_MOST_EVERY = 2.0  # seconds between collections at rest (a live burst churns unattended)
CHECK_EVERY = 0.5


def collect_rarely() -> None:
    """Make automatic full collections rarer (once per process: thresholds are global)."""
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_AFTER)


class RestCollector:
    """Runs the full collections Python would have run during keystrokes when input rests."""

    def __init__(self) -> None:
        self.last_input = time.monotonic()
        self.collected_at = 0.0
        self.collections = 0  # run at rest (tests read it)

    def start(self, app: App[Any]) -> None:
        app.set_interval(CHECK_EVERY, self.check, name="rest-collector")

    def input_seen(self) -> None:
        self.last_input = time.monotonic()

    def check(self) -> None:
        now = time.monotonic()
        if (gc.get_count()[2] >= DUE and now - self.last_input >= REST
                and now - self.collected_at >= AT_MOST_EVERY):
            self.collected_at = now
            self.collections += 1
            gc.collect()
