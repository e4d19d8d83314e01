"""The App's part that applies the config file (theme, `[keymap]`) and writes back what the
user changes while it runs (the theme picked in the palette, the tree's `[layout]`)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from textual import work
from textual.app import App

from tui.config import Config, ConfigError, save_settings
from tui.keymap import check_keymap, declared_bindings
from tui.widgets.pane_layout import LayoutChanged

if TYPE_CHECKING:
    from tui.config import FileSettings


class SettingsKeeping(App[None]):
    """Mixed into `PlandeskApp`; the attributes below are set by its `__init__`."""

    # None: nothing is read from or written to a config file (as in most tests)
    config: Config | None
    settings: FileSettings
    # what was wrong with the config file, told once the app is on screen
    config_problems: list[str]
    # off until the config's own theme is applied: only a change the user makes is saved
    remember_theme: bool

    def apply_config_theme(self) -> None:
        theme = self.settings.theme
        if theme is None:
            return
        if theme not in self.available_themes:
            self.config_problems.append(
                f"theme: {theme!r} is not a theme plandesk has (ctrl+p, \"theme\" lists them)")
            return
        self.theme = theme

    def watch_theme(self, theme: str) -> None:
        # the theme picked in the palette is remembered; the one the config set is already
        if self.config is not None and self.remember_theme and theme != self.settings.theme:
            self.settings = self.settings.replaced(theme=theme)
            self.save_theme(self.config)

    @work(thread=True, exit_on_error=False, group="config",
          description="Saving the theme in the config file")
    def save_theme(self, config: Config) -> None:
        try:
            # the newest choice, read when the file is free: quick picks end on the last one
            save_settings(config.path, lambda: {"theme": self.settings.theme})
        except (ConfigError, OSError) as exc:
            self.call_from_thread(self.notify, f"The theme was not saved: {exc}",
                                  title="Config file", severity="warning", markup=False)

    def on_layout_changed(self, message: LayoutChanged) -> None:
        """The user resized or hid the tree: remembered in the config file's [layout]."""
        layout = message.layout
        saved = self.settings.layout
        if self.config is None or (layout.tree_width, layout.tree_hidden) == (
                saved.tree_width, saved.tree_hidden):
            return
        self.settings = self.settings.replaced(layout=replace(
            saved, tree_width=layout.tree_width, tree_hidden=layout.tree_hidden))
        self.save_layout(self.config)

    @work(thread=True, exit_on_error=False, group="config",
          description="Saving the layout in the config file")
    def save_layout(self, config: Config) -> None:
        def values() -> dict[str, object]:
            # the newest layout, read when the file is free
            layout = self.settings.layout
            return {"layout.tree_hidden": layout.tree_hidden,
                    **({"layout.tree_width": layout.tree_width}
                       if layout.tree_width is not None else {})}

        try:
            save_settings(config.path, values)
        except (ConfigError, OSError) as exc:
            self.call_from_thread(self.notify, f"The layout was not saved: {exc}",
                                  title="Config file", severity="warning", markup=False)

    @work(thread=True, exit_on_error=False, group="keymap", description="Checking the keymap")
    def apply_config_keymap(self) -> None:
        """Check the config's `[keymap]` against every binding, off the UI thread: that means
        importing every screen, which the first frame does not wait for."""
        keymap = check_keymap(self.settings.keymap, declared_bindings())
        self.call_from_thread(self._apply_keymap, keymap.keymap, keymap.problems)

    def _apply_keymap(self, keymap: dict[str, str], problems: tuple[str, ...]) -> None:
        self.set_keymap(keymap)
        if problems:
            self.notify("\n".join(problems), title="Config file", severity="error",
                        markup=False, timeout=30)
