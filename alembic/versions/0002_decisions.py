"""Decisions: what a plan decided, in order, with the folder of artifacts each produced.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

PLAN_PHASES = ("strategize", "execute", "apply", "applied")
DECISION_STATES = ("active", "reverted")


def upgrade() -> None:
    op.create_table(
        "decisions",
        sa.Column("decision_id", sa.String(), nullable=False),
        sa.Column("plan_id", sa.String(), nullable=False),
        sa.Column("parent_decision_id", sa.String(), nullable=True),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column(
            "phase",
            sa.Enum(*PLAN_PHASES, name="plan_phase", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=True),
        sa.Column(
            "state",
            sa.Enum(
                *DECISION_STATES, name="decision_state", native_enum=False, create_constraint=True
            ),
            nullable=False,
            server_default="active",
        ),
        sa.Column("artifacts_path", sa.String(), nullable=True),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("decision_id"),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.plan_id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["parent_decision_id"], ["decisions.decision_id"]),
        sa.UniqueConstraint("plan_id", "sequence"),
    )


def downgrade() -> None:
    op.drop_table("decisions")
