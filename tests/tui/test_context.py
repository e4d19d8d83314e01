"""The app's database context: its defaults agree with the store's."""

from store.plans import PAGE_SIZE
from tui.context import DEFAULT_TREE_PAGE_SIZE


def test_the_default_tree_page_is_the_store_page() -> None:
    assert DEFAULT_TREE_PAGE_SIZE == PAGE_SIZE
