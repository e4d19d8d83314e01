"""The correction modal: guidance for reverting or appending after one decision of one named
plan, and a preview (computed by `store.corrections.plan_correction` in a thread worker) of
exactly what it touches.

It only asks: it is dismissed with the confirmed `CorrectionRequest`, which the plans screen
reports upward as a `CorrectionRequested` message for the App to run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Static, TextArea

from store.corrections import (
    MAX_GUIDANCE_CHARS,
    CorrectionError,
    CorrectionPreview,
    GuidanceError,
    clean_guidance,
    plan_correction,
)
from store.models import CorrectionMode, Decision
from tui.context import DatabaseContext
from tui.messages import CorrectionRequest
from tui.widgets.literal import literal, visible

__all__ = ["CorrectionModal", "CorrectionRequest", "correction_heading"]


def correction_heading(mode: CorrectionMode, sequence: int, later: int) -> str:
    """What the confirm does, in words git users do not misread: a revert takes the target
    decision itself and every later one with it."""
    if mode == CorrectionMode.APPEND:
        return f"Append after decision #{sequence}"
    return f"Revert decision #{sequence} and the {later} after it"


@dataclass
class PreviewReady(Message, bubble=False):
    preview: CorrectionPreview


@dataclass
class PreviewRefused(Message, bubble=False):
    """The store would refuse this correction (a CorrectionError, or the database failed)."""

    reason: str


def _decision_line(decision: Decision) -> Content:
    return Content.assemble(
        (f"  #{decision.sequence:<3}", "bold"),
        (f" {decision.phase} ", "$text-muted"),
        literal(visible(decision.title, keep_newlines=False)),
    )


def preview_content(preview: CorrectionPreview) -> Content:
    """Exactly what confirming will do, in the words of the design."""
    target = preview.target
    new_title = literal(visible(preview.new_title, keep_newlines=False), "bold")
    lines: list[Content] = []
    if preview.mode == CorrectionMode.REVERT:
        count = len(preview.reverted)
        lines.append(Content.styled(
            f"Reverts {count} decision{'s' if count != 1 else ''} "
            f"(#{target.sequence} and every later active one):", "$text-warning"))
        lines += [_decision_line(d) for d in preview.reverted]
        folders = preview.artifact_folders
        if folders:
            lines.append(Content.styled(
                f"Moves {len(folders)} artifact folder{'s' if len(folders) != 1 else ''} "
                "to the archive:", "$text-warning"))
            lines += [Content.assemble("  ", literal(visible(f, keep_newlines=False)))
                      for f in folders]
        else:
            lines.append(Content.styled("Moves no artifact folders.", "$text-muted"))
        lines.append(Content.assemble(
            f"Adds decision #{preview.new_sequence} ", new_title,
            f"; the plan goes back to {preview.plan_phase_after}, queued.",
        ))
    else:
        lines.append(Content.styled(f"Appends after decision #{target.sequence}:",
                                    "$text-accent"))
        lines.append(_decision_line(target))
        lines.append(Content.assemble(
            f"Adds decision #{preview.new_sequence} ", new_title,
            f" as its child; nothing is reverted. The plan stays in {preview.plan_phase_after}, "
            "queued.",
        ))
    return Content("\n").join(lines)


class CorrectionModal(ModalScreen[CorrectionRequest | None]):
    """Revert, or append after, one decision of one plan: guidance, preview, confirm or
    cancel. The plan (name and full id) and the decision (sequence and title) are named."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "confirm", "Confirm correction", key_display="ctrl+s",
                id="correction.confirm"),
        Binding("escape", "cancel", "Cancel", key_display="esc", id="correction.cancel"),
    ]

    def __init__(
        self,
        context: DatabaseContext,
        plan_id: str,
        plan_name: str,
        decision: Decision,
        mode: CorrectionMode,
        *,
        later: int = 0,
    ) -> None:
        super().__init__()
        self.context = context
        self.plan_id = plan_id
        self.plan_name = plan_name
        self.decision = decision
        self.mode = mode
        self.later = later  # decisions after this one that a revert takes with it
        self.preview: CorrectionPreview | None = None
        self.shown_preview: Content | None = None  # what the preview box shows of it
        self.refusal: str | None = None
        # how the plan changed since the preview the user last saw (a live refresh found it):
        # the next confirm is refused once, so nothing runs on a preview nobody looked at
        self.changed_since: str | None = None

    def _title(self) -> Content:
        return Content("\n").join([
            Content.styled(correction_heading(self.mode, self.decision.sequence, self.later),
                           "bold"),
            Content.assemble(
                ("Plan      ", "$text-muted"),
                literal(visible(self.plan_name, keep_newlines=False), "bold"), "  ",
                (self.plan_id, "$text-muted"),
            ),
            Content.assemble(
                ("Decision  ", "$text-muted"), (f"#{self.decision.sequence} ", "bold"),
                literal(visible(self.decision.title, keep_newlines=False)),
            ),
        ])

    def compose(self) -> ComposeResult:
        verb = "Revert" if self.mode == CorrectionMode.REVERT else "Append"
        with Vertical(id="correction-dialog", classes=f"-{self.mode.value}"):
            yield Static(self._title(), id="correction-title")
            yield Static(self._count_content(""), id="guidance-label")
            yield TextArea(id="guidance", soft_wrap=True, tab_behavior="focus")
            yield Static(id="correction-error")
            yield Static(Content.styled("Preview", "bold $text-primary"), classes="section-title")
            with VerticalScroll(id="correction-preview-box"):
                yield Static(Content.styled("computing the preview…", "$text-muted"),
                             id="correction-preview")
            with Horizontal(id="correction-buttons"):
                yield Button(f"{verb} (ctrl+s)", id="confirm", compact=True,
                             variant="error" if self.mode == CorrectionMode.REVERT else "primary")
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#correction-error", Static).display = False
        self.query_one("#guidance", TextArea).focus()
        self.compute_preview()

    # -- preview ---------------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="preview",
          description="Previewing the correction")
    def compute_preview(self) -> None:
        try:
            with self.context.session() as session:
                preview = plan_correction(
                    session, self.plan_id, self.decision.decision_id, self.mode,
                    artifacts_root=self.context.artifacts_root,
                    archive_root=self.context.archive_root,
                )
        except CorrectionError as exc:
            self.post_message(PreviewRefused(str(exc)))
            return
        except Exception as exc:
            self.post_message(PreviewRefused(f"The preview could not be computed: {exc}"))
            return
        self.post_message(PreviewReady(preview))

    def recheck_preview(self, plans_touched: frozenset[str] | None = None) -> None:
        """Another connection committed (to rows of `plans_touched`; None: of any plan):
        compute the preview again if that could change it; if it did, say so
        (`on_preview_ready`)."""
        if plans_touched is not None and self.plan_id not in plans_touched:
            return  # its plan, decisions and corrections are as they were
        if self.preview is not None or self.refusal is not None:
            self.compute_preview()  # a refusal may have passed too (another correction ended)

    def on_preview_ready(self, message: PreviewReady) -> None:
        earlier, shown = self.preview, self.shown_preview
        content = preview_content(message.preview)
        refused = self.refusal is not None
        if refused:  # what was in the way (a running correction) has ended
            self.refusal = None
            self.query_one("#confirm", Button).disabled = False
            self.show_error(None)
        # confirming runs on this version: where it does what the box shows, nothing to say
        self.preview = message.preview
        if content == shown and not refused:
            return  # nothing on screen changes (no redraw, no notice)
        if earlier is not None and shown is not None and content != shown:
            version = message.preview.version
            self.changed_since = (version.change_since(earlier.version)
                                  if version != earlier.version
                                  else "what confirming does is not what it showed")
            self.show_error(self._changed_notice())
        if self.mode == CorrectionMode.REVERT:
            # the database's count, which the preview saw, over the one the pane showed
            self.later = max(0, len(message.preview.reverted) - 1)
            self.query_one("#correction-title", Static).update(self._title())
        self.query_one("#correction-preview", Static).update(content)
        self.shown_preview = content

    def on_preview_refused(self, message: PreviewRefused) -> None:
        if message.reason == self.refusal:
            return  # refused as before: as shown
        self.refusal = message.reason
        self.query_one("#correction-preview", Static).update(
            Content.styled("Nothing would be changed: this correction cannot run.", "$text-muted")
        )
        self.query_one("#confirm", Button).disabled = True
        self.show_error(message.reason)

    # -- guidance and confirmation -----------------------------------------------------------

    @staticmethod
    def _count_content(text: str) -> Content:
        count = len(text.strip())
        style = "$text-error" if count > MAX_GUIDANCE_CHARS else "$text-muted"
        return Content.assemble(
            ("Guidance ", "bold"), ("(what should be done differently)  ", "$text-muted"),
            (f"{count:,} / {MAX_GUIDANCE_CHARS:,}", style),
        )

    @on(TextArea.Changed, "#guidance")
    def _guidance_changed(self, event: TextArea.Changed) -> None:
        self.query_one("#guidance-label", Static).update(self._count_content(event.text_area.text))
        if self.refusal is None:
            self.show_error(self._changed_notice() if self.changed_since else None)

    def _changed_notice(self) -> str:
        return (f"The plan changed since the preview ({self.changed_since}); it was computed "
                "again below. Check it before you confirm.")

    def show_error(self, reason: str | None) -> None:
        box = self.query_one("#correction-error", Static)
        box.display = reason is not None
        box.update(literal(reason or ""))

    def action_confirm(self) -> None:
        if self.refusal is not None:
            self.show_error(self.refusal)
            return
        if self.preview is None:
            self.show_error("The preview is still being computed; confirm again in a moment.")
            return
        if self.changed_since is not None:
            self.changed_since = None
            self.show_error("Not run: the plan changed since the preview you confirmed on. "
                            "The preview below is the new one; ctrl+s confirms it.")
            return
        try:
            guidance = clean_guidance(self.query_one("#guidance", TextArea).text)
        except GuidanceError as exc:
            self.show_error(str(exc))
            self.query_one("#guidance", TextArea).focus()
            return
        self.dismiss(CorrectionRequest(
            plan_id=self.plan_id,
            decision_id=self.decision.decision_id,
            sequence=self.decision.sequence,
            mode=self.mode,
            guidance=guidance,
            seen=self.preview.version,
        ))

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#confirm")
    def _confirm_pressed(self) -> None:
        self.action_confirm()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()
