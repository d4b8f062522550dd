"""Pydantic models at every boundary: API bodies, resources, workflow payloads."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationInfo,
    field_validator,
)
from pydantic.alias_generators import to_camel

# ECR's rule exactly: botocore's model (CreateRepository's repositoryName) and the
# AWS::ECR::Repository schema. `a__b` and `my--agent` are names; `a___b` is not.
REPOSITORY_NAME_PATTERN = (
    r"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$"
)
ENVIRONMENT_PATTERN = r"^[a-z][a-z0-9]{0,19}$"  # no "-": a stack name has one reading
KMS_KEY_ARN_PATTERN = r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+$"
IDEMPOTENCY_KEY_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
RESERVED_TAG_KEYS = frozenset({"ManagedBy", "Environment"})
RESERVED_TAG_PREFIXES = ("aws:", "agentcore:")  # in any letter case
MAX_TAGS = 40
# CloudFormation's AWS::ECR::Repository schema (Tag): it, not ECR, applies these to a stack's tags.
TAG_KEY_LENGTH = (1, 127)
TAG_VALUE_LENGTH = (1, 255)


def is_reserved_tag_key(key: str) -> bool:
    return key in RESERVED_TAG_KEYS or key.lower().startswith(RESERVED_TAG_PREFIXES)


def _utc_text(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


Timestamp = Annotated[datetime, PlainSerializer(_utc_text, return_type=str)]
RepositoryName = Annotated[StrictStr, Field(min_length=2, max_length=256, pattern=REPOSITORY_NAME_PATTERN)]
Environment = Annotated[StrictStr, Field(pattern=ENVIRONMENT_PATTERN)]


class CamelModel(BaseModel):
    # defer_build: a model's validator is built on its first use, so each function builds only the
    # models it uses, and none at import (README, "Cold start and what is shipped").
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True, defer_build=True
    )

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


class RequestModel(CamelModel):
    """A body callers send: its fields go by their camelCase names only (`image_scanning` is an
    unknown field, refused as the contract says), also when code builds one."""

    model_config = ConfigDict(validate_by_name=False, validate_by_alias=True)


class LifecyclePolicy(RequestModel):
    untagged_expiry_days: Annotated[StrictInt, Field(ge=1, le=3650)] = 30
    max_image_count: Annotated[StrictInt, Field(ge=1, le=10000)] | None = None


class CreateRepositoryRequest(RequestModel):
    """Body of `POST /repositories` and `detail` of a provisioning event."""

    name: RepositoryName
    environment: Environment = "dev"
    image_scanning: StrictBool = True
    image_tag_mutability: Literal["MUTABLE", "IMMUTABLE"] = "IMMUTABLE"
    # None: "KMS" on create; on an update, the repository's current setting (it cannot change).
    encryption: Literal["KMS", "AES256"] | None = None
    # At most 2,048 characters: AWS::ECR::Repository's EncryptionConfiguration.KmsKey.
    kms_key_arn: Annotated[StrictStr, Field(max_length=2048, pattern=KMS_KEY_ARN_PATTERN)] | None = None
    lifecycle_policy: LifecyclePolicy = LifecyclePolicy()
    tags: dict[StrictStr, StrictStr] = Field(default_factory=dict, max_length=MAX_TAGS)

    @field_validator("tags")
    @classmethod
    def _caller_tags(cls, tags: dict[str, str]) -> dict[str, str]:
        (key_min, key_max), (value_min, value_max) = TAG_KEY_LENGTH, TAG_VALUE_LENGTH
        for key, value in tags.items():
            if not key_min <= len(key) <= key_max:
                raise ValueError(f"tag key {key[:20]!r} must be {key_min}-{key_max} characters")
            if not value_min <= len(value) <= value_max:
                raise ValueError(f"the value of tag {key[:20]!r} must be {value_min}-{value_max} characters")
            if is_reserved_tag_key(key):
                raise ValueError(f"tag key {key[:20]!r} is reserved for the service")
        return tags

    @field_validator("kms_key_arn")
    @classmethod
    def _kms_key_needs_kms(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and info.data.get("encryption") not in (None, "KMS"):
            raise ValueError("kmsKeyArn may only be given with encryption KMS")
        return value


class ProvisioningRequest(CreateRepositoryRequest):
    """`detail` of a `Repository Provisioning Requested` event."""

    idempotency_key: Annotated[StrictStr, Field(pattern=IDEMPOTENCY_KEY_PATTERN)] | None = None

    def to_create_request(self) -> CreateRepositoryRequest:
        return CreateRepositoryRequest.model_validate(
            self.model_dump(by_alias=True, exclude={"idempotency_key"})
        )


class Drift(CamelModel):
    """What differs between a repository and its stack, changed outside this service."""

    code: Literal["RepositoryMissing"]
    message: str


class Repository(CamelModel):
    name: str
    environment: str
    registry_id: str
    region: str
    repository_uri: str
    repository_arn: str
    image_scanning: bool
    image_tag_mutability: Literal["MUTABLE", "IMMUTABLE"]
    encryption: Literal["KMS", "AES256"]
    kms_key_arn: str | None
    lifecycle_policy: LifecyclePolicy
    tags: dict[str, str]
    stack_name: str
    stack_status: str
    created_at: Timestamp
    # None when the repository is as its stack says; set when it was changed outside the service.
    drift: Drift | None = None


class RepositoryPage(CamelModel):
    items: list[Repository]
    next_token: str | None


class LifecyclePolicyView(CamelModel):
    untagged_expiry_days: int
    max_image_count: int | None
    policy_text: str | None


class AuthToken(CamelModel):
    username: str
    password: str
    proxy_endpoint: str
    expires_at: Timestamp


class Action(StrEnum):
    CREATE = "CREATE"
    UPDATE = "UPDATE"
    ADOPT = "ADOPT"  # a stack agentcore-cli made, moved to this service's template
    UPDATE_LIFECYCLE = "UPDATE_LIFECYCLE"
    DELETE = "DELETE"


OperationStatus = Literal["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]


class OperationError(CamelModel):
    code: str
    message: str


class Operation(CamelModel):
    operation_id: str
    action: Action
    status: OperationStatus
    repository_name: str
    environment: str
    started_at: Timestamp
    stopped_at: Timestamp | None = None
    repository: Repository | None = None
    error: OperationError | None = None


class ExecutionStatusChange(BaseModel):
    """`detail` of Step Functions' `Step Functions Execution Status Change` event (epoch ms dates)."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True, defer_build=True
    )

    execution_arn: str
    state_machine_arn: str
    name: str
    status: OperationStatus
    start_date: datetime
    stop_date: datetime | None = None
    input: str | None = None  # absent when too large to include (ours never are)
    error: str | None = None  # FAILED, ABORTED, TIMED_OUT: the execution's error and cause
    cause: str | None = None


