"""Step Functions `Execution Status Change` (ABORTED, TIMED_OUT, FAILED): the result event the
execution did not emit.

Every operation ends in exactly one result event (docs/api.md, "Events"). The workflow emits it itself and
then ends SUCCEEDED, or FAILED with the operation's error code (its `Failed` and `FailedInternally`
states). Any other end emitted nothing, and Step Functions' status event, on the account's default
bus, brings it here:

- ABORTED (StopExecution) or TIMED_OUT (the execution's own limit): no further state ran; the
  event is `Repository Operation Failed`, code `Aborted` or `TimedOut`.
- FAILED with `ResultNotDelivered`: EventBridge refused the Emit state's event past every retry;
  the execution's cause is the Operation it meant to announce, sent now as it was.
- FAILED with any other error (`States.Runtime`, `States.DataLimitExceeded`: errors no `Catch`
  takes): `Repository Operation Failed`, code `Internal`.

It also settles the repository's catalog item, as the workflow's last step would have (a write
that changes nothing when that step ran): the lock is released and the item shows the repository
as it now is. A failure to publish raises, so Lambda retries the event and, past its retries,
keeps it in the dead-letter queue.
"""

import json
from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from agentcore_ecr.config import CatalogSettings, EventBusSettings, NamingSettings, require
from agentcore_ecr.domain import errors
from agentcore_ecr.domain.models import (
    ExecutionStatusChange,
    Operation,
    OperationError,
    WorkflowInput,
    stopped_error,
    undelivered_operation,
)
from agentcore_ecr.domain.operations import INTERNAL_MESSAGE
from agentcore_ecr.observability import logger, metrics
from agentcore_ecr.wiring import event_bus, workflow

# Checked at cold start: a setting this function needs, missing or invalid, fails the import by name.
NEEDS = require(NamingSettings, CatalogSettings, EventBusSettings)

SUCCEEDED = "Repository Operation Succeeded"
FAILED = "Repository Operation Failed"
# The errors of the workflow's Fail states that come after its result event was put.
ANNOUNCED_FAILURES = errors.OPERATION_ERROR_CODES | {"Internal"}


def workflow_input(change: ExecutionStatusChange) -> WorkflowInput:
    if change.input is None:
        raise ValueError(f"execution {change.name} ({change.status}): its input is not included")
    return WorkflowInput.model_validate(json.loads(change.input))


def ended_outside(change: ExecutionStatusChange, error: OperationError) -> Operation:
    """The final Operation of an execution no state of which emitted it, from its own input."""
    ended = workflow_input(change)
    return Operation(
        operation_id=ended.operation_id,
        action=ended.action,
        status=change.status,
        repository_name=ended.repository_name,
        environment=ended.environment,
        started_at=change.start_date,
        stopped_at=change.stop_date,
        error=error,
    )


def stopped_operation(change: ExecutionStatusChange) -> Operation:
    """The final Operation of an aborted or timed-out execution, from the execution's own input."""
    error = stopped_error(change.status)
    if error is None:
        raise ValueError(f"execution {change.name} ({change.status}): not stopped")
    return ended_outside(change, error)


def unannounced_operation(change: ExecutionStatusChange) -> Operation | None:
    """The Operation whose result event the execution did not emit; None when it emitted it."""
    if change.status != "FAILED":
        return stopped_operation(change)
    if change.error in ANNOUNCED_FAILURES:
        return None
    undelivered = undelivered_operation(change.error, change.cause)
    if undelivered is not None:
        return undelivered
    return ended_outside(change, OperationError(code="Internal", message=INTERNAL_MESSAGE))


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any] | None:
    envelope = parse(event=event, model=EventBridgeModel)
    change = ExecutionStatusChange.model_validate(envelope.detail)
    operation = unannounced_operation(change)
    if operation is None:
        logger.info("the workflow emitted the result event", execution=change.name, error=change.error)
        return None
    logger.append_keys(operation_id=operation.operation_id, action=operation.action)
    # Before the event: a failure here is retried by Lambda, and the event is then sent once.
    workflow().settle_catalog(operation.repository_name, operation.operation_id, operation.environment)
    event_bus().publish(SUCCEEDED if operation.status == "SUCCEEDED" else FAILED, operation.to_json_dict())
    logger.warning(
        "operation ended outside the workflow's own result event",
        status=change.status,
        error=change.error,
        announced=operation.status,
    )
    ended = "FailedOutsideWorkflow" if change.status == "FAILED" else change.status.title().replace("_", "")
    metrics.add_metric(name=f"Operations{ended}", unit="Count", value=1)
    return operation.to_json_dict()
