"""EventBridge provisioning: the same upsert as POST /repositories, and a result event always."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from botocore.exceptions import ClientError
from local import emulator

from agentcore_ecr.aws.ecr import Ecr
from tests.deployment import Deployment, load_event
from tests.unit.test_workflow import other_tools_stacks, without_client_backoff


def provisioning(detail: dict[str, Any]) -> dict[str, Any]:
    event = copy.deepcopy(load_event("provisioning_intake"))
    event["detail"] = detail
    return event


def intake(deployment: Deployment, event: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = deployment.invoke("ProvisioningIntakeFunction", event)
    return result


def test_a_provisioning_request_creates_the_repository_and_emits_succeeded(deployment: Deployment) -> None:
    operation = intake(deployment, load_event("provisioning_intake"))

    assert operation["status"] == "RUNNING"
    assert operation["action"] == "CREATE"
    execution = deployment.wait(operation["operationId"])
    assert execution["status"] == "SUCCEEDED"
    events = deployment.result_events()
    assert [e["detail-type"] for e in events] == ["Repository Operation Succeeded"]
    assert events[0]["detail"]["repository"]["name"] == "team/agent-c"
    assert events[0]["detail"]["repository"]["tags"] == {"team": "agents"}


def test_the_idempotency_key_of_the_event_is_honoured(deployment: Deployment) -> None:
    first = intake(deployment, load_event("provisioning_intake"))
    deployment.wait(first["operationId"])

    again = intake(deployment, load_event("provisioning_intake"))

    assert again["operationId"] == first["operationId"]
    assert again["status"] == "SUCCEEDED"


def test_a_request_past_the_stack_quota_ends_in_a_failed_event_with_its_code(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The intake starts the same workflow: CloudFormation's refusal at the account's stack quota
    ends it FAILED with StackLimitExceeded, in the operation and its event, and nothing stays."""
    monkeypatch.setattr(emulator.options, "stack_quota", 1)
    without_client_backoff(monkeypatch)
    other_tools_stacks(deployment, 1)

    operation = intake(deployment, load_event("provisioning_intake"))

    assert operation["status"] == "RUNNING"
    assert deployment.wait(operation["operationId"])["status"] == "FAILED"
    events = deployment.result_events()
    assert [e["detail-type"] for e in events] == ["Repository Operation Failed"]
    detail = events[0]["detail"]
    assert detail["operationId"] == operation["operationId"]
    assert detail["repositoryName"] == "team/agent-c"
    assert detail["error"]["code"] == "StackLimitExceeded"
    assert "L-0485CB21" in detail["error"]["message"]
    assert deployment.catalog_item("team/agent-c") is None
    assert [s["StackName"] for s in deployment.cfn.describe_stacks()["Stacks"]] == ["other-tool-0"]


def test_an_invalid_request_ends_in_a_failed_event(deployment: Deployment) -> None:
    operation = intake(deployment, load_event("provisioning_intake_invalid"))

    assert operation["status"] == "FAILED"
    events = deployment.result_events()
    assert [e["detail-type"] for e in events] == ["Repository Operation Failed"]
    detail = events[0]["detail"]
    assert detail["error"]["code"] == "ValidationError"
    assert "name" in detail["error"]["message"]
    assert detail["repositoryName"] == "-bad-"
    assert deployment.sfn.list_executions(stateMachineArn=deployment.state_machine_arn)["executions"] == []


@pytest.mark.parametrize(
    "detail",
    [
        {"name": "ok-name", "environment": "qa"},
        {"name": 42},
        {},
        {"name": "ok-name", "idempotencyKey": "bad key!"},
    ],
    ids=["environment-not-allowed", "name-not-a-string", "empty", "bad-key"],
)
def test_every_invalid_request_is_reported(deployment: Deployment, detail: dict[str, Any]) -> None:
    intake(deployment, provisioning(detail))

    events = deployment.result_events()
    assert len(events) == 1
    assert events[0]["detail"]["error"]["code"] == "ValidationError"


def test_a_refused_request_ends_in_a_failed_event(deployment: Deployment) -> None:
    deployment.ecr.create_repository(repositoryName="outside")

    intake(deployment, provisioning({"name": "outside"}))

    events = deployment.result_events()
    assert events[0]["detail-type"] == "Repository Operation Failed"
    assert events[0]["detail"]["error"]["code"] == "RepositoryExists"


def test_an_aws_fault_raises_so_eventbridge_retries(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: Ecr, name: str) -> None:
        raise ClientError(
            {"Error": {"Code": "ServiceUnavailable", "Message": "down"}}, "DescribeRepositories"
        )

    monkeypatch.setattr(Ecr, "describe", broken)

    with pytest.raises(ClientError):
        intake(deployment, load_event("provisioning_intake"))
    assert deployment.result_events() == []


# At-least-once delivery ---------------------------------------------------------------------


def delivery(detail: dict[str, Any], event_id: str) -> dict[str, Any]:
    event = provisioning(detail)
    event["id"] = event_id
    return event


def operations_started(deployment: Deployment) -> int:
    return len(deployment.sfn.list_executions(stateMachineArn=deployment.state_machine_arn)["executions"])


@pytest.mark.parametrize(
    "detail",
    [{"name": "team/agent-c"}, {"name": "team/agent-c", "idempotencyKey": "pipeline-run-7"}],
    ids=["without-key", "with-key"],
)
def test_an_event_delivered_twice_is_one_operation(deployment: Deployment, detail: dict[str, Any]) -> None:
    """EventBridge repeats an event with its id: the repeat finds the first's operation."""
    first = intake(deployment, delivery(detail, "3f0e8a52-0000-4000-8000-000000000001"))
    again = intake(deployment, delivery(detail, "3f0e8a52-0000-4000-8000-000000000001"))

    assert again["operationId"] == first["operationId"]
    assert again["status"] in ("RUNNING", "SUCCEEDED")
    assert operations_started(deployment) == 1
    assert deployment.wait(first["operationId"])["status"] == "SUCCEEDED"
    assert [e["detail-type"] for e in deployment.result_events()] == ["Repository Operation Succeeded"]


def test_two_events_for_one_repository_stay_two_requests(deployment: Deployment) -> None:
    """Distinct events (distinct ids) are distinct requests: the second, while the first runs, is
    refused with OperationInProgress and says so in its own Failed event."""
    emulator.options.settle_seconds = 3
    first = intake(deployment, delivery({"name": "team/agent-c"}, "3f0e8a52-0000-4000-8000-00000000000a"))
    second = intake(deployment, delivery({"name": "team/agent-c"}, "3f0e8a52-0000-4000-8000-00000000000b"))

    assert first["status"] == "RUNNING"
    assert second["status"] == "FAILED"
    assert second["error"]["code"] == "OperationInProgress"
    assert second["operationId"] != first["operationId"]
    assert deployment.wait(first["operationId"])["status"] == "SUCCEEDED"
    events = {e["detail"]["operationId"]: e for e in deployment.result_events()}
    assert events[first["operationId"]]["detail-type"] == "Repository Operation Succeeded"
    assert events[second["operationId"]]["detail-type"] == "Repository Operation Failed"
    assert events[second["operationId"]]["detail"]["error"]["code"] == "OperationInProgress"
