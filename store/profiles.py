"""Automation profiles: frozen snapshots taken when a plan is created, and their drift since."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from store.models import DEFAULT_PROFILE, AutomationProfile, utc_now


def snapshot_of(
    name: str, profile: AutomationProfile | None, *, source: str, captured_at: str
) -> str:
    """The JSON frozen into plans.effective_profile_snapshot for profile `name`."""
    snapshot: dict[str, Any] = {
        "profile_name": name,
        "source": source,
        "resolved": profile is not None,
        "captured_at": captured_at,
    }
    if profile is not None:
        snapshot["description"] = profile.description
        snapshot["settings"] = json.loads(profile.settings_json)
    return json.dumps(snapshot, sort_keys=True)


def creation_snapshot(session: Session, name: str | None, *, now: str | None = None) -> str:
    """A snapshot with "source": "creation" of the profile as it is defined right now."""
    name = name or DEFAULT_PROFILE
    return snapshot_of(
        name, session.get(AutomationProfile, name), source="creation", captured_at=now or utc_now()
    )


def set_profile(
    session: Session,
    name: str,
    settings: dict[str, Any],
    description: str | None = None,
    *,
    now: str | None = None,
) -> AutomationProfile:
    """Create or redefine a profile. Plans keep their snapshots: that difference is drift."""
    if not name.strip():
        raise ValueError("A profile needs a non-empty name.")
    profile = session.get(AutomationProfile, name)
    if profile is None:
        profile = AutomationProfile(name=name, updated_at=now or utc_now())
    profile.settings_json = json.dumps(settings, sort_keys=True)
    if description is not None:
        profile.description = description
    profile.updated_at = now or utc_now()
    session.add(profile)
    session.flush()
    return profile


@dataclass(frozen=True)
class ParsedSnapshot:
    """What a stored snapshot says, or why it could not be read."""

    raw: str
    data: dict[str, Any] | None
    error: str | None

    @property
    def source(self) -> str:
        return str(self.data.get("source", "unknown")) if self.data else "unknown"

    @property
    def settings(self) -> Any:
        return self.data.get("settings") if self.data else None


def parse_snapshot(raw: str) -> ParsedSnapshot:
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        return ParsedSnapshot(raw, None, f"snapshot is not valid JSON ({exc.__class__.__name__})")
    if not isinstance(data, dict):
        return ParsedSnapshot(raw, None, "snapshot is JSON but not an object")
    if not data:
        return ParsedSnapshot(raw, data, "snapshot is empty ('{}'): nothing was captured")
    return ParsedSnapshot(raw, data, None)


@dataclass(frozen=True)
class Drift:
    """How a plan's frozen profile differs from the profile's current definition."""

    profile_name: str
    current_exists: bool
    diff_lines: tuple[str, ...]

    @property
    def drifted(self) -> bool:
        return bool(self.diff_lines) or not self.current_exists


def _pretty(value: Any) -> list[str]:
    return json.dumps(value, indent=2, sort_keys=True).splitlines()


def drift(snapshot: ParsedSnapshot, profile_name: str, current: AutomationProfile | None) -> Drift:
    """A unified diff of the frozen settings against the current ones (empty when equal)."""
    if current is None:
        return Drift(profile_name, False, ())
    try:
        now_settings = json.loads(current.settings_json)
    except (ValueError, RecursionError):
        now_settings = current.settings_json
    lines = difflib.unified_diff(
        _pretty(snapshot.settings),
        _pretty(now_settings),
        fromfile="frozen in plan",
        tofile=f"{profile_name} now",
        lineterm="",
    )
    return Drift(profile_name, True, tuple(lines))
