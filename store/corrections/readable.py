"""Refusing, in the app's words, a correction of a plan whose rows the models cannot read.

A correction reads the plan, its decisions and its attempts through the models; a value
written behind our back (an unknown phase, broken JSON) would otherwise fail it half-way with
a driver's LookupError. The refusal is `PlanDetail.correction_refusal`, the one the app shows.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session

from store.corrections.errors import CorrectionError
from store.db import engine_scope, session_scope
from store.models import CorrectionAttempt, Decision, Plan
from store.plans.detail import plan_detail
from store.plans.paths import PlanNotFoundError
from store.plans.rows import rows_as_stored


class UnreadableRowsError(CorrectionError):
    title = "Unreadable rows"


def _any_unreadable(session: Session, plan_id: str) -> bool:
    """Whether the rows a correction reads (the plan, its decisions and attempts) have a
    value the models cannot read: three indexed reads, before the detail's dozen."""
    return any(
        rows_as_stored(session, model, model.plan_id == plan_id, model.plan_id)[1]
        for model in (Plan, Decision, CorrectionAttempt)
    )


def refuse_unreadable(session: Session, plan_id: str, decision_id: str) -> None:
    """Raise UnreadableRowsError while the plan's rows are unreadable; an unknown plan is
    left to the preview, which says so."""
    if not _any_unreadable(session, plan_id):
        return
    try:
        detail = plan_detail(session, plan_id)
    except PlanNotFoundError:
        return
    refusal = detail.correction_refusal(decision_id)
    if refusal is not None:
        raise UnreadableRowsError(refusal)


def check_correctable(url_or_engine: str | Engine, plan_id: str, decision_id: str) -> None:
    """`refuse_unreadable` in a session of its own (for `plandesk correct`, before it reads)."""
    with engine_scope(url_or_engine) as engine, session_scope(engine) as session:
        refuse_unreadable(session, plan_id, decision_id)
