"""Rebuild the catalog from the stacks, the source of truth.

For a deployment that had no catalog yet (the first deploy of this version), after a restore, or
whenever the catalog is suspected: every stack of this deployment that holds a managed repository
gets its item as the stack and the repository now are; items whose stack is gone are removed; a
lock whose operation is over is released. Locks of running operations are left to them.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

from agentcore_ecr.admission import lock_is_over
from agentcore_ecr.aws.catalog import Catalog
from agentcore_ecr.aws.cloudformation import Stack, Stacks
from agentcore_ecr.aws.ecr import Ecr
from agentcore_ecr.aws.stepfunctions import Executions
from agentcore_ecr.config import NamingSettings
from agentcore_ecr.domain import stack as stack_rules
from agentcore_ecr.read_model import RepositoryReader, missing_repository, repository_from_stack

WRITES_IN_PARALLEL = 8


@dataclass(frozen=True)
class RepairReport:
    recorded: int  # items written from a stack
    removed: int  # items whose repository is no longer managed
    released: int  # locks of operations that were over

    def to_json_dict(self) -> dict[str, int]:
        return {"recorded": self.recorded, "removed": self.removed, "released": self.released}


class CatalogRepair:
    def __init__(
        self, settings: NamingSettings, catalog: Catalog, stacks: Stacks, ecr: Ecr, executions: Executions
    ) -> None:
        self.settings = settings
        self.catalog = catalog
        self.stacks = stacks
        self.ecr = ecr
        self.executions = executions
        self.reader = RepositoryReader(settings, ecr, stacks)

    def managed_stacks(self) -> list[Stack]:
        """This deployment's stacks that have made their repository."""
        prefix = f"{self.settings.stack_name_prefix}-"
        return [
            stack
            for stack in self.stacks.iter_stacks()
            if stack.name.startswith(prefix)
            and stack_rules.is_managed(stack.tags)
            and "RepositoryArn" in stack.outputs
            and self.reader.is_own_stack(stack)
        ]

    def record(self, stack: Stack) -> None:
        arn = stack.outputs["RepositoryArn"]
        tags = self.ecr.tags_if_exists(arn)
        drift = missing_repository(stack) if tags is None else None
        repository = repository_from_stack(stack, stack.outputs["RepositoryUri"], arn, tags or {}, drift)
        self.catalog.record(repository, stack.stack_id)

    def run(self) -> RepairReport:
        stacks = self.managed_stacks()
        with ThreadPoolExecutor(max_workers=WRITES_IN_PARALLEL) as pool:
            list(pool.map(self.record, stacks))  # boto3 clients are thread-safe
        names = {stack_rules.owner(stack.parameters) for stack in stacks}
        removed = released = 0
        now = datetime.now(UTC)
        for item in self.catalog.items():
            if item.holder is not None:
                if not lock_is_over(self.executions, item.holder, now):
                    continue  # its operation settles the item when it ends
                self.catalog.release(item.name, item.holder.operation_id)
                released += 1
            if item.name not in names and item.repository is not None and self.catalog.forget(item.name):
                removed += 1
        return RepairReport(recorded=len(stacks), removed=removed, released=released)
