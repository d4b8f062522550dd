"""The read model: a managed repository as ECR, its tags and its stack (the source of truth) show it.

Reads see only what this service manages: a repository is managed when its tags say so and its
stack, under this deployment's name for it, names it as its RepositoryName. A repository deleted
outside the service while its stack remains is still shown, with its drift.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from agentcore_ecr.aws.cloudformation import Stack, Stacks
from agentcore_ecr.aws.ecr import Ecr, RepositoryDescription
from agentcore_ecr.config import NamingSettings
from agentcore_ecr.domain import errors
from agentcore_ecr.domain import stack as stack_rules
from agentcore_ecr.domain.models import Drift, Repository
from agentcore_ecr.domain.naming import stack_name_for
from agentcore_ecr.domain.stack import is_orphan


def _arn_parts(arn: str) -> tuple[str, str]:
    """(region, account) of an ARN."""
    parts = arn.split(":")
    return parts[3], parts[4]


def missing_repository(stack: Stack) -> Drift:
    return Drift(
        code="RepositoryMissing",
        message=f"The repository was deleted outside this service; its stack {stack.name} remains "
        "(its settings are shown, its tags are no longer known). "
        "POST /repositories recreates it, DELETE removes the stack.",
    )


def repository_from_stack(
    stack: Stack, uri: str, arn: str, tags: dict[str, str], drift: Drift | None = None
) -> Repository:
    """The Repository as its stack (the source of truth) and the repository's tags describe it."""
    parameters = stack.parameters
    region, account = _arn_parts(arn)
    encryption, kms_key_arn = stack_rules.encryption_from_parameters(parameters)
    return Repository(
        name=parameters[stack_rules.P_NAME],
        environment=parameters[stack_rules.P_ENVIRONMENT],
        registry_id=account,
        region=region,
        repository_uri=uri,
        repository_arn=arn,
        image_scanning=parameters.get(stack_rules.P_SCAN, "true") == "true",
        image_tag_mutability="MUTABLE"
        if parameters.get(stack_rules.P_MUTABILITY) == "MUTABLE"
        else "IMMUTABLE",
        encryption=encryption,
        kms_key_arn=kms_key_arn,
        lifecycle_policy=stack_rules.lifecycle_from_parameters(parameters),
        tags=stack_rules.caller_tags(tags),
        stack_name=stack.name,
        stack_status=stack.status,
        created_at=stack.created_at,
        drift=drift,
    )


class ManagedRepository:
    """A repository this service manages: its ECR description, its tags and its stack.

    `description` is None when the repository was deleted outside the service (its stack remains).
    """

    def __init__(
        self, description: RepositoryDescription | None, tags: dict[str, str], environment: str, stack: Stack
    ) -> None:
        self.description = description
        self.tags = tags
        self.environment = environment
        self.stack = stack

    @property
    def drift(self) -> Drift | None:
        return missing_repository(self.stack) if self.description is None else None

    def to_model(self) -> Repository:
        if self.description is None:
            outputs = self.stack.outputs
            return repository_from_stack(
                self.stack, outputs["RepositoryUri"], outputs["RepositoryArn"], self.tags, self.drift
            )
        return repository_from_stack(self.stack, self.description.uri, self.description.arn, self.tags)


class RepositoryReader:
    def __init__(self, settings: NamingSettings, ecr: Ecr, stacks: Stacks) -> None:
        self.settings = settings
        self.ecr = ecr
        self.stacks = stacks

    def stack_name(self, name: str, environment: str) -> str:
        return stack_name_for(self.settings.stack_name_prefix, name, environment)

    def is_own_stack(self, stack: Stack) -> bool:
        """The stack is this deployment's stack of the repository its RepositoryName parameter names."""
        environment = stack.parameters.get(stack_rules.P_ENVIRONMENT, "")
        return stack.name == self.stack_name(stack_rules.owner(stack.parameters), environment)

    def find(self, name: str) -> ManagedRepository:
        """The managed repository `name`; NotFound if there is none, NotManaged if it is not ours."""
        description = self.ecr.describe(name)
        # A repository deleted between the two reads (a delete operation ending) is read as gone.
        tags = self.ecr.tags_if_exists(description.arn) if description is not None else None
        if description is None or tags is None:
            orphan = self.orphan_stack(name)
            if orphan is None:
                raise errors.NotFound(f"Repository {name!r} does not exist.")
            environment = orphan.parameters[stack_rules.P_ENVIRONMENT]
            return ManagedRepository(None, {}, environment, orphan)
        environment = tags.get(stack_rules.ENVIRONMENT, "")
        stack = self.stacks.describe(self.stack_name(name, environment)) if environment else None
        # The stack's RepositoryName says whose it is: a stack name may belong to another repository.
        if not stack_rules.is_managed(tags) or stack is None or stack_rules.owner(stack.parameters) != name:
            raise errors.NotManaged(f"Repository {name!r} exists but is not managed by this service.")
        return ManagedRepository(description, tags, environment, stack)

    def find_in(self, name: str, environment: str) -> ManagedRepository:
        """`find`, when the environment is known (the workflow's): the stack is read while ECR is,
        which takes one round trip off the end of every operation. Anything unusual (no repository,
        another environment's) goes the general way."""
        with ThreadPoolExecutor(max_workers=1) as pool:  # boto3 clients are thread-safe
            reading = pool.submit(self.stacks.describe, self.stack_name(name, environment))
            description = self.ecr.describe(name)
            tags = self.ecr.tags_if_exists(description.arn) if description is not None else None
            stack = reading.result()
        if description is None or tags is None or tags.get(stack_rules.ENVIRONMENT) != environment:
            return self.find(name)
        if not stack_rules.is_managed(tags) or stack is None or stack_rules.owner(stack.parameters) != name:
            raise errors.NotManaged(f"Repository {name!r} exists but is not managed by this service.")
        return ManagedRepository(description, tags, environment, stack)

    def orphan_stack(self, name: str) -> Stack | None:
        """The stack of a managed repository that was deleted outside the service (drift), if any.

        One DescribeStacks per allowed environment, made only when ECR does not know the name.
        """
        for environment in self.settings.allowed_environments:
            stack = self.stacks.describe(self.stack_name(name, environment))
            if stack is not None and is_orphan(stack, name):
                return stack
        return None

    def get(self, name: str) -> Repository:
        try:
            return self.find(name).to_model()
        except errors.NotManaged as error:
            # Reads see only what the service manages.
            raise errors.NotFound(f"Repository {name!r} is not managed by this service.") from error
