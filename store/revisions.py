"""The packaged revision chain, read from the scripts' `revision =` lines without Alembic.

Opening a database that is already at head must not pay for importing Alembic (a sixth of a
second before the first plans appear), so its revision is compared with the head read here;
a test checks this reading against Alembic's ScriptDirectory.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

_REVISION = re.compile(r"""^revision\s*=\s*["']([^"']+)["']""", re.MULTILINE)
_DOWN_REVISION = re.compile(r"""^down_revision\s*=\s*(?:None|["']([^"']+)["'])""",
                            re.MULTILINE)


def script_location() -> Path:
    """The Alembic scripts: shipped inside the wheel, or at the repo root in a checkout."""
    packaged = Path(__file__).parent / "alembic"
    if (packaged / "env.py").exists():
        return packaged
    return Path(__file__).parent.parent / "alembic"


@functools.cache
def revision_ids() -> tuple[str, ...]:
    """Every revision id, oldest first (a single line of revisions, as plandesk ships)."""
    parent_of: dict[str, str | None] = {}
    for script in sorted((script_location() / "versions").glob("*.py")):
        text = script.read_text(encoding="utf-8")
        revision, down = _REVISION.search(text), _DOWN_REVISION.search(text)
        if revision is None or down is None:
            continue
        parent_of[revision.group(1)] = down.group(1)
    child_of = {parent: child for child, parent in parent_of.items()}
    if len(child_of) != len(parent_of):
        raise RuntimeError("the packaged revisions branch; plandesk ships a single line")
    chain: list[str] = []
    current = child_of.get(None)
    while current is not None:
        chain.append(current)
        current = child_of.get(current)
    if len(chain) != len(parent_of):
        raise RuntimeError("the packaged revisions do not form one line from the base")
    return tuple(chain)


def head_revision() -> str:
    return revision_ids()[-1]
