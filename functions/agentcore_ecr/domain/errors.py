"""Domain errors: each carries the contract's error code and HTTP status."""

from __future__ import annotations

from typing import Any, ClassVar


class ServiceError(Exception):
    """An error the contract names. `message` is safe to show to a client."""

    code: ClassVar[str] = "Internal"
    status: ClassVar[int] = 500

    def __init__(self, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            error["details"] = self.details
        return {"error": error}


class ValidationError(ServiceError):
    code = "ValidationError"
    status = 400


# AccessDenied (403) and PayloadTooLarge (413) are API Gateway's own answers: template.yaml's
# gateway responses carry them; no function raises them.


class UnsupportedMediaType(ServiceError):
    code = "UnsupportedMediaType"
    status = 415


class NotFound(ServiceError):
    code = "NotFound"
    status = 404


class RepositoryExists(ServiceError):
    code = "RepositoryExists"
    status = 409


class NotManaged(ServiceError):
    code = "NotManaged"
    status = 409


class RepositoryNotEmpty(ServiceError):
    code = "RepositoryNotEmpty"
    status = 409


class OperationInProgress(ServiceError):
    code = "OperationInProgress"
    status = 409


class ImmutableSetting(ServiceError):
    code = "ImmutableSetting"
    status = 409


class StackNotUpdatable(ServiceError):
    """The repository's stack is in a status CloudFormation will not update (see domain/stack_status.py)."""

    code = "StackNotUpdatable"
    status = 409


class RepositoryDrifted(ServiceError):
    """The repository was deleted outside this service while its stack remains."""

    code = "RepositoryDrifted"
    status = 409


class IdempotencyKeyReused(ServiceError):
    code = "IdempotencyKeyReused"
    status = 422


class Throttled(ServiceError):
    """AWS asked us to slow down; the workflow's Retry blocks catch this by name."""

    code = "Throttled"
    status = 503


class StepCrashed(Exception):
    """A workflow step failed in a way no contract error names (a bug, an AWS error that outlived
    botocore's retries): the state machine retries it, then fails the operation as Internal."""


class StackFailed(ServiceError):
    code = "StackFailed"
    status = 500


class StackTimeout(ServiceError):
    code = "StackTimeout"
    status = 500


class StackLimitExceeded(ServiceError):
    """CloudFormation refused to create the repository's stack: the account's stack quota in the
    Region is reached (CreateStack answers LimitExceededException). Only a workflow step raises it,
    so its status is never an HTTP answer; the quota is the account's, not the request's, and the
    same create succeeds once stacks are deleted or the quota is raised."""

    code = "StackLimitExceeded"
    status = 409


# What a failed operation may report to its caller; anything else is reported as Internal.
OPERATION_ERRORS: tuple[type[ServiceError], ...] = (
    ValidationError,
    NotFound,
    RepositoryExists,
    NotManaged,
    RepositoryNotEmpty,
    OperationInProgress,
    ImmutableSetting,
    StackNotUpdatable,
    RepositoryDrifted,
    StackFailed,
    StackTimeout,
    StackLimitExceeded,
)
OPERATION_ERROR_CODES = frozenset(error.code for error in OPERATION_ERRORS)
