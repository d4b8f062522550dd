"""The use cases: what the API and the EventBridge intake do, each in a few lines.

A use case reads through the read model (read_model.py), decides by the domain's rules
(domain/upsert.py, domain/stack_status.py) and, for a change, is admitted (admission.py). Its
parts are made on first use (wiring.py), so a function makes only those its route uses, from
the settings its handler checked at cold start (config.py).
"""

from __future__ import annotations

from collections.abc import Callable

from agentcore_ecr.admission import Admission
from agentcore_ecr.aws.catalog import Catalog
from agentcore_ecr.aws.cloudformation import Stacks
from agentcore_ecr.aws.ecr import Ecr
from agentcore_ecr.aws.stepfunctions import Executions
from agentcore_ecr.domain import errors, stack_status, upsert
from agentcore_ecr.domain.models import (
    Action,
    AuthToken,
    CreateRepositoryRequest,
    LifecyclePolicy,
    LifecyclePolicyView,
    Operation,
    Repository,
    RepositoryPage,
    WorkflowInput,
)
from agentcore_ecr.domain.operations import is_operation_id, operation_from_execution
from agentcore_ecr.domain.paging import decode_token, encode_token
from agentcore_ecr.read_model import RepositoryReader


class RepositoryService:
    """What the API's routes and the provisioning intake do."""

    def __init__(
        self,
        ecr: Ecr,
        stacks: Stacks,
        reader: Callable[[], RepositoryReader],
        catalog: Callable[[], Catalog],
        executions: Callable[[], Executions],
        admission: Callable[[], Admission],
    ) -> None:
        self.ecr = ecr
        self.stacks = stacks
        self.reader = reader
        self.catalog = catalog
        self.executions = executions
        self.admission = admission

    # Reads -------------------------------------------------------------------------------

    def get_repository(self, name: str) -> Repository:
        return self.reader().get(name)

    def list_repositories(
        self, environment: str | None, limit: int, next_token: str | None
    ) -> RepositoryPage:
        """One query of the catalog: the page's cost does not grow with the account.

        Items are the repositories as their last operation left them (GET of one reads it live).
        """
        after = decode_token(next_token) if next_token else ""
        items, more = self.catalog().page(environment, limit, after)
        next_token = encode_token(items[-1].name) if more and items else None
        return RepositoryPage(items=items, next_token=next_token)

    def get_lifecycle_policy(self, name: str) -> LifecyclePolicyView:
        repository = self.reader().get(name)
        return LifecyclePolicyView(
            untagged_expiry_days=repository.lifecycle_policy.untagged_expiry_days,
            max_image_count=repository.lifecycle_policy.max_image_count,
            policy_text=self.ecr.lifecycle_policy_text(name),
        )

    def get_operation(self, operation_id: str) -> Operation:
        execution = self.executions().describe(operation_id) if is_operation_id(operation_id) else None
        if execution is None:
            raise errors.NotFound(f"Operation {operation_id!r} does not exist.")
        return operation_from_execution(execution)

    def auth_token(self) -> AuthToken:
        token = self.ecr.authorization_token()
        return AuthToken(
            username=token.username,
            password=token.password,
            proxy_endpoint=token.proxy_endpoint,
            expires_at=token.expires_at,
        )

    # Mutations ---------------------------------------------------------------------------

    def create_repository(self, request: CreateRepositoryRequest, idempotency_key: str | None) -> Operation:
        reader = self.reader()
        upsert.check_request(request, reader.settings.allowed_environments)
        stack_name = reader.stack_name(request.name, request.environment)

        def plan(operation_id: str, digest: str) -> WorkflowInput:
            # Read only what the decision needs, in its order: a stack that refuses is read alone.
            stack = self.stacks.describe(stack_name)
            upsert.check_stack(request, stack)
            description = self.ecr.describe(request.name)
            tags = None
            if description is not None and upsert.reads_tags(stack):
                tags = self.ecr.tags_if_exists(description.arn)
            decision = upsert.decide(request, upsert.Found(stack, description is not None, tags))
            return WorkflowInput(
                operation_id=operation_id,
                action=decision.action,
                repository_name=request.name,
                environment=request.environment,
                stack_name=stack_name,
                fingerprint=digest,
                settings=decision.settings,
            )

        return self.admission().submit(request.name, "UPSERT", request.to_json_dict(), idempotency_key, plan)

    def delete_repository(self, name: str, force: bool, idempotency_key: str | None) -> Operation:
        def plan(operation_id: str, digest: str) -> WorkflowInput:
            managed = self.reader().find(name)
            if not force and self.ecr.has_images(name):
                raise errors.RepositoryNotEmpty(
                    f"Repository {name!r} still holds images; delete them or pass force=true."
                )
            stack_status.require_idle(managed.stack.name, managed.stack.status)
            return WorkflowInput(
                operation_id=operation_id,
                action=Action.DELETE,
                repository_name=name,
                environment=managed.environment,
                stack_name=managed.stack.name,
                fingerprint=digest,
                force=force,
            )

        return self.admission().submit(name, "DELETE", {"name": name, "force": force}, idempotency_key, plan)

    def put_lifecycle_policy(
        self, name: str, policy: LifecyclePolicy, idempotency_key: str | None
    ) -> Operation:
        def plan(operation_id: str, digest: str) -> WorkflowInput:
            managed = self.reader().find(name)
            if managed.drift is not None:
                raise errors.RepositoryDrifted(managed.drift.message)
            stack_status.require_idle(managed.stack.name, managed.stack.status)
            stack_status.require_updatable(managed.stack.name, managed.stack.status)
            return WorkflowInput(
                operation_id=operation_id,
                action=Action.UPDATE_LIFECYCLE,
                repository_name=name,
                environment=managed.environment,
                stack_name=managed.stack.name,
                fingerprint=digest,
                lifecycle_policy=policy,
            )

        request = {"name": name, "lifecyclePolicy": policy.to_json_dict()}
        return self.admission().submit(name, "UPDATE_LIFECYCLE", request, idempotency_key, plan)
