"""The service's use cases, written against the adapters (which tests may replace)."""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any

from agentcore_ecr.aws.catalog import Catalog, LockHolder
from agentcore_ecr.aws.cloudformation import Stack, Stacks
from agentcore_ecr.aws.ecr import Ecr, RepositoryDescription
from agentcore_ecr.aws.stepfunctions import Execution, ExecutionExistsError, Executions
from agentcore_ecr.config import Settings
from agentcore_ecr.domain import errors, stack_status
from agentcore_ecr.domain import stack as stack_rules
from agentcore_ecr.domain.models import (
    REPOSITORY_NAME_PATTERN,
    Action,
    AuthToken,
    CreateRepositoryRequest,
    Drift,
    ErrorDetail,
    LifecyclePolicy,
    LifecyclePolicyView,
    Operation,
    OperationError,
    Repository,
    RepositoryPage,
    WorkflowInput,
    stopped_error,
    undelivered_operation,
)
from agentcore_ecr.domain.naming import stack_name_for
from agentcore_ecr.domain.operations import fingerprint, is_operation_id, operation_id_for

CONSISTENCY_DELAYS = (0.25, 0.5, 1.0)  # looking again for an execution Step Functions does not show yet
INTERNAL_MESSAGE = "The operation failed because of an internal error; the workflow's logs have the detail."
# A lock whose operation has no execution is over once its admission can no longer be running
# (the admitting functions time out after 25 s, the events' intake after 30 s), or Step Functions
# is late to show the execution.
LOCK_GRACE = timedelta(minutes=2)


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


