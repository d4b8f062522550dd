"""Patch 15, IAM_ENFORCED: every request signed with an assumed role's or an IAM user's credentials is
authorized as AWS would, against the role's or the user's policies in the emulator's IAM
(local/iam.py evaluates). Other keys (`local`, any made-up key) stay unchecked, as root's would be.

Also the lookups the other IAM patches and the local API Gateway share: who signed a request,
what policies a principal has, what a Lambda function's resource-based policy allows.
"""

from __future__ import annotations

import contextvars
import json
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from moto.core.exceptions import ServiceException

from local import iam
from local.emulator.options import options

PARTITION = "aws"


@dataclass(frozen=True)
class Principal:
    """An identity whose requests are authorized: an assumed role's session, or an IAM user."""

    arn: str
    account: str
    role_name: str | None = None
    user_name: str | None = None


# The principal on whose behalf the current request runs (CloudFormation's handlers use it when a
# stack has no service role).
caller: contextvars.ContextVar[Principal | None] = contextvars.ContextVar("caller", default=None)


class AccessDenied(ServiceException):
    """AWS's AccessDenied, serialized by moto in the protocol of the service that refuses."""


def _iam(account: str) -> Any:
    from moto.iam.models import iam_backends  # noqa: PLC0415

    return iam_backends[account][PARTITION]


def _sts(account: str) -> Any:
    from moto.sts.models import sts_backends  # noqa: PLC0415

    return sts_backends[account][PARTITION]


def role_principal(role_arn: str, session: str) -> Principal:
    account, name = role_arn.split(":")[4], role_arn.rsplit("/", 1)[-1]
    return Principal(f"arn:aws:sts::{account}:assumed-role/{name}/{session}", account, role_name=name)


def principal_of(access_key_id: str, account: str) -> Principal | None:
    """The assumed role or IAM user whose key this is; None for any other key (left unchecked)."""
    found = signing_secret(access_key_id, account)
    return found[0] if found is not None else None


def signing_secret(access_key_id: str, account: str) -> tuple[Principal, str, str | None] | None:
    """(principal, secret key, session token) for a key of an IAM user or of an assumed role."""
    session = _sts(account).get_assumed_role_from_access_key(access_key_id)
    if session is not None:
        principal = role_principal(session.role_arn, session.session_name)
        return principal, str(session.secret_access_key), str(session.session_token)
    for user in _iam(account).users.values():
        for key in user.access_keys:
            if key.access_key_id == access_key_id and key.status == "Active":
                arn = f"arn:aws:iam::{account}:user/{user.name}"
                return Principal(arn, account, user_name=user.name), str(key.secret_access_key), None
    return None


@lru_cache(maxsize=512)
def _document(text: str) -> Mapping[str, Any]:
    parsed: Mapping[str, Any] = json.loads(text)
    return parsed


def _as_policy(document: Any) -> Mapping[str, Any]:
    return document if isinstance(document, Mapping) else _document(str(document))


def policies_of(principal: Principal) -> list[Mapping[str, Any]]:
    """The identity-based policies of the principal: inline, and attached managed (default version)."""
    backend = _iam(principal.account)
    try:
        holder = (
            backend.get_role(principal.role_name)
            if principal.role_name
            else backend.get_user(principal.user_name)
        )
    except Exception:  # noqa: BLE001 - a role or user that does not exist has no policies
        return []
    documents = list(holder.policies.values())
    for managed in holder.managed_policies.values():
        documents.extend(version.document for version in managed.versions if version.is_default)
    return [_as_policy(document) for document in documents]


def authorize(principal: Principal, needs: list[iam.Need]) -> str | None:
    """None when every need is allowed; otherwise AWS's message for the first that is not."""
    policies = policies_of(principal)
    for need in needs:
        context = {
            "aws:PrincipalArn": principal.arn,
            "aws:PrincipalAccount": principal.account,
            **need.context,
        }
        decision = iam.evaluate(policies, need.action, need.resource, context)
        if options.record_decision is not None:
            options.record_decision(principal.arn, need.action, need.resource, decision.allowed)
        if not decision.allowed:
            return iam.denial_message(principal.arn, need.action, need.resource, decision)
    return None


def trusts(role_arn: str, service: str, context: iam.Context | None = None) -> bool:
    """The role's trust policy lets `service` (its principal, `<name>.amazonaws.com`) assume it, with
    the condition keys `context` that service sends when it does (IAM User Guide, "Policy evaluation
    for requests within a single account": AssumeRole needs the role's trust policy to allow it)."""
    account, name = role_arn.split(":")[4], role_arn.rsplit("/", 1)[-1]
    try:
        document = _iam(account).get_role(name).assume_role_policy_document
    except Exception:  # noqa: BLE001 - a role that does not exist cannot be assumed
        return False
    decision = iam.evaluate(
        [_as_policy(document)], "sts:AssumeRole", role_arn, context or {}, principal=service
    )
    if options.record_decision is not None:
        options.record_decision(service, "sts:AssumeRole", role_arn, decision.allowed)
    return decision.allowed


def resource_policy_allows(function_arn: str, service: str, source_arn: str) -> bool:
    """A Lambda function's resource-based policy lets `service` invoke it on behalf of `source_arn`."""
    from moto.awslambda.utils import get_backend  # noqa: PLC0415 - the Docker-less backend, when it is in use

    _, _, _, region, account, *_ = function_arn.split(":")
    try:
        wire = json.loads(get_backend(account, region).get_policy(function_arn))
        policy = json.loads(wire["Policy"])
    except Exception:  # noqa: BLE001 - a function without a policy lets no service invoke it
        return False
    context = {"aws:SourceArn": source_arn, "aws:SourceAccount": account}
    decision = iam.evaluate([policy], "lambda:InvokeFunction", function_arn, context, principal=service)
    if options.record_decision is not None:
        options.record_decision(service, "lambda:InvokeFunction", function_arn, decision.allowed)
    return decision.allowed


