"""CloudFormation adapter: the repository stacks."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from agentcore_ecr.aws.clients import client, error_code, raise_if_throttled
from agentcore_ecr.domain import errors, stack_status

NO_UPDATES = "No updates are to be performed"
# A retried call whose ClientRequestToken CloudFormation has already seen, or a create of a stack that exists.
ALREADY_MADE = frozenset({"TokenAlreadyExistsException", "AlreadyExistsException"})
# CreateStack's answer (HTTP 400) when the account's stack quota in the Region is reached
# (CloudFormation API Reference, CreateStack, Errors: LimitExceeded).
LIMIT_EXCEEDED = "LimitExceededException"


class ChangeAlreadyMadeError(Exception):
    """CloudFormation has already accepted a call with this token, or the stack already exists."""


def stack_limit_exceeded(name: str, error: ClientError) -> errors.StackLimitExceeded:
    """The operation's error for a CreateStack refused at the stack quota, which the account shares
    with every other stack it has in the Region (CloudFormation User Guide, "Understand
    CloudFormation quotas": Stacks; Service Quotas code L-0485CB21, "Stack count")."""
    said = str(error.response.get("Error", {}).get("Message") or "")
    return errors.StackLimitExceeded(
        f"CloudFormation did not create stack {name} ({LIMIT_EXCEEDED}: {said or 'no message'}): "
        "the account's stack quota in this Region is reached (Service Quotas: L-0485CB21, Stack "
        "count; 2,000 by default). Every stack of the account in the Region that is "
        "not DELETE_COMPLETE counts, this service's and any other's. No stack and no repository were "
        "made: delete stacks that are no longer needed or request an increase, then create the "
        "repository again under a new idempotency key (the same key answers this operation)."
    )


@dataclass(frozen=True)
class Stack:
    stack_id: str
    name: str
    status: str
    created_at: datetime
    status_reason: str | None = None
    parameters: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_api(cls, item: Mapping[str, Any]) -> Stack:
        return cls(
            stack_id=item["StackId"],
            name=item["StackName"],
            status=item["StackStatus"],
            created_at=item["CreationTime"],
            status_reason=item.get("StackStatusReason"),
            parameters={p["ParameterKey"]: p.get("ParameterValue", "") for p in item.get("Parameters", [])},
            outputs={o["OutputKey"]: o["OutputValue"] for o in item.get("Outputs", [])},
            tags={t["Key"]: t["Value"] for t in item.get("Tags", [])},
        )

    @property
    def in_progress(self) -> bool:
        return stack_status.in_progress(self.status)


@dataclass(frozen=True)
class StackEvent:
    timestamp: datetime
    logical_id: str
    status: str
    reason: str | None
    request_token: str | None = None


def _parameters(values: Mapping[str, str | None]) -> list[dict[str, Any]]:
    """`None` keeps the stack's previous value."""
    return [
        {"ParameterKey": key, "UsePreviousValue": True}
        if value is None
        else {"ParameterKey": key, "ParameterValue": value}
        for key, value in values.items()
    ]


def _tags(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


class Stacks:
    def __init__(self, cfn_client: Any | None = None) -> None:
        self._client = cfn_client or client("cloudformation")

    def describe(self, name_or_id: str) -> Stack | None:
        """A stack by name (live stacks only) or by id (deleted ones too)."""
        try:
            response = self._client.describe_stacks(StackName=name_or_id)
        except ClientError as error:
            raise_if_throttled(error)
            if error_code(error) == "ValidationError":  # CloudFormation's code for "does not exist"
                return None
            raise
        stacks = response.get("Stacks", [])
        return Stack.from_api(stacks[0]) if stacks else None

    def iter_stacks(self) -> Iterator[Stack]:
        paginator = self._client.get_paginator("describe_stacks")
        try:
            for page in paginator.paginate():
                for item in page.get("Stacks", []):
                    yield Stack.from_api(item)
        except ClientError as error:
            raise_if_throttled(error)
            raise

    def create(
        self,
        name: str,
        template_body: str,
        parameters: Mapping[str, str],
        tags: Mapping[str, str],
        role_arn: str | None,
        token: str,
    ) -> str:
        kwargs: dict[str, Any] = {
            "StackName": name,
            "TemplateBody": template_body,
            "Parameters": _parameters(parameters),
            "Tags": _tags(tags),
            "OnFailure": "ROLLBACK",
            "ClientRequestToken": token,
        }
        try:
            return str(self._call("create_stack", kwargs, role_arn)["StackId"])
        except ClientError as error:
            # botocore's standard retry mode counts LimitExceededException as throttling: it has
            # tried the call up to its max_attempts already. The quota will not free itself.
            if error_code(error) == LIMIT_EXCEEDED:
                raise stack_limit_exceeded(name, error) from error
            raise

    def update(
        self,
        name: str,
        template_body: str | None,
        parameters: Mapping[str, str | None],
        tags: Mapping[str, str] | None,
        role_arn: str | None,
        token: str,
    ) -> str | None:
        """Start an update; `None` when CloudFormation finds nothing to change.

        `template_body=None` keeps the previous template, `tags=None` the previous tags.
        """
        kwargs: dict[str, Any] = {
            "StackName": name,
            "Parameters": _parameters(parameters),
            "ClientRequestToken": token,
        }
        if template_body is None:
            kwargs["UsePreviousTemplate"] = True
        else:
            kwargs["TemplateBody"] = template_body
        if tags is not None:
            kwargs["Tags"] = _tags(tags)
        try:
            return str(self._call("update_stack", kwargs, role_arn)["StackId"])
        except ClientError as error:
            # CloudFormation reports a no-op update as a ValidationError; its text is the only marker.
            if error_code(error) == "ValidationError" and NO_UPDATES in str(error):
                return None
            raise

    def delete(self, stack_id: str, role_arn: str | None, token: str) -> None:
        self._call("delete_stack", {"StackName": stack_id, "ClientRequestToken": token}, role_arn)

    def continue_update_rollback(self, stack_id: str, role_arn: str | None, token: str) -> None:
        """Take a stack out of UPDATE_ROLLBACK_FAILED: CloudFormation tries the rollback again."""
        self._call("continue_update_rollback", {"StackName": stack_id, "ClientRequestToken": token}, role_arn)

    def _call(self, operation: str, kwargs: dict[str, Any], role_arn: str | None) -> Any:
        if role_arn:
            kwargs["RoleARN"] = role_arn
        try:
            return getattr(self._client, operation)(**kwargs)
        except ClientError as error:
            raise_if_throttled(error)
            if error_code(error) in ALREADY_MADE:
                raise ChangeAlreadyMadeError(str(kwargs.get("ClientRequestToken"))) from error
            raise

    def last_request_token(self, stack_id: str) -> str | None:
        """The ClientRequestToken of the stack's latest change (its newest event's)."""
        return next((event.request_token for event in self.events(stack_id)), None)

    def events(self, stack_id: str) -> Iterator[StackEvent]:
        """Newest first, as CloudFormation returns them."""
        paginator = self._client.get_paginator("describe_stack_events")
        try:
            for page in paginator.paginate(StackName=stack_id):
                for item in page.get("StackEvents", []):
                    yield StackEvent(
                        timestamp=item["Timestamp"],
                        logical_id=item.get("LogicalResourceId", ""),
                        status=item.get("ResourceStatus", ""),
                        reason=item.get("ResourceStatusReason"),
                        request_token=item.get("ClientRequestToken"),
                    )
        except ClientError as error:
            raise_if_throttled(error)
            raise
