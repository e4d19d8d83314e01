"""Plan queries and plan creation: keyset pages of roots and children, detail, search.

Pages are keyset-paginated on plan_id (never OFFSET) and never load a whole tree. Reads never
trust a stored row: a value the models cannot read (an unknown enum value, broken JSON) is
returned as stored and flagged, and ancestor walks stop at cycles, so that one bad row written
behind the app's back never keeps the rest of the database from opening.

- `rows`: summaries of plan rows and the problems of values the models cannot read
- `paths`: ancestors, descendants, parent and root, safe against cycles and depth
- `pages`: keyset pages for the tree, the filter, End, jumps and reloads
- `filters`, `search`: what `/` filters on, and the matches with their ancestors (index)
- `detail`: everything the detail pane shows of one plan
- `create`: creating a plan
"""

from store.plans.create import create_plan, new_plan_id
from store.plans.detail import PlanDetail, get_plan, plan_detail, plan_details
from store.plans.filters import PlanFilter
from store.plans.pages import (
    PAGE_SIZE,
    PlanNode,
    PlanPage,
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
from store.plans.rows import PlanSummary, RowProblem, child_counts, unreadable_label
from store.plans.search import MatchChunk, SearchResult, matches_of, search_matches

__all__ = [
    "MAX_ANCESTOR_DEPTH",
    "PAGE_SIZE",
    "AncestorPath",
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
    "child_counts",
    "children_page",
    "create_plan",
    "descendant_count",
    "find_plans",
    "get_plan",
    "last_page",
    "level_pages",
    "matches_of",
    "new_plan_id",
    "plan_detail",
    "plan_details",
    "reveal_path",
    "roots_page",
    "search_matches",
    "search_page",
    "siblings_from",
    "tree_size",
    "unreadable_label",
]
