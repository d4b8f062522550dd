"""The API's resources as typed models (docs/api.md, version 1.1).

Fields the client does not know yet (a newer service) are kept, not refused, and come back out in
`to_api()`: the command's `--output json` is the API's own JSON.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

OperationStatus = Literal["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]
ENDED: frozenset[str] = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})


class ApiModel(BaseModel):
    # defer_build: a validator is built on first use, not at import (the command starts faster).
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="allow", frozen=True, defer_build=True
    )

    def to_api(self) -> dict[str, Any]:
        """The JSON the API answered (camelCase keys, UTC timestamps as `...Z`)."""
        return self.model_dump(mode="json", by_alias=True)


class LifecyclePolicy(ApiModel):
    untagged_expiry_days: int = 30
    max_image_count: int | None = None


class Drift(ApiModel):
    code: str
    message: str


class Repository(ApiModel):
    name: str
    environment: str
    registry_id: str
    region: str
    repository_uri: str
    repository_arn: str
    image_scanning: bool
    image_tag_mutability: str
    encryption: str
    kms_key_arn: str | None = None
    lifecycle_policy: LifecyclePolicy
    tags: dict[str, str]
    stack_name: str
    stack_status: str
    created_at: datetime
    drift: Drift | None = None


class RepositoryPage(ApiModel):
    items: list[Repository]
    next_token: str | None = None


class LifecyclePolicyView(ApiModel):
    untagged_expiry_days: int
    max_image_count: int | None = None
    policy_text: str | None = None


class AuthToken(ApiModel):
    username: str
    password: str
    proxy_endpoint: str
    expires_at: datetime

    def __repr__(self) -> str:  # the password stays out of logs and tracebacks
        return f"AuthToken(username={self.username!r}, proxy_endpoint={self.proxy_endpoint!r}, password=***)"

    __str__ = __repr__


class OperationError(ApiModel):
    code: str
    message: str


class Operation(ApiModel):
    operation_id: str
    action: str
    status: OperationStatus
    repository_name: str
    environment: str
    started_at: datetime
    stopped_at: datetime | None = None
    repository: Repository | None = None
    error: OperationError | None = None

    @property
    def done(self) -> bool:
        return self.status in ENDED

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCEEDED"


class ErrorDetail(ApiModel):
    location: str | None = None
    field: str | None = None
    message: str


class Progress(BaseModel):
    """What a waiter reports while it follows an operation: each time the operation or its stack's
    status changes."""

    model_config = ConfigDict(frozen=True)

    operation: Operation
    stack_status: str | None
    elapsed: float
