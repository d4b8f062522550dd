"""The wait on a stack: CloudFormation's status event resumes it, and polling is only the fallback.

Run on the real ASL with the real handlers: the template's rule on the default bus brings the
emulator's `CloudFormation Stack Status Change` events (emulator patch 22) to
StackStatusChangedFunction, which resumes the `.waitForTaskToken` task of AwaitStack.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from local import emulator

from agentcore_ecr.aws.catalog import Catalog, Wait
from tests import api_events
from tests.deployment import CATALOG_TABLE_NAME, STACK_STATUS_RULE, Deployment
from tests.examples import TEAM_AGENT_A_DEV_STACK
from tests.unit.test_workflow import push_image, run

NAME = "team/agent-a"
STATUS_FUNCTION = "StackStatusChangedFunction"
STACK_ARN = "arn:aws:cloudformation:us-east-1:123456789012:stack/agentcore-x-dev-ecr/0000"


def history(deployment: Deployment, operation_id: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = deployment.sfn.get_execution_history(
        executionArn=deployment.execution_arn(operation_id), maxResults=1000
    )["events"]
    return events


def entered(events: list[dict[str, Any]], state: str) -> list[dict[str, Any]]:
    """The input of each entry into `state`."""
    return [
        json.loads(event["stateEnteredEventDetails"]["input"])
        for event in events
        if event.get("stateEnteredEventDetails", {}).get("name") == state
    ]


def checks(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What each check of the stack found (AwaitStack's resumptions and CheckStack's looks), in order."""
    return [state["check"]["value"] for state in entered(events, "StackState")]


def waits_left() -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = boto3.client("dynamodb", region_name="us-east-1").scan(
        TableName=CATALOG_TABLE_NAME
    )["Items"]
    return [item for item in items if item.get("kind", {}).get("S") == "wait"]


def resumed_by_events(deployment: Deployment) -> list[Any]:
    deployment.drain()
    return [result for function, result in deployment.async_results if function == STATUS_FUNCTION]


@pytest.fixture
def slow_stacks(deployment: Deployment, monkeypatch: pytest.MonkeyPatch) -> Deployment:
    """Stacks that take 1.5 s, and a poll interval of 30 s: only an event can end a wait in time."""
    monkeypatch.setenv("STACK_POLL_INTERVAL_SECONDS", "30")
    deployment.reset_wiring()
    emulator.options.settle_seconds = 1.5
    return deployment


def test_an_operation_resumes_on_its_stacks_status_event(slow_stacks: Deployment) -> None:
    operation = run(slow_stacks, "CreateRepositoryFunction", api_events.create_repository({"name": NAME}))

    assert operation["status"] == "SUCCEEDED", operation
    events = history(slow_stacks, operation["operationId"])
    assert entered(events, "CheckStack") == [], "no wait timed out: nothing polled"
    assert [check["state"] for check in checks(events)] == ["COMPLETE"]
    assert checks(events)[0]["stackStatus"] == "CREATE_COMPLETE"
    resumed = [result for result in resumed_by_events(slow_stacks) if result["resumed"]]
    assert [result["check"]["state"] for result in resumed] == ["COMPLETE"]
    assert waits_left() == []


def test_every_phase_of_a_force_delete_resumes_on_its_event(slow_stacks: Deployment) -> None:
    run(slow_stacks, "CreateRepositoryFunction", api_events.create_repository({"name": NAME}))
    push_image(slow_stacks, NAME, "v1")

    operation = run(slow_stacks, "DeleteRepositoryFunction", api_events.delete_repository(NAME, force=True))

    assert operation["status"] == "SUCCEEDED", operation
    events = history(slow_stacks, operation["operationId"])
    assert entered(events, "CheckStack") == []
    assert [check["stackStatus"] for check in checks(events)] == ["UPDATE_COMPLETE", "DELETE_COMPLETE"]
    assert waits_left() == []


def test_a_failed_change_resumed_by_its_event_reports_the_first_failure_reason(
    slow_stacks: Deployment,
) -> None:
    slow_stacks.ecr.create_repository(repositoryName=NAME)  # CloudFormation cannot create it

    execution = slow_stacks.start_workflow({"name": NAME})

    assert execution["status"] == "FAILED"
    events = history(slow_stacks, execution["name"])
    assert entered(events, "CheckStack") == []
    [check] = checks(events)
    assert (check["state"], check["stackStatus"]) == ("FAILED", "ROLLBACK_COMPLETE")
    assert check["reason"].startswith("Repository: ")
    assert "already exists" in check["reason"]
    operation = slow_stacks.call("GetOperationFunction", api_events.get_operation(execution["name"])).body
    assert operation["error"]["message"] == check["reason"]


