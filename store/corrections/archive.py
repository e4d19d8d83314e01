"""The file side of a revert, without SQL: the per-attempt lock file, the fsynced manifest that
lists every folder move before it happens, the moves into `<archive>/<attempt id>/`, and
moving them back.

A crash between two moves is undone from the manifest (`undo_moves`); a manifest is only
removed once every folder it lists is back in place.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MANIFEST_NAME = ".plandesk-correction.json"
LOCKS_DIR = ".locks"

Move = Callable[[Path, Path], None]


@dataclass(frozen=True)
class ArtifactMove:
    """One artifact folder a revert moves: `source` relative to the artifacts root, `destination`
    relative to the attempt's archive folder (the same relative path, so nothing collides)."""

    source: str
    destination: str
    decision_ids: tuple[str, ...]


class AttemptLock:
    """An exclusive flock on `<locks folder>/<attempt id>.lock`, held while the attempt is
    open. The kernel drops it when the process dies, so taking it proves the owner is gone.
    Which folder is `liveness.locks_folder`'s choice (beside a SQLite database file)."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self.fd = fd

    @staticmethod
    def path_for(locks_folder: Path, attempt_id: str) -> Path:
        return locks_folder / f"{attempt_id}.lock"

    @classmethod
    def try_acquire(cls, locks_folder: Path, attempt_id: str) -> AttemptLock | None:
        """The lock, or None while another process holds it or a lock file names another host
        (which a flock here cannot see)."""
        path = cls.path_for(locks_folder, attempt_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        lock = cls(path, fd)
        if lock.owner().get("host") not in (None, socket.gethostname()):
            lock.release(remove=False)
            return None
        lock.claim()
        return lock

    def owner(self) -> dict[str, Any]:
        try:
            data = json.loads(os.pread(self.fd, 4096, 0) or b"{}")
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def claim(self) -> None:
        """Record who holds the lock (for people and for the other-host check)."""
        payload = json.dumps({"pid": os.getpid(), "host": socket.gethostname()}).encode()
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, payload, 0)

    def release(self, *, remove: bool = True) -> None:
        # Unlink before unlocking: whoever opened the file meanwhile re-reads the attempt's state
        # once it holds the lock, and finds it terminal.
        if remove:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
        os.close(self.fd)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_manifest(folder: Path, manifest: dict[str, Any]) -> Path:
    """Write `folder`/MANIFEST_NAME atomically and durably (file, then folder, fsynced)."""
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    if created:
        fsync_dir(folder.parent)
    target = folder / MANIFEST_NAME
    temporary = folder / (MANIFEST_NAME + ".tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        json.dump(manifest, handle, indent=2)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, target)
    fsync_dir(folder)
    return target


def read_manifest(folder: Path) -> dict[str, Any] | None:
    path = folder / MANIFEST_NAME
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else None


def manifest_moves(manifest: dict[str, Any]) -> list[ArtifactMove]:
    return [
        ArtifactMove(str(m["source"]), str(m["destination"]), tuple(m.get("decision_ids", ())))
        for m in manifest.get("moves", [])
    ]


class FolderArchive:
    """Moves a revert's artifact folders into one attempt's archive folder, and back."""

    def __init__(self, artifacts: Path, attempt_folder: Path, move: Move = os.rename) -> None:
        self.artifacts = artifacts
        self.attempt_folder = attempt_folder
        self.move = move
        self.done: list[ArtifactMove] = []

    def archive(self, moves: Sequence[ArtifactMove], about: dict[str, Any]) -> None:
        """Write the manifest (`about` plus the moves), then move every folder, then fsync the
        folders that changed. On an error `self.done` says what was moved."""
        write_manifest(self.attempt_folder, {
            "version": 1,
            **about,
            "artifacts_root": str(self.artifacts),
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "moves": [
                {"source": m.source, "destination": m.destination,
                 "decision_ids": list(m.decision_ids)}
                for m in moves
            ],
        })
        touched: set[Path] = set()
        for item in moves:
            source = self.artifacts / item.source
            destination = self.attempt_folder / item.destination
            destination.parent.mkdir(parents=True, exist_ok=True)
            self.move(source, destination)
            self.done.append(item)
            touched.update((source.parent, destination.parent))
        for directory in touched:
            fsync_dir(directory)

    def undo(self) -> list[str]:
        """Move back what `archive` moved; returns what could not be restored."""
        return undo_moves(self.artifacts, self.attempt_folder, self.done, self.move)

    def stored_path(self) -> str:
        """Relative to the artifacts root when the archive lives inside it (the default)."""
        if self.attempt_folder.is_relative_to(self.artifacts):
            return self.attempt_folder.relative_to(self.artifacts).as_posix()
        return str(self.attempt_folder)


def undo_moves(
    artifacts: Path, attempt_folder: Path, moves: Sequence[ArtifactMove], move: Move
) -> list[str]:
    """Move archived folders back, last first; returns what could not be restored."""
    problems: list[str] = []
    for item in reversed(moves):
        source = artifacts / item.source
        destination = attempt_folder / item.destination
        moved = destination.exists() or destination.is_symlink()
        present = source.exists() or source.is_symlink()
        if moved and not present:
            try:
                source.parent.mkdir(parents=True, exist_ok=True)
                move(destination, source)
            except OSError as exc:
                problems.append(f"could not move {destination} back to {source}: {exc}")
        elif moved and present:
            problems.append(f"both {source} and {destination} exist; left both in place")
        elif not moved and not present:
            problems.append(f"{item.source} is neither in place nor in the archive")
    return problems


def remove_archive_folder(attempt_folder: Path) -> None:
    """After an undo: drop the manifest and the now empty folders, never anything else."""
    with contextlib.suppress(FileNotFoundError):
        (attempt_folder / MANIFEST_NAME).unlink()
    if not attempt_folder.exists():
        return
    for directory in sorted(
        (p for p in attempt_folder.rglob("*") if p.is_dir() and not p.is_symlink()),
        key=lambda p: len(p.parts),
        reverse=True,
    ):
        with contextlib.suppress(OSError):
            directory.rmdir()
    with contextlib.suppress(OSError):
        attempt_folder.rmdir()
