"""The events/ files are the ones `sam local invoke -e` takes: each one runs through its function."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agentcore_ecr.domain.models import TaskRequest
from tests.deployment import EVENTS, Deployment, load_event, load_template

API_EVENTS = {
    "create_repository_simple": ("CreateRepositoryFunction", 202),
    "create_repository_full": ("CreateRepositoryFunction", 202),
    "create_repository_invalid": ("CreateRepositoryFunction", 400),
    "get_repository": ("GetRepositoryFunction", 404),
    "list_repositories": ("ListRepositoriesFunction", 200),
    "delete_repository": ("DeleteRepositoryFunction", 404),
    "delete_repository_force": ("DeleteRepositoryFunction", 404),
    "get_lifecycle_policy": ("GetLifecyclePolicyFunction", 404),
    "put_lifecycle_policy": ("PutLifecyclePolicyFunction", 404),
    "auth_token": ("AuthTokenFunction", 200),
    "get_operation": ("GetOperationFunction", 404),
}
TASK_EVENTS = [
    "start_stack_change_create",
    "start_stack_change_delete_force",
    "check_stack",
    "await_stack",
    "finalize_operation_succeeded",
    "finalize_operation_failed",
]


def test_every_event_file_is_used_here() -> None:
    files = {path.stem for path in EVENTS.glob("*.json")}
    assert files == set(API_EVENTS) | set(TASK_EVENTS) | {
        "provisioning_intake",
        "provisioning_intake_invalid",
        "operation_stopped",
        "repair_catalog",
        "stack_status_changed",
    }


def test_every_function_has_an_event() -> None:
    handlers = {
        f"{name}": fn for name, fn in load_template()["Resources"].items() if fn["Type"].endswith("Function")
    }
    covered = {function for function, _ in API_EVENTS.values()} | {
        "ProvisioningIntakeFunction",
        "StartStackChangeFunction",
        "CheckStackFunction",
        "FinalizeOperationFunction",
        "OperationStoppedFunction",
        "RepairCatalogFunction",
        "StackStatusChangedFunction",
    }
    assert covered == set(handlers)


def test_the_repair_event_rebuilds_an_empty_catalog(deployment: Deployment) -> None:
    report = deployment.invoke("RepairCatalogFunction", load_event("repair_catalog"))

    assert report == {"recorded": 0, "removed": 0, "released": 0}


@pytest.mark.parametrize(("event", "expected"), API_EVENTS.items(), ids=list(API_EVENTS))
def test_api_events_on_an_empty_account(
    deployment: Deployment, event: str, expected: tuple[str, int]
) -> None:
    function, status = expected

    response = deployment.call(function, load_event(event))

    assert response.status == status, response.body


def test_the_task_events_drive_one_operation(deployment: Deployment) -> None:
    change = deployment.invoke("StartStackChangeFunction", load_event("start_stack_change_create"))
    assert change["phase"] == "APPLY"
    assert change["stackId"].startswith("arn:aws:cloudformation:")

    check_event: dict[str, Any] = load_event("check_stack")
    check_event["change"] = change
    check = deployment.invoke("CheckStackFunction", check_event)
    assert check["state"] == "COMPLETE"
    # The same step as AwaitStack calls it: the stack has settled, so the wait (whose token is not
    # a live task's here) is resumed at once and its item is gone.
    await_event: dict[str, Any] = load_event("await_stack")
    await_event["change"] = change
    assert deployment.invoke("CheckStackFunction", await_event) == check
    assert deployment.catalog_item(change["stackId"]) is None

    succeeded = deployment.invoke("FinalizeOperationFunction", load_event("finalize_operation_succeeded"))
    assert succeeded["status"] == "SUCCEEDED"
    assert succeeded["repository"]["name"] == "team/agent-c"
    failed = deployment.invoke("FinalizeOperationFunction", load_event("finalize_operation_failed"))
    assert failed["error"]["code"] == "StackFailed"

    delete = deployment.invoke("StartStackChangeFunction", load_event("start_stack_change_delete_force"))
    assert delete["phase"] == "EMPTY"
    assert delete["final"] is False


@pytest.mark.parametrize("event", TASK_EVENTS)
def test_task_events_are_valid_payloads(event: str) -> None:
    payload = json.loads((EVENTS / f"{event}.json").read_text())
    assert TaskRequest.model_validate(payload).workflow.operation_id


def test_the_stopped_execution_event_gives_an_aborted_operation(deployment: Deployment) -> None:
    operation = deployment.invoke("OperationStoppedFunction", load_event("operation_stopped"))

    assert operation["status"] == "ABORTED"
    assert operation["error"]["code"] == "Aborted"
    assert operation["repositoryName"] == "team/agent-c"
    assert [event["detail"] for event in deployment.result_events()] == [operation]


def test_the_stack_status_event_resumes_no_one_on_an_empty_account(deployment: Deployment) -> None:
    assert deployment.invoke("StackStatusChangedFunction", load_event("stack_status_changed")) == {
        "resumed": False
    }
