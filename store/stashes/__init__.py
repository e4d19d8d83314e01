"""Frozen stash specs: what each revision's downgrade drops, and how its re-upgrade puts it back.

One module per revision (r0002, r0003, ...), never edited once released, like the revisions
themselves. Each defines TABLES (the stash tables it writes) and four steps that
store.stash runs inside the revision's own transaction: stash() before the downgrade,
after_downgrade() right after it, before_upgrade() before the re-upgrade, and restore() after
it, which returns a note for every row it could not put back (those stay in the stash).
The modules use plain SQL that SQLite (3.33+) and PostgreSQL both run, and import nothing
from the rest of plandesk.
"""
