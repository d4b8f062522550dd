"""DynamoDB adapter: the catalog, the service's index of the repositories it manages and their lock.

One item per repository name (ECR names are unique in an account and region):

- `name` (the key), `environment`, `stackName`, `stackId`;
- `repository`: the Repository as the last operation left it (JSON: settings as applied, the
  caller's tags, the stack's status), which `GET /repositories` serves;
- `listing` and `listedEnvironment`, set only while the repository exists: the keys of the two
  sparse indexes a page is read from, by name, for all environments or one;
- `operationId`, `operationStartedAt`: the lock, held by the operation that runs on the
  repository; `lastOperationId`: the one before.

While an operation waits on a stack, one more item, keyed by the stack's id (a stack ARN, which no
repository name can be): `kind` "wait", the `taskToken` that resumes the waiting execution, the
`requestToken` of the stack change it waits on, the `operationId`, the workflow `task` (JSON) and
`expiresAt`, the table's time to live, for a wait whose execution was stopped. The status event of
the stack finds it by the stack id alone, with one strongly consistent read.

The stack stays the source of truth; everything here can be rebuilt from the stacks (repair).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from agentcore_ecr.aws.clients import client, error_code, raise_if_throttled
from agentcore_ecr.domain.models import Repository

LISTING = "repository"  # the one value of `listing`: every listed item in one index partition, by name
BY_NAME = "ByName"
BY_ENVIRONMENT = "ByEnvironment"
CONDITION_FAILED = "ConditionalCheckFailedException"
NOT_LOCKED_OR_MINE = "attribute_not_exists(operationId) OR operationId = :op"
WAIT = "wait"  # `kind` of a wait's item


@dataclass(frozen=True)
class LockHolder:
    """The operation holding a repository's lock, and since when."""

    operation_id: str
    started_at: datetime | None


@dataclass(frozen=True)
class CatalogItem:
    name: str
    environment: str | None
    stack_name: str | None
    stack_id: str | None
    repository: Repository | None
    holder: LockHolder | None

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> CatalogItem:
        text = _string(item, "repository")
        return cls(
            name=str(_string(item, "name")),
            environment=_string(item, "environment"),
            stack_name=_string(item, "stackName"),
            stack_id=_string(item, "stackId"),
            repository=Repository.model_validate_json(text) if text else None,
            holder=_holder(item),
        )


def _string(item: dict[str, Any], key: str) -> str | None:
    value = item.get(key)
    return str(value["S"]) if value and "S" in value else None


def _holder(item: dict[str, Any] | None) -> LockHolder | None:
    if not item or "operationId" not in item:
        return None
    started = _string(item, "operationStartedAt")
    return LockHolder(
        operation_id=str(item["operationId"]["S"]),
        started_at=datetime.fromisoformat(started) if started else None,
    )


@dataclass(frozen=True)
class Wait:
    """An execution waiting on a stack: what resumes it, and the change it waits on."""

    stack_id: str
    task_token: str
    request_token: str
    operation_id: str
    task: str  # the workflow task (TaskRequest JSON, without its token)


