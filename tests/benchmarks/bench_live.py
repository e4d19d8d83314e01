"""Benchmark of live refresh (not a timed test): external commit to screen, the UI thread's
time per refresh, and idle CPU.

    .venv/bin/python tests/benchmarks/bench_live.py [--runs 30] [--idle 10] [--pg ADMIN_URL]
                                                    [--loaded 2000] [--ui-only]

In process, with Pilot, on a demo SQLite file whose first root has 10,000 more children:
  - UI-thread time per refresh: --loaded of them on screen (one page that long), the CPU time
    of the app's event-loop thread from `refresh_live()` until the refresh is applied and
    painted, after another connection renamed one loaded row, against a refresh that finds
    nothing changed (medians of --runs / 2 each, interleaved);

The real `plandesk` runs in tmux on a demo database (SQLite, and PostgreSQL when --pg or
$PLANDESK_TEST_PG_URL gives an admin URL); it is read back with `capture-pane`:
  - commit to screen: another connection renames the first root plan and commits; the time
    until the new name is on screen, p50/p95 over --runs (target p95 <= 500 ms), against the
    same app's keypress-to-screen time (a tab switch, no query) measured the same way;
  - a burst: the same keypresses while another process commits ~1,000 small UPDATEs a
    second (the UI must keep answering), against the quiet keypress p95;
  - idle CPU: the app's process (user + system time from /proc through psutil) over --idle
    seconds with nothing happening, as % of one core (target < 1 %), against a bare Textual
    app idling in the same kind of tmux pane.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import sqlalchemy as sa

# the helpers the tests share (tests/ is not a package; run as a script, only this folder is
# on the path)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pg_databases import throwaway_database

PLANDESK = Path(sys.executable).with_name("plandesk")
FIRST_ROOT = "billing/migrate-invoices"
BARE_APP = ("from textual.app import App\nfrom textual.widgets import Header, Static\n"
            "class Bare(App):\n    def compose(self):\n        yield Header()\n"
            "        yield Static('bare')\nBare().run()\n")


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], check=True, capture_output=True, text=True).stdout


def screen(session: str) -> str:
    return tmux("capture-pane", "-p", "-t", session)


def wait_until(session: str, holds: Callable[[str], bool], timeout: float = 30.0) -> float:
    """Poll the pane as fast as tmux answers; the monotonic time it first held."""
    deadline = time.monotonic() + timeout
    while True:
        now = time.monotonic()
        if holds(screen(session)):
            return now
        if now > deadline:
            raise TimeoutError(screen(session))


@contextmanager
def pane(command: str, folder: Path, env: dict[str, str]) -> Iterator[str]:
    session = f"plandesk-live-bench-{uuid.uuid4().hex[:8]}"
    tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "40", "-c", str(folder),
         *(item for key, value in env.items() for item in ("-e", f"{key}={value}")),
         f"env -u COLUMNS -u LINES {command}")
    try:
        yield session
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def app_process(session: str) -> psutil.Process:
    shell = psutil.Process(int(tmux("display", "-p", "-t", session, "#{pane_pid}").strip()))
    for _ in range(100):
        for process in [shell, *shell.children(recursive=True)]:
            if "python" in process.name() or "plandesk" in " ".join(process.cmdline()):
                return process
        time.sleep(0.05)
    raise RuntimeError("no app process in the pane")


def idle_cpu(process: psutil.Process, seconds: float) -> float:
    """% of one core the process used while nothing happened."""
    before = process.cpu_times()
    start = time.monotonic()
    time.sleep(seconds)
    after = process.cpu_times()
    used = (after.user - before.user) + (after.system - before.system)
    return 100 * used / (time.monotonic() - start)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def keypress_latencies(session: str, runs: int) -> list[float]:
    """Seconds from a tab key (2, then 1, alternately) to that tab's content on screen."""
    latencies: list[float] = []
    for run in range(runs):
        tab, marker = (("2", "Effective profile snapshot") if run % 2 == 0
                       else ("1", "Description"))
        pressed = time.monotonic()
        tmux("send-keys", "-t", session, tab)
        shown = wait_until(session, lambda s, marker=marker: marker in s)
        latencies.append(shown - pressed)
        time.sleep(0.1)
    return latencies


