"""The correction modal: guidance for reverting to or appending to one decision, and a preview
(computed by `store.corrections.plan_correction` in a thread worker) of exactly what it touches.

It only asks; the app runs the confirmed `CorrectionRequest` in a worker of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
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
    PlanVersion,
    clean_guidance,
    plan_correction,
)
from store.db import SessionFactory
from store.models import CorrectionMode, Decision
from tui.widgets.literal import literal, visible


@dataclass(frozen=True)
class CorrectionRequest:
    """What the user confirmed; `guidance` is already trimmed and checked."""

    plan_id: str
    decision_id: str
    sequence: int
    mode: CorrectionMode
    guidance: str
    seen: PlanVersion | None = None  # the plan as the preview showed it; a change since refuses


@dataclass
class PreviewReady(Message):
    preview: CorrectionPreview


@dataclass
class PreviewRefused(Message):
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
        lines.append(Content.styled(f"Appends to decision #{target.sequence}:", "$text-accent"))
        lines.append(_decision_line(target))
        lines.append(Content.assemble(
            f"Adds decision #{preview.new_sequence} ", new_title,
            f" as its child; nothing is reverted. The plan stays in {preview.plan_phase_after}, "
            "queued.",
        ))
    return Content("\n").join(lines)


class CorrectionModal(ModalScreen[CorrectionRequest | None]):
    """Revert to, or append to, one decision: guidance, preview, confirm or cancel."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "confirm", "Confirm correction", key_display="ctrl+s"),
        Binding("escape", "cancel", "Cancel", key_display="esc"),
    ]

    def __init__(
        self,
        session: SessionFactory,
        plan_id: str,
        decision: Decision,
        mode: CorrectionMode,
        *,
        artifacts_root: Path,
        archive_root: Path,
    ) -> None:
        super().__init__()
        self.session = session
        self.plan_id = plan_id
        self.decision = decision
        self.mode = mode
        self.artifacts_root = artifacts_root
        self.archive_root = archive_root
        self.preview: CorrectionPreview | None = None
        self.refusal: str | None = None

    def compose(self) -> ComposeResult:
        verb = "Revert to" if self.mode == CorrectionMode.REVERT else "Append to"
        with Vertical(id="correction-dialog", classes=f"-{self.mode.value}"):
            yield Static(Content.assemble(
                (f"{verb} decision #{self.decision.sequence}", "bold"), " ",
                literal(visible(self.decision.title, keep_newlines=False)),
            ), id="correction-title")
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
            with self.session() as session:
                preview = plan_correction(
                    session, self.plan_id, self.decision.decision_id, self.mode,
                    artifacts_root=self.artifacts_root, archive_root=self.archive_root,
                )
        except CorrectionError as exc:
            self.post_message(PreviewRefused(str(exc)))
            return
        except Exception as exc:
            self.post_message(PreviewRefused(f"The preview could not be computed: {exc}"))
            return
        self.post_message(PreviewReady(preview))

    def on_preview_ready(self, message: PreviewReady) -> None:
        self.preview = message.preview
        self.query_one("#correction-preview", Static).update(preview_content(message.preview))

    def on_preview_refused(self, message: PreviewRefused) -> None:
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
            self.show_error(None)

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
