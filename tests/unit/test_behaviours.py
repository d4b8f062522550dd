"""Behaviours of the contract that only show in combination: concurrency, replays, paging."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from local import emulator
from local.emulator import faults

from agentcore_ecr.aws.ecr import Ecr
from tests import api_events
from tests.deployment import Deployment, load_event
from tests.unit.test_api import assert_error, create, created, executions
from tests.unit.test_workflow import push_image

NAME = "team/agent-a"


def test_delete_and_lifecycle_changes_wait_for_a_running_operation(deployment: Deployment) -> None:
    created(deployment, NAME)
    emulator.options.settle_seconds = 5
    running = create(deployment, {"name": NAME, "tags": {"team": "a"}})
    assert running.status == 202
    before = len(executions(deployment))

    delete = deployment.call("DeleteRepositoryFunction", api_events.delete_repository(NAME, force=True))
    lifecycle = deployment.call(
        "PutLifecyclePolicyFunction", api_events.put_lifecycle_policy(NAME, {"untaggedExpiryDays": 3})
    )

    assert_error(delete, 409, "OperationInProgress")
    assert_error(lifecycle, 409, "OperationInProgress")
    assert len(executions(deployment)) == before


def test_one_key_through_eventbridge_and_http_is_one_operation(deployment: Deployment) -> None:
    event = copy.deepcopy(load_event("provisioning_intake"))
    body = {key: value for key, value in event["detail"].items() if key != "idempotencyKey"}
    key = event["detail"]["idempotencyKey"]

    by_event = deployment.invoke("ProvisioningIntakeFunction", event)
    by_http = create(deployment, body, key=key)

    assert by_http.status == 202
    assert by_http.body["operationId"] == by_event["operationId"]
    assert len(executions(deployment)) == 1


def test_a_replay_of_a_failed_operation_answers_the_same_failure(deployment: Deployment) -> None:
    faults.inject("cloudformation:CreateStack", count=10_000, code="InternalFailure", status=500)
    first = create(deployment, {"name": NAME}, key="fail-1")
    assert deployment.wait(first.body["operationId"])["status"] == "FAILED"
    faults.clear()

    replay = create(deployment, {"name": NAME}, key="fail-1")

    assert replay.status == 202
    assert replay.body["operationId"] == first.body["operationId"]
    assert replay.body["status"] == "FAILED"
    assert replay.body["error"]["code"] == "Internal"
    assert len(executions(deployment)) == 1


def test_the_default_page_is_50_and_paging_goes_past_it(deployment: Deployment) -> None:
    for index in range(53):
        deployment.start_workflow({"name": f"page/agent-{index:02d}"})

    first = deployment.call("ListRepositoriesFunction", api_events.list_repositories())
    second = deployment.call(
        "ListRepositoriesFunction", api_events.list_repositories(nextToken=first.body["nextToken"])
    )

    assert len(first.body["items"]) == 50
    assert len(second.body["items"]) == 3
    assert second.body["nextToken"] is None
    names = [item["name"] for item in first.body["items"] + second.body["items"]]
    assert names == sorted(names) == [f"page/agent-{index:02d}" for index in range(53)]


def images(deployment: Deployment, name: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = deployment.ecr.list_images(repositoryName=name)["imageIds"]
    return found


def test_a_delete_that_meets_an_image_pushed_meanwhile_keeps_both(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A delete admitted while the repository was empty meets an image pushed before its stack went."""
    created(deployment, NAME)
    emulator.options.settle_seconds = 0
    push_image(deployment, NAME, "v1")  # pushed after the check a DELETE would make

    monkeypatch.setattr(Ecr, "has_images", lambda self, name: False)
    accepted = deployment.call("DeleteRepositoryFunction", api_events.delete_repository(NAME))
    final = deployment.wait(accepted.body["operationId"])

    assert final["status"] == "FAILED"
    assert images(deployment, NAME), "the image is kept"
    operation = deployment.call(
        "GetOperationFunction", api_events.get_operation(accepted.body["operationId"])
    )
    assert operation.body["error"]["code"] == "StackFailed"
    assert "force=true" in operation.body["error"]["message"]