def measure(url: str, folder: Path, runs: int, idle: float) -> dict[str, float]:
    env = {"TEXTUAL_ANIMATIONS": "none", "PLANDESK_ARTIFACTS": str(folder / "artifacts")}
    if "PYTHONPATH" in os.environ:  # another checkout's code measured with this script
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    subprocess.run([str(PLANDESK), "demo", url], check=True, capture_output=True,
                   env={**os.environ, **env})
    writer = sa.create_engine(url if "://" in url else f"sqlite:///{url}")
    with writer.connect() as connection:
        root_id = connection.execute(sa.text(
            "SELECT plan_id FROM plans WHERE namespaced_name = :n"), {"n": FIRST_ROOT}
        ).scalar_one()
    results: dict[str, float] = {}
    with pane(f"{PLANDESK} --db '{url}'", folder, env) as session:
        wait_until(session, lambda s: FIRST_ROOT in s and "live" in s)
        process = app_process(session)
        time.sleep(2)  # let the first frames, the detail and the watcher settle
        results["idle_cpu_pct"] = idle_cpu(process, idle)

        latencies: list[float] = []
        for run in range(runs):
            name = f"billing/live-{run:03d}"
            with writer.begin() as connection:
                connection.execute(sa.text(
                    "UPDATE plans SET namespaced_name = :n WHERE plan_id = :p"),
                    {"n": name, "p": root_id})
            committed = time.monotonic()
            shown = wait_until(session, lambda s, name=name: name in s)
            latencies.append(shown - committed)
            time.sleep(0.3)  # apart, so that each commit is a refresh of its own
        results["commit_p50_ms"] = 1000 * statistics.median(latencies)
        results["commit_p95_ms"] = 1000 * percentile(latencies, 0.95)

        keypresses = keypress_latencies(session, runs)
        results["key_p50_ms"] = 1000 * statistics.median(keypresses)
        results["key_p95_ms"] = 1000 * percentile(keypresses, 0.95)

        # the same keys while another process commits ~1,000 times a second
        stop = folder / "stop-burst"
        burst = subprocess.Popen([sys.executable, "-c", BURST_WRITER, url, root_id, str(stop)],
                                 stdout=subprocess.PIPE, text=True)
        try:
            assert burst.stdout is not None and burst.stdout.readline() == "started\n"
            started = time.monotonic()
            in_burst = keypress_latencies(session, runs)
        finally:
            stop.touch()
            out, _ = burst.communicate()
        results["burst_commits_per_s"] = int(out.split()[-1]) / (time.monotonic() - started)
        results["burst_key_p50_ms"] = 1000 * statistics.median(in_burst)
        results["burst_key_p95_ms"] = 1000 * percentile(in_burst, 0.95)
    writer.dispose()
    return results


def bare_idle_cpu(folder: Path, idle: float) -> float:
    script = folder / "bare.py"
    script.write_text(BARE_APP)
    with pane(f"{sys.executable} {script}", folder, {"TEXTUAL_ANIMATIONS": "none"}) as session:
        wait_until(session, lambda s: "bare" in s)
        process = app_process(session)
        time.sleep(2)
        return idle_cpu(process, idle)


# Another process committing one small UPDATE at a time, at most ~1,000 a second, until its
# stop file appears; it prints how many it made.
BURST_WRITER = """
import sys, time, pathlib
import sqlalchemy as sa
url, plan_id, stop = sys.argv[1], sys.argv[2], pathlib.Path(sys.argv[3])
engine = sa.create_engine(url if "://" in url else f"sqlite:///{url}")
commits, start = 0, time.monotonic()
with engine.connect() as connection:
    # no fsync per commit, so that one connection can reach ~1,000 commits a second
    connection.exec_driver_sql("PRAGMA synchronous = NORMAL" if engine.dialect.name == "sqlite"
                               else "SET synchronous_commit = off")
    connection.commit()
    while not stop.exists():
        connection.execute(sa.text("UPDATE plans SET description = :d WHERE plan_id = :p"),
                           {"d": f"burst {commits}", "p": plan_id})
        connection.commit()
        commits += 1
        if commits == 100:
            print("started", flush=True)
        ahead = start + commits / 1000 - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
print(commits, flush=True)
"""


def wide_level_database(folder: Path, children: int) -> tuple[str, str]:
    """A demo SQLite file whose first root has `children` more children (copies of one of its
    own, with ids after theirs); its URL and that root's id."""
    path = folder / "wide.db"
    subprocess.run([str(PLANDESK), "demo", str(path)], check=True, capture_output=True)
    with sqlite3.connect(path) as connection:
        root_id, child_id = connection.execute(
            "SELECT parent.plan_id, child.plan_id FROM plans parent JOIN plans child "
            "ON child.parent_plan_id = parent.plan_id WHERE parent.namespaced_name = ? "
            "ORDER BY child.plan_id DESC LIMIT 1", (FIRST_ROOT,)).fetchone()
        columns = [row[1] for row in connection.execute("PRAGMA table_info(plans)")]
        copied = ", ".join(
            "? || printf('-%06d', n)" if name == "plan_id"
            else "'bench/wide-' || printf('%06d', n)" if name == "namespaced_name"
            else name for name in columns)
        connection.execute(
            f"WITH RECURSIVE numbers(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM numbers "
            f"WHERE n < ?) INSERT INTO plans ({', '.join(columns)}) SELECT {copied} "
            f"FROM plans, numbers WHERE plans.plan_id = ?", (children, child_id, child_id))
    return f"sqlite:///{path}", root_id


