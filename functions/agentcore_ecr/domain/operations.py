"""Operation ids, request fingerprints and the mapping of executions to Operations."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from datetime import datetime
from typing import Any, Protocol

from agentcore_ecr.domain import errors
from agentcore_ecr.domain.models import Operation, OperationError, stopped_error, undelivered_operation

_NAMESPACE = uuid.UUID("6f1c2b8e-4d0a-4f5e-9a57-2f9c8e0b7d31")
_OPERATION_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def operation_id_for(idempotency_key: str | None) -> str:
    """A key always names the same operation (and so the same execution); no key, a new one."""
    if idempotency_key is None:
        return str(uuid.uuid4())
    return str(uuid.uuid5(_NAMESPACE, idempotency_key))


def is_operation_id(value: str) -> bool:
    return bool(_OPERATION_ID.fullmatch(value))


def fingerprint(kind: str, request: Any) -> str:
    """A digest of what was asked, to tell a repeated request from a different one under the same key."""
    canonical = json.dumps({"kind": kind, "request": request}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


INTERNAL_MESSAGE = "The operation failed because of an internal error; the workflow's logs have the detail."


class ExecutionView(Protocol):
    """An execution as Step Functions describes it (aws/stepfunctions.py's `Execution`)."""

    @property
    def name(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def input(self) -> dict[str, Any]: ...
    @property
    def started_at(self) -> datetime: ...
    @property
    def stopped_at(self) -> datetime | None: ...
    @property
    def output(self) -> dict[str, Any] | None: ...
    @property
    def error(self) -> str | None: ...
    @property
    def cause(self) -> str | None: ...


def operation_from_execution(execution: ExecutionView) -> Operation:
    """The Operation an execution is: its input says what was asked, its status and output or
    error what came of it. An error the contract does not name is reported as Internal."""
    undelivered = (
        undelivered_operation(execution.error, execution.cause) if execution.status == "FAILED" else None
    )
    if undelivered is not None:  # the operation ended; only its event was refused (sent since)
        return undelivered
    workflow = execution.input
    repository = None
    error = None
    if execution.status == "SUCCEEDED" and execution.output:
        repository = execution.output.get("repository")
    if execution.status == "FAILED":
        if execution.error in errors.OPERATION_ERROR_CODES:
            error = OperationError(code=execution.error, message=execution.cause or execution.error)
        else:
            error = OperationError(code="Internal", message=INTERNAL_MESSAGE)
    error = error or stopped_error(execution.status)
    return Operation.model_validate(
        {
            "operationId": execution.name,
            "action": workflow.get("action", "CREATE"),
            "status": execution.status,
            "repositoryName": workflow.get("repositoryName", ""),
            "environment": workflow.get("environment", ""),
            "startedAt": execution.started_at,
            "stoppedAt": execution.stopped_at,
            "repository": repository,
            "error": error,
        }
    )
