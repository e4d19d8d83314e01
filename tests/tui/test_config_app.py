"""Pilot tests of the config file in the app: keymaps, the remembered theme, a bad file."""

from __future__ import annotations

from pathlib import Path

from tui_states import (
    app_as_configured,
    demo_database,
    notifications,
    press,
    run_async,
    settle,
)

from store.db import database_url
from store.seed import seed_database
from tui.app import PlandeskApp
from tui.keymap import binding_ids, declared_bindings
from tui.screens.help import HelpScreen
from tui.screens.plans import PlansScreen
from tui.widgets.plan_rows import MoreRow, PlanRow

SIZE = (120, 36)


def app_with(workdir: Path, config_text: str | None) -> PlandeskApp:
    """The app as `plandesk --config config.toml --db demo.db` builds it."""
    config_file = workdir / "config.toml"
    if config_text is not None:
        config_file.write_text(config_text)
    return app_as_configured(config_file, database_flag=str(workdir / "demo.db"),
                             read_only_flag=None)


def filter_shown(app: PlandeskApp) -> bool:
    screen = app.screen
    assert isinstance(screen, PlansScreen)
    return bool(screen.filter_box.display)


@run_async
async def test_a_rebound_key_works_and_the_old_one_does_not(workdir: Path) -> None:
    demo_database(workdir)
    app = app_with(workdir, '[keymap]\n"app.help" = "f1"\n"plans.filter" = "f2"\n')
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, PlansScreen)
        await press(pilot, "question_mark")
        assert not isinstance(app.screen, HelpScreen)
        await press(pilot, "f1")
        assert isinstance(app.screen, HelpScreen)
        await press(pilot, "escape")
        assert isinstance(app.screen, PlansScreen)

        await press(pilot, "slash")
        assert not filter_shown(app)
        await press(pilot, "f2")
        assert filter_shown(app) and app.focused is app.screen.filter_box
        assert app.screen.filter_box.value == ""  # the key opened the box, it was not typed
        assert notifications(app) == []


@run_async
async def test_unknown_ids_and_bad_keys_are_reported_and_the_rest_applies(workdir: Path) -> None:
    demo_database(workdir)
    app = app_with(workdir, '[keymap]\n"plans.nothing" = "x"\n"plans.reload" = "ctrl+bogus"\n'
                   '"app.help" = "f1"\n')
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, PlansScreen)
        [toast] = notifications(app)
        assert "keymap: no binding has the id 'plans.nothing'" in toast
        assert "keymap.plans.reload: 'ctrl+bogus' is not a key name" in toast
        await press(pilot, "f1")
        assert isinstance(app.screen, HelpScreen)


@run_async
async def test_a_key_moved_onto_another_bindings_key_is_told(workdir: Path) -> None:
    demo_database(workdir)
    app = app_with(workdir, '[keymap]\n"plans.reload" = "a"\n')
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, PlansScreen)
        [toast] = notifications(app)
        assert toast == ("Config file: keymap.plans.reload: 'a' was the key of plans.append "
                         "(Append), which now has no key there")


@run_async
async def test_a_bad_config_file_is_told_and_the_app_starts_with_defaults(workdir: Path) -> None:
    demo_database(workdir)
    app = app_with(workdir, 'theme = "nord"\n[keymap]\n"app.help" = "f1"\nread_only = yes\n')
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, PlansScreen)
        [toast] = notifications(app)
        assert toast.startswith(f"Config file: {workdir / 'config.toml'}: not valid TOML")
        assert "line 4" in toast
        assert app.theme == "textual-dark" and not app.read_only
        await press(pilot, "question_mark")  # the default keys
        assert isinstance(app.screen, HelpScreen)


@run_async
async def test_a_wrong_type_is_told_naming_its_line(workdir: Path) -> None:
    demo_database(workdir)
    app = app_with(workdir, '# mine\n\n[layout]\ntree_hidden = "yes"\n')
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, PlansScreen)
        [toast] = notifications(app)
        assert f"{workdir / 'config.toml'}, line 4: layout.tree_hidden" in toast


