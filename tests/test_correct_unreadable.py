"""`plandesk correct` on a plan with rows its models cannot read: the app's refusal, exit 1,
nothing written, on both backends."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from test_store_unreadable_rows import Damaged, damaged, stored, write_unchecked

from store import plans
from store.db import session_scope
from tui.cli import main

__all__ = ["damaged"]  # the fixture, shared with the store's tests of the same rows


def correct(url: str, plan_id: str, decision_id: str, mode: str = "append"):
    return CliRunner().invoke(
        main, ["correct", plan_id, decision_id, "--mode", mode, "--guidance", "fix it",
               "--db", url],
    )


def refusal_in_app(engine, plan_id: str, decision_id: str) -> str:
    with session_scope(engine) as session:
        refusal = plans.plan_detail(session, plan_id).correction_refusal(decision_id)
    assert refusal is not None
    return refusal


def everything(url: str) -> tuple[object, ...]:
    return tuple(stored(url, f"SELECT * FROM {table} ORDER BY 1")
                 for table in ("plans", "decisions", "correction_attempts"))


@pytest.mark.parametrize("mode", ["append", "revert"])
def test_unreadable_decision_is_refused_with_the_apps_words(head_url, engine, damaged: Damaged,
                                                           mode):
    before = everything(head_url)
    for decision_id in (damaged.bad_decision, damaged.good_decision):
        result = correct(head_url, damaged.good_child, decision_id, mode)
        assert result.exit_code == 1, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
        assert "Traceback" not in result.output
        assert result.stderr.strip() == "plandesk: " + refusal_in_app(
            engine, damaged.good_child, decision_id)
    assert everything(head_url) == before


def test_unreadable_plan_row_is_refused(head_url, engine, damaged: Damaged):
    """The plan's own row is damaged after its decision was recorded."""
    with session_scope(engine) as session:
        decision = plans.plan_detail(session, damaged.good_child).decisions[0]
    write_unchecked(head_url, "plans", "UPDATE plans SET phase = 'bogus' WHERE plan_id = :id",
                    {"id": damaged.good_child})
    write_unchecked(head_url, "decisions", "UPDATE decisions SET state = 'active'"
                    " WHERE plan_id = :id", {"id": damaged.good_child})
    before = everything(head_url)
    result = correct(head_url, damaged.good_child, decision.decision_id)
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "unreadable: phase 'bogus'" in result.stderr
    assert result.stderr.strip() == "plandesk: " + refusal_in_app(
        engine, damaged.good_child, decision.decision_id)
    assert everything(head_url) == before


def test_broken_json_in_the_plan_is_refused(head_url, engine, damaged: Damaged):
    with session_scope(engine) as session:
        decision = plans.plan_detail(session, damaged.good_child).decisions[0]
    write_unchecked(head_url, "decisions", "UPDATE decisions SET state = 'active'"
                    " WHERE plan_id = :id", {"id": damaged.good_child})
    write_unchecked(head_url, "plans", "UPDATE plans SET tags_json = '{oops' WHERE plan_id = :id",
                    {"id": damaged.good_child})
    result = correct(head_url, damaged.good_child, decision.decision_id)
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "tags_json (not valid JSON)" in result.stderr
