"""`plandesk plans list|show|tree`: plans for scripts, as text or JSON, streamed a keyset page
at a time. Headless: never imports Textual (tests/test_headless_imports.py)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import click

from store import migrations
from store.db import (
    StoreError,
    check_supported_url,
    create_db_engine,
    database_url,
    display_name,
    session_scope,
    translated_errors,
)
from store.export import (
    TreeEntry,
    all_plans,
    detail_dict,
    matches,
    printable,
    summary_dict,
    to_json,
    walk_tree,
)
from store.plans import (
    PlanDetail,
    PlanFilter,
    PlanNode,
    PlanNotFoundError,
    RowProblem,
    plan_detail,
    unreadable_label,
)

DB_HELP = "Database file path or SQLAlchemy URL (default: $PLANDESK_DB, then the user data dir)."
db_option = click.option("--db", "db", metavar="PATH_OR_URL", help=DB_HELP)
json_option = click.option("--json", "as_json", is_flag=True,
                           help="JSON (see README, Scripting) instead of text.")


def fail(message: str) -> NoReturn:
    click.echo(f"plandesk: {message}", err=True)
    sys.exit(1)


@contextmanager
def reading(ctx: click.Context, db: str | None) -> Iterator[Any]:
    """A read-only session on a database at head; any refusal is one line and exit 1.

    A broken pipe (`plandesk plans list | head`) ends the command quietly, as `cat` does.
    """
    url = database_url(db or (ctx.obj or {}).get("db"))
    try:
        check_supported_url(url)
        with translated_errors(url):
            status = migrations.inspect_database(url)
            if not status.up_to_date:
                fail(f"{display_name(url)} is at revision {status.current or '(empty)'}, not "
                     f"{status.head}; run `plandesk db upgrade` first")
            # SQLite opens the file with mode=ro: listing plans can never change it
            engine = create_db_engine(url, read_only=True)
            try:
                with session_scope(engine) as session:
                    yield session
            finally:
                engine.dispose()
    except StoreError as exc:
        fail(str(exc))
    except PlanNotFoundError as exc:
        fail(str(exc))
    except BrokenPipeError:
        # stdout's reader has gone: point stdout at nothing so the exit's flush is silent
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)


def parsed_filter(text: str | None) -> PlanFilter | None:
    if text is None:
        return None
    try:
        return PlanFilter.parse(text)
    except ValueError as exc:
        fail(f"bad --filter: {exc}")


class ProblemTally:
    """Counts the plans shown with unreadable values, for the one line at the end."""

    def __init__(self) -> None:
        self.plans = 0
        self.first = ""

    def add(self, plan_id: str, problems: tuple[RowProblem, ...]) -> None:
        if problems:
            self.plans += 1
            self.first = self.first or f"{plan_id}: {unreadable_label(problems)}"

    def fail_if_any(self) -> None:
        if self.plans:
            noun = "plan has" if self.plans == 1 else "plans have"
            fail(f"{self.plans} {noun} values plandesk cannot read ({printable(self.first)}); "
                 "shown as stored")


def summary_line(node: PlanNode) -> str:
    plan = node.plan
    line = (f"{plan.plan_id}  {printable(plan.phase):<10} {printable(plan.processing_state):<10} "
            f"{node.child_count:>6}  {printable(plan.namespaced_name)}")
    label = unreadable_label(plan.problems)
    return f"{line}  [{printable(label)}]" if label else line


@click.group("plans")
def plans_group() -> None:
    """Read plans for scripts: list, show one, print a tree (read-only)."""


@plans_group.command("list")
@click.option("--root", "root_id", metavar="ID", help="Only this plan and the plans under it.")
@click.option("--filter", "filter_text", metavar="TEXT",
              help="As `/` in the app: text (id prefix, name, namespace), phase:…, state:….")
@json_option
@db_option
@click.pass_context
def list_command(
    ctx: click.Context, root_id: str | None, filter_text: str | None, as_json: bool,
    db: str | None,
) -> None:
    """List plans by id (with --root, depth first under it). --json writes JSON Lines: one
    plandesk.plan-summary/1 object per line, streamed."""
    plan_filter = parsed_filter(filter_text)
    tally = ProblemTally()
    with reading(ctx, db) as session:
        nodes: Iterator[PlanNode]
        if root_id is None:
            nodes = all_plans(session, plan_filter)
        else:
            nodes = (entry.node for entry in walk_tree(session, root_id)
                     if not entry.loops_to_start
                     and (plan_filter is None or matches(entry.node.plan, plan_filter)))
        for node in nodes:
            tally.add(node.plan.plan_id, node.plan.problems)
            click.echo(to_json(summary_dict(node)) if as_json else summary_line(node))
    tally.fail_if_any()


def detail_lines(detail: PlanDetail) -> Iterator[str]:
    plan = detail.plan
    yield f"{plan.plan_id}  {printable(plan.namespaced_name)}"
    yield f"  phase {printable(str(plan.phase))}, {printable(str(plan.processing_state))}; " \
          f"{detail.child_count} children; attempt {plan.attempt}"
    path = " / ".join(detail.ancestors) or "(a root)"
    if detail.path_stopped:
        path = f"{detail.path_stopped}: {path}"
    yield f"  path: {path}"
    yield f"  description: {printable(plan.description)}"
    snapshot = detail.snapshot
    yield (f"  profile {printable(plan.automation_profile)}; snapshot source "
           f"{printable(snapshot.source)}" + (f" ({snapshot.error})" if snapshot.error else ""))
    if not detail.drift.current_exists:
        yield "  drift: the profile no longer exists"
    for line in detail.drift.diff_lines:
        yield f"  drift: {printable(line)}"
    for decision in detail.decisions:
        yield (f"  decision #{decision.sequence} {decision.decision_id} "
               f"{printable(str(decision.state))}: {printable(decision.title)}")
    for attempt in detail.corrections:
        yield (f"  correction {attempt.correction_attempt_id} {printable(str(attempt.mode))} "
               f"{printable(str(attempt.state))}"
               + (f": {printable(attempt.failure_reason)}" if attempt.failure_reason else ""))
    for repair in detail.repairs:
        yield (f"  repaired {printable(repair.column_name)} (was "
               f"{printable(repair.old_value)!s}): {printable(repair.reason)}")
    for problem in detail.problem_lines():
        yield f"  unreadable: {printable(problem)}"


@plans_group.command("show")
@click.argument("plan_id")
@json_option
@db_option
@click.pass_context
def show_command(ctx: click.Context, plan_id: str, as_json: bool, db: str | None) -> None:
    """Everything about PLAN_ID: columns, snapshot and drift, decisions, corrections, repairs.
    --json writes one plandesk.plan/1 object."""
    tally = ProblemTally()
    with reading(ctx, db) as session:
        detail = plan_detail(session, plan_id)
        tally.add(plan_id, detail.problems)
        if as_json:
            click.echo(to_json(detail_dict(detail), indent=2))
        else:
            for line in detail_lines(detail):
                click.echo(line)
    tally.fail_if_any()


def tree_line(entry: TreeEntry, max_depth: int | None) -> Iterator[str]:
    plan, indent = entry.node.plan, "  " * entry.depth
    name = printable(plan.namespaced_name)
    if entry.loops_to_start:
        yield f"{indent}↻ {name}  {plan.plan_id}  (its parent links loop back here)"
        return
    line = f"{indent}{name}  {printable(plan.phase)}/{printable(plan.processing_state)}  " \
           f"{plan.plan_id}"
    label = unreadable_label(plan.problems)
    yield f"{line}  [{printable(label)}]" if label else line
    if max_depth is not None and entry.depth == max_depth and entry.node.child_count:
        count = entry.node.child_count
        yield f"{indent}  … {count} {'child' if count == 1 else 'children'} below --max-depth"


@plans_group.command("tree")
@click.argument("plan_id")
@click.option("--max-depth", type=click.IntRange(min=0), default=None,
              help="Levels to show below PLAN_ID (default: all).")
@db_option
@click.pass_context
def tree_command(ctx: click.Context, plan_id: str, max_depth: int | None, db: str | None) -> None:
    """PLAN_ID and the plans under it, indented, depth first (safe against parent cycles)."""
    tally = ProblemTally()
    with reading(ctx, db) as session:
        for entry in walk_tree(session, plan_id, max_depth=max_depth):
            if not entry.loops_to_start:
                tally.add(entry.node.plan.plan_id, entry.node.plan.problems)
            for line in tree_line(entry, max_depth):
                click.echo(line)
    tally.fail_if_any()
