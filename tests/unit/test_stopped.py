"""Every execution ends in exactly one result event: one aborted by an operator, timed out by Step
Functions, failed by an error no `Catch` takes, or whose own event EventBridge refused.

Step Functions' own status event (emulator patch 19) goes to the default bus; the template's rule
hands it to OperationStoppedFunction, which emits the result event the execution did not.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError
from local import emulator
from local.emulator import faults

from tests import api_events
from tests.deployment import Deployment

NAME = "team/agent-a"
STATUS_CHANGE = "Step Functions Execution Status Change"
QUOTA = 256 * 1024  # Step Functions' payload quota (UTF-8 bytes of a state's input or output)


def rule_pattern(deployment: Deployment) -> dict[str, Any]:
    """The template's rule for stopped executions, with the deployed state machine's ARN."""
    events = deployment.template["Resources"]["OperationStoppedFunction"]["Properties"]["Events"]
    pattern: dict[str, Any] = json.loads(json.dumps(events["ExecutionStopped"]["Properties"]["Pattern"]))
    assert pattern["detail"]["stateMachineArn"] == [{"Ref": "RepositoryWorkflow"}]
    pattern["detail"]["stateMachineArn"] = [deployment.state_machine_arn]
    return pattern


def capture_default_bus(deployment: Deployment, pattern: dict[str, Any]) -> str:
    """A queue behind a rule on the default bus with `pattern` (where the function's rule is)."""
    url: str = deployment.sqs.create_queue(QueueName="status-changes")["QueueUrl"]
    arn = deployment.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    deployment.events.put_rule(Name="status-changes", EventPattern=json.dumps(pattern))
    deployment.events.put_targets(Rule="status-changes", Targets=[{"Id": "queue", "Arn": arn}])
    return url


def captured(deployment: Deployment, url: str, wait: float = 10) -> list[dict[str, Any]]:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        messages = deployment.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if messages:
            return [json.loads(message["Body"]) for message in messages]
        time.sleep(0.05)
    return []


def waiting(deployment: Deployment, operation_id: str) -> None:
    """Until the execution waits on its stack (moto cannot stop an execution still setting up)."""
    arn = deployment.execution_arn(operation_id)
    for _ in range(200):
        history = deployment.sfn.get_execution_history(executionArn=arn)["events"]
        if any(event["type"] == "TaskSubmitted" for event in history):  # in AwaitStack
            return
        time.sleep(0.05)
    raise AssertionError(f"{operation_id} never waited on its stack")


def test_an_aborted_operation_ends_in_a_failed_event(deployment: Deployment) -> None:
    queue = capture_default_bus(deployment, rule_pattern(deployment))
    emulator.options.settle_seconds = float("inf")  # the stack never settles: the operation waits
    accepted = deployment.call("CreateRepositoryFunction", api_events.create_repository({"name": NAME}))
    assert accepted.status == 202
    operation_id = accepted.body["operationId"]
    waiting(deployment, operation_id)

    deployment.sfn.stop_execution(executionArn=deployment.execution_arn(operation_id), error="Operator")

    [status_change] = captured(deployment, queue)
    assert status_change["source"] == "aws.states"
    assert status_change["detail-type"] == STATUS_CHANGE
    assert status_change["detail"]["status"] == "ABORTED"
    assert status_change["resources"] == [deployment.execution_arn(operation_id)]
    operation = deployment.invoke("OperationStoppedFunction", status_change)
    [result] = deployment.result_events()
    assert result["detail-type"] == "Repository Operation Failed"
    assert result["detail"] == operation
    assert operation["operationId"] == operation_id
    assert operation["status"] == "ABORTED"
    assert operation["action"] == "CREATE"
    assert operation["repositoryName"] == NAME
    assert operation["error"]["code"] == "Aborted"
    assert operation["stoppedAt"] is not None
    # GET /operations tells the same.
    got = deployment.call("GetOperationFunction", api_events.get_operation(operation_id))
    assert got.body["status"] == "ABORTED"
    assert got.body["error"] == operation["error"]


def test_a_timed_out_operation_ends_in_a_failed_event(deployment: Deployment) -> None:
    """An execution past the ASL's TimeoutSeconds: TIMED_OUT, then a Failed event (TimedOut)."""
    definition = json.loads(
        deployment.sfn.describe_state_machine(stateMachineArn=deployment.state_machine_arn)["definition"]
    )
    assert definition["TimeoutSeconds"] >= 12 * 3600 + 60, "beyond the longest StackTimeoutMinutes"
    definition["TimeoutSeconds"] = 1  # the same workflow, reaching its limit within the test
    role = deployment.sfn.describe_state_machine(stateMachineArn=deployment.state_machine_arn)["roleArn"]
    deployment.sfn.delete_state_machine(stateMachineArn=deployment.state_machine_arn)
    deployment.state_machine_arn = deployment.sfn.create_state_machine(
        name="agentcore-ecr-repository-workflow", definition=json.dumps(definition), roleArn=role
    )["stateMachineArn"]
    queue = capture_default_bus(deployment, rule_pattern(deployment))
    emulator.options.settle_seconds = float("inf")
    accepted = deployment.call("CreateRepositoryFunction", api_events.create_repository({"name": NAME}))
    operation_id = accepted.body["operationId"]

    assert deployment.wait(operation_id, timeout=20)["status"] == "TIMED_OUT"
    [status_change] = captured(deployment, queue)
    operation = deployment.invoke("OperationStoppedFunction", status_change)

    assert operation["status"] == "TIMED_OUT"
    assert operation["error"]["code"] == "TimedOut"
    assert [e["detail"]["operationId"] for e in deployment.result_events()] == [operation_id]


def test_the_rule_ignores_executions_that_succeed(deployment: Deployment) -> None:
    """SUCCEEDED ends in the workflow's own result event: the rule does not match it."""
    queue = capture_default_bus(deployment, rule_pattern(deployment))
    everything = capture_default_bus_all(deployment)
    accepted = deployment.call("CreateRepositoryFunction", api_events.create_repository({"name": NAME}))
    assert deployment.wait(accepted.body["operationId"])["status"] == "SUCCEEDED"

    statuses: list[str] = []
    for _ in range(100):  # the SUCCEEDED event follows the status by a moment
        statuses += [event["detail"]["status"] for event in captured(deployment, everything, wait=0.1)]
        if "SUCCEEDED" in statuses:
            break
    assert statuses == ["RUNNING", "SUCCEEDED"], "the emulator announces every status change"
    assert captured(deployment, queue, wait=0.5) == []


def capture_default_bus_all(deployment: Deployment) -> str:
    url: str = deployment.sqs.create_queue(QueueName="all-status-changes")["QueueUrl"]
    arn = deployment.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    deployment.events.put_rule(Name="all", EventPattern=json.dumps({"source": ["aws.states"]}))
    deployment.events.put_targets(Rule="all", Targets=[{"Id": "queue", "Arn": arn}])
    return url


@pytest.mark.parametrize("status", ["RUNNING", "SUCCEEDED"])
def test_the_function_refuses_a_status_it_is_not_for(deployment: Deployment, status: str) -> None:
    event = {
        "version": "0",
        "id": "5f2a1e6c-0000-4000-8000-000000000001",
        "detail-type": STATUS_CHANGE,
        "source": "aws.states",
        "account": "123456789012",
        "time": "2026-11-27T06:45:05Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "executionArn": "arn:aws:states:us-east-1:123456789012:execution:m:x",
            "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:m",
            "name": "x",
            "status": status,
            "startDate": 1795800000000,
            "input": "{}",
        },
    }
    with pytest.raises(ValueError, match="not stopped"):
        deployment.invoke("OperationStoppedFunction", event)
    assert deployment.result_events() == []


