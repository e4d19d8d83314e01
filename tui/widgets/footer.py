"""A Footer that rebuilds its keys once per batch of binding changes.

Textual's Footer queues a full recompose for every bindings-updated signal; opening the plans
screen sends about ten (focus moves, tabs mount, bindings refresh), and each rebuild mounts
and styles every key again. This one queues a rebuild only when none is pending; the rebuild
reads the bindings as they are when it runs, so it still shows the latest ones.
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


class KeysFooter(Footer):
    _rebuild_queued = False

    def bindings_changed(self, screen: Screen[object]) -> None:
        will_rebuild = screen.app.app_focus and self.is_attached and screen is self.screen
        if self._rebuild_queued and will_rebuild:
            return
        self._rebuild_queued = bool(will_rebuild)
        super().bindings_changed(screen)

    async def recompose(self) -> None:
        self._rebuild_queued = False
        await super().recompose()
