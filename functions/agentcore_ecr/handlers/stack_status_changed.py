"""CloudFormation's `CloudFormation Stack Status Change` events for this service's stacks, from
the account's default bus: the execution waiting on that stack change is resumed at once.

A status that is not settled, a stack nobody waits on, an event of an older change and a
duplicate do nothing. A failure here costs nothing but time: Lambda retries the event, and the
waiting execution checks the stack itself when its wait times out.
"""

from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from agentcore_ecr.config import CatalogSettings, NamingSettings, require
from agentcore_ecr.domain.models import StackStatusChange
from agentcore_ecr.observability import logger, metrics
from agentcore_ecr.wiring import workflow

# Checked at cold start: a setting this function needs, missing or invalid, fails the import by name.
NEEDS = require(NamingSettings, CatalogSettings)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    envelope = parse(event=event, model=EventBridgeModel)
    change = StackStatusChange.model_validate(envelope.detail)
    logger.append_keys(stack_id=change.stack_id, stack_status=change.status_details.status)
    check = workflow().stack_status_changed(change)
    if check is None:
        logger.debug("no wait to resume")
        return {"resumed": False}
    logger.info("wait resumed by the stack's status event", state=check.state)
    metrics.add_metric(name="WaitsResumedByEvent", unit="Count", value=1)
    return {"resumed": True, "check": check.to_json_dict()}
