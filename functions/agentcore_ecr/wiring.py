"""The objects each function uses, built once per process on first use."""

from __future__ import annotations

from functools import cache

from agentcore_ecr.aws.catalog import Catalog
from agentcore_ecr.aws.cloudformation import Stacks
from agentcore_ecr.aws.ecr import Ecr
from agentcore_ecr.aws.events import EventBus
from agentcore_ecr.aws.stepfunctions import Executions
from agentcore_ecr.config import Settings, get_settings
from agentcore_ecr.repair import CatalogRepair
from agentcore_ecr.service import RepositoryReader, RepositoryService
from agentcore_ecr.workflow import Workflow


def _catalog(settings: Settings) -> Catalog | None:
    return Catalog(settings.catalog_table_name) if settings.catalog_table_name else None


@cache
def repository_service() -> RepositoryService:
    settings = get_settings()
    executions = Executions(settings.state_machine_arn) if settings.state_machine_arn else None
    return RepositoryService(settings, Ecr(), Stacks(), executions, _catalog(settings))


@cache
def workflow() -> Workflow:
    settings = get_settings()
    stacks, ecr = Stacks(), Ecr()
    return Workflow(settings, stacks, ecr, RepositoryReader(settings, ecr, stacks), _catalog(settings))


@cache
def catalog_repair() -> CatalogRepair:
    settings = get_settings()
    catalog = _catalog(settings)
    if catalog is None:
        raise RuntimeError("CATALOG_TABLE_NAME is not set for this function")
    return CatalogRepair(settings, catalog, Stacks(), Ecr(), Executions(settings.require_state_machine_arn()))


@cache
def event_bus() -> EventBus:
    return EventBus(get_settings().event_bus_name)


def reset() -> None:
    """Forget everything built so far (tests change the environment between cases)."""
    from agentcore_ecr.aws.clients import client  # noqa: PLC0415
    from agentcore_ecr.config import get_settings as settings  # noqa: PLC0415

    for cached in (repository_service, workflow, catalog_repair, event_bus, client, settings):
        cached.cache_clear()
