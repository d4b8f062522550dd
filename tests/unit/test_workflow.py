"""The state machine itself: the ASL run by moto's executor with the task steps' real code."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.retries.standard import ExponentialBackoff
from local import emulator

from agentcore_ecr.aws.cloudformation import Stacks
from agentcore_ecr.domain.errors import Throttled
from tests import api_events
from tests.deployment import ROOT, Deployment
from tests.examples import TEAM_AGENT_A_DEV_STACK

NAME = "team/agent-a"
STACK = TEAM_AGENT_A_DEV_STACK


def run(deployment: Deployment, function: str, event: dict[str, Any]) -> dict[str, Any]:
    """Call an API function, then wait for the execution it started; returns the final Operation."""
    accepted = deployment.call(function, event)
    assert accepted.status == 202, accepted.body
    assert accepted.headers["Location"] == f"/operations/{accepted.body['operationId']}"
    deployment.wait(accepted.body["operationId"])
    final = deployment.call("GetOperationFunction", api_events.get_operation(accepted.body["operationId"]))
    assert final.status == 200
    operation: dict[str, Any] = final.body
    return operation


def stack_parameters(deployment: Deployment, stack_name: str) -> dict[str, str]:
    stack = deployment.cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    return {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}


def other_tools_stacks(deployment: Deployment, count: int) -> list[str]:
    """Stacks this service did not make: they count against the account's stack quota all the same."""
    template = json.dumps({"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}})
    return [
        deployment.cfn.create_stack(StackName=f"other-tool-{index}", TemplateBody=template)["StackId"]
        for index in range(count)
    ]


def without_client_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's standard mode retries LimitExceededException as throttling (5 retries, about 15 s
    of jittered backoff at 1 s scale): the retries are kept, their waits are not."""
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda _self, _context: 0.0)


def push_image(deployment: Deployment, name: str, tag: str) -> None:
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"digest": f"sha256:{tag:0>64}"},
        "layers": [],
    }
    deployment.ecr.put_image(repositoryName=name, imageManifest=json.dumps(manifest), imageTag=tag)


def test_create_builds_the_stack_and_emits_succeeded(deployment: Deployment) -> None:
    operation = run(
        deployment,
        "CreateRepositoryFunction",
        api_events.create_repository(
            {
                "name": NAME,
                "lifecyclePolicy": {"untaggedExpiryDays": 7, "maxImageCount": 20},
                "tags": {"team": "a"},
            }
        ),
    )

    assert operation["status"] == "SUCCEEDED"
    assert operation["action"] == "CREATE"
    repository = operation["repository"]
    assert repository["stackName"] == STACK
    assert repository["stackStatus"] == "CREATE_COMPLETE"
    assert repository["lifecyclePolicy"] == {"untaggedExpiryDays": 7, "maxImageCount": 20}
    assert repository["tags"] == {"team": "a"}
    assert repository["imageScanning"] is True
    assert repository["imageTagMutability"] == "IMMUTABLE"
    assert repository["encryption"] == "KMS"
    assert repository["repositoryUri"].endswith(f"/{NAME}")
    ecr = deployment.ecr.describe_repositories(repositoryNames=[NAME])["repositories"][0]
    assert ecr["imageTagMutability"] == "IMMUTABLE"
    tags = {
        t["Key"]: t["Value"]
        for t in deployment.ecr.list_tags_for_resource(resourceArn=ecr["repositoryArn"])["tags"]
    }
    assert tags["ManagedBy"] == "agentcore-ecr"
    assert tags["Environment"] == "dev"
    events = deployment.result_events()
    assert [event["detail-type"] for event in events] == ["Repository Operation Succeeded"]
    assert events[0]["source"] == "agentcore.ecr"
    assert events[0]["detail"]["operationId"] == operation["operationId"]
    assert events[0]["detail"]["repository"]["name"] == NAME


def test_update_changes_the_stack(deployment: Deployment) -> None:
    run(deployment, "CreateRepositoryFunction", api_events.create_repository({"name": NAME}))

    operation = run(
        deployment,
        "CreateRepositoryFunction",
        api_events.create_repository({"name": NAME, "imageTagMutability": "MUTABLE", "imageScanning": False}),
    )

    assert operation["action"] == "UPDATE"
    assert operation["status"] == "SUCCEEDED"
    assert operation["repository"]["stackStatus"] == "UPDATE_COMPLETE"
    assert operation["repository"]["imageTagMutability"] == "MUTABLE"
    assert operation["repository"]["imageScanning"] is False
    parameters = stack_parameters(deployment, STACK)
    assert parameters["ImageTagMutability"] == "MUTABLE"
    assert parameters["ImageScanOnPush"] == "false"


def test_update_with_nothing_to_change_succeeds_without_waiting(deployment: Deployment) -> None:
    run(deployment, "CreateRepositoryFunction", api_events.create_repository({"name": NAME}))
    deployment.result_events()

    operation = run(deployment, "CreateRepositoryFunction", api_events.create_repository({"name": NAME}))

    assert operation["action"] == "UPDATE"
    assert operation["status"] == "SUCCEEDED"
    assert operation["repository"]["stackStatus"] == "CREATE_COMPLETE"
    history = deployment.sfn.get_execution_history(
        executionArn=deployment.execution_arn(operation["operationId"])
    )["events"]
    entered = [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]
    assert "WaitForStack" not in entered
    assert [e["detail-type"] for e in deployment.result_events()] == ["Repository Operation Succeeded"]


def test_lifecycle_update_changes_only_the_lifecycle_parameters(deployment: Deployment) -> None:
    run(
        deployment,
        "CreateRepositoryFunction",
        api_events.create_repository({"name": NAME, "imageTagMutability": "MUTABLE", "tags": {"team": "a"}}),
    )
    before = stack_parameters(deployment, STACK)

    operation = run(
        deployment,
        "PutLifecyclePolicyFunction",
        api_events.put_lifecycle_policy(NAME, {"untaggedExpiryDays": 3, "maxImageCount": 9}),
    )

    assert operation["action"] == "UPDATE_LIFECYCLE"
    assert operation["status"] == "SUCCEEDED"
    after = stack_parameters(deployment, STACK)
    assert after["UntaggedExpiryDays"] == "3"
    assert after["MaxImageCount"] == "9"
    assert {k: v for k, v in after.items() if k not in ("UntaggedExpiryDays", "MaxImageCount")} == {
        k: v for k, v in before.items() if k not in ("UntaggedExpiryDays", "MaxImageCount")
    }
    policy = deployment.call("GetLifecyclePolicyFunction", api_events.get_lifecycle_policy(NAME))
    assert policy.body["untaggedExpiryDays"] == 3
    assert policy.body["maxImageCount"] == 9
    assert operation["repository"]["tags"] == {"team": "a"}


def test_force_delete_empties_then_deletes(deployment: Deployment) -> None:
    run(deployment, "CreateRepositoryFunction", api_events.create_repository({"name": NAME}))
    push_image(deployment, NAME, "v1")
    push_image(deployment, NAME, "v2")
    deployment.result_events()

    operation = run(deployment, "DeleteRepositoryFunction", api_events.delete_repository(NAME, force=True))

    assert operation["action"] == "DELETE"
    assert operation["status"] == "SUCCEEDED", operation
    assert operation["repository"] is None
    with pytest.raises(deployment.ecr.exceptions.RepositoryNotFoundException):
        deployment.ecr.describe_repositories(repositoryNames=[NAME])
    assert deployment.cfn.describe_stacks()["Stacks"] == []
    history = deployment.sfn.get_execution_history(
        executionArn=deployment.execution_arn(operation["operationId"])
    )["events"]
    starts = [e for e in history if e.get("stateEnteredEventDetails", {}).get("name") == "StartStackChange"]
    assert len(starts) == 2, "an EmptyOnDelete update first, then the delete"
    assert [e["detail-type"] for e in deployment.result_events()] == ["Repository Operation Succeeded"]


def test_a_failed_create_leaves_rollback_complete_and_the_next_create_replaces_it(
    deployment: Deployment,
) -> None:
    # Given an ECR repository that CloudFormation cannot create (a name ECR already holds)...
    deployment.ecr.create_repository(repositoryName=NAME)
    cfn_template = (ROOT / "functions/agentcore_ecr/templates/repository.yaml").read_text()
    deployment.cfn.create_stack(
        StackName=STACK,
        TemplateBody=cfn_template,
        Parameters=[
            {"ParameterKey": "RepositoryName", "ParameterValue": NAME},
            {"ParameterKey": "Environment", "ParameterValue": "dev"},
        ],
    )
    assert deployment.cfn.describe_stacks(StackName=STACK)["Stacks"][0]["StackStatus"] == "ROLLBACK_COMPLETE"
    deployment.ecr.delete_repository(repositoryName=NAME)

    # ...a create deletes the leftover stack, then creates it anew.
    operation = run(deployment, "CreateRepositoryFunction", api_events.create_repository({"name": NAME}))

    assert operation["status"] == "SUCCEEDED", operation
    assert operation["action"] == "CREATE"
    assert operation["repository"]["stackStatus"] == "CREATE_COMPLETE"


def test_a_stack_that_fails_reports_the_first_failure_reason(deployment: Deployment) -> None:
    # Given a name that ECR already holds outside the service (the API refuses it up front with
    # 409, so the workflow is started directly, as if the repository appeared after that check)
    deployment.ecr.create_repository(repositoryName=NAME)

    execution = deployment.start_workflow({"name": NAME})

    assert execution["status"] == "FAILED"
    assert execution["error"] == "StackFailed"
    operation = deployment.call("GetOperationFunction", api_events.get_operation(execution["name"])).body
    assert operation["status"] == "FAILED"
    assert operation["error"]["code"] == "StackFailed"
    assert operation["error"]["message"].startswith("Repository: ")
    assert "already exists" in operation["error"]["message"]
    assert deployment.cfn.describe_stacks(StackName=STACK)["Stacks"][0]["StackStatus"] == "ROLLBACK_COMPLETE"
    events = deployment.result_events()
    assert [e["detail-type"] for e in events] == ["Repository Operation Failed"]
    assert events[0]["detail"]["error"] == operation["error"]


def test_a_stack_that_never_settles_times_out(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STACK_TIMEOUT_MINUTES", "0.002")  # 0.12 s
    monkeypatch.setenv("STACK_POLL_INTERVAL_SECONDS", "0")
    deployment.reset_wiring()
    emulator.options.settle_seconds = float("inf")

    operation = run(deployment, "CreateRepositoryFunction", api_events.create_repository({"name": NAME}))

    assert operation["status"] == "FAILED"
    assert operation["error"]["code"] == "StackTimeout"
    assert "did not settle" in operation["error"]["message"]
    assert [e["detail-type"] for e in deployment.result_events()] == ["Repository Operation Failed"]


def test_the_wait_loop_polls_until_the_stack_settles(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STACK_POLL_INTERVAL_SECONDS", "1")
    deployment.reset_wiring()
    emulator.options.settle_seconds = 4  # several polls, even on a loaded machine

    operation = run(deployment, "CreateRepositoryFunction", api_events.create_repository({"name": NAME}))

    assert operation["status"] == "SUCCEEDED"
    history = deployment.sfn.get_execution_history(
        executionArn=deployment.execution_arn(operation["operationId"])
    )["events"]
    checks = [e for e in history if e.get("stateEnteredEventDetails", {}).get("name") == "CheckStack"]
    assert len(checks) >= 2, "CheckStack ran again after a Wait while the stack was in progress"


def test_throttling_is_retried_with_backoff(deployment: Deployment, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    create_stack = Stacks.create

    def throttled_once(self: Stacks, *args: Any, **kwargs: Any) -> str:
        calls.append("create")
        if len(calls) == 1:
            raise Throttled("AWS is throttling requests; try again shortly")
        return create_stack(self, *args, **kwargs)

    monkeypatch.setattr(Stacks, "create", throttled_once)

    operation = run(deployment, "CreateRepositoryFunction", api_events.create_repository({"name": NAME}))

    assert operation["status"] == "SUCCEEDED"
    assert calls == ["create", "create"]


def test_a_create_past_the_stack_quota_fails_with_stack_limit_exceeded_and_leaves_nothing(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an account whose stack quota (2 here, 2,000 on AWS by default) other tools' stacks fill...
    monkeypatch.setattr(emulator.options, "stack_quota", 2)
    without_client_backoff(monkeypatch)
    others = other_tools_stacks(deployment, 2)

    # ...a create fails with the quota's own code, in the operation and in its result event.
    operation = run(deployment, "CreateRepositoryFunction", api_events.create_repository({"name": NAME}))

    assert operation["status"] == "FAILED", operation
    error = operation["error"]
    assert error["code"] == "StackLimitExceeded"
    assert "L-0485CB21" in error["message"] and "Stack count" in error["message"]
    assert f"did not create stack {STACK}" in error["message"]
    assert "Limit for stack has been exceeded" in error["message"], "CloudFormation's own words are kept"
    events = deployment.result_events()
    assert [e["detail-type"] for e in events] == ["Repository Operation Failed"]
    assert events[0]["detail"]["error"] == error
    history = deployment.sfn.get_execution_history(
        executionArn=deployment.execution_arn(operation["operationId"])
    )["events"]
    starts = [e for e in history if e.get("stateEnteredEventDetails", {}).get("name") == "StartStackChange"]
    assert len(starts) == 1, "a contract error: not retried as a crashed step"
    # Nothing is left behind: no stack, no repository, no catalog item (so no lock).
    with pytest.raises(ClientError, match="does not exist"):
        deployment.cfn.describe_stacks(StackName=STACK)
    with pytest.raises(deployment.ecr.exceptions.RepositoryNotFoundException):
        deployment.ecr.describe_repositories(repositoryNames=[NAME])
    assert deployment.catalog_item(NAME) is None
    assert deployment.call("GetRepositoryFunction", api_events.get_repository(NAME)).status == 404
    assert deployment.call("ListRepositoriesFunction", api_events.list_repositories()).body["items"] == []

    # Once a stack is deleted, the same create succeeds.
    deployment.cfn.delete_stack(StackName=others[0])
    retried = run(deployment, "CreateRepositoryFunction", api_events.create_repository({"name": NAME}))

    assert retried["status"] == "SUCCEEDED", retried
    assert retried["action"] == "CREATE"
    assert retried["repository"]["stackStatus"] == "CREATE_COMPLETE"
    assert [e["detail-type"] for e in deployment.result_events()] == ["Repository Operation Succeeded"]
