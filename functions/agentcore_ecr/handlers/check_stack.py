"""Workflow step: where the stack is (in progress, complete, failed, timed out).

Two tasks of the workflow call it. `AwaitStack` (`.waitForTaskToken`, with the task's token):
leave the token for the stack's status event, look at the stack once, and resume the task at once
if it has already settled. `CheckStack` (after a wait timed out): look at the stack.
"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from agentcore_ecr.config import CatalogSettings, NamingSettings, StackWaitSettings, require
from agentcore_ecr.domain.models import TaskRequest
from agentcore_ecr.handlers.step import workflow_step
from agentcore_ecr.observability import logger
from agentcore_ecr.wiring import workflow

# Checked at cold start: a setting this function needs, missing or invalid, fails the import by name.
NEEDS = require(NamingSettings, CatalogSettings, StackWaitSettings)


@logger.inject_lambda_context
@workflow_step
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = TaskRequest.model_validate(event)
    logger.append_keys(operation_id=task.workflow.operation_id, action=task.workflow.action)
    if task.task_token is not None:
        return workflow().await_stack(task).to_json_dict()
    return workflow().recheck_stack(task).to_json_dict()
