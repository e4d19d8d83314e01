"""Plan queries and plan creation: keyset pages of roots and children, detail, search.

Pages are keyset-paginated on plan_id (never OFFSET) and never load a whole tree. Reads never
trust a stored row: a value the models cannot read (an unknown enum value, broken JSON) is
returned as stored and flagged, and ancestor walks stop at cycles, so that one bad row written
behind the app's back never keeps the rest of the database from opening.

- `summaries`: what a tree row shows of a plan, and pages of them (no SQLAlchemy)
- `first_roots`: the first page of roots of a SQLite file at head, read with stdlib sqlite3
- `rows`: summaries of plan rows and the problems of values the models cannot read
- `paths`: ancestors, descendants, parent and root, safe against cycles and depth
- `pages`: keyset pages for the tree, the filter, End, jumps and reloads
- `refresh`: what a live refresh reads again (loaded levels outside their gaps, named plans)
- `filters`, `search`: what `/` filters on, and the matches with their ancestors (index)
- `detail`: everything the detail pane shows of one plan
- `create`: creating a plan

The package loads its modules on first use (PEP 562): the app imports it, and the light
`summaries` and `filters`, before its first roots are on screen; the rest loads SQLAlchemy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from store.plans.create import create_plan, new_plan_id
    from store.plans.detail import (
        PlanDetail,
        changed_parts,
        get_plan,
        plan_detail,
        plan_details,
        same_detail,
    )
    from store.plans.filters import PlanFilter
    from store.plans.pages import (
        RevealStep,
        TailPage,
        children_page,
        find_plans,
        last_page,
        level_pages,
        reveal_path,
        roots_page,
        search_page,
        siblings_from,
    )
    from store.plans.paths import (
        MAX_ANCESTOR_DEPTH,
        AncestorPath,
        PlanNotFoundError,
        PlanPathError,
        ancestor_ids,
        ancestor_path,
        descendant_count,
        tree_size,
    )
    from store.plans.refresh import gap_sizes, loaded_levels, plan_nodes, touch_tree
    from store.plans.rows import child_counts
    from store.plans.search import MatchChunk, SearchResult, matches_of, search_matches
    from store.plans.summaries import (
        PAGE_SIZE,
        LevelRows,
        LoadedLevel,
        PlanNode,
        PlanPage,
        PlanSummary,
        RowProblem,
        unreadable_label,
    )

__all__ = [
    "MAX_ANCESTOR_DEPTH",
    "PAGE_SIZE",
    "AncestorPath",
    "LevelRows",
    "LoadedLevel",
    "MatchChunk",
    "PlanDetail",
    "PlanFilter",
    "PlanNode",
    "PlanNotFoundError",
    "PlanPage",
    "PlanPathError",
    "PlanSummary",
    "RevealStep",
    "RowProblem",
    "SearchResult",
    "TailPage",
    "ancestor_ids",
    "ancestor_path",
    "changed_parts",
    "child_counts",
    "children_page",
    "create_plan",
    "descendant_count",
    "find_plans",
    "gap_sizes",
    "get_plan",
    "last_page",
    "level_pages",
    "loaded_levels",
    "matches_of",
    "new_plan_id",
    "plan_detail",
    "plan_details",
    "plan_nodes",
    "reveal_path",
    "roots_page",
    "same_detail",
    "search_matches",
    "search_page",
    "siblings_from",
    "touch_tree",
    "tree_size",
    "unreadable_label",
]

# Where each public name is defined: `summaries` and `filters` import no SQLAlchemy.
_MODULE_OF = {
    **dict.fromkeys(("create_plan", "new_plan_id"), "create"),
    **dict.fromkeys(("PlanDetail", "changed_parts", "get_plan", "plan_detail",
                     "plan_details", "same_detail"), "detail"),
    "PlanFilter": "filters",
    **dict.fromkeys(("RevealStep", "TailPage", "children_page", "find_plans", "last_page",
                     "level_pages", "reveal_path", "roots_page", "search_page",
                     "siblings_from"), "pages"),
    **dict.fromkeys(("MAX_ANCESTOR_DEPTH", "AncestorPath", "PlanNotFoundError", "PlanPathError",
                     "ancestor_ids", "ancestor_path", "descendant_count", "tree_size"), "paths"),
    "child_counts": "rows",
    **dict.fromkeys(("gap_sizes", "loaded_levels", "plan_nodes", "touch_tree"), "refresh"),
    **dict.fromkeys(("MatchChunk", "SearchResult", "matches_of", "search_matches"), "search"),
    **dict.fromkeys(("PAGE_SIZE", "LevelRows", "LoadedLevel", "PlanNode", "PlanPage",
                     "PlanSummary", "RowProblem", "unreadable_label"), "summaries"),
}


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # found directly from now on
    return value
