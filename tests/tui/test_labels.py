"""Tree labels keep what tells rows apart: the name first, then the short id, phase, state and
child count right-aligned and never cut; ids only as short as stays unique among the loaded
rows (ULIDs made in one millisecond share their first ten-plus characters)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from rich.style import Style
from test_trust import plans_screen, step
from tui_states import demo_database, press, run_async, settle
from ulid import ULID

import store.plans.create
from store import plans
from store.db import create_db_engine, database_url, session_scope
from store.models import PlanPhase, ProcessingState
from tui.app import PlandeskApp
from tui.widgets.plan_label import MIN_ID_CHARS, short_id, unique_suffix_chars
from tui.widgets.plan_tree import PlanTree


def test_unique_suffix_chars() -> None:
    same_moment = [str(ULID.from_bytes(b"\x01\x97\x00\x00\x00\x01" + bytes(9) + bytes([i])))
                   for i in range(40)]
    assert len({plan_id[:12] for plan_id in same_moment}) == 1
    chars = unique_suffix_chars(same_moment)
    assert chars == MIN_ID_CHARS
    assert len({short_id(p, chars) for p in same_moment}) == len(same_moment)
    # a tail shared by two ids needs one character more than it
    assert unique_suffix_chars(["01AAAAAXYZ12", "01BBBBBXYZ12"]) == 6  # "XYZ12" + 1
    assert unique_suffix_chars([]) == MIN_ID_CHARS
    assert short_id("01ABCDEFGH", 4) == "…EFGH"


def label_of(tree: PlanTree, plan_id: str) -> str:
    return tree.render_label(tree.nodes_by_plan[plan_id], Style(), Style()).plain


@pytest.fixture
def same_moment_db(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """30 roots with long names whose ULIDs share a millisecond (their first 10+ characters);
    two of them also share their last 32 bits."""
    moment = b"\x01\x97\x4a\x00\x00\x01"
    tails = [bytes([7] * 6) + i.to_bytes(4, "big") for i in range(29)]
    tails.append(bytes([9] * 6) + (5).to_bytes(4, "big"))  # same last chars as tails[5]
    ids = iter(str(ULID.from_bytes(moment + tail)) for tail in tails)
    monkeypatch.setattr(store.plans.create, "new_plan_id", lambda: next(ids))
    engine = create_db_engine(database_url(workdir / "same.db"))
    from store import migrations

    migrations.upgrade(database_url(workdir / "same.db"))
    made: list[str] = []
    with session_scope(engine) as session:
        for i in range(30):
            plan = plans.create_plan(
                session, namespaced_name=f"platform/a-rather-long-plan-name-that-goes-on-{i:02}",
                description="d", phase=PlanPhase.EXECUTE,
                processing_state=ProcessingState.ERRORED)
            made.append(plan.plan_id)
    engine.dispose()
    return made


@run_async
async def test_labels_keep_state_and_unique_ids_at_80_columns(same_moment_db) -> None:
    app = PlandeskApp(database_url("same.db"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        tree = plans_screen(app).plan_tree
        assert len(tree.nodes_by_plan) == 30
        for plan_id in same_moment_db:
            label = label_of(tree, plan_id)
            assert len(label) == tree.scrollable_content_region.width
            assert label.endswith(" exec error"), label  # short words in a narrow tree
            # the namespace gives way first, then the end of the name, with an ellipsis
            assert label.startswith("…/a-rather-long"), label
            assert label.split(" ")[0].endswith("…")
            assert short_id(plan_id, tree.id_chars) not in label  # no room for ids here
        assert not tree.show_horizontal_scrollbar
        # a wider tree has room for the ids: each as short as keeps them apart
        await step(pilot, *(["greater_than_sign"] * 4))
        # tails[5] and the last id share their last 32 bits: 6 characters and a bit
        assert tree.id_chars == 7
        shown_ids = set()
        for plan_id in same_moment_db:
            label = label_of(tree, plan_id)
            assert len(label) == tree.scrollable_content_region.width
            assert label.endswith(" execute errored"), label
            short = short_id(plan_id, tree.id_chars)
            assert f" {short} execute" in label
            shown_ids.add(short)
        assert len(shown_ids) == 30
        assert not tree.show_horizontal_scrollbar


@run_async
async def test_the_decision_title_is_readable_in_full_under_the_table(workdir) -> None:
    name = demo_database(workdir)
    title = "Keep the monolith writable " + "and then some more words " * 10 + "END"
    connection = sqlite3.connect(workdir / name)
    with connection:
        connection.execute(
            "UPDATE decisions SET title = ? WHERE sequence = 1 AND plan_id = (SELECT plan_id "
            "FROM plans WHERE namespaced_name = 'billing/migrate-invoices')", (title,))
    connection.close()
    app = PlandeskApp(database_url(name))
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "4", "tab")
        box = plans_screen(app).query_one("#decision-rationale")
        text = " ".join(str(box.render()).split())
        assert title in text


def test_a_narrow_tree_says_phase_and_state_in_short_words() -> None:
    from rich.style import Style
    from rich.text import Text

    from tui.widgets.plan_label import plan_label
    from tui.widgets.plan_rows import PlanRow

    row = PlanRow(plan_id="01KJPWT0S01JAWFV71SRD9EM17", name="billing/migrate-invoices",
                  phase="execute", state="processing",
                  child_count=2)
    styles = {"id": Style(), "phase": Style(), "count": Style(), "unreadable": Style()}
    narrow = plan_label(Text("billing/migrate-invoices"), row, id_chars=4, width=30,
                        tree_width=34, style_of=styles).plain
    wide = plan_label(Text("billing/migrate-invoices"), row, id_chars=4, width=60,
                      tree_width=60, style_of=styles).plain
    assert narrow.endswith(" exec busy (2)") and "…/migrate-invoi" in narrow
    assert wide.rstrip().endswith("…EM17 execute processing (2)")


@pytest.mark.parametrize("tree_width", [30, 60])
@pytest.mark.parametrize("row_values", [
    ("execute", "processing", 2, ""),
    ("strategize", "queued", 0, ""),
    ("bogus", "états", 12_345, "unreadable: phase 'bogus'"),
    ("执行", "完成", 1, "unreadable: 状态"),  # wide characters take two cells each
])
def test_the_measured_facts_width_is_the_drawn_one(
    row_values: tuple[str, str, int, str], tree_width: int
) -> None:
    """The tree measures rows without drawing them: the width must be the drawn one."""
    from rich.text import Text

    from tui.widgets.plan_label import facts_width, plan_label
    from tui.widgets.plan_rows import PlanRow

    phase, state, children, unreadable = row_values
    row = PlanRow(plan_id="01KJPWT0S01JAWFV71SRD9EM17", name="n", phase=phase, state=state,
                  child_count=children, unreadable=unreadable)
    styles = {"id": Style(), "phase": Style(), "count": Style(), "unreadable": Style()}
    drawn = plan_label(Text(""), row, id_chars=6, width=0, tree_width=tree_width,
                       style_of=styles)
    assert facts_width(row, id_chars=6, tree_width=tree_width) == drawn.cell_len


def test_a_tree_not_laid_out_yet_measures_its_rows_without_drawing_them() -> None:
    """The first roots are placed at mount, before the tree has a width: measuring them must
    not draw 200 labels (it did, through Tree's own get_label_width), and must say what the
    unpadded row would take."""
    from collections import defaultdict

    from rich.cells import cell_len

    from store.plans import PlanNode
    from store.plans.summaries import PlanSummary
    from tui.widgets.plan_label import plan_label
    from tui.widgets.plan_rows import PlanRow

    tree = PlanTree(lambda: None)  # type: ignore[arg-type, return-value]
    summaries = [PlanSummary(plan_id=f"01KJPWT0S01JAWFV71SRD9EM1{n}", parent_plan_id=None,
                             root_plan_id=f"01KJPWT0S01JAWFV71SRD9EM1{n}",
                             namespaced_name=name, namespace="billing", phase="execute",
                             processing_state="queued", problems=())
                 for n, name in enumerate(["billing/migrate-invoices", "billing/日本語"])]
    tree._add_plans(tree.root, [PlanNode(summaries[0], 3), PlanNode(summaries[1], 0)], 0)
    drawn: list[object] = []
    tree.render_label = lambda *args: drawn.append(args)  # type: ignore[method-assign]

    for node in tree.root.children:
        row = node.data
        assert isinstance(row, PlanRow)
        icon = tree.ICON_NODE if node.allow_expand else ""
        label = plan_label(node.label, row, id_chars=tree.id_chars, width=0,  # type: ignore[arg-type]
                           tree_width=0, style_of=defaultdict(Style))
        assert tree.get_label_width(node) == cell_len(icon) + label.cell_len
    assert drawn == []
