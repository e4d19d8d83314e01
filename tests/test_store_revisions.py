"""The revision chain read from the scripts' text (so that opening a database at head never
imports Alembic) is the one Alembic's ScriptDirectory reads."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from store import migrations, revisions


def alembic_chain(location: Path) -> tuple[list[str], str | None]:
    config = migrations.alembic_config()
    config.set_main_option("script_location", str(location))
    scripts = ScriptDirectory.from_config(config)
    ids = [script.revision for script in reversed(list(scripts.walk_revisions()))]
    return ids, scripts.get_current_head()


def test_the_cheap_chain_is_alembics_chain():
    ids, head = alembic_chain(revisions.script_location())
    assert list(revisions.revision_ids()) == ids
    assert revisions.head_revision() == head
    assert migrations.known_revisions() == [r.revision for r in migrations.history()]


def test_a_new_revision_file_moves_the_head_for_both(tmp_path, monkeypatch):
    """A copy of the scripts with one more revision (and files in any name order)."""
    location = tmp_path / "alembic"
    packaged_head = alembic_chain(revisions.script_location())[1]
    shutil.copytree(revisions.script_location(), location,
                    ignore=shutil.ignore_patterns("__pycache__"))
    for script in (location / "versions").glob("*.py"):
        # renamed so that sorting by file name no longer gives the chain's order
        script.rename(script.with_name(f"r{script.stem[::-1]}.py"))
    (location / "versions" / "a_next.py").write_text(
        f'"""Next."""\n\nrevision = "0099"\ndown_revision = "{packaged_head}"\n'
        "branch_labels = None\ndepends_on = None\n\n\n"
        "def upgrade() -> None:\n    pass\n\n\ndef downgrade() -> None:\n    pass\n"
    )
    monkeypatch.setattr(revisions, "script_location", lambda: location)
    revisions.revision_ids.cache_clear()
    try:
        ids, head = alembic_chain(location)
        assert head == "0099"
        assert list(revisions.revision_ids()) == ids
        assert revisions.head_revision() == head
    finally:
        revisions.revision_ids.cache_clear()


def test_a_branch_is_refused(tmp_path, monkeypatch):
    location = tmp_path / "alembic"
    (location / "versions").mkdir(parents=True)
    for name, down in (("0001", "None"), ("0002", '"0001"'), ("0003", '"0001"')):
        (location / "versions" / f"{name}.py").write_text(
            f'revision = "{name}"\ndown_revision = {down}\n')
    monkeypatch.setattr(revisions, "script_location", lambda: location)
    revisions.revision_ids.cache_clear()
    try:
        with pytest.raises(RuntimeError, match="branch"):
            revisions.revision_ids()
    finally:
        revisions.revision_ids.cache_clear()
