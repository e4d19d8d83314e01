"""Benchmark of start-up as a user sees it (not a timed test): whole processes in a terminal.

    .venv/bin/python tests/benchmarks/bench_startup.py [--plans 1000000] [--runs 5] [--dir DIR]
        [--harlequin /tmp/harlequin-venv/bin/harlequin]

Runs `plandesk --db DB` and a bare Textual app (`bare_tree_app.py`: Header, Tree, Footer,
the first page of roots read with stdlib sqlite3) alternately, each in a fresh pseudo-terminal
of 160x45, on the same --plans database (seeded once by bench_tui's `seeded`, cached in
--dir), and prints the medians and ratios of:
  - first frame: from starting the process to the first output that holds the app's header
    title ("plandesk" / "bare"); Textual writes a whole frame in one synchronized update, so
    its title arriving means the frame did (target: plandesk <= 1.3x the bare app);
  - first content: to the first output that holds the first root plan's name, which both
    apps show in its tree row (target: plandesk <= 2x the bare app). Not its id: plandesk's
    rows show the end of an id, and its detail pane the whole id, which comes later.
With --harlequin (Harlequin installed in a venv of its own, never the project's: `python3 -m
venv /tmp/harlequin-venv && /tmp/harlequin-venv/bin/pip install harlequin`), Harlequin opens
the same file (`harlequin -a sqlite DB`) in the same rounds, and its first frame (the first
output holding its "Data Catalog" pane title) is set beside plandesk's first roots: the
issue's "first roots ahead of Harlequin's first frame".
The output is read from the pty's master side as it comes (no polling of a screen), stamped
with time.perf_counter(), and the process is killed once its first content is seen.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import platform
import pty
import select
import signal
import sqlite3
import statistics
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from bench_tui import seeded  # the same cached database as the tree benchmark

HERE = Path(__file__).resolve()
REPO = HERE.parents[2]
COLUMNS, ROWS = 160, 45
TIMEOUT_S = 60.0


def first_root_name(db: Path) -> str:
    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        (name,) = connection.execute(
            "SELECT namespaced_name FROM plans WHERE parent_plan_id IS NULL"
            " ORDER BY plan_id LIMIT 1"
        ).fetchone()
    finally:
        connection.close()
    return str(name)


def run_in_pty(argv: list[str], title: str, content: str) -> dict[str, float]:
    """Seconds from starting `argv` in a fresh pty to the first output holding `title`, and
    to the first holding `content`."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(COLUMNS),
           "LINES": str(ROWS)}
    env.pop("TEXTUAL", None)  # no devtools
    start = time.perf_counter()
    process = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, cwd=REPO,
                               env=env, start_new_session=True)
    os.close(slave)
    seen = b""
    times: dict[str, float] = {}
    markers = {"first_frame_s": title.encode(), "first_content_s": content.encode()}
    try:
        while len(times) < len(markers):
            if time.perf_counter() - start > TIMEOUT_S:
                raise TimeoutError(f"{argv[0]}: no {set(markers) - set(times)} in {TIMEOUT_S}s;"
                                   f" last output: {seen[-400:]!r}")
            ready, _, _ = select.select([master], [], [], 0.5)
            if not ready:
                continue
            try:
                chunk = os.read(master, 1 << 16)
            except OSError:  # the process ended
                raise RuntimeError(f"{argv[0]} ended early: {seen[-800:]!r}") from None
            now = time.perf_counter()
            # keep a tail of the previous output, so a marker split between reads is found
            seen = seen[-64:] + chunk
            for name, marker in markers.items():
                if name not in times and marker in seen:
                    times[name] = now - start
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        os.close(master)
    return times


# in Harlequin's first frame: the title of its catalog pane (what follows, the catalog's
# tables, is read by a worker)
HARLEQUIN_FRAME = "Data Catalog"


def run(plans: int, runs: int, folder: Path, harlequin: Path | None = None) -> dict[str, object]:
    folder.mkdir(parents=True, exist_ok=True)
    db = seeded(folder, plans)
    content = first_root_name(db)
    bin_dir = Path(sys.executable).parent
    apps = {
        "bare": ([sys.executable, str(HERE.with_name("bare_tree_app.py")), str(db)], "bare"),
        "plandesk": ([str(bin_dir / "plandesk"), "--db", str(db)], "plandesk"),
    }
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in apps}
    # Harlequin has no first roots: its first frame only (the marker twice)
    other = ([str(harlequin), "-a", "sqlite", str(db)], HARLEQUIN_FRAME, HARLEQUIN_FRAME)
    run_in_pty(*apps["bare"], content)  # warm the page cache and .pyc files: not counted
    run_in_pty(*apps["plandesk"], content)
    if harlequin is not None:
        samples["harlequin"] = []
        run_in_pty(*other)
    for _ in range(runs):
        for name, (argv, title) in apps.items():  # interleaved, so all see the same load
            samples[name].append(run_in_pty(argv, title, content))
        if harlequin is not None:
            samples["harlequin"].append(run_in_pty(*other))
    medians = {
        name: {key: round(statistics.median(s[key] for s in runs_of), 3)
               for key in ("first_frame_s", "first_content_s")}
        for name, runs_of in samples.items()
    }
    bare, ours = medians["bare"], medians["plandesk"]
    versus: dict[str, object] = {}
    if harlequin is not None:
        theirs = medians["harlequin"]["first_frame_s"]
        versus = {"harlequin_first_frame_s": theirs,
                  "first_content_vs_harlequin_first_frame": round(
                      ours["first_content_s"] / theirs, 2)}
    return {
        "plans": plans,
        "runs": runs,
        "terminal": f"pty {COLUMNS}x{ROWS}",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
                   f"{platform.python_version()}, load average {os.getloadavg()[0]:.2f}",
        "bare": bare,
        "plandesk": ours,
        "first_frame_vs_bare": round(ours["first_frame_s"] / bare["first_frame_s"], 2),
        "first_content_vs_bare": round(ours["first_content_s"] / bare["first_content_s"], 2),
        **versus,
        "all_runs": samples,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plans", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/plandesk-bench-tui"))
    parser.add_argument("--harlequin", type=Path,
                        help="a harlequin executable (in a venv of its own) to time beside")
    args = parser.parse_args()
    print(json.dumps(run(args.plans, args.runs, args.dir, args.harlequin), indent=2))


if __name__ == "__main__":
    main()