def operation_from_execution(execution: Execution) -> Operation:
    undelivered = (
        undelivered_operation(execution.error, execution.cause) if execution.status == "FAILED" else None
    )
    if undelivered is not None:  # the operation ended; only its event was refused (sent since)
        return undelivered
    workflow = execution.input
    repository = None
    error = None
    if execution.status == "SUCCEEDED" and execution.output:
        repository = execution.output.get("repository")
    if execution.status == "FAILED":
        if execution.error in errors.OPERATION_ERROR_CODES:
            error = OperationError(code=execution.error, message=execution.cause or execution.error)
        else:
            error = OperationError(code="Internal", message=INTERNAL_MESSAGE)
    error = error or stopped_error(execution.status)
    return Operation.model_validate(
        {
            "operationId": execution.name,
            "action": workflow.get("action", "CREATE"),
            "status": execution.status,
            "repositoryName": workflow.get("repositoryName", ""),
            "environment": workflow.get("environment", ""),
            "startedAt": execution.started_at,
            "stoppedAt": execution.stopped_at,
            "repository": repository,
            "error": error,
        }
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
    def __init__(self, settings: Settings, ecr: Ecr, stacks: Stacks) -> None:
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


def lock_is_over(executions: Executions, holder: LockHolder, now: datetime) -> bool:
    """The holder's execution has ended, or it never started (its admission failed mid-way)."""
    execution = executions.describe(holder.operation_id)
    if execution is not None:
        return execution.status != "RUNNING"
    return holder.started_at is None or now - holder.started_at > LOCK_GRACE


def is_orphan(stack: Stack, name: str) -> bool:
    """A settled stack of `name`, made by this service, that has made its repository."""
    return (
        stack_rules.owner(stack.parameters) == name
        and stack_rules.is_managed(stack.tags)
        and "RepositoryArn" in stack.outputs
        and (stack_status.is_updatable(stack.status) or stack.status == stack_status.DELETE_FAILED)
    )


class RepositoryService:
    """What the API and the EventBridge intake do."""

    def __init__(
        self,
        settings: Settings,
        ecr: Ecr,
        stacks: Stacks,
        executions: Executions | None,
        catalog: Catalog | None = None,
    ) -> None:
        self.settings = settings
        self.ecr = ecr
        self.stacks = stacks
        self._executions = executions
        self._catalog = catalog
        self.reader = RepositoryReader(settings, ecr, stacks)

    @property
    def executions(self) -> Executions:
        if self._executions is None:
            raise RuntimeError("this function has no STATE_MACHINE_ARN: it cannot start or read operations")
        return self._executions

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            raise RuntimeError("this function has no CATALOG_TABLE_NAME: it cannot read or lock the catalog")
        return self._catalog

    # Reads -------------------------------------------------------------------------------

    def get_repository(self, name: str) -> Repository:
        return self.reader.get(name)

    def list_repositories(
        self, environment: str | None, limit: int, next_token: str | None
    ) -> RepositoryPage:
        """One query of the catalog: the page's cost does not grow with the account.

        Items are the repositories as their last operation left them (GET of one reads it live).
        """
        after = _decode_token(next_token) if next_token else ""
        items, more = self.catalog.page(environment, limit, after)
        next_token = _encode_token(items[-1].name) if more and items else None
        return RepositoryPage(items=items, next_token=next_token)

    def get_lifecycle_policy(self, name: str) -> LifecyclePolicyView:
        repository = self.reader.get(name)
        return LifecyclePolicyView(
            untagged_expiry_days=repository.lifecycle_policy.untagged_expiry_days,
            max_image_count=repository.lifecycle_policy.max_image_count,
            policy_text=self.ecr.lifecycle_policy_text(name),
        )

    def get_operation(self, operation_id: str) -> Operation:
        execution = self.executions.describe(operation_id) if is_operation_id(operation_id) else None
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
        self._check_environment(request.environment)
        self._check_template_fits(request)

        def plan(operation_id: str, digest: str) -> WorkflowInput:
            stack_name = self.reader.stack_name(request.name, request.environment)
            stack = self.stacks.describe(stack_name)
            if stack is not None and stack_rules.owner(stack.parameters) != request.name:
                raise errors.RepositoryExists(
                    f"Stack {stack_name} belongs to repository {stack_rules.owner(stack.parameters)!r}; "
                    "use another name or environment."
                )
            self._check_stack_idle(stack)
            description = self.ecr.describe(request.name)
            outside = errors.RepositoryExists(
                f"Repository {request.name!r} exists and is not managed by this service "
                f"for environment {request.environment!r}."
            )
            if stack is None or stack.status in stack_status.FAILED_CREATE:
                # No stack, or one whose create failed (the workflow deletes it first): a create.
                if description is not None and stack is None:
                    raise outside
                action = Action.CREATE
                settings = request.model_copy(update={"encryption": request.encryption or "KMS"})
            elif description is None and is_orphan(stack, request.name):
                # The repository was deleted outside the service: the workflow deletes its stack
                # and creates both again (a new repository, so its encryption may be chosen anew).
                action = Action.CREATE
                chosen = request.encryption is not None or request.kms_key_arn is not None
                encryption, kms_key_arn = (
                    (request.encryption or "KMS", request.kms_key_arn)
                    if chosen
                    else stack_rules.encryption_from_parameters(stack.parameters)
                )
                settings = request.model_copy(update={"encryption": encryption, "kms_key_arn": kms_key_arn})
            else:
                # None too when the repository went between the two reads: as if it were not found.
                tags = self.ecr.tags_if_exists(description.arn) if description is not None else None
                adopted = tags is not None and stack_rules.is_agentcore_cli_stack(
                    stack.name, stack.parameters, tags, request.name, request.environment
                )
                if tags is not None and not adopted and not stack_rules.is_managed(tags, request.environment):
                    raise outside
                self._check_updatable(stack)
                # Adopted, the repository keeps its encryption (AES256: agentcore-cli set none).
                action = Action.ADOPT if adopted else Action.UPDATE
                settings = self._keep_encryption(stack, request)
            return WorkflowInput(
                operation_id=operation_id,
                action=action,
                repository_name=request.name,
                environment=request.environment,
                stack_name=stack_name,
                fingerprint=digest,
                settings=settings,
            )

        return self._submit(request.name, "UPSERT", request.to_json_dict(), idempotency_key, plan)

    def delete_repository(self, name: str, force: bool, idempotency_key: str | None) -> Operation:
        def plan(operation_id: str, digest: str) -> WorkflowInput:
            managed = self.reader.find(name)
            if not force and self.ecr.has_images(name):
                raise errors.RepositoryNotEmpty(
                    f"Repository {name!r} still holds images; delete them or pass force=true."
                )
            self._check_stack_idle(managed.stack)
            return WorkflowInput(
                operation_id=operation_id,
                action=Action.DELETE,
                repository_name=name,
                environment=managed.environment,
                stack_name=managed.stack.name,
                fingerprint=digest,
                force=force,
            )

        return self._submit(name, "DELETE", {"name": name, "force": force}, idempotency_key, plan)

    def put_lifecycle_policy(
        self, name: str, policy: LifecyclePolicy, idempotency_key: str | None
    ) -> Operation:
        def plan(operation_id: str, digest: str) -> WorkflowInput:
            managed = self.reader.find(name)
            if managed.drift is not None:
                raise errors.RepositoryDrifted(managed.drift.message)
            self._check_stack_idle(managed.stack)
            self._check_updatable(managed.stack)
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
        return self._submit(name, "UPDATE_LIFECYCLE", request, idempotency_key, plan)

    # Helpers -----------------------------------------------------------------------------

    def _submit(
        self,
        name: str,
        kind: str,
        request: dict[str, Any],
        idempotency_key: str | None,
        plan: Callable[[str, str], WorkflowInput],
    ) -> Operation:
        """Admit an operation on repository `name`: its lock in the catalog, its plan, its execution.

        The lock (one conditional write) is what makes OperationInProgress exact, whatever the
        number of operations running; anything that refuses the operation gives the lock back.
        """
        operation_id = operation_id_for(idempotency_key)
        digest = fingerprint(kind, request)
        if idempotency_key is not None:
            existing = self.executions.describe(operation_id)
            if existing is not None:
                return self._replay(existing, digest)
        locked = False
        try:
            self._lock(name, operation_id)
            locked = True
            workflow = plan(operation_id, digest)
            started_at = self.executions.start(operation_id, workflow.to_json_dict())
        except (errors.ServiceError, ExecutionExistsError) as refused:
            # A retried request whose execution Step Functions does not show yet (DescribeExecution
            # is eventually consistent) meets its own operation: the replay wins.
            conflict = not isinstance(refused, errors.ServiceError) or refused.status == HTTPStatus.CONFLICT
            existing = self._look_again(operation_id) if idempotency_key is not None and conflict else None
            if existing is None:
                if locked:
                    self.catalog.release(name, operation_id)
                raise
            return self._replay(existing, digest)
        except BaseException:
            if locked:
                self.catalog.release(name, operation_id)
            raise
        return Operation(
            operation_id=operation_id,
            action=workflow.action,
            status="RUNNING",
            repository_name=workflow.repository_name,
            environment=workflow.environment,
            started_at=started_at,
        )

    def _look_again(self, operation_id: str) -> Execution | None:
        for delay in (0.0, *CONSISTENCY_DELAYS):
            time.sleep(delay)
            existing = self.executions.describe(operation_id)
            if existing is not None:
                return existing
        return None

    @staticmethod
    def _replay(existing: Execution, digest: str) -> Operation:
        if existing.input.get("fingerprint") != digest:
            raise errors.IdempotencyKeyReused(
                "This Idempotency-Key was used for a different request; use a new key."
            )
        return operation_from_execution(existing)

    def _check_environment(self, environment: str) -> None:
        allowed = self.settings.allowed_environments
        if environment not in allowed:
            message = f"environment must be one of {', '.join(allowed)}"
            raise errors.ValidationError(
                f"Invalid request: {message}.",
                details=[ErrorDetail(location="body", field="environment", message=message).to_json_dict()],
            )

    def _lock(self, name: str, operation_id: str) -> None:
        """Take the repository's lock; a holder whose operation is over is taken over."""
        now = datetime.now(UTC)
        holder = self.catalog.acquire(name, operation_id, now)
        if holder is not None and lock_is_over(self.executions, holder, now):
            holder = self.catalog.acquire(name, operation_id, now, stale=holder.operation_id)
        if holder is not None:
            raise errors.OperationInProgress(
                f"Operation {holder.operation_id} is still running on this repository; "
                "retry when it has finished."
            )

    @staticmethod
    def _check_stack_idle(stack: Stack | None) -> None:
        """The stack is not being changed (by an operation that ended without waiting, or by hand)."""
        if stack is not None and stack.in_progress:
            raise errors.OperationInProgress(
                f"The repository's stack {stack.name} is {stack.status}; retry when it has settled."
            )

    @staticmethod
    def _check_updatable(stack: Stack) -> None:
        """Refuse early what CloudFormation would refuse (UPDATE_ROLLBACK_FAILED has a way out)."""
        if not stack_status.is_updatable(stack.status) and stack.status != stack_status.ROLLBACK_STUCK:
            raise errors.StackNotUpdatable(
                f"The repository's stack {stack.name} is {stack.status}: "
                f"{stack_status.way_out(stack.status)}."
            )

    @staticmethod
    def _keep_encryption(stack: Stack, request: CreateRepositoryRequest) -> CreateRepositoryRequest:
        """The request with the repository's encryption, which CloudFormation can only set on create.

        Omitted, `encryption` and `kmsKeyArn` keep what the repository has; a different value is refused.
        """
        current = stack_rules.encryption_from_parameters(stack.parameters)
        if (request.encryption is not None and request.encryption != current[0]) or (
            request.kms_key_arn is not None and request.kms_key_arn != current[1]
        ):
            raise errors.ImmutableSetting(
                "Encryption is fixed when a repository is created; "
                "delete and recreate the repository to change it."
            )
        return request.model_copy(update={"encryption": current[0], "kms_key_arn": current[1]})

    @staticmethod
    def _check_template_fits(request: CreateRepositoryRequest) -> None:
        size = stack_rules.template_body_bytes(stack_rules.repository_template_for(request.tags))
        if size > stack_rules.MAX_TEMPLATE_BODY_BYTES:
            message = (
                f"the tags make the repository's stack template {size} bytes of UTF-8, over "
                f"CloudFormation's {stack_rules.MAX_TEMPLATE_BODY_BYTES}; use fewer or shorter tags"
            )
            raise errors.ValidationError(
                f"Invalid request: {message}.",
                details=[ErrorDetail(location="body", field="tags", message=message).to_json_dict()],
            )


def _encode_token(last_name: str) -> str:
    """An opaque cursor: the last name of the page, so the next page starts strictly after it."""
    return base64.urlsafe_b64encode(json.dumps({"after": last_name}).encode()).decode().rstrip("=")


def _decode_token(token: str) -> str:
    try:
        padded = token + "=" * (-len(token) % 4)
        if not re.fullmatch(r"[A-Za-z0-9_-]+=*", padded):
            raise ValueError(token)
        after = json.loads(base64.urlsafe_b64decode(padded))["after"]
        if not isinstance(after, str) or not re.fullmatch(REPOSITORY_NAME_PATTERN, after):
            raise ValueError(token)
    except (binascii.Error, UnicodeDecodeError, ValueError, KeyError, TypeError) as error:
        raise errors.ValidationError(
            "Invalid nextToken: pass the value a previous page returned.",
            details=[{"location": "query", "field": "nextToken", "message": "not a token this API issued"}],
        ) from error
    return after
