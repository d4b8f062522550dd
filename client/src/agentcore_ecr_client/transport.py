"""Where the service is, who calls it, and one signed HTTP exchange with retries.

botocore does the AWS parts as the AWS CLI does them: the credential chain (`--profile`, the
environment, SSO, instance and container roles; refreshed as they expire), SigV4 signing (service
`execute-api`), CloudFormation's DescribeStacks for `--stack-name`, and the HTTP session (proxies
and CA bundles from the environment).
"""

from __future__ import annotations

import json
import os
import random
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote, urlencode

import botocore.exceptions
import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.httpsession import URLLib3Session

from agentcore_ecr_client.errors import ApiError, ConfigurationError, EndpointUnreachable
from agentcore_ecr_client.models import ErrorDetail

ENDPOINT_VARIABLE = "AGENTCORE_ECR_ENDPOINT"
API_URL_OUTPUT = "ApiUrl"
SIGNING_NAME = "execute-api"
_EXECUTE_API_HOST = re.compile(r"\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$")
# Answers worth another try: throttling and a server or gateway that failed or was unavailable.
# A mutation is retried with the same Idempotency-Key, so it is never done twice.
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


class CredentialsSource(Protocol):
    """A botocore or boto3 session: both find credentials through the standard chain."""

    def get_credentials(self) -> Any: ...


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    body: Any


def path_of(*segments: str) -> str:
    """A path whose segments keep their `/` (a repository name is a greedy path parameter)."""
    return "/" + "/".join(quote(segment, safe="/") for segment in segments)


def botocore_session(session: Any = None, profile: str | None = None) -> botocore.session.Session:
    """The botocore session under a boto3 session, a botocore session, or a new one for `profile`."""
    if session is None:
        try:
            return botocore.session.Session(profile=profile)
        except botocore.exceptions.ProfileNotFound as error:
            raise ConfigurationError(str(error)) from error
    inner = getattr(session, "_session", session)  # boto3.Session wraps a botocore session
    if not isinstance(inner, botocore.session.Session):
        raise ConfigurationError("session must be a boto3.Session or a botocore.session.Session")
    return inner


def ca_bundle(session: botocore.session.Session) -> bool | str:
    """The CA bundle to verify TLS with: AWS_CA_BUNDLE or the profile's `ca_bundle`, as the AWS CLI
    reads it; else the default one."""
    try:
        found = session.get_config_variable("ca_bundle")
    except botocore.exceptions.ProfileNotFound as error:
        raise ConfigurationError(str(error)) from error
    return str(found) if found else True


def resolve_region(session: botocore.session.Session, region: str | None, endpoint: str | None) -> str:
    """`region`, else AWS_REGION, else the profile's (AWS_DEFAULT_REGION, config), else the one
    in an `execute-api` endpoint's host name."""
    if region:
        return region
    try:
        found = os.environ.get("AWS_REGION") or session.get_config_variable("region")
    except botocore.exceptions.ProfileNotFound as error:
        raise ConfigurationError(str(error)) from error
    if found:
        return str(found)
    if endpoint:
        host = re.sub(r"^[a-z]+://", "", endpoint).split("/", 1)[0].split(":", 1)[0]
        if match := _EXECUTE_API_HOST.search(host):
            return match[1]
    raise ConfigurationError(
        "no AWS region: give --region, or set AWS_REGION, or a region in the profile's config"
    )


def resolve_endpoint(
    endpoint_url: str | None, stack_name: str | None, session: botocore.session.Session, region: str | None
) -> str:
    """`--endpoint-url`, else $AGENTCORE_ECR_ENDPOINT, else the `ApiUrl` output of the deployed
    stack `--stack-name`."""
    endpoint = endpoint_url or os.environ.get(ENDPOINT_VARIABLE)
    if endpoint:
        return endpoint.rstrip("/")
    if not stack_name:
        raise ConfigurationError(
            f"no endpoint: give --endpoint-url, set {ENDPOINT_VARIABLE}, or name the deployed stack "
            "with --stack-name (its ApiUrl output)"
        )
    return api_url_of(stack_name, session, resolve_region(session, region, None))


