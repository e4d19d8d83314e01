"""The head schema: one SQLModel class per table, used as both table and domain model.

The naming convention is set on the metadata before any table class is declared so that
every constraint (including enum CHECKs) has a stable name that survives SQLite batch copies.

One module over the ~400-line guide on purpose: it is the whole head schema (eleven tables,
their enums and the naming convention), read top to bottom beside docs/schema.md and the
newest revision. The tables point at each other (foreign keys, relationships named by class),
so split by table group each part would import the others and one constraint would be read
across files.
"""

import enum
from datetime import UTC, datetime
from typing import Any, Optional

import sqlalchemy as sa
from sqlmodel import Field, Relationship, SQLModel

# defined without SQLAlchemy (the app's tree uses them before it loads), re-exported here
from store.enums import ActionState as ActionState
from store.enums import ArgRequirement as ArgRequirement
from store.enums import ArgType as ArgType
from store.enums import CorrectionMode as CorrectionMode
from store.enums import CorrectionState as CorrectionState
from store.enums import DecisionState as DecisionState
from store.enums import InvariantScope as InvariantScope
from store.enums import PlanPhase as PlanPhase
from store.enums import ProcessingState as ProcessingState

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION

DEFAULT_PROFILE = "balanced"


def utc_now() -> str:
    """The current time as ISO-8601 UTC text, the format of every timestamp column."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def enum_column(
    enum_cls: type[enum.StrEnum],
    type_name: str,
    default: enum.StrEnum | None = None,
    *,
    nullable: bool = False,
) -> Any:
    """A VARCHAR column holding the enum's *values*, with a named CHECK constraint."""
    return sa.Column(
        sa.Enum(
            enum_cls,
            name=type_name,
            native_enum=False,
            create_constraint=True,
            values_callable=lambda members: [m.value for m in members],
            validate_strings=True,
        ),
        nullable=nullable,
        server_default=default.value if default is not None else None,
    )


def bool_column() -> Any:
    return sa.Column(sa.Boolean(create_constraint=False), nullable=False, server_default=sa.false())


def fk_column(
    target: str, *, nullable: bool, ondelete: str | None = None, index: bool = False
) -> Any:
    return sa.Column(sa.ForeignKey(target, ondelete=ondelete), nullable=nullable, index=index)


class Action(SQLModel, table=True):
    __tablename__ = "actions"
    __table_args__ = (
        sa.Index(None, "namespace"),
        sa.Index(None, "state"),
    )

    namespaced_name: str = Field(primary_key=True)
    namespace: str
    name: str
    description: str = Field(sa_type=sa.Text)
    long_description: str | None = Field(default=None, sa_type=sa.Text)
    definition_of_done: str | None = Field(default=None, sa_type=sa.Text)
    state: ActionState = Field(
        default=ActionState.AVAILABLE,
        sa_column=enum_column(ActionState, "action_state", ActionState.AVAILABLE),
    )
    strategy_actor: str | None = None
    execution_actor: str | None = None
    review_actor: str | None = None
    apply_actor: str | None = None
    estimation_actor: str | None = None
    invariant_actor: str | None = None
    automation_profile: str | None = None
    reusable: bool = Field(default=False, sa_column=bool_column())
    read_only: bool = Field(default=False, sa_column=bool_column())
    inputs_schema_json: str | None = Field(default=None, sa_type=sa.Text)
    tags_json: str | None = Field(default=None, sa_type=sa.Text)
    created_by: str | None = None
    created_at: str
    updated_at: str


