"""`Client`: one typed method per route of the API, and a waiter that follows an operation."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import botocore.exceptions

from agentcore_ecr_client.errors import ApiError, ConfigurationError, OperationFailed, WaiterTimeout
from agentcore_ecr_client.models import (
    AuthToken,
    LifecyclePolicyView,
    Operation,
    Progress,
    Repository,
    RepositoryPage,
)
from agentcore_ecr_client.transport import (
    Transport,
    botocore_session,
    ca_bundle,
    path_of,
    resolve_endpoint,
    resolve_region,
)

DEFAULT_WAIT_TIMEOUT = 1800.0  # the service's own default StackTimeoutMinutes is 30
# How often the waiter looks, by how long it has waited: an operation usually ends within a second
# of its stack settling, so the first minute is watched closely; a long one, every 5 s.
WAIT_DELAYS = ((10.0, 0.5), (60.0, 1.0), (300.0, 2.0))
MAX_WAIT_DELAY = 5.0


def wait_delay(elapsed: float) -> float:
    return next((delay for until, delay in WAIT_DELAYS if elapsed < until), MAX_WAIT_DELAY)


def new_idempotency_key() -> str:
    return uuid.uuid4().hex


class Client:
    """The agentcore-ecr API, signed with SigV4 from the standard AWS credential chain.

    The endpoint is `endpoint_url`, else $AGENTCORE_ECR_ENDPOINT, else the `ApiUrl` output of the
    deployed stack `stack_name`. `session` is a boto3 or botocore session (default: a new one for
    `profile`). `sign=False` sends unsigned requests (a local stack without AUTH=iam).

    Mutations answer at once with the Operation (the API's 202); `wait()` follows one to its end.
    Each mutation carries an Idempotency-Key (`idempotency_key`, else a new one) that the client's
    own retries reuse, so a retried request never starts a second operation.
    """

    def __init__(
        self,
        endpoint_url: str | None = None,
        *,
        region: str | None = None,
        profile: str | None = None,
        session: Any = None,
        stack_name: str | None = None,
        sign: bool = True,
        timeout: float = 30.0,
        max_attempts: int = 5,
    ) -> None:
        boto = botocore_session(session, profile)
        endpoint = resolve_endpoint(endpoint_url, stack_name, boto, region)
        credentials = None
        if sign:
            try:
                credentials = boto.get_credentials()
            except botocore.exceptions.BotoCoreError as error:  # no such profile, an SSO login expired...
                raise ConfigurationError(f"cannot load AWS credentials: {error}") from error
            if credentials is None:
                raise ConfigurationError(
                    "no AWS credentials: the standard chain found none (--profile or AWS_PROFILE, "
                    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, SSO, an instance or container role)"
                )
        self.transport = Transport(
            endpoint,
            resolve_region(boto, region, endpoint),
            credentials,
            timeout,
            max_attempts,
            verify=ca_bundle(boto),
        )

    @property
    def endpoint_url(self) -> str:
        return self.transport.endpoint

    @property
    def region(self) -> str:
        return self.transport.region

    # Repositories --------------------------------------------------------------------------------

    def create_repository(
        self,
        name: str,
        *,
        environment: str | None = None,
        image_scanning: bool | None = None,
        image_tag_mutability: str | None = None,
        encryption: str | None = None,
        kms_key_arn: str | None = None,
        untagged_expiry_days: int | None = None,
        max_image_count: int | None = None,
        tags: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> Operation:
        """`POST /repositories` (create, or update what the service already manages). A field left
        None is not sent: the service's default applies (and an update keeps the encryption)."""
        body: dict[str, Any] = {"name": name}
        optional = {
            "environment": environment,
            "imageScanning": image_scanning,
            "imageTagMutability": image_tag_mutability,
            "encryption": encryption,
            "kmsKeyArn": kms_key_arn,
        }
        body.update({key: value for key, value in optional.items() if value is not None})
        policy = lifecycle_body(untagged_expiry_days, max_image_count)
        if policy:
            body["lifecyclePolicy"] = policy
        if tags:
            body["tags"] = dict(tags)
        return self._mutate("POST", "/repositories", body, idempotency_key)

    def get_repository(self, name: str) -> Repository:
        return Repository.model_validate(self.transport.request("GET", path_of("repositories", name)).body)

    def list_repositories_page(
        self, environment: str | None = None, limit: int | None = None, next_token: str | None = None
    ) -> RepositoryPage:
        """One page of `GET /repositories`."""
        query = {"environment": environment, "limit": limit, "nextToken": next_token}
        return RepositoryPage.model_validate(self.transport.request("GET", "/repositories", query).body)

    def list_repositories(
        self, environment: str | None = None, page_size: int | None = None
    ) -> Iterator[Repository]:
        """Every repository the service manages (in `environment`), following every page."""
        token: str | None = None
        while True:
            page = self.list_repositories_page(environment, page_size, token)
            yield from page.items
            if not page.next_token:
                return
            token = page.next_token

    def delete_repository(
        self, name: str, *, force: bool = False, idempotency_key: str | None = None
    ) -> Operation:
        """`DELETE /repositories/{name}`; `force` deletes its images too."""
        query = {"force": "true"} if force else None
        return self._mutate("DELETE", path_of("repositories", name), None, idempotency_key, query)

    # Lifecycle policies ----------------------------------------------------------------------------

    def get_lifecycle_policy(self, name: str) -> LifecyclePolicyView:
        answer = self.transport.request("GET", path_of("lifecycle-policies", name))
        return LifecyclePolicyView.model_validate(answer.body)

    def put_lifecycle_policy(
        self,
        name: str,
        *,
        untagged_expiry_days: int | None = None,
        max_image_count: int | None = None,
        idempotency_key: str | None = None,
    ) -> Operation:
        """`PUT /lifecycle-policies/{name}`: the whole policy (a field left None takes the
        contract's default: 30 days, no image count), applied through a stack update."""
        body = lifecycle_body(untagged_expiry_days, max_image_count)
        return self._mutate("PUT", path_of("lifecycle-policies", name), body, idempotency_key)

    # Registry token and operations -----------------------------------------------------------------

    def get_auth_token(self) -> AuthToken:
        return AuthToken.model_validate(self.transport.request("POST", "/auth-token").body)

    def get_operation(self, operation_id: str) -> Operation:
        return Operation.model_validate(
            self.transport.request("GET", path_of("operations", operation_id)).body
        )

    def wait(
        self,
        operation: Operation | str,
        *,
        timeout: float = DEFAULT_WAIT_TIMEOUT,
        on_progress: Callable[[Progress], None] | None = None,
        raise_on_failure: bool = True,
    ) -> Operation:
        """Follow an operation to its end and return it.

        Raises OperationFailed when it ends FAILED, TIMED_OUT or ABORTED (unless
        `raise_on_failure` is False), WaiterTimeout when it still runs after `timeout` seconds (it
        goes on). `on_progress` is called at the start and whenever the operation's status or its
        stack's status changes; the stack's status is read only when someone listens.
        """
        start = time.monotonic()
        current = operation if isinstance(operation, Operation) else self.get_operation(operation)
        last: tuple[str, str | None] | None = None
        while True:
            stack_status = self._stack_status(current) if on_progress is not None else None
            if on_progress is not None and (current.status, stack_status) != last:
                last = (current.status, stack_status)
                on_progress(
                    Progress(operation=current, stack_status=stack_status, elapsed=time.monotonic() - start)
                )
            if current.done:
                break
            elapsed = time.monotonic() - start
            if elapsed >= timeout:
                raise WaiterTimeout(current, timeout)
            time.sleep(min(wait_delay(elapsed), timeout - elapsed))
            current = self.get_operation(current.operation_id)
        if raise_on_failure and not current.succeeded:
            raise OperationFailed(current)
        return current

    def _stack_status(self, operation: Operation) -> str | None:
        """The repository's stack status, for progress: from the operation once it ended, else from
        the repository (none yet while its stack creates it)."""
        if operation.repository is not None:
            return operation.repository.stack_status
        if operation.done:
            return None
        try:
            return self.get_repository(operation.repository_name).stack_status
        except ApiError as error:
            if error.code in {"NotFound", "AccessDenied"}:  # none yet, or a caller who may not read it
                return None
            raise

    def _mutate(
        self,
        method: str,
        path: str,
        body: Any,
        idempotency_key: str | None,
        query: Mapping[str, str] | None = None,
    ) -> Operation:
        headers = {"Idempotency-Key": idempotency_key or new_idempotency_key()}
        answer = self.transport.request(method, path, query, body, headers)
        return Operation.model_validate(answer.body)


def lifecycle_body(untagged_expiry_days: int | None, max_image_count: int | None) -> dict[str, int]:
    policy = {"untaggedExpiryDays": untagged_expiry_days, "maxImageCount": max_image_count}
    return {key: value for key, value in policy.items() if value is not None}
