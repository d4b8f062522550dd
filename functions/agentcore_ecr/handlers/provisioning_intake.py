"""EventBridge `Repository Provisioning Requested`: the same create/upsert as `POST /repositories`.

A request that can never succeed (invalid, or refused by a rule of the contract) ends in a
`Repository Operation Failed` event; a fault in AWS raises, so EventBridge retries it and,
past its retries, the rule's dead-letter queue keeps it.

EventBridge delivers at least once, repeating an event with its `id`: a request without an
`idempotencyKey` takes one from the event's id, so a repeated delivery finds its operation
instead of starting (or being refused) a second time.
"""

import re
from datetime import UTC, datetime
from typing import Any

import pydantic
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from agentcore_ecr.config import (
    CatalogSettings,
    EventBusSettings,
    NamingSettings,
    StateMachineSettings,
    require,
)
from agentcore_ecr.domain import errors
from agentcore_ecr.domain.models import (
    IDEMPOTENCY_KEY_PATTERN,
    Action,
    Operation,
    OperationError,
    ProvisioningRequest,
    field_path,
)
from agentcore_ecr.domain.operations import operation_id_for
from agentcore_ecr.observability import logger, metrics
from agentcore_ecr.wiring import event_bus, repository_service

# Checked at cold start: a setting this function needs, missing or invalid, fails the import by name.
NEEDS = require(NamingSettings, CatalogSettings, StateMachineSettings, EventBusSettings)

FAILED = "Repository Operation Failed"


def idempotency_key(detail: dict[str, Any], event_id: str) -> str:
    """The request's own key, or one made from the EventBridge event's id."""
    key = detail.get("idempotencyKey")
    return key if isinstance(key, str) and re.fullmatch(IDEMPOTENCY_KEY_PATTERN, key) else f"event-{event_id}"


def _refused(detail: dict[str, Any], key: str, error: errors.ServiceError) -> dict[str, Any]:
    now = datetime.now(UTC)
    name, environment = detail.get("name"), detail.get("environment", "dev")
    operation = Operation(
        operation_id=operation_id_for(key),
        action=Action.CREATE,
        status="FAILED",
        repository_name=name if isinstance(name, str) else "",
        environment=environment if isinstance(environment, str) else "",
        started_at=now,
        stopped_at=now,
        error=OperationError(code=error.code, message=error.message),
    )
    event_bus().publish(FAILED, operation.to_json_dict())
    logger.warning("provisioning request refused", code=error.code)
    metrics.add_metric(name="ProvisioningRefused", unit="Count", value=1)
    return operation.to_json_dict()


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    envelope = parse(event=event, model=EventBridgeModel)
    detail: dict[str, Any] = envelope.detail if isinstance(envelope.detail, dict) else {}
    key = idempotency_key(detail, envelope.id)
    try:
        request = ProvisioningRequest.model_validate(envelope.detail)
    except pydantic.ValidationError as invalid:
        fields = ", ".join(sorted({field_path(tuple(item["loc"])) or "detail" for item in invalid.errors()}))
        return _refused(detail, key, errors.ValidationError(f"Invalid provisioning request: check {fields}."))
    try:
        operation = repository_service().create_repository(request.to_create_request(), key)
    except errors.ServiceError as refused:
        if refused.status >= 500:
            raise
        return _refused(detail, key, refused)
    return operation.to_json_dict()
