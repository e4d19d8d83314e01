"""Benchmark of the app (not a timed test): first paint, a 10,000-child node, peak RSS.

    .venv/bin/python tests/benchmarks/bench_tui.py [--plans 1000000] [--runs 5] [--dir DIR]

Seeds (once, cached in --dir) two databases with `plandesk seed`: SMALL plans and --plans
plans, each with a first root of 10,000 direct children. Each measurement runs headless
(`App.run_test`) in a fresh process, so peak RSS is the app's alone:
  - first paint: from starting the app to the plans screen showing its first page of roots,
    against a bare Textual app (Header, a Tree of PAGE_SIZE nodes, Footer; target <= 1.3x);
  - first page of the 10,000-child node, as a user gets it: the cursor rests on the node
    (long enough for what the app reads ahead), then `right` is pressed; from the key to the
    first frame with the page drawn (target <= 50 ms, the same at SMALL and --plans total
    plans), against the bare app expanding its node with Tree's own key (space), whose
    thread worker reads the same page with stdlib sqlite3 and adds it to the Tree (Textual's
    own floor for a page, measured in the same run; it reads nothing ahead);
  - the next page the same way: the cursor rests on the page's last plan, `down` moves it
    onto the "… more" row below, which loads the next page (both apps);
  - peak RSS while browsing: open, expand the wide node, load five more pages, jump to a
    deep plan, filter (target <= 200 MB).
Also collected by pytest when named explicitly: `pytest tests/benchmarks/bench_tui.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

from store.revisions import head_revision

SMALL = 10_500
WIDE = 10_000
HERE = Path(__file__).resolve()


def seeded(folder: Path, plans: int) -> Path:
    """The cached database of `plans` plans, seeded if missing and brought to head if it was
    seeded by an older plandesk (a file behind head opens the migration screen, not plans)."""
    path = folder / f"bench-{plans}.db"
    plandesk = Path(sys.executable).with_name("plandesk")
    if not path.exists():
        # seeded beside it and renamed, so an interrupted seed leaves no half database cached
        partial = path.with_name(path.name + ".tmp")
        partial.unlink(missing_ok=True)
        subprocess.run(
            [str(plandesk), "seed", str(partial), "--plans", str(plans), "--max-depth", "8",
             "--wide", str(WIDE)],
            check=True,
        )
        partial.rename(path)
    if stored_revision(path) != head_revision():
        subprocess.run([str(plandesk), "db", "upgrade", "--db", str(path)], check=True,
                       stdout=subprocess.DEVNULL)
    return path


def stored_revision(path: Path) -> str | None:
    connection = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        return None
    finally:
        connection.close()
    return None if row is None else str(row[0])


async def _settle(pilot) -> None:  # type: ignore[no-untyped-def]
    from tui.live import ending_workers  # live refresh's watcher runs as long as the app

    for _ in range(50):
        working = ending_workers(pilot.app)
        if working:  # (an empty list would wait for every worker, the watcher's too)
            await pilot.app.workers.wait_for_complete(working)
        await pilot.pause()
        if not any(w.is_running for w in ending_workers(pilot.app)):
            return


async def _rest(pilot) -> None:  # type: ignore[no-untyped-def]
    """The cursor rests, as a user's does before a key: longer than the pause after which
    the app reads ahead (tui/widgets/plan_tree_prefetch.py), and what it reads is in."""
    await asyncio.sleep(0.4)
    await _settle(pilot)
    await pilot.pause()


async def _wait(pilot, condition, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the app did not get there")
        await pilot.pause(0.001)


async def _press_until_shown(pilot, key: str, shown_at: list[float],  # type: ignore[no-untyped-def]
                             marks: list[float]) -> float:
    """Press `key` (with `shown_at`, from record_first_frame, and `marks` emptied first) and
    wait for the first frame drawn after what it set off; returns when the key was pressed."""
    marks.clear()
    shown_at.clear()
    started = time.perf_counter()
    await pilot.press(key)
    await _wait(pilot, lambda: bool(shown_at))
    return started


async def _next_page(pilot, tree, wide, shown_at: list[float],  # type: ignore[no-untyped-def]
                     marks: list[float]) -> float:
    """Seconds from `down` onto the "… more" row below `wide`'s first page, the cursor having
    rested on the page's last plan, to the first frame with the next page."""
    await _settle(pilot)
    tree.move_cursor(wide.children[-2])
    await _rest(pilot)
    started = await _press_until_shown(pilot, "down", shown_at, marks)
    return shown_at[0] - started


def record_first_frame(app, condition, start: float) -> list[float]:  # type: ignore[no-untyped-def]
    """Seconds from `start` to the first frame the app hands to its terminal driver while
    `condition()` holds (headless apps render every frame but do not write it)."""
    frames: list[float] = []
    display = app._display

    def timed_display(screen, renderable):  # type: ignore[no-untyped-def]
        if renderable is not None and not frames and condition():
            frames.append(time.perf_counter() - start)
        return display(screen, renderable)

    app._display = timed_display
    return frames


