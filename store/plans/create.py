"""Creating a plan: validated, with its true root and a profile snapshot taken now."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session
from ulid import ULID

from store import profiles
from store.models import DEFAULT_PROFILE, Plan, PlanPhase, ProcessingState, utc_now
from store.phase_timestamps import phase_timestamps
from store.plans.paths import parent_and_root


def new_plan_id() -> str:
    return str(ULID())


def _json_text(value: Any, what: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            json.loads(value)
        except ValueError as exc:
            raise ValueError(f"{what} is not valid JSON: {exc}") from None
        return value
    return json.dumps(value, sort_keys=True)


def create_plan(
    session: Session,
    *,
    namespaced_name: str,
    description: str,
    parent_plan_id: str | None = None,
    plan_id: str | None = None,
    automation_profile: str | None = None,
    phase: PlanPhase = PlanPhase.STRATEGIZE,
    processing_state: ProcessingState = ProcessingState.QUEUED,
    now: str | None = None,
    **extra: Any,
) -> Plan:
    """Create a plan with its true root and a profile snapshot taken now ("source": "creation").

    SQLModel table classes skip validation, so the row is validated explicitly here.
    """
    now = now or utc_now()
    namespaced_name = namespaced_name.strip()
    if not namespaced_name or "/" not in namespaced_name:
        raise ValueError("A plan name must look like 'namespace/name'.")
    if not description.strip():
        raise ValueError("A plan needs a non-empty description.")
    plan_id = plan_id or new_plan_id()
    root_plan_id = plan_id
    if parent_plan_id is not None:
        _, root_plan_id = parent_and_root(session, parent_plan_id)
    profile_name = (automation_profile or "").strip() or None
    for key in ("inputs_schema_json", "tags_json", "error_details_json"):
        if key in extra:
            extra[key] = _json_text(extra[key], key)
    plan = Plan.model_validate(
        {
            "plan_id": plan_id,
            "parent_plan_id": parent_plan_id,
            "root_plan_id": root_plan_id,
            "namespaced_name": namespaced_name,
            "namespace": namespaced_name.split("/", 1)[0],
            "description": description,
            "automation_profile": profile_name or DEFAULT_PROFILE,
            "effective_profile_snapshot": profiles.creation_snapshot(
                session, profile_name, now=now
            ),
            "phase": phase,
            "processing_state": processing_state,
            "created_at": now,
            "updated_at": now,
            **extra,
        }
    )
    # Stamped once the phase and state are known to be valid; explicit values are kept.
    for column, stamp in phase_timestamps(plan.phase, plan.processing_state, now).items():
        if column not in extra:
            setattr(plan, column, stamp)
    session.add(plan)
    session.flush()
    return plan