class Catalog:
    def __init__(self, table_name: str, dynamodb_client: Any | None = None) -> None:
        self.table_name = table_name
        self._client = dynamodb_client or client("dynamodb")

    # The lock ------------------------------------------------------------------------------

    def acquire(
        self, name: str, operation_id: str, now: datetime, stale: str | None = None
    ) -> LockHolder | None:
        """Take the repository's lock for `operation_id` with one conditional write.

        Free, or already this operation's: taken, None returned. `stale` names a holder found to be
        over, whose lock is taken over only if it still holds it. Otherwise the holder is returned.
        """
        condition = "operationId = :stale" if stale is not None else NOT_LOCKED_OR_MINE
        values: dict[str, Any] = {":op": {"S": operation_id}, ":now": {"S": now.isoformat()}}
        if stale is not None:
            values[":stale"] = {"S": stale}
        try:
            self._call(
                "update_item",
                Key={"name": {"S": name}},
                UpdateExpression="SET operationId = :op, operationStartedAt = :now",
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error_code(error) != CONDITION_FAILED:
                raise
            holder = _holder(error.response.get("Item"))
            # Released between the two writes of a take-over: try again as a fresh taker.
            return holder or (self.acquire(name, operation_id, now) if stale is not None else None)
        return None

    def release(self, name: str, operation_id: str) -> None:
        """Give the lock back; an item that never got a repository (a refused create) goes too.

        A lock that `operation_id` no longer holds (taken over) is left alone.
        """
        values = {":op": {"S": operation_id}}
        if not self._conditional(
            "delete_item",
            Key={"name": {"S": name}},
            ConditionExpression="operationId = :op AND attribute_not_exists(repository)",
            ExpressionAttributeValues=values,
        ):
            self._conditional(
                "update_item",
                Key={"name": {"S": name}},
                UpdateExpression="REMOVE operationId, operationStartedAt SET lastOperationId = :op",
                ConditionExpression="operationId = :op",
                ExpressionAttributeValues=values,
            )

    # Waits on stacks ------------------------------------------------------------------------

    def watch(self, wait: Wait, expires_at: datetime) -> None:
        """Leave the task token where the stack's status event finds it (replacing an older wait)."""
        self._call(
            "put_item",
            Item={
                "name": {"S": wait.stack_id},
                "kind": {"S": WAIT},
                "taskToken": {"S": wait.task_token},
                "requestToken": {"S": wait.request_token},
                "operationId": {"S": wait.operation_id},
                "task": {"S": wait.task},
                "expiresAt": {"N": str(int(expires_at.timestamp()))},
            },
        )

    def waiting(self, stack_id: str) -> Wait | None:
        item = self._call("get_item", Key={"name": {"S": stack_id}}, ConsistentRead=True).get("Item")
        if not item or _string(item, "kind") != WAIT:
            return None
        return Wait(
            stack_id=stack_id,
            task_token=str(_string(item, "taskToken")),
            request_token=str(_string(item, "requestToken")),
            operation_id=str(_string(item, "operationId")),
            task=str(_string(item, "task")),
        )

    def unwatch(
        self, stack_id: str, *, task_token: str | None = None, operation_id: str | None = None
    ) -> bool:
        """The wait is over: remove it if it is still the one with `task_token` (or of `operation_id`)."""
        attribute, value = (
            ("taskToken", task_token) if task_token is not None else ("operationId", operation_id)
        )
        if value is None:
            raise ValueError("unwatch needs the wait's task token or operation id")
        return self._conditional(
            "delete_item",
            Key={"name": {"S": stack_id}},
            ConditionExpression="#kind = :wait AND #held = :value",
            ExpressionAttributeNames={"#kind": "kind", "#held": attribute},
            ExpressionAttributeValues={":wait": {"S": WAIT}, ":value": {"S": value}},
        )

    # The items -----------------------------------------------------------------------------

    def record(
        self, repository: Repository, stack_id: str, operation_id: str | None = None, release: bool = False
    ) -> bool:
        """Write the repository as it now is and list it; with `release`, give `operation_id`'s lock
        back in the same write. False when another operation holds the lock (nothing written)."""
        values: dict[str, Any] = {
            ":repository": {"S": repository.model_dump_json(by_alias=True)},
            ":environment": {"S": repository.environment},
            ":stackName": {"S": repository.stack_name},
            ":stackId": {"S": stack_id},
            ":listing": {"S": LISTING},
        }
        update = (
            "SET repository = :repository, environment = :environment, stackName = :stackName, "
            "stackId = :stackId, listing = :listing, listedEnvironment = :environment"
        )
        kwargs: dict[str, Any] = {}
        if operation_id is not None:
            values[":op"] = {"S": operation_id}
            kwargs["ConditionExpression"] = NOT_LOCKED_OR_MINE
            if release:
                update += ", lastOperationId = :op REMOVE operationId, operationStartedAt"
        return self._conditional(
            "update_item",
            Key={"name": {"S": repository.name}},
            UpdateExpression=update,
            ExpressionAttributeValues=values,
            **kwargs,
        )

    def forget(self, name: str, operation_id: str | None = None) -> bool:
        """Remove the repository's item (deleted); not while another operation holds its lock."""
        if operation_id is None:
            return self._conditional(
                "delete_item",
                Key={"name": {"S": name}},
                ConditionExpression="attribute_not_exists(operationId)",
            )
        return self._conditional(
            "delete_item",
            Key={"name": {"S": name}},
            ConditionExpression=NOT_LOCKED_OR_MINE,
            ExpressionAttributeValues={":op": {"S": operation_id}},
        )

    def get(self, name: str) -> CatalogItem | None:
        item = self._call("get_item", Key={"name": {"S": name}}, ConsistentRead=True).get("Item")
        return CatalogItem.from_item(item) if item else None

    def page(self, environment: str | None, limit: int, after: str) -> tuple[list[Repository], bool]:
        """Up to `limit` listed repositories named after `after`, in name order, and whether more
        follow: a Query of one index (limit + 1 items, the last only to tell that more follow),
        continued from its LastEvaluatedKey while it has fewer: a Query stops at 1 MB of items read
        whatever its Limit (DynamoDB Developer Guide, "Paginating table query results")."""
        index, key = (BY_ENVIRONMENT, "listedEnvironment") if environment else (BY_NAME, "listing")
        condition, values = "#key = :key", {":key": {"S": environment or LISTING}}
        if after:  # DynamoDB takes no empty string in a key condition
            condition, values = f"{condition} AND #name > :after", {**values, ":after": {"S": after}}
        found: list[dict[str, Any]] = []
        start: dict[str, Any] | None = None
        while len(found) <= limit:
            response = self._call(
                "query",
                IndexName=index,
                KeyConditionExpression=condition,
                ExpressionAttributeNames={"#key": key, "#name": "name"} if after else {"#key": key},
                ExpressionAttributeValues=values,
                Limit=limit + 1 - len(found),
                **({"ExclusiveStartKey": start} if start else {}),
            )
            found.extend(response.get("Items", []))
            start = response.get("LastEvaluatedKey")
            if not start:
                break
        items = [Repository.model_validate_json(item["repository"]["S"]) for item in found[: limit + 1]]
        return items[:limit], len(items) > limit

    def items(self) -> Iterator[CatalogItem]:
        """Every repository's item (the repair reads them all: its cost is the account's, on purpose).

        Waits are not repositories: each goes when its wait ends, or with its time to live."""
        paginator = self._client.get_paginator("scan")
        try:
            for page in paginator.paginate(TableName=self.table_name, ConsistentRead=True):
                for item in page.get("Items", []):
                    if _string(item, "kind") != WAIT:
                        yield CatalogItem.from_item(item)
        except ClientError as error:
            raise_if_throttled(error)
            raise

    # Calls ---------------------------------------------------------------------------------

    def _call(self, operation: str, **kwargs: Any) -> Any:
        try:
            return getattr(self._client, operation)(TableName=self.table_name, **kwargs)
        except ClientError as error:
            raise_if_throttled(error)
            raise

    def _conditional(self, operation: str, **kwargs: Any) -> bool:
        """A write whose condition may not hold: False then."""
        try:
            self._call(operation, **kwargs)
        except ClientError as error:
            if error_code(error) == CONDITION_FAILED:
                return False
            raise
        return True
