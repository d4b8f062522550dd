"""CloudFormation adapter: the repository stacks."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from agentcore_ecr.aws.clients import client, error_code, raise_if_throttled

NO_UPDATES = "No updates are to be performed"


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
        return self.status.endswith("_IN_PROGRESS")


@dataclass(frozen=True)
class StackEvent:
    timestamp: datetime
    logical_id: str
    status: str
    reason: str | None


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
    ) -> str:
        kwargs: dict[str, Any] = {
            "StackName": name,
            "TemplateBody": template_body,
            "Parameters": _parameters(parameters),
            "Tags": _tags(tags),
            "OnFailure": "ROLLBACK",
        }
        if role_arn:
            kwargs["RoleARN"] = role_arn
        try:
            return str(self._client.create_stack(**kwargs)["StackId"])
        except ClientError as error:
            raise_if_throttled(error)
            raise

    def update(
        self,
        name: str,
        template_body: str | None,
        parameters: Mapping[str, str | None],
        tags: Mapping[str, str] | None,
        role_arn: str | None,
    ) -> str | None:
        """Start an update; `None` when CloudFormation finds nothing to change.

        `template_body=None` keeps the previous template, `tags=None` the previous tags.
        """
        kwargs: dict[str, Any] = {"StackName": name, "Parameters": _parameters(parameters)}
        if template_body is None:
            kwargs["UsePreviousTemplate"] = True
        else:
            kwargs["TemplateBody"] = template_body
        if tags is not None:
            kwargs["Tags"] = _tags(tags)
        if role_arn:
            kwargs["RoleARN"] = role_arn
        try:
            return str(self._client.update_stack(**kwargs)["StackId"])
        except ClientError as error:
            raise_if_throttled(error)
            # CloudFormation reports a no-op update as a ValidationError; its text is the only marker.
            if error_code(error) == "ValidationError" and NO_UPDATES in str(error):
                return None
            raise

    def delete(self, stack_id: str, role_arn: str | None) -> None:
        kwargs: dict[str, Any] = {"StackName": stack_id}
        if role_arn:
            kwargs["RoleARN"] = role_arn
        try:
            self._client.delete_stack(**kwargs)
        except ClientError as error:
            raise_if_throttled(error)
            raise

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
                    )
        except ClientError as error:
            raise_if_throttled(error)
            raise
