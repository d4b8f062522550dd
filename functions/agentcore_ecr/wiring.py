"""The objects each function uses, each built once per process on first use, from its own settings.

What a builder reads (config.py) is what the handlers that use it check at cold start: the
repository service makes its parts as its use cases ask for them, so a function needs only the
settings of its own route's; the workflow reads the repositories' names and the catalog.
"""

from __future__ import annotations

from functools import cache

from agentcore_ecr import config
from agentcore_ecr.admission import Admission
from agentcore_ecr.aws.catalog import Catalog
from agentcore_ecr.aws.cloudformation import Stacks
from agentcore_ecr.aws.ecr import Ecr
from agentcore_ecr.aws.events import EventBus
from agentcore_ecr.aws.stepfunctions import Executions
from agentcore_ecr.config import CatalogSettings, EventBusSettings, NamingSettings, StateMachineSettings
from agentcore_ecr.read_model import RepositoryReader
from agentcore_ecr.repair import CatalogRepair
from agentcore_ecr.service import RepositoryService
from agentcore_ecr.workflow import Workflow


@cache
def catalog() -> Catalog:
    return Catalog(config.load(CatalogSettings).catalog_table_name)


@cache
def executions() -> Executions:
    return Executions(config.load(StateMachineSettings).state_machine_arn)


@cache
def reader() -> RepositoryReader:
    return RepositoryReader(config.load(NamingSettings), Ecr(), Stacks())


@cache
def admission() -> Admission:
    return Admission(executions(), catalog())


@cache
def repository_service() -> RepositoryService:
    return RepositoryService(Ecr(), Stacks(), reader, catalog, executions, admission)


@cache
def workflow() -> Workflow:
    return Workflow(config.StackWork(), Stacks(), Ecr(), reader(), catalog())


@cache
def catalog_repair() -> CatalogRepair:
    return CatalogRepair(config.load(NamingSettings), catalog(), Stacks(), Ecr(), executions())


@cache
def event_bus() -> EventBus:
    return EventBus(config.load(EventBusSettings).event_bus_name)


def reset() -> None:
    """Forget everything built so far (tests change the environment between cases)."""
    from agentcore_ecr.aws.clients import client  # noqa: PLC0415

    builders = (
        catalog,
        executions,
        reader,
        admission,
        repository_service,
        workflow,
        catalog_repair,
        event_bus,
    )
    for cached in (*builders, client):
        cached.cache_clear()
    config.reset()