# The request hook ---------------------------------------------------------------------------


def _parameters(response: Any) -> Mapping[str, Any]:
    """The request's parameters, parsed as moto parses them for its own use."""
    if getattr(response, "automated_parameter_parsing", False) and isinstance(
        getattr(response, "params", None), Mapping
    ):
        params: Mapping[str, Any] = response.params
        return params
    from moto.core.parse import PROTOCOL_PARSERS  # noqa: PLC0415
    from moto.core.request import determine_request_protocol  # noqa: PLC0415
    from moto.core.utils import get_service_model  # noqa: PLC0415

    model = get_service_model(response.boto3_service_name)
    if model.protocol == "json":  # the body is the parameters (ECR, Step Functions, EventBridge)
        body = response.body
        parsed_body: Mapping[str, Any] = json.loads(body or "{}") if isinstance(body, str | bytes) else {}
        return parsed_body
    operation = model.operation_model(response._get_action())
    request = response.normalized_request
    protocol = determine_request_protocol(model, request.content_type)
    parsed: Mapping[str, Any] = PROTOCOL_PARSERS[protocol](operation).parse(
        {
            "method": request.method,
            "values": request.values,
            "headers": request.headers,
            "body": request.data,
            "url_path": request.path,
            "url_params": response.uri_match,
        }
    )
    return parsed


def _stack_arn(region: str, account: str) -> Any:
    def stack_arn(name: str) -> str:
        from moto.cloudformation.models import cloudformation_backends  # noqa: PLC0415

        backend = cloudformation_backends[account][region]
        for stack in [*backend.stacks.values(), *backend.deleted_stacks.values()]:
            if stack.name == name:
                return str(stack.stack_id)
        return f"arn:aws:cloudformation:{region}:{account}:stack/{name}/*"

    return stack_arn


def _stack_tags(region: str, account: str) -> Any:
    def stack_tags(arn: str) -> Mapping[str, str] | None:
        """The tags of the live stack with this ARN; None when there is none (nothing to tag yet)."""
        from moto.cloudformation.models import cloudformation_backends  # noqa: PLC0415

        stack = cloudformation_backends[account][region].stacks.get(arn)
        if stack is None or stack.status == "DELETE_COMPLETE":
            return None
        return dict(stack.tags or {})

    return stack_tags


def _denied(response: Any, message: str) -> tuple[int, dict[str, str], str]:
    from moto.core.responses import ActionResult  # noqa: PLC0415
    from moto.core.utils import get_service_model  # noqa: PLC0415

    protocol = get_service_model(response.boto3_service_name).protocol
    code = "AccessDenied" if protocol == "query" else "AccessDeniedException"
    _, headers, body = response.serialized(ActionResult(AccessDenied(code, message)))
    headers.setdefault("x-amzn-RequestId", str(uuid.uuid4()))  # botocore's ResponseMetadata has it
    return 403, headers, body


@contextmanager
def acting_as(principal: Principal | None) -> Iterator[None]:
    token = caller.set(principal)
    try:
        yield
    finally:
        caller.reset(token)


def _patch_policy_version() -> None:
    """17. IAM_POLICY_VERSION: a policy without `Version` is a 2008-10-17 policy, which IAM accepts."""
    from moto.iam import policy_validation  # noqa: PLC0415

    def validate_version(self: Any) -> None:
        if self._policy_json.get("Version", "2008-10-17") not in ("2012-10-17", "2008-10-17"):
            raise ValueError(self._policy_json.get("Version"))

    policy_validation.IAMPolicyDocumentValidator._validate_version = validate_version  # type: ignore[method-assign]


def _load_only_the_managed_policies_in_use() -> None:
    """Not an AWS difference: moto builds every AWS managed policy (over a thousand, more than a
    second) for the first IAM call; the local stack needs only those its template attaches."""
    from moto.iam import models  # noqa: PLC0415
    from moto.iam.aws_managed_policies import aws_managed_policies_data  # noqa: PLC0415

    original = models.IAMBackend._init_aws_policies

    def init_aws_policies(self: Any) -> list[Any]:
        policies: list[Any] = (
            original(self)
            if options.aws_managed_policies is None
            else [
                models.AWSManagedPolicy.from_data(name, self.account_id, self.region_name, data)
                for name, data in json.loads(aws_managed_policies_data).items()
                if name in options.aws_managed_policies
            ]
        )
        return policies

    models.IAMBackend._init_aws_policies = init_aws_policies  # type: ignore[method-assign]


def apply() -> None:
    _patch_policy_version()
    _load_only_the_managed_policies_in_use()
    from moto.core.responses import BaseResponse  # noqa: PLC0415

    original = BaseResponse.call_action

    def call_action(self: Any) -> Any:
        principal = principal_of(self.access_key, self.current_account) if options.enforce_iam else None
        if principal is None:
            return original(self)
        operation = self._get_action()
        call = iam.Call(
            service=self.boto3_service_name,
            operation=operation,
            params=_parameters(self),
            region=self.region,
            account=self.current_account,
        )
        needs = iam.needs(
            call,
            _stack_arn(self.region, self.current_account),
            _stack_tags(self.region, self.current_account),
        )
        if needs is None:
            denial: str | None = (
                f"User: {principal.arn} is not authorized to perform: {call.service}:{operation}: "
                "the local IAM does not know what this action authorizes (add it to local/iam.py)"
            )
        else:
            denial = authorize(principal, needs)
        if denial is not None:
            return _denied(self, denial)
        with acting_as(principal):
            return original(self)

    BaseResponse.call_action = call_action  # type: ignore[method-assign]
