"""The demo workspace as data: plan trees, corrections, legacy repairs and drifted profiles.

`store.demo` writes it. Keys (`billing.schema`) name plans here; ids and times come from them
and from the demo clock, so every run writes the same database.

This module is data, not logic: literals that are long by nature (over the ~400-line guide for
code), kept in one place so that the demo reads as one story.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from store.models import DEFAULT_PROFILE, PlanPhase, ProcessingState
from store.plans.summaries import PAGE_SIZE


@dataclass(frozen=True)
class DemoPlan:
    key: str
    name: str
    description: str
    children: tuple[DemoPlan, ...] = ()
    phase: PlanPhase = PlanPhase.EXECUTE
    state: ProcessingState = ProcessingState.PROCESSING
    profile: str | None = None
    decisions: tuple[str, ...] = ()
    error: str | None = None
    decision_count: int | None = None  # None: three to eight, chosen by the key


def P(key: str, name: str, description: str, *children: DemoPlan, **kwargs: object) -> DemoPlan:
    return DemoPlan(key, name, description, tuple(children), **kwargs)  # type: ignore[arg-type]


def stable_number(key: str) -> int:
    """A number that depends only on `key` (Python's hash() changes from run to run)."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big")


DONE = {"phase": PlanPhase.APPLIED, "state": ProcessingState.COMPLETE}
FAILED = {"phase": PlanPhase.EXECUTE, "state": ProcessingState.ERRORED}
WAITING = {"phase": PlanPhase.STRATEGIZE, "state": ProcessingState.QUEUED}
PLANNING = {"phase": PlanPhase.STRATEGIZE, "state": ProcessingState.PROCESSING}
PLAN_FAILED = {"phase": PlanPhase.STRATEGIZE, "state": ProcessingState.ERRORED}
DROPPED = {"phase": PlanPhase.STRATEGIZE, "state": ProcessingState.CANCELLED}
EXECUTED = {"phase": PlanPhase.EXECUTE, "state": ProcessingState.COMPLETE}
HALTED = {"phase": PlanPhase.EXECUTE, "state": ProcessingState.CANCELLED}
READY = {"phase": PlanPhase.APPLY, "state": ProcessingState.QUEUED}
APPLYING = {"phase": PlanPhase.APPLY, "state": ProcessingState.PROCESSING}
APPLY_FAILED = {"phase": PlanPhase.APPLY, "state": ProcessingState.ERRORED}
APPLY_DONE = {"phase": PlanPhase.APPLY, "state": ProcessingState.COMPLETE}
APPLY_CANCELLED = {"phase": PlanPhase.APPLY, "state": ProcessingState.CANCELLED}
APPLIED_QUEUED = {"phase": PlanPhase.APPLIED, "state": ProcessingState.QUEUED}

FIRST_TREES: tuple[DemoPlan, ...] = (  # the first demo's trees: tests and snapshots name them
    P(
        "billing",
        "billing/migrate-invoices",
        "Move invoice storage from the monolith to the billing service without losing a cent.",
        P(
            "billing.schema",
            "billing/design-schema",
            "Design the invoices schema in the billing service.",
            P(
                "billing.schema.review",
                "billing/review-schema",
                "Get the schema reviewed by the data team.",
                **DONE,
                decisions=("Accept the reviewers' index changes",),
            ),
            P(
                "billing.schema.ddl",
                "billing/write-ddl",
                "Write and test the DDL migrations.",
                P(
                    "billing.schema.ddl.pg",
                    "billing/ddl-postgres",
                    "Apply the DDL on the staging PostgreSQL cluster.",
                    P(
                        "billing.schema.ddl.pg.verify",
                        "billing/verify-constraints",
                        "Verify every foreign key and CHECK on staging.",
                        **WAITING,
                    ),
                    decisions=(
                        "Use NOT VALID then VALIDATE for the big FKs",
                        "Run the migration in the 02:00 window",
                    ),
                ),
                decisions=("Split the DDL into three revisions",),
            ),
            **DONE,
            decisions=("Key invoices by ULID", "Store money as integer cents"),
        ),
        P(
            "billing.backfill",
            "billing/backfill-invoices",
            "Copy twelve years of invoices in batches of 10,000 rows.",
            P(
                "billing.backfill.dryrun",
                "billing/dry-run",
                "Dry-run the backfill on a snapshot.",
                **DONE,
                decisions=("Batch size 10,000 keeps replication lag under 2 s",),
            ),
            P(
                "billing.backfill.run",
                "billing/run-backfill",
                "Run the backfill for real.",
                **FAILED,
                decisions=(
                    "Pause the backfill when lag exceeds 5 s",
                    "Retry failed batches three times",
                    "Skip invoices with a NULL customer",
                ),
            ),
            profile="supervised",
            decisions=("Backfill oldest invoices first",),
        ),
        profile="supervised",
        decisions=(
            "Migrate in three stages: schema, backfill, cut-over",
            "Keep the monolith writable until cut-over",
        ),
    ),
    P(
        "search",
        "search/reindex-catalog",
        "Rebuild the product search index with the new tokenizer.",
        P(
            "search.tokenizer",
            "search/evaluate-tokenizer",
            "Compare the new tokenizer on the top 1,000 queries.",
            P(
                "search.tokenizer.golden",
                "search/golden-queries",
                "Assemble golden query sets per locale.",
                P(
                    "search.tokenizer.golden.de",
                    "search/golden-queries-de",
                    "German compound words need their own set.",
                    **WAITING,
                ),
                P(
                    "search.tokenizer.golden.ja",
                    "search/golden-queries-ja",
                    "Japanese needs morphological analysis.",
                    **WAITING,
                    profile="manual",
                ),
                **DONE,
                decisions=("Twelve locales, 200 queries each",),
            ),
            decisions=("Use nDCG@10 as the acceptance metric",),
        ),
        P(
            "search.shadow",
            "search/shadow-traffic",
            "Serve 5% shadow traffic from the new index.",
            **WAITING,
        ),
        profile=DEFAULT_PROFILE,
        decisions=(
            "Build the new index beside the old one",
            "Switch the alias only after shadow traffic is clean",
        ),
    ),
    P(
        "infra",
        "infra/upgrade-postgres",
        "Upgrade the primary database cluster from PostgreSQL 14 to 16.",
        P(
            "infra.replica",
            "infra/upgrade-replicas",
            "Upgrade the read replicas first.",
            P(
                "infra.replica.eu",
                "infra/replica-eu",
                "Upgrade the EU replica.",
                P(
                    "infra.replica.eu.check",
                    "infra/replica-eu-checksums",
                    "Compare checksums before and after.",
                    **DONE,
                    decisions=("pg_checksums on every data directory",),
                ),
                **DONE,
                decisions=("Use pg_upgrade --link",),
            ),
            P(
                "infra.replica.us",
                "infra/replica-us",
                "Upgrade the US replica.",
                **FAILED,
                decisions=("Use pg_upgrade --link", "Roll back after the extension mismatch"),
            ),
            decisions=("One region at a time",),
        ),
        profile="autonomous",
        decisions=("Blue/green with logical replication",),
    ),
    P(
        "docs",
        "docs/refresh-api-reference",
        "Regenerate the API reference from the OpenAPI "
        "spec; the old one says [@click=app.quit]boom[/] and \x1b[31mred\x1b[0m literally.",
        P(
            "docs.examples",
            "docs/fix-examples",
            "Make every example in the reference runnable.",
            P(
                "docs.examples.python",
                "docs/examples-python",
                "Python examples.",
                P(
                    "docs.examples.python.async",
                    "docs/examples-python-async",
                    "Async client examples.",
                    **WAITING,
                ),
                decisions=("Test examples with pytest --doctest-glob",),
            ),
            **WAITING,
        ),
        profile="turbo-mode",
        **WAITING,
        decisions=("Generate from the spec, never by hand",),
    ),
)


MIN_DECISIONS, MAX_DECISIONS = 3, 8

# The wide node has more children than one page, so its "… N more" row shows.
WIDE_CHILDREN = PAGE_SIZE + 12
FLAG_STATES = (DONE, DONE, EXECUTED, READY, APPLYING, WAITING, FAILED, DONE, DROPPED, APPLY_DONE)


def _flag_removals() -> tuple[DemoPlan, ...]:
    return tuple(
        P(f"platform.flags.remove.{n:03d}", f"platform/remove-flag-{n:03d}",
          f"Delete feature flag #{n:03d} and the code behind its dead branch.",
          **FLAG_STATES[n % len(FLAG_STATES)],
          decision_count=MIN_DECISIONS,
          error="The flag is still read by a mobile client older than 4.0" if n % 10 == 6
          else None)
        for n in range(1, WIDE_CHILDREN + 1)
    )


NEW_TREES: tuple[DemoPlan, ...] = (
    P(
        "platform",
        "platform/retire-feature-flags",
        "Remove every feature flag that has been fully rolled out for 90 days or more.",
        P(
            "platform.flags.audit",
            "platform/audit-flags",
            "List flags by age and rollout percentage from the flag service.",
            **DONE,
            decisions=("Treat 100% for 90 days as rolled out", "Ignore flags owned by billing"),
        ),
        P(
            "platform.flags.remove",
            "platform/remove-stale-flags",
            "One plan per stale flag: delete the flag and the dead branch, then deploy.",
            *_flag_removals(),
            **APPLYING,
            decisions=("One pull request per flag", "Deploy removals in batches of 20"),
        ),
        **APPLYING,
        profile="supervised",
        decisions=("Retire flags in age order",),
    ),
    P(
        "mobile",
        "mobile/release-4-2",
        "Ship version 4.2 of the iOS and Android apps.",
        P(
            "mobile.ios",
            "mobile/ios-build",
            "Build and submit the iOS app.",
            P(
                "mobile.ios.signing",
                "mobile/ios-signing",
                "Sign the build with this year's distribution certificate.",
                P(
                    "mobile.ios.signing.certs",
                    "mobile/ios-certificates",
                    "Renew the certificates that expire before the release.",
                    P(
                        "mobile.ios.signing.certs.push",
                        "mobile/rotate-push-certificate",
                        "Rotate the APNs push certificate.",
                        P(
                            "mobile.ios.signing.certs.push.verify",
                            "mobile/verify-push-delivery",
                            "Send a test push to every device in the QA fleet.",
                            **READY,
                        ),
                        **APPLY_DONE,
                    ),
                    **APPLIED_QUEUED,
                ),
                **EXECUTED,
            ),
            P("mobile.ios.review", "mobile/app-store-review",
              "Answer the App Store review questions.", **PLANNING),
        ),
        P(
            "mobile.android",
            "mobile/android-build",
            "Build and roll out the Android app in stages.",
            P("mobile.android.staged", "mobile/staged-rollout",
              "Roll out to 1%, 10%, 50%, then everyone.", **APPLY_FAILED,
              error="Crash rate 1.8% at 10% rollout (threshold 1%)"),
            P("mobile.android.bundle", "mobile/shrink-bundle",
              "Get the bundle under 40 MB.", **APPLY_CANCELLED),
            **APPLYING,
        ),
        profile="manual",
        **APPLYING,
    ),
    P(
        "payments",
        "payments/retry-webhooks",
        "Retry failed payment-provider webhooks without charging anyone twice.",
        P("payments.idempotency", "payments/idempotency-keys",
          "Store an idempotency key for every webhook delivery.", **DONE),
        P("payments.backoff", "payments/retry-backoff",
          "Retry with exponential backoff, capped at one hour.", **EXECUTED),
        P("payments.dlq", "payments/dead-letter-queue",
          "Park webhooks that fail ten times in a dead-letter queue.", **FAILED,
          error="The queue's retention is 4 days; the provider retries for 7"),
        P("payments.alerts", "payments/alert-on-dlq",
          "Page the on-call engineer when the dead-letter queue grows.", **PLAN_FAILED,
          error="No on-call schedule named payments-primary"),
        profile="supervised",
    ),
    P(
        "security",
        "security/rotate-credentials",
        "Rotate every long-lived credential older than a year.",
        *(
            P(f"security.rotate.{system}", f"security/rotate-{system}",
              f"Rotate the {system} credentials and update every consumer.",
              P(f"security.rotate.{system}.consumers", f"security/{system}-consumers",
                f"Find every service that reads the {system} credentials.", **state_a),
              **state_b)
            for system, state_a, state_b in (
                ("postgres", DONE, DONE), ("redis", DONE, APPLYING), ("s3", EXECUTED, READY),
                ("github", DONE, HALTED), ("pagerduty", WAITING, DROPPED),
                ("datadog", PLANNING, WAITING),
            )
        ),
        profile="autonomous",
    ),
    P(
        "legacy",
        "legacy/import-2024-plans",
        "Plans imported from the 2024 scheduler; migration 0003 repaired their links.",
        P("legacy.nightly", "legacy/nightly-report",
          "Email the nightly revenue report.", **DONE, profile="supervised"),
        P("legacy.cleanup", "legacy/cleanup-tmp",
          "Delete temporary exports older than a week.", **DONE),
        **DONE,
    ),
    P("legacy.orphan", "legacy/orphaned-export",
      "An export plan whose parent was deleted before the import.", **HALTED),
    P("legacy.cycle", "legacy/looping-sync",
      "A sync plan that was its own grandparent in the old scheduler.",
      P("legacy.cycle.child", "legacy/looping-sync-step",
        "The other half of the loop.", **DONE),
      **DONE),
)

FOREST: tuple[DemoPlan, ...] = FIRST_TREES + NEW_TREES


def _keys(trees: tuple[DemoPlan, ...]) -> frozenset[str]:
    return frozenset(key for tree in trees for key in (tree.key, *_keys(tree.children)))


# The first demo's plans get only enough generated decisions to make three: tests and
# snapshots count and pick their decisions.
FIRST_KEYS = _keys(FIRST_TREES)

# Plans migrated from a legacy database (0003/0005 wrote these): their snapshots are
# backfills, and plan_repairs says what each migration changed.
LEGACY_PLANS = frozenset(
    {"legacy", "legacy.nightly", "legacy.cleanup", "legacy.orphan", "legacy.cycle",
     "legacy.cycle.child"})


@dataclass(frozen=True)
class DemoRepair:
    plan_key: str
    column_name: str
    old_value: str | None
    reason: str


REPAIRS: tuple[DemoRepair, ...] = (
    DemoRepair("legacy.orphan", "parent_plan_id", "01HKQ4Z8V3R7D2M5N9XW6BTCJE",
               "orphan: parent plan does not exist"),
    DemoRepair("legacy.cycle", "parent_plan_id", "{legacy.cycle.child}",
               "cycle: parent links loop back to this plan"),
    DemoRepair("legacy.cleanup", "root_plan_id", "01HKQ4Z8V3R7D2M5N9XW6BTCJE",
               "root_plan_id was not the true root"),
    DemoRepair("legacy.nightly", "automation_profile",
               '{"profile_name": "supervised", "provenance": "scheduler-2024"}',
               "legacy JSON profile reference replaced by its name"),
    DemoRepair("legacy", "automation_profile", "",
               "empty automation_profile replaced by the default profile"),
)


@dataclass(frozen=True)
class DemoCorrection:
    plan_key: str
    decision: int  # the sequence of the decision it corrects
    mode: str  # "revert" or "append"
    guidance: str
    failure_reason: str | None = None


# Run in this order, each on the plan as the ones before it left it.
CORRECTIONS: tuple[DemoCorrection, ...] = (
    DemoCorrection("payments.backoff", 2, "revert",
                   "Cap the backoff at 15 minutes: the provider gives up after an hour."),
    DemoCorrection("payments.idempotency", 3, "append",
                   "Keep idempotency keys for 30 days, not 7: refunds arrive late."),
    DemoCorrection("payments.dlq", 1, "revert",
                   "Use the provider's own retry schedule instead of ours.",
                   failure_reason="OSError: [Errno 28] No space left on device: "
                   "'payments.dlq/01' (every folder moved back)"),
    DemoCorrection("payments", 2, "append",
                   "Replay the dead-letter queue by hand for the first week."),
    DemoCorrection("security.rotate.github", 1, "revert",
                   "Rotate the GitHub App key, not personal tokens."),
)

# Generated decisions after a plan's own, so that every plan has three to eight.
DECISION_POOL: dict[PlanPhase, tuple[str, ...]] = {
    PlanPhase.STRATEGIZE: (
        "Split the work into independent child plans",
        "Ask the owning team before touching their service",
        "Estimate two days; re-plan if it takes four",
        "Reuse the runbook from the last similar change",
        "Write the acceptance checks before the change",
    ),
    PlanPhase.EXECUTE: (
        "Work on a branch in a fresh sandbox",
        "Run the full test suite, not only the affected tests",
        "Keep the old code path behind a kill switch",
        "Record every command in the artifacts folder",
        "Stop at the first failed check and report",
    ),
    PlanPhase.APPLY: (
        "Apply during business hours with the owner online",
        "Roll out to one region first",
        "Watch error rates for 30 minutes after applying",
        "Keep the rollback command ready in the channel",
        "Announce the change in #changes before applying",
    ),
}

PROJECT_ALIASES = {
    "billing": "bill", "search": "srch", "infra": "ops", "docs": None, "platform": "plat",
    "mobile": "app", "payments": "pay", "security": "sec", "legacy": None,
}
# A project most plans may read but none may write.
SHARED_PROJECT = ("shared-runbooks", "runbooks")

DRIFTED_PROFILES: dict[str, tuple[str, dict[str, Any]]] = {
    DEFAULT_PROFILE: (
        "Agents plan and execute freely; applying needs a person.",
        {
            "auto_strategize": True,
            "auto_execute": True,
            "auto_apply": False,
            "require_review": True,
            "max_parallel_children": 6,
        },
    ),
    "supervised": (
        "Agents plan and execute; a person reviews and applies.",
        {
            "auto_strategize": True,
            "auto_execute": False,
            "auto_apply": False,
            "require_review": True,
            "max_parallel_children": 2,
            "notify_channel": "#plans",
        },
    ),
}


