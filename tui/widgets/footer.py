"""A Footer that rebuilds its keys once per batch of binding changes.

Textual's Footer queues a full recompose for every bindings-updated signal; opening the plans
screen sends about ten (focus moves, tabs mount, bindings refresh), and each rebuild mounts
and styles every key again. This one queues a rebuild only when none is pending; the rebuild
reads the bindings as they are when it runs, so it still shows the latest ones, and it is
skipped when the keys it would show are the ones already shown (most cursor moves and focus
changes inside one pane leave them as they are).
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


class KeysFooter(Footer):
    _rebuild_queued = False
    _shown: tuple[object, ...] | None = None

    def _keys_to_show(self) -> tuple[object, ...]:
        """What `compose` would draw from: every shown binding with how it is drawn."""
        palette_key = self.app.COMMAND_PALETTE_BINDING
        return tuple(
            (key, binding.key, self.app.get_key_display(binding), binding.description,
             binding.action, enabled, tooltip, binding.tooltip,
             None if binding.group is None else (binding.group.description,
                                                 binding.group.compact))
            for key, (_, binding, enabled, tooltip) in self.screen.active_bindings.items()
            if binding.show or key == palette_key
        )

    def bindings_changed(self, screen: Screen[object]) -> None:
        will_rebuild = screen.app.app_focus and self.is_attached and screen is self.screen
        if self._rebuild_queued and will_rebuild:
            return
        self._rebuild_queued = bool(will_rebuild)
        super().bindings_changed(screen)

    async def recompose(self) -> None:
        self._rebuild_queued = False
        if not self.is_attached or not self._bindings_ready:
            await super().recompose()
            return
        shown = self._keys_to_show()
        if shown == self._shown and self.children:
            return
        self._shown = shown
        await super().recompose()
