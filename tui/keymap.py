"""The user's `[keymap]`: binding ids of plandesk's keys and checked keys to move them to.

Every binding plandesk declares has an id (`plans.revert`, `tree.last.end`, ...); Textual's
`App.set_keymap` rebinds by id. An unknown id or a key Textual would never send is reported
instead of being applied (or silently never firing).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from textual.binding import Binding
from textual.dom import DOMNode
from textual.keys import REPLACED_KEYS, Keys, key_to_character

MODIFIERS = frozenset({"ctrl", "shift", "alt", "meta", "super", "hyper"})
# "escape", "f5", "pageup", ...: the names Textual gives keys that are not characters
NAMED_KEYS = frozenset(
    key.value.rpartition("+")[2] for key in Keys if not key.value.startswith("<")
)


def _subclasses(cls: type[DOMNode]) -> Iterator[type[DOMNode]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def import_all_screens() -> None:
    """Import every screen and widget module: the App imports most of them only when first
    shown (to draw its first frame sooner), but a keymap names bindings of all of them."""
    import tui.screens
    import tui.widgets

    for package in (tui.screens, tui.widgets):
        for module in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
            importlib.import_module(module.name)


def declared_bindings() -> Iterator[tuple[type[DOMNode], Binding]]:
    """Every binding declared by plandesk's app, screens and widgets, with its class."""
    import_all_screens()
    for cls in _subclasses(DOMNode):
        if cls.__module__.startswith("tui."):
            for binding in Binding.make_bindings(cls.__dict__.get("BINDINGS", ())):
                yield cls, binding


def binding_ids() -> dict[str, str]:
    """Every binding id plandesk declares, with what the binding does."""
    found: dict[str, str] = {}
    for _, binding in declared_bindings():
        if binding.id is not None:
            found.setdefault(binding.id, binding.tooltip or binding.description)
    return found


def key_problem(key: str) -> str | None:
    """Why Textual would never send `key` (one key, as in a binding), or None if it can."""
    if not key:
        return "an empty key"
    *modifiers, base = key.split("+")
    unknown = [m for m in modifiers if m not in MODIFIERS]
    if unknown:
        return f"{key!r}: unknown modifier {unknown[0]!r} (use {', '.join(sorted(MODIFIERS))})"
    if len(base) == 1 and base.isprintable() and base != " ":
        return None
    # a character's name: question_mark, slash (Textual's for solidus), comma, ...
    if base in NAMED_KEYS or key_to_character(REPLACED_KEYS.get(base, base)) is not None:
        return None
    return (f"{key!r} is not a key name Textual knows (for example 'R', 'ctrl+r', 'f5', "
            "'question_mark', 'pagedown')")


@dataclass(frozen=True)
class CheckedKeymap:
    keymap: dict[str, str]  # what can be applied
    problems: tuple[str, ...]  # one line per entry left out


def check_keymap(
    keymap: Mapping[str, str], declared: Iterable[tuple[type[DOMNode], Binding]]
) -> CheckedKeymap:
    """The entries of `keymap` that name a known binding id and only valid keys; a key taken
    from another binding of the same screen or widget is applied, and told."""
    by_class: dict[type[DOMNode], list[Binding]] = {}
    for cls, binding in declared:
        by_class.setdefault(cls, []).append(binding)
    known = {b.id for bindings in by_class.values() for b in bindings if b.id is not None}
    good: dict[str, str] = {}
    problems: list[str] = []
    for binding_id, keys in keymap.items():
        if binding_id not in known:
            problems.append(f"keymap: no binding has the id {binding_id!r}")
            continue
        found = [key_problem(key.strip()) for key in keys.split(",")]
        bad = [problem for problem in found if problem]
        if bad:
            problems.append(f"keymap.{binding_id}: {bad[0]}")
            continue
        good[binding_id] = ",".join(key.strip() for key in keys.split(","))
    for bindings in by_class.values():
        for moved in (b for b in bindings if b.id in good):
            new_keys = set(good[moved.id or ""].split(","))
            for other in bindings:
                lost = new_keys & set(other.key.split(","))
                if other.id not in good and lost:
                    problems.append(
                        f"keymap.{moved.id}: {sorted(lost)[0]!r} was the key of {other.id} "
                        f"({other.description}), which now has no key there")
    return CheckedKeymap(good, tuple(dict.fromkeys(problems)))
