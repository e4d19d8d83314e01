"""Command palette providers: jump to a plan by id prefix or name (ancestors get expanded),
and open the integrity check.

It never imports the App or the screens: it finds the open database through `HasDatabase`
(the App) and the jump through `JumpsToPlans` (the plans screen).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.markup import escape

from tui.context import DatabaseContext
from tui.widgets.literal import visible

if TYPE_CHECKING:
    from store.plans import PlanSummary


@runtime_checkable
class HasDatabase(Protocol):
    """An App that exposes the open database (None until it is open)."""

    database: DatabaseContext | None


@runtime_checkable
class JumpsToPlans(Protocol):
    """A screen that can move its cursor to a plan."""

    def jump_to(self, plan_id: str) -> None: ...


def palette_names(found: Sequence[PlanSummary]) -> dict[str, str]:
    """Each plan's line in the palette: its name, as the tree shows it; where names repeat
    among `found`, each with the shortest end of its id that tells them apart (`…A7Q2F`)."""
    # the tree's short ids; imported here, not at the first frame (plan_rows loads store)
    from tui.widgets.plan_label import short_id, unique_suffix_chars

    ids_by_name: dict[str, list[str]] = defaultdict(list)
    for plan in found:
        ids_by_name[plan.namespaced_name].append(plan.plan_id)
    lines = {}
    for plan in found:
        name = visible(plan.namespaced_name, keep_newlines=False)
        twins = ids_by_name[plan.namespaced_name]
        lines[plan.plan_id] = (name if len(twins) == 1 else
                               f"{name}  {short_id(plan.plan_id, unique_suffix_chars(twins))}")
    return lines


class PlanCommands(Provider):
    """Plans whose id starts with, or whose name contains, what was typed."""

    def _plans_screen(self) -> JumpsToPlans | None:
        return self.screen if isinstance(self.screen, JumpsToPlans) else None

    async def _find(self, text: str) -> list[PlanSummary]:
        app = self.app
        database = app.database if isinstance(app, HasDatabase) else None
        if database is None:
            return []

        def find() -> list[PlanSummary]:
            from store import plans  # loaded with the database, in its worker

            with database.session() as session:
                return plans.find_plans(session, text, limit=20)

        worker = app.run_worker(find, thread=True, group="palette", exit_on_error=False,
                                description="Finding plans")
        try:
            return await worker.wait()
        except Exception:
            return []

    @staticmethod
    def _help(plan: PlanSummary) -> str:
        from store import plans

        flag = plans.unreadable_label(plan.problems)
        return escape(visible(
            f"Jump to plan {plan.plan_id} · {plan.phase} · {plan.processing_state}"
            + (f" · {flag}" if flag else ""), keep_newlines=False))

    async def discover(self) -> Hits:
        screen = self._plans_screen()
        if screen is None:
            return
        found = await self._find("")
        names = palette_names(found)
        for plan in found:
            yield DiscoveryHit(
                Content(names[plan.plan_id]),
                partial(screen.jump_to, plan.plan_id),
                text=names[plan.plan_id],
                help=self._help(plan),
            )

    async def search(self, query: str) -> Hits:
        screen = self._plans_screen()
        if screen is None or not query.strip():
            return
        matcher = self.matcher(query)
        found = await self._find(query.strip())
        names = palette_names(found)
        for plan in found:
            candidate = names[plan.plan_id]
            score = matcher.match(candidate) or 0.5
            display = Content(candidate)
            # Matcher.highlight would parse the candidate as markup; stylize plain text instead.
            _, offsets = matcher.fuzzy_search.match(query, candidate)
            for offset in offsets:
                display = display.stylize("bold underline", offset, offset + 1)
            yield Hit(
                score,
                display,
                partial(screen.jump_to, plan.plan_id),
                text=candidate,
                help=self._help(plan),
            )


@runtime_checkable
class ChecksIntegrity(Protocol):
    """A screen that can open the integrity view."""

    def action_integrity(self) -> None: ...


INTEGRITY_COMMAND = "Integrity check"
INTEGRITY_HELP = "Repairs recorded by migrations and damaged rows, by kind; enter jumps to a plan"


class IntegrityCommands(Provider):
    """The integrity view, where the screen under the palette can open it."""

    async def discover(self) -> Hits:
        screen = self.screen
        if isinstance(screen, ChecksIntegrity):
            yield DiscoveryHit(INTEGRITY_COMMAND, screen.action_integrity, help=INTEGRITY_HELP)

    async def search(self, query: str) -> Hits:
        screen = self.screen
        if not isinstance(screen, ChecksIntegrity):
            return
        matcher = self.matcher(query)
        score = matcher.match(INTEGRITY_COMMAND)
        if score > 0:
            yield Hit(score, matcher.highlight(INTEGRITY_COMMAND), screen.action_integrity,
                      text=INTEGRITY_COMMAND, help=INTEGRITY_HELP)