# the bare app's wide page: the columns plandesk's rows show, one index range per child count
WIDE_PAGE = """
SELECT plan_id, namespaced_name, phase, processing_state,
       (SELECT count(*) FROM plans AS child WHERE child.parent_plan_id = plans.plan_id)
FROM plans WHERE parent_plan_id = ? AND plan_id > ? ORDER BY plan_id LIMIT 201
"""


async def measure_bare(db: Path) -> dict[str, float]:
    """The baseline: a bare Textual app (Header, Tree, Footer) with PAGE_SIZE roots, the
    first of them the wide node, whose expansion reads its first page of children with
    stdlib sqlite3 in a thread worker and adds them to the Tree; highlighting the "… more"
    leaf after them reads and adds the next page the same way."""
    from textual import work
    from textual.app import App, ComposeResult
    from textual.widgets import Footer, Header, Tree

    connection = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    (wide_id,) = connection.execute(  # `seed --wide` gives the first root the children
        "SELECT plan_id FROM plans WHERE parent_plan_id IS NULL ORDER BY plan_id LIMIT 1"
    ).fetchone()
    connection.close()

    class Bare(App[None]):
        def compose(self) -> ComposeResult:
            yield Header()
            tree: Tree[str] = Tree("plans")
            tree.show_root = False
            for number in range(200):
                tree.root.add(f"plan {number}", wide_id if number == 0 else None,
                              allow_expand=True)
            yield tree
            yield Footer()

        def on_tree_node_expanded(self, event: Tree.NodeExpanded[str]) -> None:
            if event.node.data is not None and not event.node.children:
                self.read_page(event.node, "")

        def on_tree_node_highlighted(self, event: Tree.NodeHighlighted[str]) -> None:
            gap = event.node
            if gap.data is not None and gap.data.startswith("after:") and gap.parent:
                self.read_page(gap.parent, gap.data.removeprefix("after:"), gap)

        @work(thread=True)
        def read_page(self, node, after: str, gap=None) -> None:  # type: ignore[no-untyped-def]
            reader = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
            try:
                rows = reader.execute(WIDE_PAGE, (node.data, after)).fetchall()
            finally:
                reader.close()
            self.call_from_thread(self.add_page, node, rows, gap)

        def add_page(self, node, rows, gap) -> None:  # type: ignore[no-untyped-def]
            if gap is not None:
                gap.remove()
            for plan_id, name, phase, state, children in rows[:200]:
                node.add(f"{name} {plan_id[-4:]} {phase} {state} ({children:,})",
                         allow_expand=children > 0)
            node.add_leaf("… more", f"after:{rows[199][0]}")
            added_at.append(time.perf_counter())

    start = time.perf_counter()
    app = Bare()
    added_at: list[float] = []
    frames = record_first_frame(app, lambda: bool(app.query(Tree)), start)
    async with app.run_test(size=(160, 48)) as pilot:
        await _wait(pilot, lambda: bool(frames))
        await pilot.pause()
        settled = time.perf_counter() - start
        tree = app.query_one(Tree)
        wide = tree.root.children[0]
        shown_at = record_first_frame(app, lambda: bool(added_at), 0.0)  # perf_counter times
        page_times, next_times = [], []
        for _ in range(5):
            wide.collapse()
            wide.remove_children()
            tree.move_cursor(wide)
            await _rest(pilot)
            started = await _press_until_shown(pilot, "space", shown_at, added_at)  # Tree's key
            page_times.append(shown_at[0] - started)
            next_times.append(await _next_page(pilot, tree, wide, shown_at, added_at))
    return {"first_paint_s": frames[0], "settled_s": settled,
            "wide_first_page_ms": statistics.median(page_times) * 1000,
            "wide_next_page_ms": statistics.median(next_times) * 1000}


