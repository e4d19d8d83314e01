"""Correction attempts: the spec DDL, a failure reason, and one open attempt per decision.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

OPEN_STATES = "state IN ('pending', 'executing')"


def upgrade() -> None:
    op.create_table(
        "correction_attempts",
        sa.Column("correction_attempt_id", sa.String(), nullable=False),
        sa.Column("plan_id", sa.String(), nullable=False),
        sa.Column("original_decision_id", sa.String(), nullable=False),
        sa.Column("new_decision_id", sa.String(), nullable=True),
        sa.Column(
            "mode",
            sa.Enum(
                "revert",
                "append",
                name="correction_mode",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("guidance", sa.Text(), nullable=False),
        sa.Column("archived_artifacts_path", sa.String(), nullable=True),
        sa.Column(
            "state",
            sa.Enum(
                "pending",
                "executing",
                "complete",
                "failed",
                name="correction_state",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
            server_default="pending",
        ),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("completed_at", sa.String(), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("correction_attempt_id"),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.plan_id"]),
        sa.ForeignKeyConstraint(["original_decision_id"], ["decisions.decision_id"]),
        sa.ForeignKeyConstraint(["new_decision_id"], ["decisions.decision_id"]),
    )
    op.create_index("idx_corrections_plan", "correction_attempts", ["plan_id"])
    op.create_index(
        "uq_corrections_open_per_decision",
        "correction_attempts",
        ["original_decision_id"],
        unique=True,
        sqlite_where=sa.text(OPEN_STATES),
        postgresql_where=sa.text(OPEN_STATES),
    )


def downgrade() -> None:
    op.drop_index("uq_corrections_open_per_decision", table_name="correction_attempts")
    op.drop_index("idx_corrections_plan", table_name="correction_attempts")
    op.drop_table("correction_attempts")
