"""store.export.export_plans on SQLite and PostgreSQL: the file holds exactly what `plans show`
shows of each plan, a failure or a cancel leaves no file, an existing file is replaced only
when asked, a bad folder is refused before anything is written, and memory stays flat."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from store.db import create_db_engine, session_scope
from store.demo import create_demo
from store.export import (
    CSV_COLUMNS,
    ExportCancelledError,
    ExportDestinationError,
    detail_dict,
    export_plans,
    walk_tree,
)
from store.plans import plan_detail


@pytest.fixture
def demo_engine(db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("PLANDESK_ARTIFACTS", str(tmp_path / "artifacts"))
    create_demo(db_url)
    engine = create_db_engine(db_url)
    yield engine
    engine.dispose()


def biggest_tree(engine: sa.Engine) -> str:
    with engine.connect() as connection:
        return connection.execute(sa.text(
            "SELECT root_plan_id FROM plans GROUP BY root_plan_id ORDER BY count(*) DESC,"
            " root_plan_id LIMIT 1")).scalar_one()


def factory(engine: sa.Engine):
    return lambda: session_scope(engine)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


def test_a_tree_exported_as_json_is_what_plans_show_shows(demo_engine, tmp_path):
    top = biggest_tree(demo_engine)
    seen: list[tuple[int, int]] = []
    result = export_plans(factory(demo_engine), top, tmp_path / "tree.json", whole_tree=True,
                          file_format="json", progress=lambda d, t: seen.append((d, t)))
    exported = json.loads((tmp_path / "tree.json").read_text())
    with session_scope(demo_engine) as session:
        walk = [(e.depth, e.node.plan.plan_id) for e in walk_tree(session, top)]
        expected = [{**detail_dict(plan_detail(session, plan_id)), "depth": depth}
                    for depth, plan_id in walk]
    assert exported["plans"] == json.loads(json.dumps(expected))
    assert result.plan_count == exported["plan_count"] == len(walk) > 5
    assert seen[0] == (0, len(walk)) and seen[-1] == (len(walk), len(walk))
    assert [done for done, _ in seen] == list(range(len(walk) + 1))
    assert leftovers(tmp_path) == []


def test_one_plan_as_csv(demo_engine, tmp_path):
    top = biggest_tree(demo_engine)
    export_plans(factory(demo_engine), top, tmp_path / "one.csv", whole_tree=False,
                 file_format="csv")
    with (tmp_path / "one.csv").open(newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
        [row] = list(reader)
    with session_scope(demo_engine) as session:
        detail = plan_detail(session, top)
    assert row["plan_id"] == top and row["child_count"] == str(detail.child_count)
    assert json.loads(row["decisions_json"]) == detail_dict(detail)["decisions"]
    assert row["effective_profile_snapshot"] == detail.plan.effective_profile_snapshot


def test_a_failure_half_way_leaves_no_file(demo_engine, tmp_path):
    def fail_at_three(done: int, total: int) -> None:
        if done == 3:
            raise OSError(28, "No space left on device")

    with pytest.raises(Exception, match="full"):
        export_plans(factory(demo_engine), biggest_tree(demo_engine), tmp_path / "x.json",
                     whole_tree=True, file_format="json", progress=fail_at_three)
    assert not (tmp_path / "x.json").exists() and leftovers(tmp_path) == []


def test_a_cancel_leaves_no_file(demo_engine, tmp_path):
    calls: list[int] = []

    def cancel_on_third_plan() -> bool:
        calls.append(1)
        return len(calls) >= 3

    with pytest.raises(ExportCancelledError):
        export_plans(factory(demo_engine), biggest_tree(demo_engine), tmp_path / "x.csv",
                     whole_tree=True, file_format="csv", cancelled=cancel_on_third_plan)
    assert not (tmp_path / "x.csv").exists() and leftovers(tmp_path) == []


def test_an_existing_file_is_replaced_only_when_asked(demo_engine, tmp_path):
    target = tmp_path / "kept.json"
    target.write_text("precious")
    top = biggest_tree(demo_engine)
    with pytest.raises(ExportDestinationError) as refused:
        export_plans(factory(demo_engine), top, target, whole_tree=False, file_format="json")
    assert refused.value.exists and str(refused.value) == f"{target} already exists."
    assert target.read_text() == "precious"
    export_plans(factory(demo_engine), top, target, whole_tree=False, file_format="json",
                 overwrite=True)
    assert json.loads(target.read_text())["plan_id"] == top
    assert leftovers(tmp_path) == []


def test_bad_folders_are_refused_before_writing(sqlite_url, tmp_path):
    create_demo(sqlite_url)
    engine = create_db_engine(sqlite_url)
    top = biggest_tree(engine)
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    cases = {
        tmp_path / "missing" / "x.json": f"The folder {tmp_path / 'missing'} does not exist.",
        locked / "x.json": f"The folder {locked} is not writable.",
        a_file / "x.json": f"{a_file} is a file, not a folder.",
        tmp_path: f"{tmp_path} is a folder; name a file to export to.",
    }
    try:
        for path, message in cases.items():
            with pytest.raises(ExportDestinationError) as refused:
                export_plans(factory(engine), top, path, whole_tree=True, file_format="json")
            assert str(refused.value) == message
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o755)
        engine.dispose()