@run_async
async def test_the_theme_picked_is_remembered_and_the_rest_of_the_file_kept(
    workdir: Path,
) -> None:
    demo_database(workdir)
    original = '# my settings\ntheme = "nord"  # easy on the eyes\n\n[keymap]\n"app.help" = "f1"\n'
    app = app_with(workdir, original)
    config_file = workdir / "config.toml"
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.theme == "nord"
        assert config_file.read_text() == original  # applying it rewrote nothing
        app.theme = "gruvbox"  # what picking it in the palette does
        await settle(pilot)
    assert config_file.read_text() == original.replace('"nord"', '"gruvbox"')

    again = app_with(workdir, None)
    async with again.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert again.theme == "gruvbox"


@run_async
async def test_an_unknown_theme_is_told_and_the_default_kept(workdir: Path) -> None:
    demo_database(workdir)
    app = app_with(workdir, 'theme = "no-such-theme"\n')
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.theme == "textual-dark"
        [toast] = notifications(app)
        assert "theme: 'no-such-theme' is not a theme plandesk has" in toast
    assert (workdir / "config.toml").read_text() == 'theme = "no-such-theme"\n'


@run_async
async def test_the_tree_reads_as_many_plans_at_a_time_as_configured(workdir: Path) -> None:
    seed_database(database_url(workdir / "demo.db"), 60, 2, wide=35)  # one root, 59 children
    app = app_with(workdir, "tree_page_size = 10\n")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, PlansScreen)
        tree = screen.plan_tree
        wide = next(n for n in tree.root.children
                    if isinstance(n.data, PlanRow) and n.data.child_count == 59)
        tree.move_cursor(wide)
        await press(pilot, "right")
        page = [node.data for node in wide.children]
        assert sum(isinstance(r, PlanRow) for r in page) == 10
        assert isinstance(page[-1], MoreRow) and page[-1].remaining == 49
        await press(pilot, "down", "end")  # the real last child: one page read from the end
        assert tree.cursor_node is not None and tree.cursor_node.parent is wide
        assert sum(isinstance(n.data, PlanRow) for n in wide.children) == 20


def test_every_binding_plandesk_declares_has_an_id() -> None:
    missing = [
        f"{cls.__module__}.{cls.__name__}: {binding.key} -> {binding.action}"
        for cls, binding in declared_bindings() if binding.id is None
    ]
    assert missing == []
    ids = binding_ids()
    assert {"plans.revert", "plans.append", "app.help", "tree.last.end"} <= set(ids)


def test_a_fresh_process_knows_the_ids_of_screens_not_shown_yet() -> None:
    """The App imports most screens only when first shown; a keymap still names them all."""
    import subprocess
    import sys

    code = ("import tui.app\nfrom tui.keymap import binding_ids\nids = binding_ids()\n"
            "assert {'plans.filter', 'tree.last.end', 'export.confirm'} <= set(ids), ids")
    subprocess.run([sys.executable, "-c", code], check=True)


@run_async
async def test_the_tree_width_and_hiding_are_remembered(workdir: Path) -> None:
    demo_database(workdir)
    app = app_with(workdir, "# my settings\ntheme = \"textual-dark\"\n")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, PlansScreen)
        await press(pilot, "greater_than_sign", "greater_than_sign")
        await settle(pilot)
        width = screen.pane_layout.tree_width
        assert width is not None
        await pilot.app.workers.wait_for_complete()
    text = (workdir / "config.toml").read_text()
    assert "# my settings" in text and f"tree_width = {width}" in text

    again = app_with(workdir, None)
    async with again.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = again.screen
        assert isinstance(screen, PlansScreen)
        assert screen.pane_layout.tree_width == width
        assert screen.query_one("#tree-column").outer_size.width == width
        await press(pilot, "ctrl+b")
        await settle(pilot)
        await pilot.app.workers.wait_for_complete()
    assert "tree_hidden = true" in (workdir / "config.toml").read_text()