async def measure_app(db: Path) -> dict[str, float]:
    from store.db import database_url
    from tui.app import PlandeskApp
    from tui.screens.plans import PlansScreen
    from tui.widgets.plan_tree import PlanRow, PlanTree

    start = time.perf_counter()
    app = PlandeskApp(database_url(db))

    def roots_shown() -> bool:
        if not isinstance(app.screen, PlansScreen):
            return False
        trees = app.screen.query(PlanTree)
        return bool(trees) and any(
            isinstance(c.data, PlanRow) for c in trees.first().root.children
        )

    def painted() -> bool:
        error = getattr(app.screen, "error", None)
        if error is not None:
            raise RuntimeError(f"{error.title}: {error}")
        return bool(frames)

    frames = record_first_frame(app, roots_shown, start)
    async with app.run_test(size=(160, 48)) as pilot:
        await _wait(pilot, painted)
        await pilot.pause()
        settled = time.perf_counter() - start
        await _settle(pilot)
        screen = app.screen
        assert isinstance(screen, PlansScreen)
        tree = screen.query_one(PlanTree)
        wide = next(n for n in tree.root.children
                    if isinstance(n.data, PlanRow) and n.data.child_count == WIDE)
        placed_at: list[float] = []
        place_page = tree._place_page

        def timed_place(*args, **kwargs):  # type: ignore[no-untyped-def]
            place_page(*args, **kwargs)
            placed_at.append(time.perf_counter())

        tree._place_page = timed_place  # type: ignore[method-assign]
        shown_at = record_first_frame(app, lambda: bool(placed_at), 0.0)  # perf_counter times
        page_times, placed_times, next_times = [], [], []
        for _ in range(5):
            wide.collapse()
            # forget the loaded children, so that expanding reads the first page again
            for child in wide.children:
                if isinstance(child.data, PlanRow):
                    del tree.nodes_by_plan[child.data.plan_id]
            wide.remove_children()
            wide.data.children_loaded = False
            await _settle(pilot)
            tree.move_cursor(wide.children[0] if wide.children else tree.root.children[1])
            await pilot.pause()
            tree.move_cursor(wide)
            await _rest(pilot)
            started = await _press_until_shown(pilot, "right", shown_at, placed_at)
            placed_times.append(placed_at[0] - started)
            page_times.append(shown_at[0] - started)
            next_times.append(await _next_page(pilot, tree, wide, shown_at, placed_at))
        # browse: five more pages, a jump deep into another tree, a filter
        for _ in range(5):
            tree.load_more(wide.children[-1])
            await _settle(pilot)
        last_root = [n for n in tree.root.children if isinstance(n.data, PlanRow)][-1]
        tree.move_cursor(last_root)
        await pilot.press("right")
        await _settle(pilot)
        await pilot.press("slash", *"state:errored", "enter")
        await _settle(pilot)
        await pilot.press("escape")
        await _settle(pilot)
    return {
        "first_paint_s": frames[0],
        "settled_s": settled,
        "wide_first_page_ms": statistics.median(page_times) * 1000,
        "wide_first_page_placed_ms": statistics.median(placed_times) * 1000,
        "wide_next_page_ms": statistics.median(next_times) * 1000,
    }


def child(kind: str, db: str | None) -> None:
    os.environ["TEXTUAL_ANIMATIONS"] = "none"
    measure = measure_bare if kind == "bare" else measure_app
    result = asyncio.run(measure(Path(db or "")))
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def run_child(kind: str, db: Path) -> dict[str, float]:
    args = [sys.executable, str(HERE), "--child", kind, str(db)]
    out = subprocess.run(args, check=True, capture_output=True, text=True, cwd=HERE.parents[2])
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(plans: int, runs: int, folder: Path) -> dict[str, object]:
    folder.mkdir(parents=True, exist_ok=True)
    small, large = seeded(folder, SMALL), seeded(folder, plans)
    # interleaved, so that the bare app and both databases see the same load on the machine
    by_kind: dict[str, list[dict[str, float]]] = {
        "bare_small": [], "bare_large": [], "small": [], "large": []}
    for _ in range(runs):
        by_kind["bare_small"].append(run_child("bare", small))
        by_kind["small"].append(run_child("app", small))
        by_kind["bare_large"].append(run_child("bare", large))
        by_kind["large"].append(run_child("app", large))
    bare = statistics.median(
        s["first_paint_s"] for s in by_kind["bare_small"] + by_kind["bare_large"])
    report: dict[str, object] = {"bare_first_paint_s": round(bare, 3)}
    for label in ("small", "large"):
        samples = by_kind[label]
        paint = statistics.median(s["first_paint_s"] for s in samples)
        wide = statistics.median(s["wide_first_page_ms"] for s in samples)
        bare_wide = statistics.median(s["wide_first_page_ms"] for s in by_kind[f"bare_{label}"])
        next_page = statistics.median(s["wide_next_page_ms"] for s in samples)
        bare_next = statistics.median(s["wide_next_page_ms"] for s in by_kind[f"bare_{label}"])
        report[label] = {
            "plans": SMALL if label == "small" else plans,
            "first_paint_s": round(paint, 3),
            "first_paint_vs_bare": round(paint / bare, 2),
            "wide_first_page_ms": round(wide, 1),
            "wide_first_page_placed_ms": round(statistics.median(
                s["wide_first_page_placed_ms"] for s in samples), 1),
            "bare_wide_first_page_ms": round(bare_wide, 1),
            "wide_first_page_vs_bare": round(wide / bare_wide, 2),
            "wide_next_page_ms": round(next_page, 1),
            "bare_wide_next_page_ms": round(bare_next, 1),
            "wide_next_page_vs_bare": round(next_page / bare_next, 2),
            "peak_rss_mb": round(max(s["peak_rss_mb"] for s in samples), 1),
        }
    report["machine"] = (f"{platform.machine()}, {os.cpu_count()} cores, Python "
                         f"{platform.python_version()}, load average {os.getloadavg()[0]:.2f}")
    return report


def test_bench_tui() -> None:
    """Runs the benchmark and prints the figures; asserts nothing about time."""
    folder = Path(os.environ.get("PLANDESK_BENCH_DIR", "/tmp/plandesk-bench-tui"))
    print(json.dumps(run(int(os.environ.get("PLANDESK_BENCH_PLANS", 1_000_000)), 3, folder),
                     indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plans", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/plandesk-bench-tui"))
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1] if len(args.child) > 1 else None)
        return
    print(json.dumps(run(args.plans, args.runs, args.dir), indent=2))


if __name__ == "__main__":
    main()