class StackStatusDetails(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True, defer_build=True)

    status: str
    status_reason: str | None = Field(None, alias="status-reason")


class StackStatusChange(BaseModel):
    """`detail` of CloudFormation's `CloudFormation Stack Status Change` event (CloudFormation User
    Guide, "Stack Status Change event detail")."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True, defer_build=True)

    stack_id: str = Field(alias="stack-id")
    status_details: StackStatusDetails = Field(alias="status-details")
    # Every event of one stack operation carries the operation's ClientRequestToken.
    client_request_token: str | None = Field(None, alias="client-request-token")


# An execution that no state of the workflow ended: its error, for GET /operations and the event.
STOPPED_ERRORS = {
    "ABORTED": (
        "Aborted",
        "The operation's execution was stopped (StopExecution) before it finished; the repository's "
        "stack may still be changing: GET /repositories/{name} shows it as it is.",
    ),
    "TIMED_OUT": (
        "TimedOut",
        "The operation's execution ran out of time before it finished; the repository's stack may "
        "still be changing: GET /repositories/{name} shows it as it is.",
    ),
}


# The error of an execution whose Emit state could not put its result event (EventBridge refused
# it past every retry): the execution's cause is that event's Operation, as JSON.
RESULT_NOT_DELIVERED = "ResultNotDelivered"


def undelivered_operation(error: str | None, cause: str | None) -> Operation | None:
    """The Operation an execution that failed with ResultNotDelivered meant to announce, if its
    cause carries one (None for any other error)."""
    if error != RESULT_NOT_DELIVERED or not cause:
        return None
    try:
        return Operation.model_validate_json(cause)
    except ValueError:  # the fallback's cause, a message: the operation failed internally
        return None


def stopped_error(status: str) -> OperationError | None:
    """The error of an execution that was aborted or timed out; None for any other status."""
    if status not in STOPPED_ERRORS:
        return None
    code, message = STOPPED_ERRORS[status]
    return OperationError(code=code, message=message)


class ErrorDetail(CamelModel):
    location: str
    field: str
    message: str


class ErrorInfo(CamelModel):
    code: str
    message: str
    details: list[ErrorDetail] | None = None


class ErrorBody(CamelModel):
    error: ErrorInfo


# Workflow payloads ---------------------------------------------------------------------------


class WorkflowInput(CamelModel):
    """The execution input: everything a task step needs to know about the requested change."""

    operation_id: str
    action: Action
    repository_name: str
    environment: str
    stack_name: str
    fingerprint: str
    settings: CreateRepositoryRequest | None = None
    lifecycle_policy: LifecyclePolicy | None = None
    force: bool = False


class StackPhase(StrEnum):
    """One step of an operation's stack work; each makes at most one CloudFormation call."""

    APPLY = "APPLY"  # create or update of the repository stack
    CLEANUP = "CLEANUP"  # delete of a stack whose create failed, before a new create
    RECOVER = "RECOVER"  # continue the rollback of a stack in UPDATE_ROLLBACK_FAILED, before the update
    EMPTY = "EMPTY"  # force delete: an update that sets EmptyOnDelete
    PURGE = "PURGE"  # force delete of a stack that cannot be updated: delete a batch of images directly
    DELETE = "DELETE"

    @property
    def final(self) -> bool:
        """When this phase completes, the operation is done."""
        return self in (StackPhase.APPLY, StackPhase.DELETE)

    def request_token(self, operation_id: str) -> str:
        """The ClientRequestToken of this phase's CloudFormation call: a retried call is the same call."""
        return f"{self.value.lower()}-{operation_id}"

    @classmethod
    def of_request_token(cls, token: str | None, operation_id: str) -> StackPhase | None:
        """The phase of this operation that made a change with `token`, if any."""
        phase, _, owner = (token or "").partition("-")
        if owner != operation_id:
            return None
        return next((candidate for candidate in cls if candidate.value.lower() == phase), None)


