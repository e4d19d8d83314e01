"""Stash for 0002's downgrade, which drops decisions whole. Frozen once released."""

import sqlalchemy as sa

DECISIONS = "plandesk_stash_0002_decisions"
TABLES = (DECISIONS,)
COLUMNS = (
    "decision_id, plan_id, parent_decision_id, sequence, phase, title, rationale, state,"
    " artifacts_path, created_at"
)


def stash(bind: sa.Connection) -> None:
    bind.execute(sa.text(f"CREATE TABLE {DECISIONS} AS SELECT {COLUMNS} FROM decisions"))
    bind.execute(sa.text(f"CREATE UNIQUE INDEX {DECISIONS}_key ON {DECISIONS} (decision_id)"))
    # restore walks from each decision to its children
    bind.execute(
        sa.text(f"CREATE INDEX {DECISIONS}_parent ON {DECISIONS} (parent_decision_id)")
    )


def after_downgrade(bind: sa.Connection) -> None:
    """Nothing of decisions is left to compare against later."""


def before_upgrade(bind: sa.Connection) -> None:
    """The re-upgrade derives nothing for decisions: the table comes back empty."""


def restore(bind: sa.Connection) -> list[str]:
    """Put back every decision whose plan, and whose parent decision, came back.

    Decisions of plans deleted while downgraded go with them (ON DELETE CASCADE at head). A
    decision whose plan exists but whose parent decision could not come back stays in the
    stash and is reported.
    """
    alive = "EXISTS (SELECT 1 FROM plans p WHERE p.plan_id = s.plan_id)"
    bind.execute(
        sa.text(
            "WITH RECURSIVE restorable(decision_id) AS ("
            f" SELECT s.decision_id FROM {DECISIONS} s"
            f"  WHERE s.parent_decision_id IS NULL AND {alive}"
            " UNION"
            f" SELECT s.decision_id FROM {DECISIONS} s"
            f"  JOIN restorable r ON s.parent_decision_id = r.decision_id WHERE {alive})"
            f" INSERT INTO decisions ({COLUMNS}) SELECT {COLUMNS} FROM {DECISIONS} s"
            " WHERE s.decision_id IN (SELECT decision_id FROM restorable)"
        )
    )
    bind.execute(
        sa.text(
            f"DELETE FROM {DECISIONS} WHERE decision_id IN (SELECT decision_id FROM decisions)"
            " OR NOT EXISTS (SELECT 1 FROM plans p WHERE p.plan_id = "
            f"{DECISIONS}.plan_id)"
        )
    )
    left = int(bind.execute(sa.text(f"SELECT count(*) FROM {DECISIONS}")).scalar_one())
    if left == 0:
        bind.execute(sa.text(f"DROP TABLE {DECISIONS}"))
        return []
    return [
        f"{left} decisions row{'s' if left != 1 else ''} not restored"
        f" ({'their' if left != 1 else 'its'} parent decision was lost); kept in {DECISIONS}"
    ]