async def _refresh_costs(url: str, root_id: str, loaded: int, runs: int,
                         ) -> dict[str, list[float]]:
    """UI-thread CPU (`time.thread_time` of the event loop's thread: the apply and the paint;
    the worker's query runs on its own thread) per live refresh of a tree with `loaded` rows of
    the wide level on screen: with nothing changed, and after one row was renamed."""
    from tui.app import PlandeskApp
    from tui.screens.plans import PlansScreen

    app = PlandeskApp(url)
    app.LIVE_UPDATES = False  # refreshes are started by hand, one at a time
    writer = sa.create_engine(url)
    costs: dict[str, list[float]] = {"unchanged": [], "one update": []}
    async with app.run_test(size=(120, 40)) as pilot:
        async def until(holds: Callable[[], bool]) -> None:
            for _ in range(6000):
                if holds():
                    return
                await pilot.pause(0.005)
            raise TimeoutError("the app did not get there")

        def screen_of() -> PlansScreen | None:
            screen = app.plans_screen
            return screen if screen is not None and screen.query("PlanTree") else None

        await until(lambda: screen_of() is not None and screen_of().plan_tree.cursor_plan_id
                    is not None)  # type: ignore[union-attr]
        screen = screen_of()
        assert screen is not None
        tree = screen.plan_tree
        tree.page_size = loaded
        tree.focus()
        await pilot.press("right")
        await until(lambda: len(tree.nodes_by_plan) > loaded)
        await app.workers.wait_for_complete()
        await pilot.pause()

        from tui.widgets.plan_tree_live import LiveRefreshed

        # waited on without polling, which would cost the UI thread while the worker reads
        applied = asyncio.Event()
        post = tree.post_message

        def posting(message: object) -> bool:
            if isinstance(message, LiveRefreshed):
                applied.set()
            return post(message)  # type: ignore[arg-type]

        tree.post_message = posting  # type: ignore[method-assign]

        for run in range(2 * runs):
            kind = "unchanged" if run % 2 == 0 else "one update"
            if kind == "one update":
                with writer.begin() as connection:
                    connection.execute(sa.text(
                        "UPDATE plans SET namespaced_name = :n WHERE plan_id = "
                        "(SELECT plan_id FROM plans WHERE parent_plan_id = :p "
                        "ORDER BY plan_id LIMIT 1 OFFSET :k)"),
                        {"n": f"bench/renamed-{run}", "p": root_id, "k": loaded // 2})
            await pilot.pause()
            applied.clear()
            started = time.thread_time()
            screen.refresh_live()
            await applied.wait()
            await pilot.pause()  # the repaint it asked for
            costs[kind].append(time.thread_time() - started)
    writer.dispose()
    return costs


def refresh_costs(folder: Path, loaded: int, runs: int) -> dict[str, float]:
    url, root_id = wide_level_database(folder, 10_000)
    costs = asyncio.run(_refresh_costs(url, root_id, loaded, runs))
    return {kind: 1000 * statistics.median(values) for kind, values in costs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--idle", type=float, default=10.0)
    parser.add_argument("--pg", default=os.environ.get("PLANDESK_TEST_PG_URL"))
    parser.add_argument("--ui-only", action="store_true",
                        help="only the UI-thread time per refresh (no tmux)")
    parser.add_argument("--loaded", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="plandesk-bench-live-") as tmp:
        folder = Path(tmp)
        os.environ["TEXTUAL_ANIMATIONS"] = "none"
        costs = refresh_costs(folder, args.loaded, max(5, args.runs // 2))
        print(f"UI-thread time per live refresh, {args.loaded:,} rows of a 10,000-child level "
              f"loaded: one external update {costs['one update']:.1f} ms, nothing changed "
              f"{costs['unchanged']:.1f} ms ({costs['one update'] / costs['unchanged']:.2f}x), "
              "medians")
        if args.ui_only:
            return
        bare = bare_idle_cpu(folder, args.idle)
        print(f"bare Textual app idle CPU: {bare:.2f} % of a core")
        for backend in ("sqlite", "postgresql") if args.pg else ("sqlite",):
            sub = folder / backend
            sub.mkdir()
            if backend == "sqlite":
                found = measure(str(sub / "demo.db"), sub, args.runs, args.idle)
            else:
                with throwaway_database(args.pg, "plandesk_bench_live") as url:
                    found = measure(url, sub, args.runs, args.idle)
            print(
                f"{backend:10} commit->screen p50 {found['commit_p50_ms']:6.0f} ms, "
                f"p95 {found['commit_p95_ms']:6.0f} ms (target p95 <= 500 ms; "
                f"{found['commit_p95_ms'] / found['key_p95_ms']:.1f}x a keypress->screen p95 "
                f"of {found['key_p95_ms']:.0f} ms, p50 {found['key_p50_ms']:.0f} ms)"
            )
            print(
                f"{backend:10} during a burst of {found['burst_commits_per_s']:,.0f} commits/s: "
                f"keypress->screen p50 {found['burst_key_p50_ms']:.0f} ms, p95 "
                f"{found['burst_key_p95_ms']:.0f} ms "
                f"({found['burst_key_p95_ms'] / found['key_p95_ms']:.1f}x the quiet p95)"
            )
            print(
                f"{backend:10} idle CPU {found['idle_cpu_pct']:.2f} % of a core over "
                f"{args.idle:.0f} s (target < 1 %; {found['idle_cpu_pct'] / max(bare, 0.01):.1f}x "
                "the bare Textual app)"
            )


if __name__ == "__main__":
    main()
