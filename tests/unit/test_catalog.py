"""The catalog: a page is one query, the lock is one conditional write released on every ending,
and the whole of it can be rebuilt from the stacks."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from local import emulator

from agentcore_ecr.aws.catalog import Catalog
from agentcore_ecr.aws.cloudformation import Stacks
from agentcore_ecr.aws.ecr import Ecr
from tests import api_events
from tests.deployment import CATALOG_TABLE_NAME, Deployment
from tests.unit.test_api import assert_error, created, executions
from tests.unit.test_stopped import capture_default_bus, captured, rule_pattern, waiting
from tests.unit.test_workflow import run

NAME = "team/agent-a"


def dynamodb() -> Any:
    return boto3.client("dynamodb", region_name="us-east-1")


def hold_lock(name: str, operation_id: str, started_at: datetime) -> None:
    """A lock as an admission leaves it (the item of a repository not made yet)."""
    dynamodb().put_item(
        TableName=CATALOG_TABLE_NAME,
        Item={
            "name": {"S": name},
            "operationId": {"S": operation_id},
            "operationStartedAt": {"S": started_at.isoformat()},
        },
    )


def listed(deployment: Deployment, **query: str) -> list[str]:
    page = deployment.call("ListRepositoriesFunction", api_events.list_repositories(**query))
    assert page.status == 200, page.body
    return [item["name"] for item in page.body["items"]]


# What the workflow keeps -------------------------------------------------------------------


def test_a_create_records_the_repository_and_gives_its_lock_back(deployment: Deployment) -> None:
    operation = created(deployment, NAME, tags={"team": "a"}, environment="prod")

    item = deployment.catalog_item(NAME)
    assert item is not None
    assert "operationId" not in item
    assert item["lastOperationId"]["S"] == operation["operationId"]
    assert item["listing"]["S"] == "repository"
    assert item["listedEnvironment"]["S"] == "prod"
    assert item["stackId"]["S"].startswith("arn:aws:cloudformation:")
    got = deployment.call("GetRepositoryFunction", api_events.get_repository(NAME))
    assert json.loads(item["repository"]["S"]) == got.body == operation["repository"]


def test_an_update_records_the_new_settings(deployment: Deployment) -> None:
    created(deployment, NAME)
    changed = run(
        deployment,
        "PutLifecyclePolicyFunction",
        api_events.put_lifecycle_policy(NAME, {"untaggedExpiryDays": 7, "maxImageCount": 50}),
    )
    assert changed["status"] == "SUCCEEDED", changed

    page = deployment.call("ListRepositoriesFunction", api_events.list_repositories())

    assert page.body["items"][0]["lifecyclePolicy"] == {"untaggedExpiryDays": 7, "maxImageCount": 50}
    assert page.body["items"][0]["stackStatus"] == "UPDATE_COMPLETE"


def test_a_delete_removes_the_item(deployment: Deployment) -> None:
    created(deployment, NAME)

    deleted = run(deployment, "DeleteRepositoryFunction", api_events.delete_repository(NAME))

    assert deleted["status"] == "SUCCEEDED", deleted
    assert deployment.catalog_item(NAME) is None
    assert listed(deployment) == []


def test_a_refused_create_leaves_no_item(deployment: Deployment) -> None:
    deployment.ecr.create_repository(repositoryName=NAME)  # made outside the service

    response = deployment.call("CreateRepositoryFunction", api_events.create_repository({"name": NAME}))

    assert_error(response, 409, "RepositoryExists")
    assert deployment.catalog_item(NAME) is None


def test_a_failed_create_gives_its_lock_back(deployment: Deployment) -> None:
    """The stack fails (the name is taken behind the service's back once admitted): the item goes."""
    emulator.options.settle_seconds = 0.5
    accepted = deployment.call("CreateRepositoryFunction", api_events.create_repository({"name": NAME}))
    assert accepted.status == 202
    deployment.ecr.create_repository(repositoryName=NAME)

    final = deployment.wait(accepted.body["operationId"])

    assert final["status"] == "FAILED"
    assert deployment.catalog_item(NAME) is None


# The lock ----------------------------------------------------------------------------------


def test_a_running_operation_holds_the_lock(deployment: Deployment) -> None:
    emulator.options.settle_seconds = 3
    accepted = deployment.call("CreateRepositoryFunction", api_events.create_repository({"name": NAME}))
    assert accepted.status == 202
    operation_id = accepted.body["operationId"]
    item = deployment.catalog_item(NAME)
    assert item is not None and item["operationId"]["S"] == operation_id

    again = deployment.call(
        "CreateRepositoryFunction", api_events.create_repository({"name": NAME, "tags": {"a": "b"}})
    )
    lifecycle = deployment.call(
        "PutLifecyclePolicyFunction", api_events.put_lifecycle_policy(NAME, {"untaggedExpiryDays": 3})
    )

    assert_error(again, 409, "OperationInProgress")
    assert operation_id in again.body["error"]["message"]
    assert lifecycle.status in (404, 409), lifecycle.body  # not made yet, or locked
    assert [execution["name"] for execution in executions(deployment)] == [operation_id]
    assert deployment.wait(operation_id)["status"] == "SUCCEEDED"
    assert "operationId" not in (deployment.catalog_item(NAME) or {})


def test_the_same_idempotency_key_is_its_own_lock_holder(deployment: Deployment) -> None:
    emulator.options.settle_seconds = 1
    body = {"name": NAME}
    first = deployment.call("CreateRepositoryFunction", api_events.create_repository(body, "key-1"))
    second = deployment.call("CreateRepositoryFunction", api_events.create_repository(body, "key-1"))

    assert first.status == second.status == 202
    assert first.body["operationId"] == second.body["operationId"]
    assert deployment.wait(first.body["operationId"])["status"] == "SUCCEEDED"


def test_a_lock_whose_execution_ended_is_taken_over(deployment: Deployment) -> None:
    ended = created(deployment, NAME)["operationId"]
    dynamodb().update_item(  # as if its last step had not run
        TableName=CATALOG_TABLE_NAME,
        Key={"name": {"S": NAME}},
        UpdateExpression="SET operationId = :op, operationStartedAt = :at",
        ExpressionAttributeValues={":op": {"S": ended}, ":at": {"S": datetime.now(UTC).isoformat()}},
    )

    operation = run(
        deployment,
        "PutLifecyclePolicyFunction",
        api_events.put_lifecycle_policy(NAME, {"untaggedExpiryDays": 3}),
    )

    assert operation["status"] == "SUCCEEDED", operation
    item = deployment.catalog_item(NAME)
    assert item is not None and "operationId" not in item
    assert item["lastOperationId"]["S"] == operation["operationId"]


@pytest.mark.parametrize(("age", "status"), [(timedelta(minutes=3), 202), (timedelta(seconds=5), 409)])
def test_a_lock_without_an_execution_is_taken_over_after_the_grace(
    deployment: Deployment, age: timedelta, status: int
) -> None:
    """An admission that died between its lock and its StartExecution: its lock lapses in 2 min."""
    hold_lock(NAME, str(uuid.uuid4()), datetime.now(UTC) - age)

    response = deployment.call("CreateRepositoryFunction", api_events.create_repository({"name": NAME}))

    assert response.status == status, response.body
    if status == 202:
        assert deployment.wait(response.body["operationId"])["status"] == "SUCCEEDED"
    else:
        assert response.body["error"]["code"] == "OperationInProgress"


def test_an_aborted_operation_gives_its_lock_back(deployment: Deployment) -> None:
    queue = capture_default_bus(deployment, rule_pattern(deployment))
    emulator.options.settle_seconds = float("inf")
    accepted = deployment.call("CreateRepositoryFunction", api_events.create_repository({"name": NAME}))
    operation_id = accepted.body["operationId"]
    waiting(deployment, operation_id)
    deployment.sfn.stop_execution(executionArn=deployment.execution_arn(operation_id))
    [status_change] = captured(deployment, queue)

    deployment.invoke("OperationStoppedFunction", status_change)

    item = deployment.catalog_item(NAME)
    assert item is None or "operationId" not in item


# Pages -------------------------------------------------------------------------------------


def test_a_page_is_one_query_and_reads_no_stack(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("a1", "b2", "c3"):
        created(deployment, name)
    calls: list[str] = []
    original = Catalog._call

    def counted(self: Catalog, operation: str, **kwargs: Any) -> Any:
        calls.append(operation)
        return original(self, operation, **kwargs)

    def refused(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("a page reads the catalog only")

    monkeypatch.setattr(Catalog, "_call", counted)
    for method in ("describe", "iter_stacks"):
        monkeypatch.setattr(Stacks, method, refused)
    for method in ("describe", "tags_if_exists"):
        monkeypatch.setattr(Ecr, method, refused)

    first = deployment.call("ListRepositoriesFunction", api_events.list_repositories(limit="2"))
    second = deployment.call(
        "ListRepositoriesFunction", api_events.list_repositories(limit="2", nextToken=first.body["nextToken"])
    )

    assert [item["name"] for item in first.body["items"]] == ["a1", "b2"]
    assert [item["name"] for item in second.body["items"]] == ["c3"]
    assert second.body["nextToken"] is None
    assert calls == ["query", "query"]


def test_a_page_of_one_environment(deployment: Deployment) -> None:
    created(deployment, "a1", environment="prod")
    created(deployment, "b2", environment="dev")
    created(deployment, "c3", environment="prod")

    assert listed(deployment, environment="prod") == ["a1", "c3"]
    assert listed(deployment, environment="dev") == ["b2"]
    assert listed(deployment, environment="staging") == []
    assert listed(deployment) == ["a1", "b2", "c3"]


def test_a_repository_being_created_is_not_listed(deployment: Deployment) -> None:
    emulator.options.settle_seconds = 1
    accepted = deployment.call("CreateRepositoryFunction", api_events.create_repository({"name": NAME}))

    assert listed(deployment) == []
    assert deployment.wait(accepted.body["operationId"])["status"] == "SUCCEEDED"
    assert listed(deployment) == [NAME]


# Repair ------------------------------------------------------------------------------------


def test_the_repair_rebuilds_the_catalog_from_the_stacks(deployment: Deployment) -> None:
    created(deployment, "a1", tags={"team": "a"})
    created(deployment, "b2", environment="prod")
    before = deployment.call("ListRepositoriesFunction", api_events.list_repositories()).body
    table = dynamodb()
    for name in ("a1", "b2"):
        table.delete_item(TableName=CATALOG_TABLE_NAME, Key={"name": {"S": name}})
    ghost = json.loads(json.dumps(before["items"][0]))
    ghost["name"] = "ghost"
    table.put_item(
        TableName=CATALOG_TABLE_NAME,
        Item={
            "name": {"S": "ghost"},
            "repository": {"S": json.dumps(ghost)},
            "listing": {"S": "repository"},
            "listedEnvironment": {"S": "dev"},
        },
    )
    hold_lock("stale", str(uuid.uuid4()), datetime.now(UTC) - timedelta(hours=1))
    assert listed(deployment) == ["ghost"]

    report = deployment.invoke("RepairCatalogFunction", {})

    assert report == {"recorded": 2, "removed": 1, "released": 1}
    after = deployment.call("ListRepositoriesFunction", api_events.list_repositories()).body
    assert after == before
    assert deployment.catalog_item("stale") is None
    assert deployment.invoke("RepairCatalogFunction", {}) == {"recorded": 2, "removed": 0, "released": 0}
