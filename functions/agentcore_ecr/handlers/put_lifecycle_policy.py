"""PUT /lifecycle-policies/{name+}"""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from agentcore_ecr.api import build_resolver, put_lifecycle_router
from agentcore_ecr.config import CatalogSettings, NamingSettings, StateMachineSettings, require
from agentcore_ecr.observability import logger, metrics

# Checked at cold start: a setting this function needs, missing or invalid, fails the import by name.
NEEDS = require(NamingSettings, CatalogSettings, StateMachineSettings)

app = build_resolver(put_lifecycle_router)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
