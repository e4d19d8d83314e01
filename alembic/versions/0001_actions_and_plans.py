"""Actions, their arguments and invariants, and plans in their legacy shape.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ACTION_STATES = ("available", "archived")
ARG_TYPES = ("string", "integer", "float", "boolean", "list")
ARG_REQUIREMENTS = ("required", "optional")
PLAN_PHASES = ("strategize", "execute", "apply", "applied")
PROCESSING_STATES = ("queued", "processing", "errored", "complete", "cancelled")
INVARIANT_SCOPES = ("plan", "action", "project", "global")
ACTOR_COLUMNS = ("strategy", "execution", "review", "apply", "estimation", "invariant")


def enum(values: tuple[str, ...], name: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True)


def actor_columns() -> list[sa.Column]:
    return [sa.Column(f"{role}_actor", sa.String(), nullable=True) for role in ACTOR_COLUMNS]


def flag(name: str) -> sa.Column:
    return sa.Column(name, sa.Boolean(), nullable=False, server_default=sa.false())


def upgrade() -> None:
    op.create_table(
        "actions",
        sa.Column("namespaced_name", sa.String(), nullable=False),
        sa.Column("namespace", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("long_description", sa.Text(), nullable=True),
        sa.Column("definition_of_done", sa.Text(), nullable=True),
        sa.Column(
            "state", enum(ACTION_STATES, "action_state"), nullable=False, server_default="available"
        ),
        *actor_columns(),
        sa.Column("automation_profile", sa.String(), nullable=True),
        flag("reusable"),
        flag("read_only"),
        sa.Column("inputs_schema_json", sa.Text(), nullable=True),
        sa.Column("tags_json", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(), nullable=True),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("updated_at", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("namespaced_name"),
    )
    op.create_index("ix_actions_namespace", "actions", ["namespace"])
    op.create_index("ix_actions_state", "actions", ["state"])

    op.create_table(
        "action_arguments",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("action_name", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("arg_type", enum(ARG_TYPES, "arg_type"), nullable=False, server_default="string"),
        sa.Column(
            "requirement",
            enum(ARG_REQUIREMENTS, "arg_requirement"),
            nullable=False,
            server_default="optional",
        ),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("default_value_json", sa.Text(), nullable=True),
        sa.Column("min_value", sa.Float(), nullable=True),
        sa.Column("max_value", sa.Float(), nullable=True),
        sa.Column("validation_pattern", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(["action_name"], ["actions.namespaced_name"], ondelete="CASCADE"),
        sa.UniqueConstraint("action_name", "name"),
        sa.CheckConstraint("name <> ''", name="name_not_empty"),
        sa.CheckConstraint(
            "min_value IS NULL OR max_value IS NULL OR min_value <= max_value", name="min_le_max"
        ),
    )
    op.create_index(
        "ix_action_arguments_action_name_position", "action_arguments", ["action_name", "position"]
    )

    op.create_table(
        "action_invariants",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("action_name", sa.String(), nullable=False),
        sa.Column("invariant_text", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(["action_name"], ["actions.namespaced_name"], ondelete="CASCADE"),
    )
    op.create_index("ix_action_invariants_action_name", "action_invariants", ["action_name"])

    op.create_table(
        "plans",
        sa.Column("plan_id", sa.String(), nullable=False),
        sa.Column("parent_plan_id", sa.String(), nullable=True),
        sa.Column("root_plan_id", sa.String(), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("namespaced_name", sa.String(), nullable=False),
        sa.Column("namespace", sa.String(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("definition_of_done", sa.Text(), nullable=True),
        sa.Column("action_name", sa.String(), nullable=True),
        sa.Column(
            "phase", enum(PLAN_PHASES, "plan_phase"), nullable=False, server_default="strategize"
        ),
        sa.Column(
            "processing_state",
            enum(PROCESSING_STATES, "processing_state"),
            nullable=False,
            server_default="queued",
        ),
        sa.Column("automation_profile", sa.String(), nullable=True),
        *actor_columns(),
        flag("read_only"),
        flag("reusable"),
        sa.Column("inputs_schema_json", sa.Text(), nullable=True),
        sa.Column("tags_json", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("error_details_json", sa.Text(), nullable=True),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("updated_at", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("plan_id"),
        sa.ForeignKeyConstraint(["parent_plan_id"], ["plans.plan_id"]),
        sa.ForeignKeyConstraint(["root_plan_id"], ["plans.plan_id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["action_name"], ["actions.namespaced_name"]),
    )
    op.create_index("ix_plans_phase", "plans", ["phase"])
    op.create_index("ix_plans_processing_state", "plans", ["processing_state"])
    op.create_index("ix_plans_namespace", "plans", ["namespace"])
    op.create_index("ix_plans_parent_plan_id", "plans", ["parent_plan_id"])

    op.create_table(
        "plan_projects",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("plan_id", sa.String(), nullable=False),
        sa.Column("project_name", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.plan_id"], ondelete="CASCADE"),
        sa.UniqueConstraint("plan_id", "project_name"),
    )
    op.create_index("ix_plan_projects_project_name", "plan_projects", ["project_name"])

    op.create_table(
        "plan_arguments",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("plan_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("value_json", sa.Text(), nullable=True),
        sa.Column(
            "value_type", enum(ARG_TYPES, "arg_type"), nullable=False, server_default="string"
        ),
        sa.Column("position", sa.Integer(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.plan_id"], ondelete="CASCADE"),
        sa.UniqueConstraint("plan_id", "name"),
    )
    op.create_index("ix_plan_arguments_plan_id_position", "plan_arguments", ["plan_id", "position"])

    op.create_table(
        "plan_invariants",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("plan_id", sa.String(), nullable=False),
        sa.Column("invariant_text", sa.Text(), nullable=False),
        sa.Column(
            "source_scope",
            enum(INVARIANT_SCOPES, "invariant_scope"),
            nullable=False,
            server_default="plan",
        ),
        sa.Column("position", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.plan_id"], ondelete="CASCADE"),
        sa.UniqueConstraint("plan_id", "invariant_text"),
    )


def downgrade() -> None:
    op.drop_table("plan_invariants")
    op.drop_index("ix_plan_arguments_plan_id_position", table_name="plan_arguments")
    op.drop_table("plan_arguments")
    op.drop_index("ix_plan_projects_project_name", table_name="plan_projects")
    op.drop_table("plan_projects")
    for name in ("parent_plan_id", "namespace", "processing_state", "phase"):
        op.drop_index(f"ix_plans_{name}", table_name="plans")
    op.drop_table("plans")
    op.drop_index("ix_action_invariants_action_name", table_name="action_invariants")
    op.drop_table("action_invariants")
    op.drop_index("ix_action_arguments_action_name_position", table_name="action_arguments")
    op.drop_table("action_arguments")
    op.drop_index("ix_actions_state", table_name="actions")
    op.drop_index("ix_actions_namespace", table_name="actions")
    op.drop_table("actions")
