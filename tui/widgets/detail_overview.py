"""The Overview tab's text: the plan's fields, its phase timeline, its tree, its execution
(changeset, sandbox refs, validation summary, decision root), projects and repairs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.content import Content

from tui.widgets.detail_text import field_line, heading, stored_json, when
from tui.widgets.literal import literal, visible

if TYPE_CHECKING:  # their modules load SQLAlchemy; the pane is drawn before it
    from store.models import PlanProject
    from store.plans import PlanDetail

# (phase, the column that says when the plan reached it); strategize starts at creation.
# Between the names of a breadcrumb: plan names hold "/" themselves.
BREADCRUMB_SEPARATOR = " > "
TIMELINE = (
    ("strategize", "created_at"),
    ("execute", "strategized_at"),
    ("apply", "executed_at"),
    ("applied", "applied_at"),
)


def projects_text(projects: tuple[PlanProject, ...]) -> str:
    """`billing as bill, shared-runbooks as runbooks (read-only)`, or `none`."""
    shown = []
    for project in projects:
        text = visible(project.project_name, keep_newlines=False)
        if project.alias:
            text += f" as {visible(project.alias, keep_newlines=False)}"
        if project.read_only:
            text += " (read-only)"
        shown.append(text)
    return ", ".join(shown) if shown else "none"


def timeline_content(detail: PlanDetail) -> Content:
    """Each phase with when the plan reached it, the current one marked; the phases after it
    as not reached, and when its processing completed."""
    plan = detail.plan
    phases = [phase for phase, _ in TIMELINE]
    current = phases.index(str(plan.phase)) if str(plan.phase) in phases else None
    lines = [heading("Timeline")]
    for position, (phase, column) in enumerate(TIMELINE):
        stamp = getattr(plan, column)
        if position == current:
            mark, style, note = "▶", "bold $text-accent", f"  current, {plan.processing_state}"
        elif stamp or (current is not None and position < current):
            mark, style, note = "●", "", ""
        else:
            mark, style, note = "○", "$text-muted", ""
        at = when(stamp) if stamp else (
            "not reached" if current is None or position > current else "time not recorded")
        lines.append(Content.assemble(
            (f"{mark} {phase:<11}", style), (literal(at)), (visible(note), style)))
    completed = when(plan.completed_at) if plan.completed_at else "not completed"
    lines.append(Content.assemble(
        ("● " if plan.completed_at else "○ ", ""), (f"{'completed':<11}", "$text-muted"),
        literal(completed)))
    return Content("\n").join(lines)


def execution_content(detail: PlanDetail) -> Content:
    plan = detail.plan
    lines = [heading("Execution")]
    if not (plan.changeset_id or plan.sandbox_refs_json or plan.validation_summary_json
            or plan.decision_root_id):
        lines.append(literal("Nothing recorded yet: the plan has not been executed.",
                             "$text-muted"))
        return Content("\n").join(lines)
    lines.append(field_line("changeset", plan.changeset_id or "—", 14))
    root = plan.decision_root_id
    if root is None:
        lines.append(field_line("decision root", "—", 14))
    else:
        decision = next((d for d in detail.decisions if d.decision_id == root), None)
        named = f"#{decision.sequence} {decision.title} ({root})" if decision else root
        lines.append(field_line("decision root", named, 14))
    for label, raw in (("Sandbox refs", plan.sandbox_refs_json),
                       ("Validation summary", plan.validation_summary_json)):
        lines.append(Content.styled(label, "$text-muted"))
        lines.append(stored_json(raw) if raw is not None else literal("—"))
    return Content("\n").join(lines)


def overview_content(detail: PlanDetail) -> Content:
    plan = detail.plan
    path = [visible(name, keep_newlines=False) for name in detail.ancestor_names]
    if detail.path_stopped is not None:
        path.insert(0, detail.path_stopped)  # where the walk up stopped short of a root
    lines: list[Content] = [
        Content.styled(visible(plan.namespaced_name), "bold"),
        Content(""),
    ]
    if detail.problems:
        lines.append(heading("Unreadable values (shown as stored)"))
        lines += [literal(line, "$text-error") for line in detail.problem_lines()]
        lines.append(Content(""))
    size = detail.tree_size
    lines += [
        field_line("id", plan.plan_id),
        field_line("root", plan.root_plan_id),
        field_line("parent", plan.parent_plan_id or "— (a root)"),
        field_line("path", BREADCRUMB_SEPARATOR.join(path) or "— (a root)"),
        field_line("tree", f"{size} plan{'s' if size != 1 else ''} under this root"
                   + (" (R jumps to it)" if plan.root_plan_id != plan.plan_id else "")),
        field_line("phase", plan.phase),
        field_line("state", plan.processing_state),
        field_line("profile", plan.automation_profile),
        field_line("attempt", plan.attempt),
        field_line("children", detail.child_count),
        field_line("projects", projects_text(detail.projects)),
        field_line("created", when(plan.created_at)),
        field_line("updated", when(plan.updated_at)),
        field_line("by", plan.created_by or "—"),
    ]
    if plan.action_name:
        lines.append(field_line("action", plan.action_name))
    if plan.tags_json:
        lines.append(field_line("tags", plan.tags_json))
    lines += [Content(""), heading("Description"), literal(plan.description)]
    if plan.definition_of_done:
        lines += [Content(""), heading("Definition of done"), literal(plan.definition_of_done)]
    if plan.error_message:
        lines += [Content(""), heading("Error"), literal(plan.error_message, "$text-error")]
    if plan.error_details_json:
        lines.append(literal(plan.error_details_json, "$text-muted"))
    lines += [Content(""), timeline_content(detail), Content(""), execution_content(detail)]
    if detail.repairs:
        lines += [Content(""), heading("Repaired by a migration")]
        for repair in detail.repairs:
            lines.append(literal(
                f"{repair.column_name}: was {repair.old_value!r} ({repair.reason}, "
                f"{when(repair.repaired_at)})"
            ))
    return Content("\n").join(lines)
