"""Issue 9's "messages, not tracebacks" re-checked through `plandesk correct` on both backends."""

from __future__ import annotations

from click.testing import CliRunner

from store import decisions, plans
from store.db import session_scope
from store.models import PlanPhase
from tui.cli import main


def test_nul_in_guidance_is_one_line_and_writes_nothing(head_url, engine, tmp_path,
                                                       monkeypatch):
    monkeypatch.setenv("PLANDESK_ARTIFACTS", str(tmp_path / "artifacts"))
    with session_scope(engine) as session:
        plan = plans.create_plan(session, namespaced_name="ops/nul", description="n")
        decision = decisions.record_decision(session, plan_id=plan.plan_id, title="t",
                                             phase=PlanPhase.EXECUTE)
        plan_id, decision_id = plan.plan_id, decision.decision_id
    result = CliRunner().invoke(main, ["correct", plan_id, decision_id, "--mode", "append",
                                       "--guidance", "cents\x00not floats", "--db", head_url])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert 1 <= len(lines) <= 2 and "NUL" in lines[0], result.stderr
    with session_scope(engine) as session:
        assert len(plans.plan_detail(session, plan_id).decisions) == 1
        assert plans.plan_detail(session, plan_id).corrections == ()


def test_unknown_decision_is_one_line(head_url, engine, tmp_path, monkeypatch):
    monkeypatch.setenv("PLANDESK_ARTIFACTS", str(tmp_path / "artifacts"))
    with session_scope(engine) as session:
        plan = plans.create_plan(session, namespaced_name="ops/none", description="n")
        plan_id = plan.plan_id
    result = CliRunner().invoke(main, ["correct", plan_id, "01J0000000000000000000000B",
                                       "--mode", "revert", "--guidance", "x", "--db", head_url])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "No decision with id" in result.stderr
