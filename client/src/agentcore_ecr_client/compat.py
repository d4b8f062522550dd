"""`ECRService`: a drop-in for agentcore-cli's `agentcore_cli.services.ecr.ECRService`, on the service.

Same constructor (`region`, `session`) plus where the service is (`endpoint_url`, else
$AGENTCORE_ECR_ENDPOINT, else `stack_name`'s `ApiUrl` output); same methods, arguments and
`(success, value, message)` returns; blocking as the old class was, until the operation ends.
What changes is underneath: each change is an operation of the service, so tags are applied,
reads and force deletes see every page, names with `/ . _` work, a failed create does not block
the next one, and the lifecycle policy is set through the stack (no drift).

Two choices keep old callers' repositories as they were: creates ask for MUTABLE tags (what
agentcore-cli's template made; the service's own default is IMMUTABLE), and a delete in another
environment than the repository's is refused, as the old class refused a stack it did not find.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel

from agentcore_ecr_client.client import Client
from agentcore_ecr_client.errors import ApiError, ClientError
from agentcore_ecr_client.models import Operation, Repository

logger = logging.getLogger(__name__)
T = TypeVar("T")

CREATE_TIMEOUT = 15 * 60  # the old class's: create_update_stack(..., timeout_minutes=15)
DELETE_TIMEOUT = 10 * 60  # delete_stack(..., timeout_minutes=10)
LIFECYCLE_TIMEOUT = 15 * 60


class ECRRepository(BaseModel):
    """agentcore-cli's `ECRRepository` model: the same fields."""

    name: str
    registry_id: str
    repository_uri: str
    region: str
    image_scanning_config: bool = True
    image_tag_mutability: str = "MUTABLE"
    created_at: datetime | None = None
    last_sync: datetime | None = None


def ecr_repository(repository: Repository) -> ECRRepository:
    return ECRRepository(
        name=repository.name,
        registry_id=repository.registry_id,
        repository_uri=repository.repository_uri,
        region=repository.region,
        image_scanning_config=repository.image_scanning,
        image_tag_mutability=repository.image_tag_mutability,
        created_at=repository.created_at,
        last_sync=datetime.now(),
    )


def ecr_description(repository: Repository) -> dict[str, Any]:
    """A repository as ECR's DescribeRepositories describes it (what the old list returned)."""
    encryption: dict[str, Any] = {"encryptionType": repository.encryption}
    if repository.kms_key_arn:
        encryption["kmsKey"] = repository.kms_key_arn
    return {
        "repositoryArn": repository.repository_arn,
        "registryId": repository.registry_id,
        "repositoryName": repository.name,
        "repositoryUri": repository.repository_uri,
        "createdAt": repository.created_at,
        "imageTagMutability": repository.image_tag_mutability,
        "imageScanningConfiguration": {"scanOnPush": repository.image_scanning},
        "encryptionConfiguration": encryption,
    }


def _failure(operation: Operation) -> str:
    error = operation.error
    return (
        f"{error.code}: {error.message}" if error is not None else f"the operation ended {operation.status}"
    )


def _attempt(call: Callable[[], T], not_found: str, failed: str) -> tuple[T | None, str]:
    """(the call's result, "") or (None, the old class's message for its error)."""
    try:
        return call(), ""
    except ApiError as error:
        return None, not_found if error.code == "NotFound" else f"{failed}: {error}"
    except ClientError as error:
        return None, f"{failed}: {error}"


