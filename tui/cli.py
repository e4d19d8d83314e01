"""The `plandesk` console script: the app by default, and headless commands for scripts.

Textual is imported only when the app starts, so `plandesk db ...` stays quick; SQLAlchemy,
Alembic and the store services only by the commands that use them, so the app's first frame
is drawn before any of them loads (tests/tui/test_startup_imports.py).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, NoReturn

import click

from store.locations import database_url, display_name, sqlite_path
from tui.config import ConfigError, app_config, configured_database

if TYPE_CHECKING:
    from store import migrations

if TYPE_CHECKING:
    from tui.app import PlandeskApp

DB_HELP = "Database file path or SQLAlchemy URL (default: $PLANDESK_DB, then the user data dir)."
CONFIG_HELP = "The TOML config file (default: $PLANDESK_CONFIG, then the user config dir)."
READ_ONLY_HELP = "Open the database read-only: no corrections, no migrations (or config read_only)."


def fail(message: str) -> NoReturn:
    click.echo(f"plandesk: {message}", err=True)
    sys.exit(1)


@contextmanager
def reported_errors(url: str) -> Iterator[None]:
    """A StoreError, or a driver error store recognises, becomes one line on stderr and exit 1."""
    from store.db import StoreError, translated_errors

    try:
        with translated_errors(url):
            yield
    except StoreError as exc:
        fail(str(exc))


def demo_database_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("plandesk", appauthor=False)) / "demo.db"


class LazyGroup(click.Group):
    """Subcommand groups whose modules import store services at their top are imported when
    named, so that opening the app imports none of them (tests/tui/test_startup_imports.py)."""

    lazy_commands: ClassVar[dict[str, tuple[str, str]]] = {
        "plans": ("tui.cli_plans", "plans_group"),
        "config": ("tui.config_commands", "config_group"),
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_commands and cmd_name not in self.commands:
            module, name = self.lazy_commands[cmd_name]
            self.add_command(getattr(importlib.import_module(module), name), cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup, invoke_without_command=True,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", "db", metavar="PATH_OR_URL", help=DB_HELP)
@click.option("--demo", is_flag=True, help="Open the demo database (created on first use).")
@click.option("--config", "config", metavar="PATH", help=CONFIG_HELP)
@click.option("--read-only/--no-read-only", "read_only", default=None, help=READ_ONLY_HELP)
@click.version_option(package_name="plandesk")
@click.pass_context
def main(
    ctx: click.Context, db: str | None, demo: bool, config: str | None, read_only: bool | None
) -> None:
    """Browse and correct AI-agent plans. With no command, opens the app."""
    ctx.ensure_object(dict)
    ctx.obj.update(db=db, config=config, read_only=read_only)
    if ctx.invoked_subcommand is not None:
        return
    if demo and db:
        fail("use either --demo or --db, not both")
    app = app_for(db, demo, config, read_only)
    app.run()
    sys.exit(app.return_code or 0)


def app_for(
    db: str | None, demo: bool, config: str | None = None, read_only: bool | None = None
) -> PlandeskApp:
    """The app for `--db`/`--demo`; with neither (nor $PLANDESK_DB or a configured database),
    and nothing at the default path, the app first offers to create a database there or to
    open the demo."""
    from store.locations import default_database_path
    from tui.app import PlandeskApp

    settings, config_problem = app_config(config, database_flag=db, read_only_flag=read_only)
    if demo:
        return PlandeskApp(database_url(demo_database_path()), create_demo=True,
                           config=settings, config_problem=config_problem)
    database = settings.settings.database
    if database is None and not default_database_path().exists():
        return PlandeskApp(database_url(None), config=settings, config_problem=config_problem,
                           first_run_demo_url=database_url(demo_database_path()))
    return PlandeskApp(database_url(database), config=settings, config_problem=config_problem)


def _url(ctx: click.Context, db: str | None) -> str:
    from store.db import StoreError, check_supported_url

    try:
        url = database_url(db or ctx.obj.get("db") or configured_database(ctx.obj.get("config")))
    except ConfigError as exc:
        fail(str(exc))
    try:
        check_supported_url(url)
    except StoreError as exc:
        fail(str(exc))
    return url


def _refuse_if_read_only(ctx: click.Context, what: str) -> None:
    if ctx.obj.get("read_only"):
        fail(f"read-only: {what} would write to the database; run it without --read-only.")


db_option = click.option("--db", "db", metavar="PATH_OR_URL", help=DB_HELP)


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


def _say_waiting(message: str) -> None:
    click.echo(f"plandesk: {message}", err=True)


@db_group.command("current")
@db_option
@click.pass_context
def db_current(ctx: click.Context, db: str | None) -> None:
    """Show the database's revision and what is pending."""
    from store import migrations

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
    _refuse_if_read_only(ctx, "db upgrade")
    from store import migrations
    from store.db import StoreError, translated_errors

    url = _url(ctx, db)
    started: list[migrations.Revision] = []

    def progress(event: migrations.MigrationProgress) -> None:
        if event.step == "start":
            started.append(event.revision)
        _print_progress(event)

    try:
        with translated_errors(url):
            status = migrations.upgrade(url, target, progress=progress, backup=backup,
                                        on_wait=_say_waiting)
    except StoreError as exc:
        if started:
            ids = migrations.known_revisions()
            before = ids.index(started[-1].revision) - 1
            click.echo(f"plandesk: {exc}", err=True)
            fail(f"revision {started[-1].revision} was rolled back; the database is at "
                 f"{ids[before] if before >= 0 else 'base (empty)'}")
        fail(str(exc))
    if not started and status.up_to_date:
        click.echo(f"{display_name(url)} is already at head ({status.current})")
    else:
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
    _refuse_if_read_only(ctx, "db downgrade")
    from store import migrations

    url = _url(ctx, db)
    with reported_errors(url):
        try:
            status = migrations.downgrade(
                url, revision, progress=_print_progress, force=force, backup=backup,
                on_wait=_say_waiting,
            )
        except migrations.DataLossError as exc:
            fail(f"{exc}\nRun again with --force to go ahead anyway"
                 + (" (--backup copies the file first)." if sqlite_path(url) else "."))
    click.echo(f"{display_name(url)} is at {status.current or 'base'}")


@db_group.command("history")
def db_history() -> None:
    """List every revision this plandesk knows."""
    from store import migrations

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
    from store.db import StoreError, translated_errors
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
    from store import migrations
    from store.corrections import (
        check_correctable,
        plan_version_of,
        recover_interrupted,
        run_correction,
    )
    from store.db import archive_root, artifacts_root, engine_scope
    from store.models import CorrectionState

    _refuse_if_read_only(ctx, "correct")
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
            check_correctable(engine, plan_id, decision_id)  # the app's refusal, not a trace
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