class StackChange(CamelModel):
    """What `StartStackChange` did: the stack to watch, and whether anything remains after it."""

    stack_id: str | None
    phase: StackPhase
    settled: bool  # nothing to wait for (no-op update, stack already gone, a batch of images purged)
    final: bool  # when this phase completes, the operation is done
    wait_seconds: int


class StackState(StrEnum):
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETE = "COMPLETE"
    FAILED = "FAILED"
    TIMED_OUT = "TIMED_OUT"


class StackCheck(CamelModel):
    state: StackState
    stack_status: str | None
    reason: str | None = None
    wait_seconds: int = 0  # before the next check, while IN_PROGRESS


class TaskRequest(CamelModel):
    """Payload of every workflow task: the execution input and context, plus what earlier steps found."""

    workflow: WorkflowInput
    started_at: datetime
    # CheckStack: the change to check. StartStackChange: the change the previous phase made, if any.
    change: StackChange | None = None
    outcome: Literal["SUCCEEDED", "FAILED"] | None = None
    error: dict[str, Any] | None = None
    # AwaitStack: the token that resumes this wait (`.waitForTaskToken`).
    task_token: str | None = None


def field_path(loc: tuple[int | str, ...]) -> str:
    """`("body", "lifecyclePolicy", "untaggedExpiryDays")` -> `lifecyclePolicy.untaggedExpiryDays`."""
    parts = [str(part) for part in loc if part not in ("body", "query", "path", "header")]
    return re.sub(r"\.(\d+)", r"[\1]", ".".join(parts))
