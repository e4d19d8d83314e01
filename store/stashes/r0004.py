"""Stash for 0004's downgrade, which drops correction_attempts whole. Frozen once released."""

import sqlalchemy as sa

ATTEMPTS = "plandesk_stash_0004_correction_attempts"
TABLES = (ATTEMPTS,)
COLUMNS = (
    "correction_attempt_id, plan_id, original_decision_id, new_decision_id, mode, guidance,"
    " archived_artifacts_path, state, created_at, completed_at, failure_reason"
)


def stash(bind: sa.Connection) -> None:
    bind.execute(sa.text(f"CREATE TABLE {ATTEMPTS} AS SELECT {COLUMNS} FROM correction_attempts"))
    bind.execute(
        sa.text(f"CREATE UNIQUE INDEX {ATTEMPTS}_key ON {ATTEMPTS} (correction_attempt_id)")
    )


def after_downgrade(bind: sa.Connection) -> None:
    """Nothing of correction_attempts is left to compare against later."""


def before_upgrade(bind: sa.Connection) -> None:
    """The re-upgrade derives nothing for correction_attempts: the table comes back empty."""


def restore(bind: sa.Connection) -> list[str]:
    """Put back every attempt whose plan and decisions still exist.

    An attempt whose plan or decision was deleted while downgraded cannot go back (its
    foreign keys would break); it stays in the stash and is reported.
    """
    bind.execute(
        sa.text(
            f"INSERT INTO correction_attempts ({COLUMNS}) SELECT {COLUMNS} FROM {ATTEMPTS} s"
            " WHERE EXISTS (SELECT 1 FROM plans p WHERE p.plan_id = s.plan_id)"
            " AND EXISTS (SELECT 1 FROM decisions d"
            "  WHERE d.decision_id = s.original_decision_id)"
            " AND (s.new_decision_id IS NULL OR EXISTS (SELECT 1 FROM decisions d"
            "  WHERE d.decision_id = s.new_decision_id))"
        )
    )
    bind.execute(
        sa.text(
            f"DELETE FROM {ATTEMPTS} WHERE correction_attempt_id IN"
            " (SELECT correction_attempt_id FROM correction_attempts)"
        )
    )
    left = int(bind.execute(sa.text(f"SELECT count(*) FROM {ATTEMPTS}")).scalar_one())
    if left == 0:
        bind.execute(sa.text(f"DROP TABLE {ATTEMPTS}"))
        return []
    return [
        f"{left} correction_attempts row{'s' if left != 1 else ''} not restored"
        f" ({'their' if left != 1 else 'its'} plan or decision was deleted); kept in {ATTEMPTS}"
    ]
