"""The tables' enumerations (phases, states, modes) as plain StrEnums, importable without
SQLAlchemy: the app's tree and filter use them before SQLAlchemy has loaded."""

import enum


class ActionState(enum.StrEnum):
    AVAILABLE = "available"
    ARCHIVED = "archived"


class ArgType(enum.StrEnum):
    STRING = "string"
    INTEGER = "integer"
    FLOAT = "float"
    BOOLEAN = "boolean"
    LIST = "list"


class ArgRequirement(enum.StrEnum):
    REQUIRED = "required"
    OPTIONAL = "optional"


class InvariantScope(enum.StrEnum):
    PLAN = "plan"
    ACTION = "action"
    PROJECT = "project"
    GLOBAL = "global"


class PlanPhase(enum.StrEnum):
    STRATEGIZE = "strategize"
    EXECUTE = "execute"
    APPLY = "apply"
    APPLIED = "applied"


class ProcessingState(enum.StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    ERRORED = "errored"
    COMPLETE = "complete"
    CANCELLED = "cancelled"


class DecisionState(enum.StrEnum):
    ACTIVE = "active"
    REVERTED = "reverted"


class CorrectionMode(enum.StrEnum):
    REVERT = "revert"
    APPEND = "append"


class CorrectionState(enum.StrEnum):
    PENDING = "pending"
    EXECUTING = "executing"
    COMPLETE = "complete"
    FAILED = "failed"