def test_a_stack_that_settled_before_the_wait_began_ends_it_at_once(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No lost wake-up: the event came before the token was stored (here no event comes at all),
    and the wait's own look at the stack, made after the token is stored, resumes it."""
    deployment.events.disable_rule(Name=STACK_STATUS_RULE)
    monkeypatch.setenv("STACK_POLL_INTERVAL_SECONDS", "30")
    deployment.reset_wiring()

    operation = run(deployment, "CreateRepositoryFunction", api_events.create_repository({"name": NAME}))

    assert operation["status"] == "SUCCEEDED"
    events = history(deployment, operation["operationId"])
    assert entered(events, "CheckStack") == [], "the wait did not time out"
    assert [check["state"] for check in checks(events)] == ["COMPLETE"]
    assert waits_left() == []


@pytest.mark.parametrize(
    ("function", "event"),
    [
        pytest.param("CreateRepositoryFunction", api_events.create_repository({"name": NAME}), id="create"),
        pytest.param(
            "PutLifecyclePolicyFunction",
            api_events.put_lifecycle_policy(NAME, {"untaggedExpiryDays": 3, "maxImageCount": 5}),
            id="lifecycle",
        ),
        pytest.param("DeleteRepositoryFunction", api_events.delete_repository(NAME, force=True), id="delete"),
    ],
)
def test_without_events_the_fallback_finishes_every_operation_within_one_interval(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch, function: str, event: dict[str, Any]
) -> None:
    """The rule disabled: each wait times out after one interval (1 s) and CheckStack looks at the
    stack; the first look after the stack settled (2.5 s) ends the operation."""
    if function != "CreateRepositoryFunction":
        run(deployment, "CreateRepositoryFunction", api_events.create_repository({"name": NAME}))
        push_image(deployment, NAME, "v1")
    deployment.events.disable_rule(Name=STACK_STATUS_RULE)
    deployment.drain()
    deployment.async_results.clear()
    monkeypatch.setenv("STACK_POLL_INTERVAL_SECONDS", "1")
    deployment.reset_wiring()
    emulator.options.settle_seconds = 2.5

    operation = run(deployment, function, event)

    assert operation["status"] == "SUCCEEDED", operation
    events = history(deployment, operation["operationId"])
    found = checks(events)
    looks = entered(events, "CheckStack")
    assert looks, "the waits timed out and the stack was checked"
    assert all(wait["check"]["value"]["waitSeconds"] == 1 for wait in entered(events, "AwaitStack"))
    # Every look but the last of each phase found the stack in progress: a phase ends at the first
    # look after it settled, one interval at most after it did.
    phases = [check for check in found if check["state"] != "IN_PROGRESS"]
    assert [check["state"] for check in phases] == ["COMPLETE"] * len(phases)
    in_progress_runs = "".join("c" if check["state"] != "IN_PROGRESS" else "i" for check in found)
    assert in_progress_runs.endswith("c")
    assert max(len(run_) for run_ in in_progress_runs.split("c")) <= 2.5 + 1  # settle / interval, + 1
    assert resumed_by_events(deployment) == []
    assert waits_left() == []


def stack_event(status: str, token: str, stack_id: str = STACK_ARN) -> dict[str, Any]:
    """An EventBridge event as the rule delivers it (CloudFormation User Guide's example, filled in)."""
    return {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "CloudFormation Stack Status Change",
        "source": "aws.cloudformation",
        "account": "123456789012",
        "time": "2026-11-28T18:43:48Z",
        "region": "us-east-1",
        "resources": [stack_id],
        "detail": {
            "stack-id": stack_id,
            "status-details": {"status": status, "status-reason": ""},
            "client-request-token": token,
        },
    }


def test_events_that_end_no_wait_change_nothing(deployment: Deployment) -> None:
    """A stack nobody waits on, an intermediate status, another change's event, a task already
    ended: each is a no-op, and the wait of another change stays where it is."""
    catalog = Catalog(CATALOG_TABLE_NAME)
    task = {"workflow": {}, "startedAt": "2026-11-28T00:00:00Z"}
    wait = Wait(STACK_ARN, "token-of-an-ended-task", "apply-op-1", "op-1", json.dumps(task))
    catalog.watch(wait, datetime.now(UTC) + timedelta(hours=1))

    nobody = deployment.invoke(STATUS_FUNCTION, stack_event("CREATE_COMPLETE", "apply-op-9", STACK_ARN + "9"))
    intermediate = deployment.invoke(
        STATUS_FUNCTION, stack_event("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "apply-op-1")
    )
    other_change = deployment.invoke(STATUS_FUNCTION, stack_event("UPDATE_COMPLETE", "empty-op-1"))

    assert [nobody, intermediate, other_change] == [{"resumed": False}] * 3
    assert catalog.waiting(STACK_ARN) == wait


def test_a_duplicate_event_resumes_nothing_twice(slow_stacks: Deployment) -> None:
    operation = run(slow_stacks, "CreateRepositoryFunction", api_events.create_repository({"name": NAME}))
    stack_id = slow_stacks.cfn.describe_stacks(StackName=TEAM_AGENT_A_DEV_STACK)["Stacks"][0]["StackId"]

    again = slow_stacks.invoke(
        STATUS_FUNCTION, stack_event("CREATE_COMPLETE", f"apply-{operation['operationId']}", stack_id)
    )

    assert again == {"resumed": False}