class ActionArgument(SQLModel, table=True):
    __tablename__ = "action_arguments"
    __table_args__ = (
        sa.UniqueConstraint("action_name", "name"),
        sa.Index(None, "action_name", "position"),
        sa.CheckConstraint("name <> ''", name="name_not_empty"),
        sa.CheckConstraint(
            "min_value IS NULL OR max_value IS NULL OR min_value <= max_value",
            name="min_le_max",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    action_name: str = Field(
        sa_column=fk_column("actions.namespaced_name", nullable=False, ondelete="CASCADE")
    )
    position: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    name: str
    arg_type: ArgType = Field(
        default=ArgType.STRING, sa_column=enum_column(ArgType, "arg_type", ArgType.STRING)
    )
    requirement: ArgRequirement = Field(
        default=ArgRequirement.OPTIONAL,
        sa_column=enum_column(ArgRequirement, "arg_requirement", ArgRequirement.OPTIONAL),
    )
    description: str | None = Field(default=None, sa_type=sa.Text)
    default_value_json: str | None = Field(default=None, sa_type=sa.Text)
    min_value: float | None = None
    max_value: float | None = None
    validation_pattern: str | None = None


class ActionInvariant(SQLModel, table=True):
    __tablename__ = "action_invariants"

    id: int | None = Field(default=None, primary_key=True)
    action_name: str = Field(
        sa_column=fk_column(
            "actions.namespaced_name", nullable=False, ondelete="CASCADE", index=True
        )
    )
    invariant_text: str = Field(sa_type=sa.Text)
    position: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    created_at: str


class AutomationProfile(SQLModel, table=True):
    """A named automation profile; plans freeze a copy of it in effective_profile_snapshot."""

    __tablename__ = "automation_profiles"

    name: str = Field(primary_key=True)
    description: str | None = Field(default=None, sa_type=sa.Text)
    settings_json: str = Field(
        default="{}", sa_type=sa.Text, sa_column_kwargs={"server_default": "{}"}
    )
    updated_at: str


class Plan(SQLModel, table=True):
    __tablename__ = "plans"
    __table_args__ = (
        sa.Index(None, "phase"),
        sa.Index(None, "processing_state"),
        sa.Index(None, "namespace"),
        # A page of children is a range of this index, already in plan_id order (no sort).
        sa.Index(None, "parent_plan_id", "plan_id"),
        sa.Index(None, "root_plan_id"),
    )

    plan_id: str = Field(primary_key=True)
    parent_plan_id: str | None = Field(
        default=None, sa_column=fk_column("plans.plan_id", nullable=True)
    )
    root_plan_id: str = Field(
        sa_column=fk_column("plans.plan_id", nullable=False),
        description="the root of the plan's tree (the plan itself for a root)",
    )
    attempt: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    namespaced_name: str
    namespace: str
    description: str = Field(sa_type=sa.Text)
    definition_of_done: str | None = Field(default=None, sa_type=sa.Text)
    action_name: str | None = Field(
        default=None, sa_column=fk_column("actions.namespaced_name", nullable=True)
    )
    phase: PlanPhase = Field(
        default=PlanPhase.STRATEGIZE,
        sa_column=enum_column(PlanPhase, "plan_phase", PlanPhase.STRATEGIZE),
    )
    processing_state: ProcessingState = Field(
        default=ProcessingState.QUEUED,
        sa_column=enum_column(ProcessingState, "processing_state", ProcessingState.QUEUED),
    )
    automation_profile: str = Field(
        default=DEFAULT_PROFILE, sa_column_kwargs={"server_default": DEFAULT_PROFILE}
    )
    effective_profile_snapshot: str = Field(
        sa_type=sa.Text, description="JSON: the profile frozen when the plan was created"
    )
    strategy_actor: str | None = None
    execution_actor: str | None = None
    review_actor: str | None = None
    apply_actor: str | None = None
    estimation_actor: str | None = None
    invariant_actor: str | None = None
    read_only: bool = Field(default=False, sa_column=bool_column())
    reusable: bool = Field(default=False, sa_column=bool_column())
    inputs_schema_json: str | None = Field(default=None, sa_type=sa.Text)
    tags_json: str | None = Field(default=None, sa_type=sa.Text)
    created_by: str | None = None
    error_message: str | None = Field(default=None, sa_type=sa.Text)
    error_details_json: str | None = Field(default=None, sa_type=sa.Text)
    created_at: str
    updated_at: str
    # The descriptions below are documentation only (docs/schema.md), not DDL comments.
    strategized_at: str | None = Field(
        default=None, description="when the plan left strategize (reached execute)"
    )
    executed_at: str | None = Field(default=None, description="when the plan reached apply")
    applied_at: str | None = Field(default=None, description="when the plan reached applied")
    completed_at: str | None = Field(
        default=None, description="when processing_state last became complete"
    )
    # Execution placeholders (seed 002): written by the executor, shown as they are.
    changeset_id: str | None = Field(default=None, description="the executor's changeset")
    sandbox_refs_json: str | None = Field(
        default=None, sa_type=sa.Text, description="JSON: the sandboxes the plan ran in"
    )
    validation_summary_json: str | None = Field(
        default=None, sa_type=sa.Text, description="JSON: the outcome of validation"
    )
    # plans and decisions refer to each other; use_alter lets create_all/drop_all order them.
    decision_root_id: str | None = Field(
        default=None,
        sa_column=sa.Column(sa.ForeignKey("decisions.decision_id", use_alter=True)),
        description="the first decision of the plan's decision tree",
    )

    children: list["Plan"] = Relationship(
        back_populates="parent",
        sa_relationship_kwargs={"foreign_keys": "[Plan.parent_plan_id]", "lazy": "raise"},
    )
    parent: Optional["Plan"] = Relationship(
        back_populates="children",
        sa_relationship_kwargs={
            "foreign_keys": "[Plan.parent_plan_id]",
            "remote_side": "Plan.plan_id",
            "lazy": "raise",
        },
    )
    decisions: list["Decision"] = Relationship(
        back_populates="plan",
        sa_relationship_kwargs={
            "foreign_keys": "[Decision.plan_id]",
            "order_by": "Decision.sequence",
            "lazy": "raise",
        },
    )


class PlanProject(SQLModel, table=True):
    __tablename__ = "plan_projects"
    __table_args__ = (
        sa.UniqueConstraint("plan_id", "project_name"),
        sa.Index(None, "project_name"),
    )

    id: int | None = Field(default=None, primary_key=True)
    plan_id: str = Field(sa_column=fk_column("plans.plan_id", nullable=False, ondelete="CASCADE"))
    project_name: str
    alias: str | None = Field(default=None, description="a short name for the project")
    read_only: bool = Field(
        default=False,
        sa_column=bool_column(),
        description="the plan may read the project but not change it",
    )
    created_at: str = Field(description="when the plan was linked to the project")


class PlanArgument(SQLModel, table=True):
    __tablename__ = "plan_arguments"
    __table_args__ = (
        sa.UniqueConstraint("plan_id", "name"),
        sa.Index(None, "plan_id", "position"),
    )

    id: int | None = Field(default=None, primary_key=True)
    plan_id: str = Field(sa_column=fk_column("plans.plan_id", nullable=False, ondelete="CASCADE"))
    name: str
    value_json: str | None = Field(default=None, sa_type=sa.Text)
    value_type: ArgType = Field(
        default=ArgType.STRING, sa_column=enum_column(ArgType, "arg_type", ArgType.STRING)
    )
    position: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class PlanInvariant(SQLModel, table=True):
    __tablename__ = "plan_invariants"
    __table_args__ = (
        sa.UniqueConstraint("plan_id", "invariant_text"),
        sa.Index(None, "plan_id", "position"),
    )

    id: int | None = Field(default=None, primary_key=True)
    plan_id: str = Field(sa_column=fk_column("plans.plan_id", nullable=False, ondelete="CASCADE"))
    invariant_text: str = Field(sa_type=sa.Text)
    source_scope: InvariantScope = Field(
        default=InvariantScope.PLAN,
        sa_column=enum_column(InvariantScope, "invariant_scope", InvariantScope.PLAN),
    )
    position: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    created_at: str


class Decision(SQLModel, table=True):
    __tablename__ = "decisions"
    __table_args__ = (sa.UniqueConstraint("plan_id", "sequence"),)

    decision_id: str = Field(primary_key=True)
    plan_id: str = Field(sa_column=fk_column("plans.plan_id", nullable=False, ondelete="CASCADE"))
    parent_decision_id: str | None = Field(
        default=None, sa_column=fk_column("decisions.decision_id", nullable=True)
    )
    sequence: int
    phase: PlanPhase = Field(sa_column=enum_column(PlanPhase, "plan_phase"))
    title: str
    rationale: str | None = Field(default=None, sa_type=sa.Text)
    state: DecisionState = Field(
        default=DecisionState.ACTIVE,
        sa_column=enum_column(DecisionState, "decision_state", DecisionState.ACTIVE),
    )
    artifacts_path: str | None = None
    created_at: str

    plan: Optional["Plan"] = Relationship(
        back_populates="decisions",
        sa_relationship_kwargs={"foreign_keys": "[Decision.plan_id]", "lazy": "raise"},
    )


class PlanRepair(SQLModel, table=True):
    """A value a migration (0003, 0005) had to repair, kept so that nothing is silently lost."""

    __tablename__ = "plan_repairs"

    id: int | None = Field(default=None, primary_key=True)
    plan_id: str = Field(
        sa_column=fk_column("plans.plan_id", nullable=False, ondelete="CASCADE", index=True)
    )
    column_name: str
    old_value: str | None = Field(default=None, sa_type=sa.Text)
    reason: str
    repaired_at: str


class CorrectionAttempt(SQLModel, table=True):
    __tablename__ = "correction_attempts"
    __table_args__ = (
        sa.Index("idx_corrections_plan", "plan_id"),
        sa.Index(
            "uq_corrections_open_per_decision",
            "original_decision_id",
            unique=True,
            sqlite_where=sa.text("state IN ('pending', 'executing')"),
            postgresql_where=sa.text("state IN ('pending', 'executing')"),
        ),
    )

    correction_attempt_id: str = Field(primary_key=True)
    plan_id: str = Field(sa_column=fk_column("plans.plan_id", nullable=False))
    original_decision_id: str = Field(sa_column=fk_column("decisions.decision_id", nullable=False))
    new_decision_id: str | None = Field(
        default=None, sa_column=fk_column("decisions.decision_id", nullable=True)
    )
    mode: CorrectionMode = Field(sa_column=enum_column(CorrectionMode, "correction_mode"))
    guidance: str = Field(sa_type=sa.Text)
    archived_artifacts_path: str | None = None
    state: CorrectionState = Field(
        default=CorrectionState.PENDING,
        sa_column=enum_column(CorrectionState, "correction_state", CorrectionState.PENDING),
    )
    created_at: str
    completed_at: str | None = None
    failure_reason: str | None = Field(default=None, sa_type=sa.Text)
