"""What `/` filters on, parsed from what the user typed: text, `phase:` and `state:`."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TypeVar

from store.enums import PlanPhase, ProcessingState

_E = TypeVar("_E", bound=enum.StrEnum)


def _member(enum_cls: type[_E], what: str, value: str) -> _E:
    try:
        return enum_cls(value.lower())
    except ValueError:
        choices = ", ".join(member.value for member in enum_cls)
        raise ValueError(f"Unknown {what} {value!r}; use one of {choices}") from None


@dataclass(frozen=True)
class PlanFilter:
    """What `/` filters on: free text over id prefix, name and namespace; phase; state."""

    text: str = ""
    phase: PlanPhase | None = None
    state: ProcessingState | None = None

    @property
    def empty(self) -> bool:
        return not self.text.strip() and self.phase is None and self.state is None

    @classmethod
    def parse(cls, query: str) -> PlanFilter:
        """`phase:execute state:errored deploy` -> phase, state and free text."""
        words: list[str] = []
        phase: PlanPhase | None = None
        state: ProcessingState | None = None
        for word in query.split():
            key, _, value = word.partition(":")
            if key == "phase" and value:
                phase = _member(PlanPhase, "phase", value)
            elif key == "state" and value:
                state = _member(ProcessingState, "state", value)
            else:
                words.append(word)
        return cls(" ".join(words), phase, state)
