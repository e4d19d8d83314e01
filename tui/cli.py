"""The `plandesk` console script: the app by default, and headless commands for scripts.

Textual is imported only when the app starts, so `plandesk db ...` stays quick.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from store import migrations
from store.db import (
    StoreError,
    check_supported_url,
    database_url,
    display_name,
    sqlite_path,
    translated_errors,
)
from tui.cli_plans import plans_group

if TYPE_CHECKING:
    from tui.app import PlandeskApp

DB_HELP = "Database file path or SQLAlchemy URL (default: $PLANDESK_DB, then the user data dir)."


def fail(message: str) -> NoReturn:
    click.echo(f"plandesk: {message}", err=True)
    sys.exit(1)


@contextmanager
def reported_errors(url: str) -> Iterator[None]:
    """A StoreError, or a driver error store recognises, becomes one line on stderr and exit 1."""
    try:
        with translated_errors(url):
            yield
    except StoreError as exc:
        fail(str(exc))


def demo_database_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("plandesk", appauthor=False)) / "demo.db"


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", "db", metavar="PATH_OR_URL", help=DB_HELP)
@click.option("--demo", is_flag=True, help="Open the demo database (created on first use).")
@click.version_option(package_name="plandesk")
@click.pass_context
def main(ctx: click.Context, db: str | None, demo: bool) -> None:
    """Browse and correct AI-agent plans. With no command, opens the app."""
    ctx.ensure_object(dict)
    ctx.obj["db"] = db
    if ctx.invoked_subcommand is not None:
        return
    if demo and db:
        fail("use either --demo or --db, not both")
    app = app_for(db, demo)
    app.run()
    sys.exit(app.return_code or 0)


def app_for(db: str | None, demo: bool) -> PlandeskApp:
    """The app for `--db`/`--demo`; with neither, and nothing at the default path, the app
    first offers to create a database there or to open the demo."""
    from store.db import default_database_path
    from tui.app import PlandeskApp

    if demo:
        return PlandeskApp(database_url(demo_database_path()), create_demo=True)
    if db is None and not os.environ.get("PLANDESK_DB") and not default_database_path().exists():
        return PlandeskApp(database_url(None),
                           first_run_demo_url=database_url(demo_database_path()))
    return PlandeskApp(database_url(db))


def _url(ctx: click.Context, db: str | None) -> str:
    url = database_url(db or ctx.obj.get("db"))
    try:
        check_supported_url(url)
    except StoreError as exc:
        fail(str(exc))
    return url


db_option = click.option("--db", "db", metavar="PATH_OR_URL", help=DB_HELP)
main.add_command(plans_group)


@main.group("db")
def db_group() -> None:
    """Inspect and migrate the database schema."""


def _print_progress(event: migrations.MigrationProgress) -> None:
    arrow = f"[{event.index + 1}/{event.total}] {event.revision.revision}"
    if event.step == "start":
        click.echo(f"{arrow} {event.revision.description} ...")
    elif event.step == "rows" and event.count:
        click.echo(f"{arrow}   {event.message}: {event.done:,}/{event.count:,} rows")
    elif event.step == "rows":
        click.echo(f"{arrow}   {event.message}")
    elif event.step == "end":
        click.echo(f"{arrow} done")


@db_group.command("current")
@db_option
@click.pass_context
def db_current(ctx: click.Context, db: str | None) -> None:
    """Show the database's revision and what is pending."""
    url = _url(ctx, db)
    with reported_errors(url):
        status = migrations.inspect_database(url)
    click.echo(f"database: {display_name(url)}")
    click.echo(f"current:  {status.current or '(empty)'}")
    click.echo(f"head:     {status.head}")
    if status.up_to_date:
        click.echo("up to date")
    for revision in status.pending:
        click.echo(f"pending:  {revision.revision}  {revision.description}")
    for table, rows in status.stashed:
        click.echo(f"stashed:  {table}  {rows:,} rows (put back by `plandesk db upgrade` "
                   "where they still fit)")


@db_group.command("upgrade")
@db_option
@click.option("--to", "target", default="head", show_default=True, help="Target revision.")
@click.option("--backup/--no-backup", default=False, help="Copy a SQLite file first.")
@click.pass_context
def db_upgrade(ctx: click.Context, db: str | None, target: str, backup: bool) -> None:
    """Apply pending migrations (each revision in its own transaction)."""
    url = _url(ctx, db)
    started: list[migrations.Revision] = []

    def progress(event: migrations.MigrationProgress) -> None:
        if event.step == "start":
            started.append(event.revision)
        _print_progress(event)

    try:
        with translated_errors(url):
            status = migrations.upgrade(url, target, progress=progress, backup=backup)
    except StoreError as exc:
        if started:
            ids = migrations.known_revisions()
            before = ids.index(started[-1].revision) - 1
            click.echo(f"plandesk: {exc}", err=True)
            fail(f"revision {started[-1].revision} was rolled back; the database is at "
                 f"{ids[before] if before >= 0 else 'base (empty)'}")
        fail(str(exc))
    click.echo(f"{display_name(url)} is at {status.current}")