def status_event(deployment: Deployment, queue: str) -> dict[str, Any]:
    [status_change] = captured(deployment, queue)
    assert status_change["detail-type"] == STATUS_CHANGE
    return status_change


def lock_released(deployment: Deployment) -> bool:
    item = deployment.catalog_item(NAME)
    return item is None or "operationId" not in item


def test_a_failure_the_workflow_announced_gets_no_second_event(deployment: Deployment) -> None:
    """A stack that fails: the workflow emits Failed and ends FAILED with the operation's code; the
    rule hands the status event to the function, which emits nothing more."""
    queue = capture_default_bus(deployment, rule_pattern(deployment))
    deployment.ecr.create_repository(repositoryName=NAME)  # the stack cannot make it: StackFailed

    ended = deployment.start_workflow({"name": NAME})

    assert ended["status"] == "FAILED"
    assert ended["error"] == "StackFailed"

    change = status_event(deployment, queue)
    assert change["detail"]["error"] == "StackFailed"
    assert deployment.invoke("OperationStoppedFunction", change) is None
    [result] = deployment.result_events()
    assert result["detail-type"] == "Repository Operation Failed"
    assert result["detail"]["error"]["code"] == "StackFailed"


def test_a_result_over_the_payload_quota_ends_in_one_failed_event(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A step's result over 256 KiB is States.DataLimitExceeded, which no Catch takes (emulator
    patch 27): the execution ends FAILED without its event; the function emits Failed (Internal)
    and releases the repository's lock."""
    # Imported here, not at collection: a handler checks at import the settings the test sets.
    from agentcore_ecr.handlers import start_stack_change  # noqa: PLC0415

    original = start_stack_change.lambda_handler

    def oversized(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {**original(event, context), "padding": "x" * QUOTA}

    monkeypatch.setattr(start_stack_change, "lambda_handler", oversized)
    queue = capture_default_bus(deployment, rule_pattern(deployment))
    accepted = deployment.call("CreateRepositoryFunction", api_events.create_repository({"name": NAME}))
    operation_id = accepted.body["operationId"]
    ended = deployment.wait(operation_id)
    assert ended["status"] == "FAILED"
    assert ended["error"] == "States.DataLimitExceeded", "no Catch of the workflow takes it"
    assert deployment.result_events() == []
    assert not lock_released(deployment)

    operation = deployment.invoke("OperationStoppedFunction", status_event(deployment, queue))

    [result] = deployment.result_events()
    assert result["detail-type"] == "Repository Operation Failed"
    assert result["detail"] == operation
    assert operation["operationId"] == operation_id
    assert operation["status"] == "FAILED"
    assert operation["error"]["code"] == "Internal"
    assert lock_released(deployment)
    got = deployment.call("GetOperationFunction", api_events.get_operation(operation_id))
    assert got.body["status"] == "FAILED"
    assert got.body["error"] == operation["error"]


def quick_emit_retries(deployment: Deployment) -> None:
    """The same workflow, its Emit states retrying once after a second (six times, over about a
    minute, as deployed)."""
    described = deployment.sfn.describe_state_machine(stateMachineArn=deployment.state_machine_arn)
    definition = json.loads(described["definition"])
    for name in ("EmitSucceeded", "EmitFailed", "EmitFallbackFailed"):
        [retry] = definition["States"][name]["Retry"]
        assert retry["MaxAttempts"] == 6
        retry.update(MaxAttempts=1, IntervalSeconds=1)
    deployment.sfn.delete_state_machine(stateMachineArn=deployment.state_machine_arn)
    deployment.state_machine_arn = deployment.sfn.create_state_machine(
        name="agentcore-ecr-repository-workflow",
        definition=json.dumps(definition),
        roleArn=described["roleArn"],
    )["stateMachineArn"]


def test_an_event_bus_outage_at_the_emit_state_ends_in_one_result_event(deployment: Deployment) -> None:
    """EventBridge refuses the result event past the Emit state's retries: the repository was made,
    the execution ends FAILED (ResultNotDelivered) with that operation as its cause, GET
    /operations tells it succeeded, and the function emits its Succeeded event once EventBridge is
    back; while it is not, the function fails, so Lambda retries it (then its dead-letter queue)."""
    quick_emit_retries(deployment)
    queue = capture_default_bus(deployment, rule_pattern(deployment))
    outage = faults.inject("events:PutEvents", count=2, code="InternalException", status=500)
    accepted = deployment.call("CreateRepositoryFunction", api_events.create_repository({"name": NAME}))
    operation_id = accepted.body["operationId"]
    ended = deployment.wait(operation_id)
    assert outage.answered == 2, "the Emit state tried, and retried"
    assert ended["status"] == "FAILED"
    assert ended["error"] == "ResultNotDelivered"
    assert deployment.result_events() == []
    got = deployment.call("GetOperationFunction", api_events.get_operation(operation_id))
    assert got.body["status"] == "SUCCEEDED"
    assert got.body["repository"]["name"] == NAME
    change = status_event(deployment, queue)

    faults.inject("events:PutEvents", count=100, code="InternalException", status=500)  # still down
    with pytest.raises(ClientError, match="InternalException"):
        deployment.invoke("OperationStoppedFunction", change)  # past botocore's retries: Lambda's
    assert deployment.result_events() == []
    faults.clear()
    operation = deployment.invoke("OperationStoppedFunction", change)  # back

    [result] = deployment.result_events()
    assert result["detail-type"] == "Repository Operation Succeeded"
    assert result["detail"] == operation == got.body
    assert lock_released(deployment)
