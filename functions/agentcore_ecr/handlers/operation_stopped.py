"""Step Functions `Execution Status Change` (ABORTED, TIMED_OUT): the operation's Failed event.

An execution stopped by an operator (StopExecution) or by its own time limit runs no further
state, so the workflow cannot emit its result itself. Step Functions' status event, on the
account's default bus, brings it here, and this function emits `Repository Operation Failed`
(code `Aborted` or `TimedOut`) so that every operation ends in a result event (contract 1.1).
It also settles the repository's catalog item, as the workflow's last step would have: the lock
is released and the item shows the repository as it now is.
"""

import json
from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from agentcore_ecr.domain.models import ExecutionStatusChange, Operation, WorkflowInput, stopped_error
from agentcore_ecr.observability import logger, metrics
from agentcore_ecr.wiring import event_bus, workflow

FAILED = "Repository Operation Failed"


def workflow_input(change: ExecutionStatusChange) -> WorkflowInput:
    if change.input is None:
        raise ValueError(f"execution {change.name} ({change.status}): its input is not included")
    return WorkflowInput.model_validate(json.loads(change.input))


def stopped_operation(change: ExecutionStatusChange) -> Operation:
    """The final Operation of an aborted or timed-out execution, from the execution's own input."""
    error = stopped_error(change.status)
    if error is None:
        raise ValueError(f"execution {change.name} ({change.status}): not stopped")
    stopped = workflow_input(change)
    return Operation(
        operation_id=stopped.operation_id,
        action=stopped.action,
        status=change.status,
        repository_name=stopped.repository_name,
        environment=stopped.environment,
        started_at=change.start_date,
        stopped_at=change.stop_date,
        error=error,
    )


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    envelope = parse(event=event, model=EventBridgeModel)
    change = ExecutionStatusChange.model_validate(envelope.detail)
    operation = stopped_operation(change)
    logger.append_keys(operation_id=operation.operation_id, action=operation.action)
    # Before the event: a failure here is retried by Lambda, and the event is then sent once.
    workflow().settle_catalog(operation.repository_name, operation.operation_id, operation.environment)
    event_bus().publish(FAILED, operation.to_json_dict())
    logger.warning("operation stopped outside the workflow", status=operation.status)
    metrics.add_metric(name=f"Operations{operation.status.title().replace('_', '')}", unit="Count", value=1)
    return operation.to_json_dict()
