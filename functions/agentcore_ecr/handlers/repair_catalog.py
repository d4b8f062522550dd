"""Rebuild the catalog from the stacks (`sam remote invoke RepairCatalogFunction`, any event)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from agentcore_ecr.config import CatalogSettings, NamingSettings, StateMachineSettings, require
from agentcore_ecr.observability import logger, metrics
from agentcore_ecr.wiring import catalog_repair

# Checked at cold start: a setting this function needs, missing or invalid, fails the import by name.
NEEDS = require(NamingSettings, CatalogSettings, StateMachineSettings)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    report = catalog_repair().run().to_json_dict()
    logger.info("catalog repaired", extra=report)
    for name, count in report.items():
        metrics.add_metric(name=f"Catalog{name.title()}", unit="Count", value=count)
    return report
