"""`plandesk plans list|show|tree` on SQLite and PostgreSQL: JSON validated against the
documented schemas in docs/json/, the same filter as the app, wrong ids, bad filters and
unreadable rows as one line and exit 1, parent cycles, and output that is streamed."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from test_store_unreadable_rows import write_unchecked

from store import migrations
from store.corrections import run_correction
from store.db import create_db_engine, session_scope
from store.demo import create_demo
from store.export import all_plans
from store.models import Plan
from store.plans import PlanFilter
from store.seed import seed_database
from tui.cli import main

SCHEMAS = Path(__file__).resolve().parent.parent / "docs" / "json"


def schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / f"{name}.schema.json").read_text())


def validator(name: str) -> Draft202012Validator:
    resources = [(s["$id"].rsplit("/", 1)[-1], Resource.from_contents(s))
                 for s in (schema("plan-1"), schema("plan-summary-1"), schema("export-1"))]
    return Draft202012Validator(schema(name), registry=Registry().with_resources(resources))


def valid(name: str, document: Any) -> Any:
    errors = sorted(validator(name).iter_errors(document), key=str)
    assert not errors, "\n".join(str(e) for e in errors[:3])
    return document


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def plans_of(url: str) -> list[tuple[str, str | None, str, str]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(sa.text(
                "SELECT plan_id, parent_plan_id, phase, namespaced_name FROM plans"
                " ORDER BY plan_id"))]
    finally:
        engine.dispose()


@pytest.fixture
def demo_url(db_url, tmp_path, monkeypatch) -> str:
    monkeypatch.setenv("PLANDESK_ARTIFACTS", str(tmp_path / "artifacts"))
    create_demo(db_url)
    return db_url


def json_lines(output: str) -> list[dict[str, Any]]:
    return [valid("plan-summary-1", json.loads(line)) for line in output.splitlines()]


def test_list_json_lines_match_the_schema_and_the_database(demo_url):
    result = run("plans", "list", "--json", "--db", demo_url)
    assert result.exit_code == 0, result.output
    lines = json_lines(result.stdout)
    stored = plans_of(demo_url)
    assert [(d["plan_id"], d["parent_plan_id"], d["phase"], d["namespaced_name"])
            for d in lines] == stored
    parents = [p for _, p, _, _ in stored]
    assert {d["plan_id"]: d["child_count"] for d in lines} == {
        plan_id: parents.count(plan_id) for plan_id, _, _, _ in stored}


def test_text_list_has_one_line_per_plan(demo_url):
    result = run("plans", "list", "--db", demo_url)
    assert result.exit_code == 0, result.output
    assert [line.split()[0] for line in result.stdout.splitlines()] == [
        plan_id for plan_id, _, _, _ in plans_of(demo_url)]


def subtree_ids(stored, top: str) -> list[str]:
    children: dict[str | None, list[str]] = {}
    for plan_id, parent, _, _ in stored:
        children.setdefault(parent, []).append(plan_id)
    order, stack = [], [top]
    while stack:
        plan_id = stack.pop()
        order.append(plan_id)
        stack.extend(reversed(sorted(children.get(plan_id, []))))
    return order


def test_list_root_walks_the_tree_depth_first_and_filters_as_the_app_does(demo_url):
    stored = plans_of(demo_url)
    roots = [plan_id for plan_id, parent, _, _ in stored if parent is None]
    whole = json_lines(run("plans", "list", "--json", "--root", roots[0], "--db",
                           demo_url).stdout)
    assert [d["plan_id"] for d in whole] == subtree_ids(stored, roots[0])
    assert len(whole) > 3
    for query in ("phase:execute", "state:complete billing", "REVIEW", "phase:applied"):
        everywhere = run("plans", "list", "--json", "--filter", query, "--db", demo_url)
        assert everywhere.exit_code == 0, everywhere.output
        with session_scope(engine := create_db_engine(demo_url)) as session:
            expected = [n.plan.plan_id for n in all_plans(session, PlanFilter.parse(query))]
        engine.dispose()
        assert [d["plan_id"] for d in json_lines(everywhere.stdout)] == expected
        under_roots = []
        for root in roots:
            found = run("plans", "list", "--json", "--root", root, "--filter", query, "--db",
                        demo_url)
            assert found.exit_code == 0, found.output
            under_roots += [d["plan_id"] for d in json_lines(found.stdout)]
        assert sorted(under_roots) == expected, query
    assert expected  # the last query found something


def test_show_json_has_snapshot_drift_decisions_corrections_and_projects(demo_url, tmp_path):
    engine = create_db_engine(demo_url)
    try:
        with session_scope(engine) as session:
            decision = session.execute(sa.text(
                "SELECT plan_id, decision_id FROM decisions WHERE state = 'active'"
                " ORDER BY decision_id LIMIT 1")).one()
        run_correction(engine, decision[0], decision[1], "append", "try the other way",
                       artifacts_root=tmp_path / "artifacts", archive_root=tmp_path / "archive")
    finally:
        engine.dispose()
    result = run("plans", "show", decision[0], "--json", "--db", demo_url)
    assert result.exit_code == 0, result.output
    shown = valid("plan-1", json.loads(result.stdout))
    assert shown["plan"]["plan_id"] == decision[0]
    assert shown["snapshot"]["data"]["source"] in ("creation", "backfill")
    assert shown["snapshot"]["raw"] == shown["plan"]["effective_profile_snapshot"]
    assert [c["mode"] for c in shown["corrections"]] == ["append"]
    assert shown["corrections"][0]["state"] == "complete"
    assert shown["decisions"][-1]["rationale"] == "try the other way"
    assert "strategized_at" in shown["plan"] and "changeset_id" in shown["plan"]
    # Plans are shown until one with drift and one with projects have been seen (the demo
    # has both early on; showing all 273 took minutes on a loaded machine).
    drifted = with_projects = False
    for plan_id, _, _, _ in plans_of(demo_url):
        shown_one = valid("plan-1", json.loads(run("plans", "show", plan_id, "--json", "--db",
                                                   demo_url).stdout))
        drifted = drifted or bool(shown_one["drift"]["drifted"] and shown_one["drift"]["diff"])
        with_projects = with_projects or bool(shown_one["projects"])
        if drifted and with_projects:
            break
    assert drifted and with_projects
    text = run("plans", "show", decision[0], "--db", demo_url)
    assert text.exit_code == 0 and decision[0] in text.stdout
    assert "append complete" in text.stdout


def test_show_lists_the_repairs_of_a_migrated_legacy_database(db_url):
    seed_database(db_url, 40, 3, revision="0002")
    migrations.upgrade(db_url)
    engine = sa.create_engine(db_url)
    with engine.connect() as connection:
        repaired = connection.execute(sa.text(
            "SELECT plan_id, column_name, reason FROM plan_repairs ORDER BY id")).all()
    engine.dispose()
    assert repaired
    plan_id = repaired[0][0]
    shown = valid("plan-1", json.loads(run("plans", "show", plan_id, "--json", "--db",
                                           db_url).stdout))
    assert (shown["repairs"][0]["column_name"], shown["repairs"][0]["reason"]) == \
        (repaired[0][1], repaired[0][2])
    assert "repaired" in run("plans", "show", plan_id, "--db", db_url).stdout


def test_tree_is_indented_by_depth_and_stops_at_max_depth(demo_url):
    stored = plans_of(demo_url)
    root = stored[0][0] if stored[0][1] is None else next(p for p, q, _, _ in stored if q is None)
    result = run("plans", "tree", root, "--db", demo_url)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [line.split()[-1] for line in lines] == subtree_ids(stored, root)
    depths = [(len(line) - len(line.lstrip(" "))) // 2 for line in lines]
    assert depths[0] == 0 and max(depths) >= 3
    assert all(b <= a + 1 for a, b in itertools.pairwise(depths))
    short = run("plans", "tree", root, "--max-depth", "1", "--db", demo_url).stdout.splitlines()
    assert [line for line in short if not line.lstrip().startswith("…")] == \
        [line for line, depth in zip(lines, depths, strict=True) if depth <= 1]
    assert any("children below --max-depth" in line or "child below --max-depth" in line
               for line in short)


def test_a_parent_cycle_ends_the_walk(head_url):
    with session_scope(engine := create_db_engine(head_url)) as session:
        from store.plans import create_plan

        top = create_plan(session, namespaced_name="ops/top", description="t")
        below = create_plan(session, namespaced_name="ops/below", description="b",
                            parent_plan_id=top.plan_id)
    engine.dispose()
    write_unchecked(head_url, "plans", "UPDATE plans SET parent_plan_id = :below"
                    " WHERE plan_id = :top", {"below": below.plan_id, "top": top.plan_id})
    tree = run("plans", "tree", top.plan_id, "--db", head_url)
    assert tree.exit_code == 0, tree.output
    assert [line.split()[0] for line in tree.stdout.splitlines()] == \
        ["ops/top", "ops/below", "↻"]
    listed = json_lines(run("plans", "list", "--json", "--root", below.plan_id, "--db",
                            head_url).stdout)
    assert [d["plan_id"] for d in listed] == [below.plan_id, top.plan_id]
    shown = json.loads(run("plans", "show", top.plan_id, "--json", "--db", head_url).stdout)
    assert shown["path_stopped"] == "cycle"


@pytest.mark.parametrize("argv", [
    ("plans", "show", "01NOSUCHPLAN"),
    ("plans", "tree", "01NOSUCHPLAN"),
    ("plans", "list", "--root", "01NOSUCHPLAN"),
])
def test_a_wrong_id_is_one_line_and_exit_1(head_url, argv):
    result = run(*argv, "--db", head_url)
    assert result.exit_code == 1
    assert result.stderr == "plandesk: No plan with id '01NOSUCHPLAN'.\n"
    assert result.stdout == ""


def test_a_bad_filter_is_one_line_and_exit_1(head_url):
    result = run("plans", "list", "--filter", "phase:later", "--db", head_url)
    assert result.exit_code == 1
    assert result.stderr.startswith("plandesk: bad --filter: Unknown phase 'later'")
    assert len(result.stderr.splitlines()) == 1


def test_unreadable_rows_are_shown_as_stored_then_one_line_and_exit_1(demo_url):
    plan_id = plans_of(demo_url)[0][0]
    write_unchecked(demo_url, "plans", "UPDATE plans SET phase = 'bogus', tags_json = '{oops'"
                    " WHERE plan_id = :id", {"id": plan_id})
    listed = run("plans", "list", "--json", "--db", demo_url)
    assert listed.exit_code == 1
    first = json_lines(listed.stdout)[0]
    assert first["phase"] == "bogus"
    assert {p["column"] for p in first["problems"]} == {"phase", "tags_json"}
    assert len(json_lines(listed.stdout)) == len(plans_of(demo_url))
    assert listed.stderr.splitlines() == [
        f"plandesk: 1 plan has values plandesk cannot read ({plan_id}: unreadable: phase "
        "'bogus', tags_json (not valid JSON)); shown as stored"]
    shown = run("plans", "show", plan_id, "--json", "--db", demo_url)
    assert shown.exit_code == 1 and len(shown.stderr.splitlines()) == 1
    detail = valid("plan-1", json.loads(shown.stdout))
    assert detail["plan"]["phase"] == "bogus" and detail["plan"]["tags_json"] == "{oops"
    tree = run("plans", "tree", plan_id, "--db", demo_url)
    assert tree.exit_code == 1 and "unreadable: phase 'bogus'" in tree.stdout


def test_missing_or_old_databases_are_refused_without_writing(tmp_path):
    missing = tmp_path / "none.db"
    result = run("plans", "list", "--db", str(missing))
    assert result.exit_code == 1 and len(result.stderr.splitlines()) == 1
    assert not missing.exists()
    old = tmp_path / "old.db"
    assert run("db", "upgrade", "--db", str(old), "--to", "0002").exit_code == 0
    result = run("plans", "list", "--db", str(old))
    assert result.exit_code == 1
    assert "run `plandesk db upgrade` first" in result.stderr


def test_text_output_escapes_control_characters(head_url):
    odd = "01JZZZZZZZZZZZZZZZZZZZZZZZ"
    with session_scope(engine := create_db_engine(head_url)) as session:
        session.add(Plan(plan_id=odd, root_plan_id=odd,
                         namespaced_name="ops/\x1b[31mred\x9b2J", namespace="ops",
                         description="d", effective_profile_snapshot="{}",
                         created_at="2026-01-01T00:00:00Z", updated_at="2026-01-01T00:00:00Z"))
    engine.dispose()
    for argv in (("plans", "list"), ("plans", "list", "--json"),
                 ("plans", "tree", odd), ("plans", "show", odd, "--json")):
        result = run(*argv, "--db", head_url)
        assert result.exit_code == 0, result.output
        assert "\x1b" not in result.stdout and "\x9b" not in result.stdout
    listed = json.loads(run("plans", "list", "--json", "--db", head_url).stdout)
    assert listed["namespaced_name"] == "ops/\x1b[31mred\x9b2J"


def test_list_reads_one_page_at_a_time(head_url):
    """Streaming: the first plans come out after one page is read, not the whole table."""
    engine = create_db_engine(head_url)
    with session_scope(engine) as session:
        from store.plans import create_plan

        for n in range(30):
            create_plan(session, namespaced_name=f"ops/p{n:02}", description="p")
    statements: list[str] = []
    sa.event.listen(engine, "before_cursor_execute",
                    lambda *args: statements.append(args[2]))
    with session_scope(engine) as session:
        nodes = all_plans(session, page_size=10)
        first = [next(nodes) for _ in range(10)]
        pages_read = sum("LIMIT" in s.upper() for s in statements)
        rest = list(nodes)
    engine.dispose()
    assert len(first) == 10 and len(rest) == 20
    assert pages_read == 1
    assert sum("LIMIT" in s.upper() for s in statements) == 3
