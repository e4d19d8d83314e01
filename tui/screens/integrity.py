"""The integrity view: what migrations repaired and what was written wrong since, grouped by
kind with counts; `enter` on a plan closes the view and shows that plan in the tree.

Read-only. The check (`store.integrity`) runs in a thread worker while the list shows a
loading indicator; the screen is dismissed with the chosen plan id, or None on escape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Header, OptionList, Static
from textual.widgets.option_list import Option

from store.integrity import FindingGroup, IntegrityReport, integrity_report
from tui.context import DatabaseContext
from tui.widgets.footer import KeysFooter
from tui.widgets.literal import literal


@dataclass
class IntegrityChecked(Message, bubble=False):
    report: IntegrityReport


@dataclass
class IntegrityCheckFailed(Message, bubble=False):
    error: str


class IntegrityScreen(Screen[str | None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Back to the plans", id="integrity.close"),
    ]

    def __init__(self, context: DatabaseContext) -> None:
        super().__init__()
        self.context = context
        self.report: IntegrityReport | None = None
        self.plan_of_option: dict[str, str] = {}  # option id -> the plan it jumps to

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Checking the database…", id="integrity-summary")
        yield OptionList(id="integrity-findings")
        yield KeysFooter()

    @property
    def findings_list(self) -> OptionList:
        return self.query_one("#integrity-findings", OptionList)

    def on_mount(self) -> None:
        self.findings_list.border_title = "Integrity"
        self.findings_list.loading = True
        self.findings_list.focus()
        self.check()

    @work(thread=True, exclusive=True, exit_on_error=False, group="integrity",
          description="Checking integrity")
    def check(self) -> None:
        try:
            with self.context.session() as session:
                report = integrity_report(session)
        except Exception as exc:
            self.post_message(IntegrityCheckFailed(str(exc)))
            return
        self.post_message(IntegrityChecked(report))

    def on_integrity_checked(self, message: IntegrityChecked) -> None:
        self.report = message.report
        options: list[Option] = []
        self.plan_of_option = {}
        for group in message.report.groups:
            options.extend(self._group_options(group))
        findings = self.findings_list
        findings.clear_options()
        findings.add_options(options)
        findings.loading = False
        total = message.report.total
        self.query_one("#integrity-summary", Static).update(
            "Nothing to report: no repairs recorded and no damaged rows found." if total == 0
            else f"{total:,} finding{'s' if total != 1 else ''}. Enter shows the plan in the "
                 "tree; escape goes back.")

    def _group_options(self, group: FindingGroup) -> list[Option]:
        header = f"{group.kind.title} ({group.count:,})" if group.count else \
            f"{group.kind.title} (none)"
        options = [Option(literal(header, "bold"), id=f"{group.kind.value}-header",
                          disabled=True)]
        for index, finding in enumerate(group.findings):
            option_id = f"{group.kind.value}-{index}"
            self.plan_of_option[option_id] = finding.plan_id
            options.append(Option(
                literal(f"  {finding.plan_id[:10]}  {finding.namespaced_name}  {finding.what}"),
                id=option_id,
            ))
        hidden = group.count - len(group.findings)
        if hidden > 0:
            options.append(Option(literal(f"  … and {hidden:,} more", "dim"),
                                  id=f"{group.kind.value}-more", disabled=True))
        return options

    def on_integrity_check_failed(self, message: IntegrityCheckFailed) -> None:
        self.findings_list.loading = False
        self.query_one("#integrity-summary", Static).update(
            literal(f"The check failed: {message.error}"))

    @on(OptionList.OptionSelected, "#integrity-findings")
    def _finding_chosen(self, event: OptionList.OptionSelected) -> None:
        plan_id = self.plan_of_option.get(event.option.id or "")
        if plan_id is not None:
            self.dismiss(plan_id)

    def action_close(self) -> None:
        self.dismiss(None)
