"""Stacks CloudFormation will not update, and retries that meet their own change: the way out of
each status through the API (CloudFormation User Guide, "Stack status codes"), and the
ClientRequestToken that makes a retried step the same step. The ASL runs on moto with the real
task code, as in test_workflow.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from local import emulator
from local.emulator import faults

from agentcore_ecr.aws.stepfunctions import Execution, Executions
from tests import api_events
from tests.deployment import ROOT, Deployment, load_event
from tests.examples import TEAM_AGENT_A_DEV_STACK as STACK
from tests.unit.test_emulator_rules import ecr_role
from tests.unit.test_workflow import push_image, run

NAME = "team/agent-a"
TEMPLATE = ROOT / "functions" / "agentcore_ecr" / "templates" / "repository.yaml"


def created(deployment: Deployment) -> dict[str, Any]:
    operation = run(deployment, "CreateRepositoryFunction", api_events.create_repository({"name": NAME}))
    assert operation["status"] == "SUCCEEDED", operation
    return operation


def stack_status(deployment: Deployment) -> str:
    return str(deployment.cfn.describe_stacks(StackName=STACK)["Stacks"][0]["StackStatus"])


def states_entered(deployment: Deployment, operation_id: str) -> list[str]:
    history = deployment.sfn.get_execution_history(executionArn=deployment.execution_arn(operation_id))
    return [
        e["stateEnteredEventDetails"]["name"] for e in history["events"] if "stateEnteredEventDetails" in e
    ]


def template_and_parameters(deployment: Deployment, **changes: str) -> dict[str, Any]:
    stack = deployment.cfn.describe_stacks(StackName=STACK)["Stacks"][0]
    previous = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    return {
        "TemplateBody": deployment.cfn.get_template(StackName=STACK)["TemplateBody"],
        "Parameters": [
            {"ParameterKey": key, "ParameterValue": value} for key, value in {**previous, **changes}.items()
        ],
    }


@pytest.fixture
def enforced(deployment: Deployment, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """CloudFormation's resource handlers authorized with the stack's role, as on AWS. (The unit
    deployment's state machine role may do anything; its functions run with unchecked keys.)"""
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    boto3.client("iam", region_name="us-east-1").put_role_policy(
        RoleName="agentcore-ecr-test", PolicyName="everything", PolicyDocument=json.dumps(document)
    )
    monkeypatch.setattr(emulator.options, "enforce_iam", True)
    yield


# DELETE_FAILED: a delete met an image pushed meanwhile ------------------------------------------


@pytest.fixture
def delete_failed(deployment: Deployment) -> Deployment:
    """A repository whose last delete failed: it raced an image push (the stack ends DELETE_FAILED)."""
    created(deployment)
    push_image(deployment, NAME, "v1")
    push_image(deployment, NAME, "v2")
    deployment.cfn.delete_stack(StackName=STACK)
    assert stack_status(deployment) == "DELETE_FAILED"
    deployment.result_events()
    return deployment


def test_force_delete_of_a_delete_failed_stack_empties_the_repository_then_deletes(
    delete_failed: Deployment,
) -> None:
    operation = run(delete_failed, "DeleteRepositoryFunction", api_events.delete_repository(NAME, force=True))

    assert operation["status"] == "SUCCEEDED", operation
    entered = states_entered(delete_failed, operation["operationId"])
    assert entered.count("StartStackChange") == 2, "a batch of images deleted directly, then the delete"
    with pytest.raises(delete_failed.ecr.exceptions.RepositoryNotFoundException):
        delete_failed.ecr.describe_repositories(repositoryNames=[NAME])
    assert delete_failed.cfn.describe_stacks()["Stacks"] == []


def test_force_delete_fails_at_once_when_ecr_refuses_to_delete_an_image(
    delete_failed: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """BatchDeleteImage answers 200 with the images it did not delete in `failures[]`; a KmsError
    never goes away by itself, so the operation fails with it at once, not after StackTimeout."""
    monkeypatch.setenv("STACK_TIMEOUT_MINUTES", "0.25")  # what a purge retried for ever would meet
    delete_failed.reset_wiring()
    faults.fail_image_delete(NAME, "v1", code="KmsError", reason="The key is disabled (injected)")
    listed = delete_failed.ecr.list_images(repositoryName=NAME)["imageIds"]
    digest = next(image["imageDigest"] for image in listed if image["imageTag"] == "v1")

    operation = run(delete_failed, "DeleteRepositoryFunction", api_events.delete_repository(NAME, force=True))

    assert operation["status"] == "FAILED", operation
    error = operation["error"]
    assert error["code"] == "StackFailed", error
    assert "KmsError" in error["message"]
    assert "The key is disabled (injected)" in error["message"]
    assert f"v1@{digest}" in error["message"], "the image, by tag and digest"
    assert states_entered(delete_failed, operation["operationId"]).count("StartStackChange") == 1, "no retry"
    images = delete_failed.ecr.list_images(repositoryName=NAME)["imageIds"]
    assert [image["imageTag"] for image in images] == ["v1"], "the other image of the batch is deleted"
    assert stack_status(delete_failed) == "DELETE_FAILED"


def test_delete_of_a_delete_failed_stack_without_force_keeps_refusing_while_images_exist(
    delete_failed: Deployment,
) -> None:
    response = delete_failed.call("DeleteRepositoryFunction", api_events.delete_repository(NAME))

    assert response.status == 409
    assert response.body["error"]["code"] == "RepositoryNotEmpty"
    assert stack_status(delete_failed) == "DELETE_FAILED"


@pytest.mark.parametrize(
    ("function", "event"),
    [
        pytest.param("CreateRepositoryFunction", api_events.create_repository({"name": NAME}), id="upsert"),
        pytest.param(
            "PutLifecyclePolicyFunction",
            api_events.put_lifecycle_policy(NAME, {"untaggedExpiryDays": 3}),
            id="lifecycle",
        ),
    ],
)
def test_changes_to_a_delete_failed_stack_are_refused_with_the_way_out(
    delete_failed: Deployment, function: str, event: dict[str, Any]
) -> None:
    response = delete_failed.call(function, event)

    assert response.status == 409, response.body
    assert response.body["error"]["code"] == "StackNotUpdatable"
    assert "DELETE_FAILED" in response.body["error"]["message"]
    assert "force=true" in response.body["error"]["message"]
    assert (
        delete_failed.sfn.list_executions(stateMachineArn=delete_failed.state_machine_arn)["executions"][0][
            "status"
        ]
        == "SUCCEEDED"
    ), "nothing new was started"


# UPDATE_ROLLBACK_FAILED: an update and its rollback failed -----------------------------------------


@pytest.fixture
def rollback_failed(deployment: Deployment, enforced: None, monkeypatch: pytest.MonkeyPatch) -> Deployment:
    """An update made with a role lacking an update permission: it failed, and so did its rollback."""
    created(deployment)
    lacking = ecr_role("lacking", without={"ecr:DeleteRepositoryPolicy"})
    deployment.cfn.update_stack(
        StackName=STACK, RoleARN=lacking, **template_and_parameters(deployment, MaxImageCount="7")
    )
    assert stack_status(deployment) == "UPDATE_ROLLBACK_FAILED"
    monkeypatch.setenv("CLOUDFORMATION_ROLE_ARN", ecr_role("complete"))
    deployment.reset_wiring()
    deployment.result_events()
    return deployment


def test_a_lifecycle_change_continues_the_stuck_rollback_then_applies(rollback_failed: Deployment) -> None:
    operation = run(
        rollback_failed,
        "PutLifecyclePolicyFunction",
        api_events.put_lifecycle_policy(NAME, {"untaggedExpiryDays": 3, "maxImageCount": 4}),
    )

    assert operation["status"] == "SUCCEEDED", operation
    assert stack_status(rollback_failed) == "UPDATE_COMPLETE"
    policy = rollback_failed.call("GetLifecyclePolicyFunction", api_events.get_lifecycle_policy(NAME)).body
    assert (policy["untaggedExpiryDays"], policy["maxImageCount"]) == (3, 4)
    events = rollback_failed.cfn.describe_stack_events(StackName=STACK)["StackEvents"]
    continued = [e for e in events if e.get("ResourceStatusReason") == "Continue rollback requested by user."]
    assert continued and continued[0]["ClientRequestToken"] == f"recover-{operation['operationId']}"


def test_an_upsert_continues_the_stuck_rollback_then_applies(rollback_failed: Deployment) -> None:
    operation = run(
        rollback_failed,
        "CreateRepositoryFunction",
        api_events.create_repository({"name": NAME, "imageTagMutability": "MUTABLE"}),
    )

    assert operation["status"] == "SUCCEEDED", operation
    assert operation["action"] == "UPDATE"
    assert operation["repository"]["imageTagMutability"] == "MUTABLE"


def test_a_rollback_that_stays_stuck_fails_the_operation_with_the_way_out(
    rollback_failed: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "CLOUDFORMATION_ROLE_ARN", ecr_role("still-lacking", without={"ecr:DeleteRepositoryPolicy"})
    )
    rollback_failed.reset_wiring()

    operation = run(
        rollback_failed,
        "PutLifecyclePolicyFunction",
        api_events.put_lifecycle_policy(NAME, {"untaggedExpiryDays": 3}),
    )

    assert operation["status"] == "FAILED"
    assert operation["error"]["code"] == "StackFailed"
    assert "ecr:DeleteRepositoryPolicy" in operation["error"]["message"]
    assert "The stack is now UPDATE_ROLLBACK_FAILED" in operation["error"]["message"]


# ROLLBACK_FAILED: a create failed and could not remove what it had made -----------------------------


def test_a_create_over_a_rollback_failed_stack_deletes_and_recreates_it(
    deployment: Deployment, enforced: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a create whose handler made the repository, failed, and could not delete it
    parameters = [
        {"ParameterKey": "RepositoryName", "ParameterValue": NAME},
        {"ParameterKey": "Environment", "ParameterValue": "dev"},
    ]
    deployment.cfn.create_stack(
        StackName=STACK,
        TemplateBody=TEMPLATE.read_text(),
        Parameters=parameters,
        RoleARN=ecr_role("create-only", without={"ecr:SetRepositoryPolicy", "ecr:DeleteRepository"}),
    )
    assert stack_status(deployment) == "ROLLBACK_FAILED"
    monkeypatch.setenv("CLOUDFORMATION_ROLE_ARN", ecr_role("complete"))
    deployment.reset_wiring()

    operation = run(deployment, "CreateRepositoryFunction", api_events.create_repository({"name": NAME}))

    assert operation["status"] == "SUCCEEDED", operation
    assert operation["action"] == "CREATE"
    assert states_entered(deployment, operation["operationId"]).count("StartStackChange") == 2
    assert stack_status(deployment) == "CREATE_COMPLETE"


# A retried step is the same step (ClientRequestToken) ------------------------------------------------


def start_event(action: str, **workflow: Any) -> dict[str, Any]:
    event = load_event("start_stack_change_create")
    event["workflow"] = {**event["workflow"], "action": action, **workflow}
    return event


def test_a_retried_start_watches_the_change_its_first_attempt_made(deployment: Deployment) -> None:
    # Step Functions retries a task whose answer it lost: the same payload, while the stack works.
    emulator.options.settle_seconds = 30
    event = load_event("start_stack_change_create")

    first = deployment.invoke("StartStackChangeFunction", event)
    retried = deployment.invoke("StartStackChangeFunction", event)

    assert retried == first
    events = deployment.cfn.describe_stack_events(StackName=first["stackId"])["StackEvents"]
    assert [e["ResourceStatus"] for e in events].count("CREATE_IN_PROGRESS") == 1
    assert {e["ClientRequestToken"] for e in events} == {f"apply-{event['workflow']['operationId']}"}


def test_a_retried_start_of_a_change_that_already_ended_watches_it_too(deployment: Deployment) -> None:
    event = load_event("start_stack_change_create")
    first = deployment.invoke("StartStackChangeFunction", event)

    retried = deployment.invoke("StartStackChangeFunction", event)

    assert retried == first, "not a no-op update of the stack it has just created"


def test_a_change_by_someone_else_in_progress_is_operation_in_progress(deployment: Deployment) -> None:
    emulator.options.settle_seconds = 30
    deployment.invoke("StartStackChangeFunction", load_event("start_stack_change_create"))
    other = load_event("start_stack_change_create")
    other["workflow"]["operationId"] = "0e1f2a3b-4c5d-4e6f-8a7b-9c0d1e2f3a4b"

    with pytest.raises(Exception, match="is busy"):
        deployment.invoke("StartStackChangeFunction", other)


# The replay wins over eventual consistency ------------------------------------------------------------


def test_a_retried_request_meets_its_execution_though_step_functions_does_not_show_it_yet(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator.options.settle_seconds = 5
    first = deployment.call("CreateRepositoryFunction", api_events.create_repository({"name": NAME}, "key-1"))
    assert first.status == 202
    # DescribeExecution is eventually consistent: the retry's first look misses it.
    describe = Executions.describe
    misses = iter([True])

    def lagging(self: Executions, name: str) -> Execution | None:
        return None if next(misses, False) else describe(self, name)

    monkeypatch.setattr(Executions, "describe", lagging)

    again = deployment.call("CreateRepositoryFunction", api_events.create_repository({"name": NAME}, "key-1"))

    assert again.status == 202, again.body
    assert again.body["operationId"] == first.body["operationId"]