class ECRService:
    """Service for AWS ECR operations, through the agentcore-ecr service."""

    def __init__(
        self,
        region: str,
        session: Any = None,
        endpoint_url: str | None = None,
        *,
        stack_name: str | None = None,
    ) -> None:
        """Args:
        region: AWS region of the service.
        session: boto3 (or botocore) session whose credentials sign the calls; None: a new one.
        endpoint_url: the API's URL (else $AGENTCORE_ECR_ENDPOINT, else `stack_name`'s ApiUrl).
        """
        self.region = region
        self.session = session
        self.client = Client(endpoint_url, region=region, session=session, stack_name=stack_name)

    def _until_done(self, operation: Operation, timeout: float) -> Operation:
        return self.client.wait(operation, timeout=timeout, raise_on_failure=False)

    def create_repository(
        self,
        repository_name: str,
        environment: str | None = "dev",
        image_scanning: bool = True,
        lifecycle_policy_days: int = 30,
        tags: dict[str, str] | None = None,
    ) -> tuple[bool, ECRRepository | None, str]:
        """Create (or update) a repository and wait for it. Returns (success, repository, message)."""

        def create() -> Operation:
            operation = self.client.create_repository(
                repository_name,
                environment=environment or "dev",
                image_scanning=image_scanning,
                image_tag_mutability="MUTABLE",
                untagged_expiry_days=lifecycle_policy_days,
                tags=tags,
            )
            logger.info("Creating/updating ECR repository %r (%s)", repository_name, operation.operation_id)
            return self._until_done(operation, CREATE_TIMEOUT)

        failed = "Failed to create ECR repository"
        final, message = _attempt(create, failed, failed)
        if final is None:
            return False, None, message
        if not final.succeeded or final.repository is None:
            return False, None, f"Failed to create/update ECR stack: {_failure(final)}"
        logger.info("ECR repository created: %s (%s)", repository_name, final.repository.repository_uri)
        return True, ecr_repository(final.repository), f"Repository {repository_name} created successfully"

    def delete_repository(
        self, repository_name: str, environment: str | None = "dev", force: bool = False
    ) -> tuple[bool, str]:
        """Delete a repository (`force`: with its images) and wait. Returns (success, message)."""
        environment = environment or "dev"
        not_found, failed = (
            f"ECR stack for repository '{repository_name}' not found",
            "Failed to delete ECR repository",
        )
        repository, message = _attempt(lambda: self.client.get_repository(repository_name), not_found, failed)
        if repository is None:
            return False, message
        if repository.environment != environment:
            return False, f"{not_found} in environment {environment!r}"
        final, message = _attempt(
            lambda: self._until_done(
                self.client.delete_repository(repository_name, force=force), DELETE_TIMEOUT
            ),
            not_found,
            failed,
        )
        if final is None:
            return False, message
        if not final.succeeded:
            return False, f"ECR repository deletion failed: {_failure(final)}"
        return True, f"Repository '{repository_name}' deleted successfully"

    def get_repository(self, repository_name: str) -> tuple[bool, ECRRepository | None, str]:
        """Returns (success, repository, message)."""
        repository, message = _attempt(
            lambda: self.client.get_repository(repository_name),
            f"Repository '{repository_name}' not found",
            "Failed to get ECR repository",
        )
        if repository is None:
            return False, None, message
        return True, ecr_repository(repository), f"Repository '{repository_name}' found"

    def list_repositories(self) -> tuple[bool, list[dict[str, Any]], str]:
        """Every repository the service manages (every page, every environment), each as ECR's
        DescribeRepositories describes it. Returns (success, repositories, message)."""
        failed = "Failed to list ECR repositories"
        repositories, message = _attempt(lambda: list(self.client.list_repositories()), failed, failed)
        if repositories is None:
            return False, [], message
        return (
            True,
            [ecr_description(item) for item in repositories],
            f"Found {len(repositories)} repositories",
        )

    def get_auth_token(self) -> tuple[bool, dict[str, Any] | None, str]:
        """A registry token as ECR's GetAuthorizationToken gives it (`authorizationToken` is
        base64 of `user:password`). Returns (success, auth_data, message)."""
        failed = "Failed to get ECR authorization token"
        token, message = _attempt(self.client.get_auth_token, failed, failed)
        if token is None:
            return False, None, message
        secret = base64.b64encode(f"{token.username}:{token.password}".encode()).decode()
        data = {
            "authorizationToken": secret,
            "expiresAt": token.expires_at,
            "proxyEndpoint": token.proxy_endpoint,
        }
        return True, data, "Authorization token retrieved"

    def set_lifecycle_policy(self, repository_name: str, max_days: int = 30) -> tuple[bool, str]:
        """Expire untagged images `max_days` after push (the whole policy, as before), through a
        stack update, and wait. Returns (success, message)."""
        final, message = _attempt(
            lambda: self._until_done(
                self.client.put_lifecycle_policy(repository_name, untagged_expiry_days=max_days),
                LIFECYCLE_TIMEOUT,
            ),
            f"Repository '{repository_name}' not found",
            "Failed to set lifecycle policy",
        )
        if final is None:
            return False, message
        if not final.succeeded:
            return False, f"Failed to set lifecycle policy: {_failure(final)}"
        return True, f"Lifecycle policy set on repository '{repository_name}'"
