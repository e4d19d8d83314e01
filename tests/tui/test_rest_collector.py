"""Full garbage collections run while input rests, not during keystrokes: Python's own full
collections are made rarer, and the app runs one once no key or click came for a while."""

from __future__ import annotations

import gc
import time
import weakref
from pathlib import Path

from tui_states import demo_database, press, run_async, settle

from store.db import database_url
from tui.app import PlandeskApp
from tui.rest_collector import DUE, FULL_AFTER, REST, RestCollector


class Cycle:
    def __init__(self) -> None:
        self.me = self


def test_a_full_collection_waits_for_input_to_rest() -> None:
    collector = RestCollector()
    gc.disable()  # nothing but the collector collects the cycle while the test runs
    try:
        gc.collect()
        cycle = Cycle()
        gone = weakref.ref(cycle)
        gc.collect(1)
        gc.collect(1)  # it lived into the oldest generation: only a full collection finds it
        del cycle
        for _ in range(DUE):
            gc.collect(1)  # each counts towards the next full collection, which is due now
        assert gone() is not None
        collector.input_seen()
        collector.check()  # but a key came just now
        assert collector.collections == 0 and gone() is not None
        collector.last_input = time.monotonic() - REST  # rested
        collector.check()
        assert collector.collections == 1 and gone() is None
        collector.check()  # not due again yet
        assert collector.collections == 1
    finally:
        gc.enable()


@run_async
async def test_the_app_collects_rarely_and_counts_keys_as_input(workdir: Path) -> None:
    app = PlandeskApp(database_url(demo_database(workdir)))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert gc.get_threshold()[2] == FULL_AFTER
        before = app.rest_collector.last_input
        await press(pilot, "down")
        assert app.rest_collector.last_input > before
