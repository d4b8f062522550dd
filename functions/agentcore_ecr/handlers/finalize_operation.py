"""Workflow step: the final Operation, the detail of the result event."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from agentcore_ecr.config import CatalogSettings, NamingSettings, require
from agentcore_ecr.domain.models import TaskRequest
from agentcore_ecr.handlers.step import workflow_step
from agentcore_ecr.observability import logger
from agentcore_ecr.wiring import workflow

# Checked at cold start: a setting this function needs, missing or invalid, fails the import by name.
NEEDS = require(NamingSettings, CatalogSettings)


@logger.inject_lambda_context
@workflow_step
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = TaskRequest.model_validate(event)
    logger.append_keys(operation_id=task.workflow.operation_id, action=task.workflow.action)
    return workflow().finalize(task).to_json_dict()
