"""The demo database for tests, built once per test process and copied where a test wants it.

Building the demo runs every migration and writes 273 plans (about a second, three under
load); over a hundred app tests start from it. The demo is byte-for-byte deterministic
(tests/test_demo.py), so a copy of the database file and its artifact folders is the same
demo a fresh build would give.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from store.demo import create_demo

_template: Path | None = None


def _demo_template() -> Path:
    global _template
    if _template is None:
        folder = Path(tempfile.mkdtemp(prefix="plandesk-demo-template-"))
        create_demo(folder / "demo.db")
        _template = folder / "demo.db"
    return _template


def copy_demo(path: Path) -> Path:
    """The demo at the SQLite file `path` (which must not exist yet), artifacts beside it."""
    if os.environ.get("PLANDESK_ARTIFACTS"):  # the artifacts would not be beside the file
        create_demo(path)
        return path
    if path.exists():
        raise FileExistsError(path)
    template = _demo_template()
    shutil.copytree(template.with_name(template.stem + "-artifacts"),
                    path.with_name(path.stem + "-artifacts"), symlinks=True)
    shutil.copyfile(template, path)
    return path
