"""Admission: an operation on a repository is let in once at a time, and once per Idempotency-Key.

The repository's lock in the catalog (one conditional write, the operation id as holder) is what
makes `OperationInProgress` exact, however many operations run; anything that refuses the
operation gives the lock back. An `Idempotency-Key` names a fixed execution (domain/operations.py):
the same key and the same request is the same operation, replayed; the same key and another
request is `IdempotencyKeyReused`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any

from agentcore_ecr.aws.catalog import Catalog, LockHolder
from agentcore_ecr.aws.stepfunctions import Execution, ExecutionExistsError, Executions
from agentcore_ecr.domain import errors
from agentcore_ecr.domain.models import Operation, WorkflowInput
from agentcore_ecr.domain.operations import fingerprint, operation_from_execution, operation_id_for

CONSISTENCY_DELAYS = (0.25, 0.5, 1.0)  # looking again for an execution Step Functions does not show yet
# A lock whose operation has no execution is over once its admission can no longer be running
# (the admitting functions time out after 25 s, the events' intake after 30 s), or Step Functions
# is late to show the execution.
LOCK_GRACE = timedelta(minutes=2)

# What an operation is to do, decided once its lock is held: (operation id, fingerprint) -> input.
Plan = Callable[[str, str], WorkflowInput]


def lock_is_over(executions: Executions, holder: LockHolder, now: datetime) -> bool:
    """The holder's execution has ended, or it never started (its admission failed mid-way)."""
    execution = executions.describe(holder.operation_id)
    if execution is not None:
        return execution.status != "RUNNING"
    return holder.started_at is None or now - holder.started_at > LOCK_GRACE


class Admission:
    def __init__(self, executions: Executions, catalog: Catalog) -> None:
        self.executions = executions
        self.catalog = catalog

    def submit(
        self, name: str, kind: str, request: dict[str, Any], idempotency_key: str | None, plan: Plan
    ) -> Operation:
        """Admit an operation on repository `name`: its lock in the catalog, its plan, its execution."""
        operation_id = operation_id_for(idempotency_key)
        digest = fingerprint(kind, request)
        if idempotency_key is not None:
            existing = self.executions.describe(operation_id)
            if existing is not None:
                return replay(existing, digest)
        locked = False
        try:
            self._lock(name, operation_id)
            locked = True
            workflow = plan(operation_id, digest)
            started_at = self.executions.start(operation_id, workflow.to_json_dict())
        except (errors.ServiceError, ExecutionExistsError) as refused:
            # A retried request whose execution Step Functions does not show yet (DescribeExecution
            # is eventually consistent) meets its own operation: the replay wins.
            conflict = not isinstance(refused, errors.ServiceError) or refused.status == HTTPStatus.CONFLICT
            existing = self._look_again(operation_id) if idempotency_key is not None and conflict else None
            if existing is None:
                if locked:
                    self.catalog.release(name, operation_id)
                raise
            return replay(existing, digest)
        except BaseException:
            if locked:
                self.catalog.release(name, operation_id)
            raise
        return Operation(
            operation_id=operation_id,
            action=workflow.action,
            status="RUNNING",
            repository_name=workflow.repository_name,
            environment=workflow.environment,
            started_at=started_at,
        )

    def _look_again(self, operation_id: str) -> Execution | None:
        for delay in (0.0, *CONSISTENCY_DELAYS):
            time.sleep(delay)
            existing = self.executions.describe(operation_id)
            if existing is not None:
                return existing
        return None

    def _lock(self, name: str, operation_id: str) -> None:
        """Take the repository's lock; a holder whose operation is over is taken over."""
        now = datetime.now(UTC)
        holder = self.catalog.acquire(name, operation_id, now)
        if holder is not None and lock_is_over(self.executions, holder, now):
            holder = self.catalog.acquire(name, operation_id, now, stale=holder.operation_id)
        if holder is not None:
            raise errors.OperationInProgress(
                f"Operation {holder.operation_id} is still running on this repository; "
                "retry when it has finished."
            )


def replay(existing: Execution, digest: str) -> Operation:
    """The operation an Idempotency-Key already named, if it was asked for the same request."""
    if existing.input.get("fingerprint") != digest:
        raise errors.IdempotencyKeyReused(
            "This Idempotency-Key was used for a different request; use a new key."
        )
    return operation_from_execution(existing)
