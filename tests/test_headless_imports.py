"""The headless commands never import Textual: they run through `tui.cli.main` in a fresh
interpreter that reports, after each command, whether any `textual` module is loaded.

import-linter cannot see imports made inside functions, so this is checked at run time.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

# Runs the console script's entry point once per command given as JSON, in order, and prints
# one JSON line per command: its exit code and the Textual modules loaded so far.
RUN_AND_REPORT = """
import json, sys
from tui.cli import main
for argv in json.loads(sys.argv[1]):
    try:
        main(argv, prog_name="plandesk")
    except SystemExit as stop:
        code = stop.code
    else:
        code = 0
    loaded = sorted(m for m in sys.modules if m == "textual" or m.startswith("textual."))
    print("REPORT " + json.dumps({"argv": argv, "code": code, "textual": loaded[:3]}))
"""


def run_headless(commands: list[list[str]], cwd: Path, prelude: str = "") -> list[dict]:
    result = subprocess.run(
        [sys.executable, "-c", prelude + RUN_AND_REPORT, json.dumps(commands)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    reports = [
        json.loads(line.removeprefix("REPORT "))
        for line in result.stdout.splitlines()
        if line.startswith("REPORT ")
    ]
    assert [report["argv"] for report in reports] == commands, result.stdout + result.stderr
    return reports


def test_headless_commands_never_import_textual(tmp_path):
    demo, legacy = str(tmp_path / "demo.db"), str(tmp_path / "legacy.db")
    setup = [
        ["demo", demo],
        ["seed", legacy, "--plans", "10", "--max-depth", "2", "--revision", "0002"],
    ]
    reports = run_headless(setup, tmp_path)
    connection = sqlite3.connect(demo)
    try:
        plan, decision = connection.execute(
            "SELECT plan_id, decision_id FROM decisions WHERE state = 'active' LIMIT 1"
        ).fetchone()
    finally:
        connection.close()
    commands = [
        ["db", "history"],
        ["config", "path"],
        ["config", "show"],
        ["db", "current", "--db", demo],
        ["db", "upgrade", "--db", legacy],
        ["db", "downgrade", "0003", "--db", legacy],
        ["seed", str(tmp_path / "new.db"), "--plans", "20", "--max-depth", "3"],
        ["correct", plan, decision, "--mode", "append", "--guidance", "more", "--db", demo],
        ["plans", "list", "--json", "--db", demo],
        ["plans", "list", "--root", plan, "--filter", "phase:execute", "--db", demo],
        ["plans", "show", plan, "--json", "--db", demo],
        ["plans", "tree", plan, "--max-depth", "2", "--db", demo],
    ]
    reports += run_headless(commands, tmp_path)
    assert [(r["argv"][:2], r["code"], r["textual"]) for r in reports] == [
        (argv[:2], 0, []) for argv in setup + commands
    ]


def test_the_check_sees_textual_when_the_app_module_is_imported(tmp_path):
    """The report itself works: a process that imported the app shows Textual loaded."""
    [report] = run_headless([["db", "history"]], tmp_path, prelude="import tui.app\n")
    assert report["code"] == 0
    assert "textual" in report["textual"]