@db_group.command("downgrade")
@db_option
@click.argument("revision")
@click.option("--force", is_flag=True,
              help="Go ahead even if data would be lost for good (it is listed first).")
@click.option("--backup/--no-backup", default=False, help="Copy a SQLite file first.")
@click.pass_context
def db_downgrade(
    ctx: click.Context, db: str | None, revision: str, force: bool, backup: bool
) -> None:
    """Undo migrations down to REVISION (or 'base').

    What a downgrade drops is stashed in the database and put back by the next
    `plandesk db upgrade`. Data that cannot be kept is listed, and nothing is done
    without --force.
    """
    url = _url(ctx, db)
    with reported_errors(url):
        try:
            status = migrations.downgrade(
                url, revision, progress=_print_progress, force=force, backup=backup
            )
        except migrations.DataLossError as exc:
            fail(f"{exc}\nRun again with --force to go ahead anyway"
                 + (" (--backup copies the file first)." if sqlite_path(url) else "."))
    click.echo(f"{display_name(url)} is at {status.current or 'base'}")


@db_group.command("history")
def db_history() -> None:
    """List every revision this plandesk knows."""
    for revision in migrations.history():
        click.echo(f"{revision.revision}  {revision.description}")


@main.command("demo")
@click.argument("path")
def demo_command(path: str) -> None:
    """Write the demo database to PATH (a new file, or an empty database URL)."""
    from store.demo import create_demo

    with reported_errors(database_url(path)):
        url, count = create_demo(path)
    click.echo(f"wrote {count} plans to {display_name(url)}")


@main.command("seed")
@click.argument("path")
@click.option("--plans", "plan_count", type=click.IntRange(min=1), required=True)
@click.option("--max-depth", type=click.IntRange(min=1), required=True)
@click.option("--revision", default="head", show_default=True,
              help="Write the data in this revision's shape (0002: a legacy database).")
@click.option("--wide", type=click.IntRange(min=0), default=0,
              help="Give the first root this many direct children.")
@click.option("--random-seed", type=int, default=7, show_default=True)
def seed_command(
    path: str, plan_count: int, max_depth: int, revision: str, wide: int, random_seed: int
) -> None:
    """Write PLANS synthetic plans to a new database (for benchmarks)."""
    from store.seed import seed_database

    url = database_url(path)
    try:
        with translated_errors(url):
            summary = seed_database(
                url, plan_count, max_depth, revision=revision, wide=wide,
                random_seed=random_seed, progress=lambda m: click.echo(m),
            )
    except (StoreError, ValueError) as exc:
        fail(str(exc))
    click.echo(summary)


@main.command("correct")
@click.argument("plan_id")
@click.argument("decision_id")
@click.option("--mode", type=click.Choice(["revert", "append"]), required=True,
              help="revert: undo the decision and every later one; append: add a correction.")
@click.option("--guidance", required=True, help="What should be done differently.")
@db_option
@click.pass_context
def correct_command(
    ctx: click.Context, plan_id: str, decision_id: str, mode: str, guidance: str, db: str | None
) -> None:
    """Correct DECISION_ID of PLAN_ID; exit 0 only when the attempt completes."""
    from store.corrections import plan_version_of, recover_interrupted, run_correction
    from store.db import archive_root, artifacts_root, engine_scope
    from store.models import CorrectionState

    url = _url(ctx, db)
    with reported_errors(url):
        status = migrations.inspect_database(url)
        if not status.up_to_date:
            fail(f"{display_name(url)} is at revision {status.current or '(empty)'}, not "
                 f"{status.head}; run `plandesk db upgrade` first")
        artifacts, archive = artifacts_root(url), archive_root(url)
        with engine_scope(url) as engine:
            # The plan as this command found it: if another correction changes its decisions
            # before ours runs, ours is refused instead of applied on top.
            seen = plan_version_of(engine, plan_id)
            report = recover_interrupted(engine, artifacts, archive)
            for recovered in report.recovered:
                click.echo(f"recovered interrupted correction {recovered.correction_attempt_id}: "
                           f"{recovered.failure_reason}", err=True)
            attempt = run_correction(engine, plan_id, decision_id, mode, guidance,
                                     artifacts_root=artifacts, archive_root=archive,
                                     expected_version=seen)
    click.echo(f"{attempt.correction_attempt_id} {attempt.state.value}")
    if attempt.state != CorrectionState.COMPLETE:
        fail(f"correction {attempt.correction_attempt_id} failed: {attempt.failure_reason}")
