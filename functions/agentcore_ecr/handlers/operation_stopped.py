"""Step Functions `Execution Status Change` (ABORTED, TIMED_OUT): the operation's Failed event.

An execution stopped by an operator (StopExecution) or by its own time limit runs no further
state, so the workflow cannot emit its result itself. Step Functions' status event, on the
account's default bus, brings it here, and this function emits `Repository Operation Failed`
(code `Aborted` or `TimedOut`) so that every operation ends in a result event (contract 1.1).
"""

import json
from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from agentcore_ecr.domain.models import ExecutionStatusChange, Operation, WorkflowInput, stopped_error
from agentcore_ecr.observability import logger, metrics
from agentcore_ecr.wiring import event_bus

FAILED = "Repository Operation Failed"


def stopped_operation(change: ExecutionStatusChange) -> Operation:
    """The final Operation of an aborted or timed-out execution, from the execution's own input."""
    error = stopped_error(change.status)
    if error is None or change.input is None:
        raise ValueError(f"execution {change.name} ({change.status}): not stopped, or no input included")
    workflow = WorkflowInput.model_validate(json.loads(change.input))
    return Operation(
        operation_id=workflow.operation_id,
        action=workflow.action,
        status=change.status,
        repository_name=workflow.repository_name,
        environment=workflow.environment,
        started_at=change.start_date,
        stopped_at=change.stop_date,
        error=error,
    )


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    envelope = parse(event=event, model=EventBridgeModel)
    operation = stopped_operation(ExecutionStatusChange.model_validate(envelope.detail))
    logger.append_keys(operation_id=operation.operation_id, action=operation.action)
    event_bus().publish(FAILED, operation.to_json_dict())
    logger.warning("operation stopped outside the workflow", status=operation.status)
    metrics.add_metric(name=f"Operations{operation.status.title().replace('_', '')}", unit="Count", value=1)
    return operation.to_json_dict()