def api_url_of(stack_name: str, session: botocore.session.Session, region: str) -> str:
    """The deployed stack's `ApiUrl` output (CloudFormation's DescribeStacks, with the caller's
    credentials; AWS_ENDPOINT_URL_CLOUDFORMATION points it elsewhere, as for any botocore client)."""
    try:
        cloudformation = session.create_client("cloudformation", region_name=region)
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except botocore.exceptions.NoCredentialsError as error:
        raise ConfigurationError(f"no AWS credentials to read stack {stack_name!r}: {error}") from error
    except botocore.exceptions.ClientError as error:
        raise ConfigurationError(f"cannot read stack {stack_name!r}: {error}") from error
    except botocore.exceptions.BotoCoreError as error:
        raise EndpointUnreachable(f"cannot read stack {stack_name!r}: {error}") from error
    for output in stacks[0].get("Outputs", []) if stacks else []:
        if output.get("OutputKey") == API_URL_OUTPUT:
            return str(output["OutputValue"]).rstrip("/")
    raise ConfigurationError(f"stack {stack_name!r} has no {API_URL_OUTPUT} output: is it agentcore-ecr's?")


class Transport:
    """Signed requests to the API, retried on throttling, 5xx and connection failures, with
    exponential backoff and full jitter (each try is signed anew)."""

    def __init__(
        self,
        endpoint: str,
        region: str,
        credentials: Any | None,
        timeout: float = 30.0,
        max_attempts: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 20.0,
        verify: bool | str = True,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.region = region
        self.credentials = credentials  # None: unsigned (--no-sign-request)
        self.max_attempts = max(1, max_attempts)
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.verify = verify
        self.http = URLLib3Session(verify=verify, timeout=timeout)  # proxies: HTTPS_PROXY, NO_PROXY
        self.attempts = 0  # every try made (the tests count them)

    def request(
        self,
        method: str,
        path: str,
        query: Mapping[str, str | int | None] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        """One call: its answer if 2xx, else ApiError with the contract's code and message."""
        url = self.endpoint + path
        present = {key: str(value) for key, value in (query or {}).items() if value is not None}
        if present:
            url += "?" + urlencode(present)
        data = json.dumps(body).encode() if body is not None else b""
        sent_headers = {"Accept": "application/json", **(headers or {})}
        if body is not None:
            sent_headers["Content-Type"] = "application/json"
        attempt = 0
        while True:
            attempt += 1
            self.attempts += 1
            last = attempt == self.max_attempts
            try:
                answer = self._send(method, url, data, sent_headers)
            except (botocore.exceptions.HTTPClientError, botocore.exceptions.ConnectionError) as error:
                if last:
                    raise EndpointUnreachable(f"{self.endpoint} did not answer: {error}") from error
            else:
                if answer.status < 400:
                    return answer
                if answer.status not in RETRYABLE_STATUS or last:
                    raise api_error(answer)
            time.sleep(min(self.max_backoff, self.backoff * 2 ** (attempt - 1)) * random.random())  # noqa: S311

    def _send(self, method: str, url: str, data: bytes, headers: dict[str, str]) -> Answer:
        request = AWSRequest(method=method, url=url, data=data, headers=headers)
        if self.credentials is not None:
            try:
                frozen = self.credentials.get_frozen_credentials()  # refreshed when they near expiry
            except botocore.exceptions.BotoCoreError as error:  # a refresh that failed (SSO expired...)
                raise ConfigurationError(f"cannot refresh AWS credentials: {error}") from error
            SigV4Auth(frozen, SIGNING_NAME, self.region).add_auth(request)
        response = self.http.send(request.prepare())
        text = response.content
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = text.decode(errors="replace")
        return Answer(response.status_code, dict(response.headers.items()), parsed)


def api_error(answer: Answer) -> ApiError:
    """The contract's error body (`{"error": {"code", "message", "details"}}`), or, for an answer
    that is not one (a proxy's page), the HTTP status as the code."""
    error = answer.body.get("error") if isinstance(answer.body, dict) else None
    if isinstance(error, dict) and isinstance(error.get("code"), str):
        details = [ErrorDetail.model_validate(item) for item in error.get("details") or []]
        return ApiError(answer.status, error["code"], str(error.get("message", "")), details)
    text = answer.body if isinstance(answer.body, str) else json.dumps(answer.body)
    return ApiError(answer.status, f"Http{answer.status}", (text or "no body")[:300])
