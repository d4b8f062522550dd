"""local/emulator.py: each patch holds moto to what AWS does, checked through boto3 as a caller sees it.

One test (or more) per name of PATCHES; each says the AWS behaviour it pins. CloudFormation is driven
directly with the repository template, not through the service.
"""

from __future__ import annotations

import json
import re
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from io import BytesIO
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from local import emulator

from agentcore_ecr.domain.stack import render_template
from tests.deployment import ROOT
from tests.examples import lifecycle_policy as expected_policy

REGION = "us-east-1"
TEMPLATE = ROOT / "functions" / "agentcore_ecr" / "templates" / "repository.yaml"
STACK = "agentcore-emulator-test"
NAME = "team/agent-a"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


# Helpers ------------------------------------------------------------------------------------


def template(tags: dict[str, str] | None = None) -> str:
    """The repository template as the service renders it, with the caller's tags."""
    return render_template(TEMPLATE.read_text(), tags or {})


DEFAULTS = {
    "RepositoryName": NAME,
    "Environment": "dev",
    "ImageScanOnPush": "true",
    "ImageTagMutability": "IMMUTABLE",
    "EncryptionType": "AES256",  # no KMS key to make
    "KmsKeyArn": "",
    "UntaggedExpiryDays": "30",
    "MaxImageCount": "0",
    "EmptyOnDelete": "false",
    "DeclareEncryption": "true",
}


def parameters(**values: str) -> list[dict[str, str]]:
    """Every parameter, given explicitly as the service does: DEFAULTS with `values` instead."""
    chosen = {**DEFAULTS, **values}
    return [{"ParameterKey": key, "ParameterValue": value} for key, value in chosen.items()]


def previous_values(*keys: str) -> list[dict[str, Any]]:
    return [{"ParameterKey": key, "UsePreviousValue": True} for key in keys]


def create(cfn: Any, tags: dict[str, str] | None = None, stack: str = STACK, **values: str) -> str:
    stack_id: str = cfn.create_stack(
        StackName=stack, TemplateBody=template(tags), Parameters=parameters(**values)
    )["StackId"]
    return stack_id


def describe(cfn: Any, stack: str = STACK) -> dict[str, Any]:
    described: dict[str, Any] = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    return described


def status(cfn: Any, stack: str = STACK) -> str:
    return str(describe(cfn, stack)["StackStatus"])


def stack_parameters(cfn: Any, stack: str = STACK) -> dict[str, str]:
    return {item["ParameterKey"]: item["ParameterValue"] for item in describe(cfn, stack)["Parameters"]}


def resource_events(cfn: Any, status_: str, stack: str = STACK) -> list[dict[str, Any]]:
    """The stack's events of `status_` for its Repository resource."""
    return [
        event
        for event in cfn.describe_stack_events(StackName=stack)["StackEvents"]
        if event["LogicalResourceId"] == "Repository" and event["ResourceStatus"] == status_
    ]


def repository(ecr: Any, name: str = NAME) -> dict[str, Any]:
    found: dict[str, Any] = ecr.describe_repositories(repositoryNames=[name])["repositories"][0]
    return found


def repository_exists(ecr: Any, name: str = NAME) -> bool:
    try:
        repository(ecr, name)
    except ecr.exceptions.RepositoryNotFoundException:
        return False
    return True


def repository_tags(ecr: Any, name: str = NAME) -> dict[str, str]:
    arn = repository(ecr, name)["repositoryArn"]
    return {tag["Key"]: tag["Value"] for tag in ecr.list_tags_for_resource(resourceArn=arn)["tags"]}


def lifecycle_policy(ecr: Any, name: str = NAME) -> Any:
    return json.loads(ecr.get_lifecycle_policy(repositoryName=name)["lifecyclePolicyText"])


def push_image(ecr: Any, tag: str, name: str = NAME) -> None:
    manifest = {
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST,
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "digest": f"sha256:{tag:0>64}",
        },
        "layers": [],
    }
    ecr.put_image(repositoryName=name, imageManifest=json.dumps(manifest), imageTag=tag)


def image_tags(ecr: Any, name: str = NAME) -> list[str]:
    return sorted(image["imageTag"] for image in ecr.list_images(repositoryName=name)["imageIds"])


def create_function(name: str) -> str:
    """A Lambda function in moto (its code never runs: invocations go to the emulator's options)."""
    iam = boto3.client("iam", region_name=REGION)
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
             "Principal": {"Service": "lambda.amazonaws.com"}}]}  # fmt: skip
    role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    code = BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return event\n")
    arn: str = boto3.client("lambda", region_name=REGION).create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role=role,
        Handler="handler.handler",
        Code={"ZipFile": code.getvalue()},
    )["FunctionArn"]
    return arn


# The list of patches ------------------------------------------------------------------------


def test_patches_are_the_numbered_list_of_the_docstring() -> None:
    """PATCHES names the patches in the order and with the names the module's docstring numbers."""
    assert emulator.__doc__ is not None
    numbered = re.findall(r"^\s*(\d+)\. ([A-Z][A-Z_]*) - ", emulator.__doc__, flags=re.MULTILINE)
    assert [int(number) for number, _ in numbered] == list(range(1, len(numbered) + 1))
    assert tuple(name for _, name in numbered) == emulator.PATCHES
    assert len(set(emulator.PATCHES)) == len(emulator.PATCHES)


# 1. ECR_REPOSITORY_PROPERTIES -----------------------------------------------------------------


def test_repository_gets_every_property_of_the_template(cfn: Any, ecr: Any) -> None:
    """AWS: the repository has the scan, encryption, lifecycle policy and tags the template gives it."""
    create(
        cfn,
        {"team": "a"},
        ImageScanOnPush="true",
        EncryptionType="AES256",
        UntaggedExpiryDays="7",
        MaxImageCount="3",
    )
    assert status(cfn) == "CREATE_COMPLETE"

    found = repository(ecr)
    assert found["imageScanningConfiguration"] == {"scanOnPush": True}
    assert found["encryptionConfiguration"]["encryptionType"] == "AES256"
    assert found["imageTagMutability"] == "IMMUTABLE"
    assert lifecycle_policy(ecr) == expected_policy(7, 3)
    assert repository_tags(ecr) == {
        "ManagedBy": "agentcore-ecr",
        "Environment": "dev",
        "team": "a",
    }


def test_scan_on_push_false_is_stored_as_false(cfn: Any, ecr: Any) -> None:
    """AWS: ImageScanOnPush "false" is scanOnPush False (the string is not truthy)."""
    create(cfn, ImageScanOnPush="false")
    assert repository(ecr)["imageScanningConfiguration"] == {"scanOnPush": False}


def test_update_that_drops_a_caller_tag_removes_it(cfn: Any, ecr: Any) -> None:
    """AWS: the repository's tags are exactly the template's after an update, not a union."""
    create(cfn, {"team": "a", "cost-centre": "42"})
    assert {"team": "a", "cost-centre": "42"}.items() <= repository_tags(ecr).items()

    cfn.update_stack(StackName=STACK, TemplateBody=template({"team": "b"}), Parameters=parameters())

    assert status(cfn) == "UPDATE_COMPLETE"
    tags = repository_tags(ecr)
    assert tags["team"] == "b"
    assert "cost-centre" not in tags
    assert tags["ManagedBy"] == "agentcore-ecr"


def test_empty_on_delete_lets_the_stack_delete_a_repository_with_images(cfn: Any, ecr: Any) -> None:
    """AWS: EmptyOnDelete=true deletes the repository with its images when the stack is deleted."""
    stack_id = create(cfn, EmptyOnDelete="true")
    push_image(ecr, "v1")
    assert image_tags(ecr) == ["v1"]

    cfn.delete_stack(StackName=STACK)

    assert not repository_exists(ecr)
    assert status(cfn, stack_id) == "DELETE_COMPLETE"
    with pytest.raises(ClientError, match="does not exist"):
        cfn.describe_stacks(StackName=STACK)


# 2. FAILED_CREATE_ROLLS_BACK -----------------------------------------------------------------


def test_failed_create_rolls_back(cfn: Any, ecr: Any) -> None:
    """AWS: CreateStack is accepted; the resource fails, the stack rolls back to ROLLBACK_COMPLETE."""
    ecr.create_repository(repositoryName=NAME)

    stack_id = create(cfn)  # does not raise

    assert stack_id.startswith(f"arn:aws:cloudformation:{REGION}:")
    stack = describe(cfn)
    assert stack["StackId"] == stack_id
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    assert not stack.get("Outputs")
    (failed,) = resource_events(cfn, "CREATE_FAILED")
    assert "already exists" in failed["ResourceStatusReason"]
    assert status(cfn) == "ROLLBACK_COMPLETE"  # described again: the stack is still there
    assert [s["StackStatus"] for s in cfn.list_stacks()["StackSummaries"]] == ["ROLLBACK_COMPLETE"]
    assert "ManagedBy" not in repository_tags(ecr)  # the repository that was there is untouched


# 3. FAILED_UPDATE_ROLLS_BACK -----------------------------------------------------------------


def _rename_to_existing(cfn: Any, ecr: Any) -> None:
    """An update that fails: the new RepositoryName is taken by another repository."""
    create(cfn)
    ecr.create_repository(repositoryName="team/taken")
    cfn.update_stack(
        StackName=STACK, TemplateBody=template(), Parameters=parameters(RepositoryName="team/taken")
    )


def _change_encryption_of_repository_with_images(cfn: Any, ecr: Any) -> None:
    """An update that fails: new encryption means replacing the repository.

    AWS refuses to replace a resource with a custom name; moto tries, and cannot delete the old
    repository because it holds images. Either way the resource update fails.
    """
    create(cfn)
    push_image(ecr, "v1")
    cfn.update_stack(StackName=STACK, TemplateBody=template(), Parameters=parameters(EncryptionType="KMS"))


@pytest.mark.parametrize("fail_update", [_rename_to_existing, _change_encryption_of_repository_with_images])
def test_failed_update_rolls_back(cfn: Any, ecr: Any, fail_update: Callable[[Any, Any], None]) -> None:
    """AWS: UpdateStack is accepted; the resource fails, the stack ends in UPDATE_ROLLBACK_COMPLETE."""
    fail_update(cfn, ecr)  # does not raise

    assert status(cfn) == "UPDATE_ROLLBACK_COMPLETE"
    (failed,) = resource_events(cfn, "UPDATE_FAILED")
    assert failed["ResourceStatusReason"]
    latest = cfn.describe_stack_events(StackName=STACK)["StackEvents"][0]
    assert (latest["LogicalResourceId"], latest["ResourceStatus"]) == (STACK, "UPDATE_ROLLBACK_COMPLETE")


def test_failed_update_keeps_the_repository_and_its_images(cfn: Any, ecr: Any) -> None:
    """AWS: a rolled-back update leaves the stack's repository as it was."""
    _change_encryption_of_repository_with_images(cfn, ecr)
    assert repository(ecr)["encryptionConfiguration"]["encryptionType"] == "AES256"
    assert image_tags(ecr) == ["v1"]


def test_failed_rename_keeps_the_original_repository(cfn: Any, ecr: Any) -> None:
    """AWS: a replacement is created before the old resource goes; when it fails, the old one stays."""
    _rename_to_existing(cfn, ecr)
    assert status(cfn) == "UPDATE_ROLLBACK_COMPLETE"
    assert repository_exists(ecr, NAME)


def test_failed_rename_reports_the_name_conflict(cfn: Any, ecr: Any) -> None:
    """AWS: the UPDATE_FAILED event says the new name already exists."""
    _rename_to_existing(cfn, ecr)
    (failed,) = resource_events(cfn, "UPDATE_FAILED")
    assert "already exists" in failed["ResourceStatusReason"]


def test_failed_update_restores_the_previous_parameters(cfn: Any, ecr: Any) -> None:
    """AWS: after UPDATE_ROLLBACK_COMPLETE the stack has the parameters it had before the update."""
    _change_encryption_of_repository_with_images(cfn, ecr)
    assert status(cfn) == "UPDATE_ROLLBACK_COMPLETE"
    assert stack_parameters(cfn)["EncryptionType"] == "AES256"


def test_failed_update_restores_the_previous_template(cfn: Any, ecr: Any) -> None:
    """AWS: after UPDATE_ROLLBACK_COMPLETE GetTemplate returns the template from before the update."""
    create(cfn)
    push_image(ecr, "v1")
    cfn.update_stack(
        StackName=STACK, TemplateBody=template({"team": "a"}), Parameters=parameters(EncryptionType="KMS")
    )
    assert status(cfn) == "UPDATE_ROLLBACK_COMPLETE"
    assert cfn.get_template(StackName=STACK)["TemplateBody"] == template()


# 4. FAILED_DELETE_KEEPS_STACK ----------------------------------------------------------------


def test_failed_delete_keeps_the_stack_and_the_repository(cfn: Any, ecr: Any) -> None:
    """AWS: deleting a stack whose repository holds images (no EmptyOnDelete) ends in DELETE_FAILED."""
    create(cfn, EmptyOnDelete="false")
    push_image(ecr, "v1")

    cfn.delete_stack(StackName=STACK)  # does not raise

    assert status(cfn) == "DELETE_FAILED"  # still found by its name
    assert [s["StackStatus"] for s in cfn.list_stacks()["StackSummaries"]] == ["DELETE_FAILED"]
    (failed,) = resource_events(cfn, "DELETE_FAILED")
    assert "contains images" in failed["ResourceStatusReason"]
    assert image_tags(ecr) == ["v1"]
    assert repository_tags(ecr)["ManagedBy"] == "agentcore-ecr"


def test_describing_a_deleted_stack_does_not_bring_its_repository_back(cfn: Any, ecr: Any) -> None:
    """AWS: a DELETE_COMPLETE stack has no outputs; moto would evaluate them and make the repository."""
    stack_id = create(cfn)
    cfn.update_stack(StackName=STACK, TemplateBody=template(), Parameters=parameters(MaxImageCount="3"))
    cfn.delete_stack(StackName=STACK)

    deleted = describe(cfn, stack_id)

    assert deleted["StackStatus"] == "DELETE_COMPLETE"
    assert not deleted.get("Outputs")
    assert not repository_exists(ecr)


def test_delete_after_a_failed_delete_succeeds_once_the_repository_is_empty(cfn: Any, ecr: Any) -> None:
    """AWS: a DELETE_FAILED stack can be deleted again; with nothing in the way it goes."""
    stack_id = create(cfn)
    push_image(ecr, "v1")
    cfn.delete_stack(StackName=STACK)
    assert status(cfn) == "DELETE_FAILED"

    ecr.batch_delete_image(repositoryName=NAME, imageIds=[{"imageTag": "v1"}])
    cfn.delete_stack(StackName=STACK)

    assert status(cfn, stack_id) == "DELETE_COMPLETE"
    assert not repository_exists(ecr)


# 5. EQUALS_COMPARES_TEXT ----------------------------------------------------------------------


def test_max_image_count_zero_gives_a_single_rule(cfn: Any, ecr: Any) -> None:
    """AWS: `!Equals [!Ref MaxImageCount, "0"]` is true for 0, so HasMaxImageCount is false."""
    create(cfn, UntaggedExpiryDays="30", MaxImageCount="0")
    policy = lifecycle_policy(ecr)
    assert policy == expected_policy(30, None)
    assert len(policy["rules"]) == 1


def test_max_image_count_above_zero_adds_the_count_rule(cfn: Any, ecr: Any) -> None:
    """AWS: any other count makes HasMaxImageCount true: the policy has the count rule too."""
    create(cfn, UntaggedExpiryDays="30", MaxImageCount="10")
    assert lifecycle_policy(ecr) == expected_policy(30, 10)


# 6. NO_OP_UPDATE_BY_VALUE ---------------------------------------------------------------------


def test_update_with_the_same_values_is_refused(cfn: Any) -> None:
    """AWS: same template, same parameter values (as text, Number ones included) -> no update."""
    create(cfn, UntaggedExpiryDays="30", MaxImageCount="5")

    with pytest.raises(ClientError, match="No updates are to be performed"):
        cfn.update_stack(
            StackName=STACK,
            TemplateBody=template(),
            Parameters=parameters(UntaggedExpiryDays="30", MaxImageCount="5"),
        )
    assert status(cfn) == "CREATE_COMPLETE"


def test_update_with_previous_template_and_values_is_refused(cfn: Any) -> None:
    """AWS: UsePreviousTemplate with every parameter's previous value is no update either."""
    create(cfn, UntaggedExpiryDays="30")
    keys = list(stack_parameters(cfn))

    with pytest.raises(ClientError, match="No updates are to be performed"):
        cfn.update_stack(StackName=STACK, UsePreviousTemplate=True, Parameters=previous_values(*keys))


def test_update_changing_one_parameter_is_performed(cfn: Any, ecr: Any) -> None:
    """AWS: one parameter's new value is an update."""
    create(cfn, UntaggedExpiryDays="30", MaxImageCount="5")

    cfn.update_stack(
        StackName=STACK,
        TemplateBody=template(),
        Parameters=parameters(UntaggedExpiryDays="30", MaxImageCount="6"),
    )

    assert status(cfn) == "UPDATE_COMPLETE"
    assert stack_parameters(cfn)["MaxImageCount"] == "6"
    assert lifecycle_policy(ecr) == expected_policy(30, 6)


def test_update_changing_only_stack_tags_is_performed(cfn: Any) -> None:
    """AWS: new stack tags with the same template and values are an update."""
    create(cfn)

    cfn.update_stack(
        StackName=STACK,
        TemplateBody=template(),
        Parameters=parameters(),
        Tags=[{"Key": "team", "Value": "a"}],
    )

    assert status(cfn) == "UPDATE_COMPLETE"
    assert describe(cfn)["Tags"] == [{"Key": "team", "Value": "a"}]


# 7. PARAMETER_CHANGE_UPDATES_RESOURCES -------------------------------------------------------


def keep_all_but_untagged_expiry(cfn: Any, days: str) -> None:
    """UpdateStack with the previous template: UntaggedExpiryDays given, every other key kept."""
    others = [key for key in stack_parameters(cfn) if key != "UntaggedExpiryDays"]
    cfn.update_stack(
        StackName=STACK,
        UsePreviousTemplate=True,
        Parameters=[
            {"ParameterKey": "UntaggedExpiryDays", "ParameterValue": days},
            *previous_values(*others),
        ],
    )


def test_parameter_only_change_updates_the_lifecycle_policy(cfn: Any, ecr: Any) -> None:
    """AWS: a parameter used only through Fn::Sub still updates the resource whose text changes."""
    create(cfn, UntaggedExpiryDays="30", MaxImageCount="0")
    assert lifecycle_policy(ecr) == expected_policy(30, None)

    keep_all_but_untagged_expiry(cfn, "14")

    assert status(cfn) == "UPDATE_COMPLETE"
    assert lifecycle_policy(ecr) == expected_policy(14, None)


# 8. LAMBDA_RUNS_HANDLERS ----------------------------------------------------------------------


@pytest.fixture
def invoked(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, bytes]]]:
    """options.invoke records its calls and answers with the payload it was given, wrapped."""
    calls: list[tuple[str, bytes]] = []

    def invoke(name: str, payload: bytes) -> tuple[bytes, str | None]:
        calls.append((name, payload))
        if json.loads(payload).get("fail"):
            return json.dumps({"errorType": "Boom", "errorMessage": "failed"}).encode(), "Unhandled"
        return json.dumps({"echo": json.loads(payload)}).encode(), None

    monkeypatch.setattr(emulator.options, "invoke", invoke)
    yield calls


def test_invoke_runs_the_handler_and_returns_its_response(invoked: list[tuple[str, bytes]]) -> None:
    """AWS: Invoke runs the function on the payload and returns the function's response."""
    arn = create_function("echo")
    lam = boto3.client("lambda", region_name=REGION)

    response = lam.invoke(FunctionName="echo", Payload=b'{"value": 1}')
    by_arn = lam.invoke(FunctionName=arn, Payload=b'{"value": 2}')

    assert response["StatusCode"] == 200
    assert "FunctionError" not in response
    assert json.loads(response["Payload"].read()) == {"echo": {"value": 1}}
    assert json.loads(by_arn["Payload"].read()) == {"echo": {"value": 2}}
    assert invoked == [("echo", b'{"value": 1}'), ("echo", b'{"value": 2}')]


def test_function_error_is_reported_as_lambda_does(invoked: list[tuple[str, bytes]]) -> None:
    """AWS: a function error is a 200 with FunctionError (X-Amz-Function-Error) and the error payload."""
    create_function("echo")

    response = boto3.client("lambda", region_name=REGION).invoke(
        FunctionName="echo", Payload=b'{"fail": true}'
    )

    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert json.loads(response["Payload"].read()) == {"errorType": "Boom", "errorMessage": "failed"}
    assert invoked == [("echo", b'{"fail": true}')]


def test_event_invocation_goes_to_invoke_async(
    invoked: list[tuple[str, bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """AWS: InvocationType=Event queues the invocation (202) instead of running it in the call."""
    queued: list[tuple[str, bytes, str | None]] = []
    monkeypatch.setattr(emulator.options, "invoke_async", lambda *call: queued.append(call))
    create_function("echo")

    response = boto3.client("lambda", region_name=REGION).invoke(
        FunctionName="echo", InvocationType="Event", Payload=b'{"value": 1}'
    )

    assert response["StatusCode"] == 202
    assert queued == [("echo", b'{"value": 1}', None)]
    assert invoked == []


# 9. EVENTBRIDGE_TO_LAMBDA ---------------------------------------------------------------------


def test_eventbridge_invokes_a_lambda_target(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """AWS: a matching event goes to every target of the rule, a Lambda function asynchronously."""
    queued: list[tuple[str, bytes, str | None]] = []
    monkeypatch.setattr(emulator.options, "invoke_async", lambda *call: queued.append(call))
    function_arn = create_function("on-result")
    sqs = boto3.client("sqs", region_name=REGION)
    queue_url = sqs.create_queue(QueueName="results")["QueueUrl"]
    dead_letters_url = sqs.create_queue(QueueName="dead-letters")["QueueUrl"]
    queue_arn, dead_letters_arn = (
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        for url in (queue_url, dead_letters_url)
    )
    events = boto3.client("events", region_name=REGION)
    events.put_rule(Name="results", EventPattern=json.dumps({"source": ["agentcore.ecr"]}))
    events.put_targets(
        Rule="results",
        Targets=[
            {"Id": "function", "Arn": function_arn, "DeadLetterConfig": {"Arn": dead_letters_arn}},
            {"Id": "queue", "Arn": queue_arn},
        ],
    )

    events.put_events(
        Entries=[{"Source": "other.source", "DetailType": "Ignored", "Detail": json.dumps({"n": 0})}]
    )
    assert queued == []  # no match, no call
    events.put_events(
        Entries=[{"Source": "agentcore.ecr", "DetailType": "Result", "Detail": json.dumps({"n": 1})}]
    )

    assert len(queued) == 1
    name, payload, dead_letter_arn = queued[0]
    assert (name, dead_letter_arn) == ("on-result", dead_letters_arn)
    event = json.loads(payload)
    assert (event["source"], event["detail-type"], event["detail"]) == ("agentcore.ecr", "Result", {"n": 1})
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(message["Body"])["detail"] for message in messages] == [{"n": 1}]
    assert "Messages" not in sqs.receive_message(QueueUrl=dead_letters_url)


# 10. SETTLE_DELAY -----------------------------------------------------------------------------


def test_stack_reports_in_progress_until_it_settles(cfn: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """AWS: a stack is CREATE_IN_PROGRESS for a while after CreateStack, then CREATE_COMPLETE."""
    monkeypatch.setattr(emulator.options, "settle_seconds", 0.5)
    create(cfn)
    assert status(cfn) == "CREATE_IN_PROGRESS"
    time.sleep(0.6)
    assert status(cfn) == "CREATE_COMPLETE"


def test_update_failure_and_delete_also_settle(cfn: Any, ecr: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """AWS: UpdateStack, a failed CreateStack and DeleteStack are in progress for a while too."""
    stack_id = create(cfn)
    ecr.create_repository(repositoryName="team/taken")
    monkeypatch.setattr(emulator.options, "settle_seconds", 2.0)  # far longer than the calls take

    def settles(stack: str, settled: str) -> None:
        deadline = time.monotonic() + 10
        while status(cfn, stack) != settled:
            assert time.monotonic() < deadline, f"{stack} did not settle in {settled}"
            time.sleep(0.05)

    cfn.update_stack(StackName=STACK, TemplateBody=template(), Parameters=parameters(MaxImageCount="2"))
    create(cfn, stack="agentcore-failing", RepositoryName="team/taken")
    assert status(cfn) == "UPDATE_IN_PROGRESS"
    assert status(cfn, "agentcore-failing") == "ROLLBACK_IN_PROGRESS"
    settles(STACK, "UPDATE_COMPLETE")
    settles("agentcore-failing", "ROLLBACK_COMPLETE")

    cfn.delete_stack(StackName=STACK)
    assert status(cfn, stack_id) == "DELETE_IN_PROGRESS"
    settles(stack_id, "DELETE_COMPLETE")


def test_deleting_stack_is_found_by_name_while_it_settles(cfn: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """AWS: DescribeStacks by name returns a stack in DELETE_IN_PROGRESS."""
    create(cfn)
    monkeypatch.setattr(emulator.options, "settle_seconds", 0.3)
    cfn.delete_stack(StackName=STACK)
    assert status(cfn) == "DELETE_IN_PROGRESS"


def test_failed_delete_keeps_the_stack_when_stacks_settle(
    cfn: Any, ecr: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AWS: a stack whose delete failed is found by its name, in DELETE_FAILED once it settles."""
    create(cfn)
    push_image(ecr, "v1")
    monkeypatch.setattr(emulator.options, "settle_seconds", 0.2)
    cfn.delete_stack(StackName=STACK)
    time.sleep(0.3)
    assert status(cfn) == "DELETE_FAILED"


def test_without_settle_seconds_a_stack_is_complete_at_once(cfn: Any) -> None:
    """The default (and the unit tests'): CloudFormation answers as if it had already finished."""
    assert emulator.options.settle_seconds == 0
    create(cfn)
    assert status(cfn) == "CREATE_COMPLETE"


# 18. MISSING_RESOURCE_DELETED -----------------------------------------------------------------


def test_deleting_a_stack_whose_repository_was_deleted_by_hand_succeeds(cfn: Any, ecr: Any) -> None:
    """AWS: the delete handler answers NotFound for a repository already gone; the stack is deleted."""
    stack_id = create(cfn)
    ecr.delete_repository(repositoryName=NAME, force=True)

    cfn.delete_stack(StackName=STACK)

    assert status(cfn, stack_id) == "DELETE_COMPLETE"


def test_a_delete_that_fails_for_another_reason_still_fails(cfn: Any, ecr: Any) -> None:
    """Only NotFound counts as deleted: a repository with images still ends DELETE_FAILED."""
    create(cfn)
    push_image(ecr, "v1")

    cfn.delete_stack(StackName=STACK)

    assert status(cfn) == "DELETE_FAILED"


# 19. EXECUTION_STATUS_EVENTS ------------------------------------------------------------------


def default_bus_queue(aws_region: str = REGION) -> tuple[Any, str]:
    """A queue behind a rule on the default bus for every Step Functions event."""
    sqs, events = boto3.client("sqs", region_name=aws_region), boto3.client("events", region_name=aws_region)
    url = sqs.create_queue(QueueName="states-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="states", EventPattern=json.dumps({"source": ["aws.states"]}))
    events.put_targets(Rule="states", Targets=[{"Id": "q", "Arn": arn}])
    return sqs, url


def drain(sqs: Any, url: str, count: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for _ in range(100):
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        found += [json.loads(message["Body"]) for message in messages]
        if len(found) >= count:
            return found
        time.sleep(0.05)
    return found


def test_an_execution_announces_its_start_and_its_end_on_the_default_bus(aws: None) -> None:
    """AWS: `Step Functions Execution Status Change` events, RUNNING then SUCCEEDED, with the input."""
    sqs, url = default_bus_queue()
    sfn = boto3.client("stepfunctions", region_name=REGION)
    machine = sfn.create_state_machine(
        name="announced",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}),
        roleArn="arn:aws:iam::123456789012:role/any",
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=machine, name="run-1", input='{"a": 1}')["executionArn"]

    events = drain(sqs, url, 2)

    assert [event["detail"]["status"] for event in events] == ["RUNNING", "SUCCEEDED"]
    for event in events:
        assert event["source"] == "aws.states"
        assert event["detail-type"] == "Step Functions Execution Status Change"
        assert event["resources"] == [execution]
        assert event["detail"]["executionArn"] == execution
        assert event["detail"]["stateMachineArn"] == machine
        assert event["detail"]["name"] == "run-1"
        assert json.loads(event["detail"]["input"]) == {"a": 1}
        assert isinstance(event["detail"]["startDate"], int)  # epoch milliseconds
    assert events[0]["detail"]["stopDate"] is None
    assert events[1]["detail"]["stopDate"] >= events[1]["detail"]["startDate"]


# 20. EVENT_HAS_ACCOUNT ------------------------------------------------------------------------


def test_an_event_delivered_to_a_queue_keeps_its_account(aws: None) -> None:
    """AWS: the delivered event has the whole envelope, account included."""
    sqs, url = default_bus_queue()
    boto3.client("events", region_name=REGION).put_events(
        Entries=[{"Source": "aws.states", "DetailType": "x", "Detail": "{}"}]
    )

    [event] = drain(sqs, url, 1)

    assert event["account"] == "123456789012"
    assert set(event) >= {"version", "id", "detail-type", "source", "account", "time", "region", "resources"}


# 21. STACK_CALLS_ATOMIC -----------------------------------------------------------------------


def test_a_stack_described_while_it_is_created_is_seen_whole(
    cfn: Any, ecr: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AWS: DescribeStacks answers from the stack's state and makes nothing. In moto, one answered
    while CreateStack was making the repository made it too, and one of the two failed."""
    from moto.ecr.models import ECRBackend  # noqa: PLC0415

    original = ECRBackend.create_repository
    described: list[Any] = []

    def describe_meanwhile() -> None:
        try:
            described.append(describe(cfn))
        except ClientError as error:
            described.append(error)

    def create_repository(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not described and threading.current_thread() is threading.main_thread():
            meanwhile = threading.Thread(target=describe_meanwhile)
            meanwhile.start()
            meanwhile.join(timeout=0.5)  # it waits for CreateStack (or, unpatched, runs now)
            creating.append(meanwhile)
        return original(self, *args, **kwargs)

    creating: list[threading.Thread] = []
    monkeypatch.setattr(ECRBackend, "create_repository", create_repository)

    create(cfn)
    creating[0].join(timeout=10)

    assert status(cfn) == "CREATE_COMPLETE", resource_events(cfn, "CREATE_FAILED")
    assert len(described) == 1
    assert isinstance(described[0], dict), described[0]
    assert described[0]["StackStatus"] == "CREATE_COMPLETE"
    assert repository_exists(ecr)


# 22. STACK_STATUS_EVENTS ----------------------------------------------------------------------


def stack_events_queue() -> tuple[Any, str]:
    """A queue behind a rule on the default bus for CloudFormation's stack status events."""
    sqs, events = boto3.client("sqs", region_name=REGION), boto3.client("events", region_name=REGION)
    url = sqs.create_queue(QueueName="stack-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = {"source": ["aws.cloudformation"], "detail-type": ["CloudFormation Stack Status Change"]}
    events.put_rule(Name="stacks", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="stacks", Targets=[{"Id": "q", "Arn": arn}])
    return sqs, url


def statuses(events: list[dict[str, Any]]) -> list[str]:
    return [event["detail"]["status-details"]["status"] for event in events]


def test_a_stack_announces_each_status_on_the_default_bus(cfn: Any, ecr: Any) -> None:
    """AWS: `CloudFormation Stack Status Change` events with the stack id, the status and its reason,
    and the ClientRequestToken of the operation that made the change."""
    sqs, url = stack_events_queue()
    stack_id = cfn.create_stack(
        StackName=STACK, TemplateBody=template(), Parameters=parameters(), ClientRequestToken="create-1"
    )["StackId"]
    cfn.update_stack(
        StackName=STACK,
        TemplateBody=template(),
        Parameters=parameters(MaxImageCount="2"),
        ClientRequestToken="u-1",
    )
    cfn.delete_stack(StackName=STACK, ClientRequestToken="delete-1")

    events = drain(sqs, url, 6)

    assert statuses(events) == [
        "CREATE_IN_PROGRESS",
        "CREATE_COMPLETE",
        "UPDATE_IN_PROGRESS",
        "UPDATE_COMPLETE",
        "DELETE_IN_PROGRESS",
        "DELETE_COMPLETE",
    ]
    assert [event["detail"]["client-request-token"] for event in events] == [
        "create-1",
        "create-1",
        "u-1",
        "u-1",
        "delete-1",
        "delete-1",
    ]
    for event in events:
        assert event["source"] == "aws.cloudformation"
        assert event["detail-type"] == "CloudFormation Stack Status Change"
        assert event["resources"] == [stack_id]
        assert event["detail"]["stack-id"] == stack_id
        assert isinstance(event["detail"]["status-details"]["status-reason"], str)
    assert events[0]["detail"]["status-details"]["status-reason"] == "User Initiated"


def test_a_failed_create_announces_its_rollback_and_the_reason(cfn: Any, ecr: Any) -> None:
    sqs, url = stack_events_queue()
    ecr.create_repository(repositoryName=NAME)  # CloudFormation cannot create it again

    create(cfn)

    events = drain(sqs, url, 3)
    assert statuses(events) == ["CREATE_IN_PROGRESS", "ROLLBACK_IN_PROGRESS", "ROLLBACK_COMPLETE"]
    assert "Repository" in events[1]["detail"]["status-details"]["status-reason"]


def test_a_settling_stack_announces_its_end_when_it_reports_it(
    cfn: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The end is announced when DescribeStacks shows it, not when moto made it (inside the call)."""
    sqs, url = stack_events_queue()
    monkeypatch.setattr(emulator.options, "settle_seconds", 0.5)

    create(cfn)

    assert statuses(drain(sqs, url, 1)) == ["CREATE_IN_PROGRESS"]
    assert status(cfn) == "CREATE_IN_PROGRESS"
    [complete] = drain(sqs, url, 1)
    assert complete["detail"]["status-details"]["status"] == "CREATE_COMPLETE"
    assert status(cfn) == "CREATE_COMPLETE"


def test_a_delete_announces_its_progress_even_when_it_settles_at_once(cfn: Any) -> None:
    sqs, url = stack_events_queue()
    create(cfn)
    drain(sqs, url, 2)

    cfn.delete_stack(StackName=STACK)

    assert statuses(drain(sqs, url, 2)) == ["DELETE_IN_PROGRESS", "DELETE_COMPLETE"]


# 23. DISABLED_RULES_SILENT --------------------------------------------------------------------


def test_a_disabled_rule_delivers_nothing(cfn: Any) -> None:
    """AWS: "A disabled rule won't match any events" (DisableRule); enabled again, it delivers."""
    sqs, url = stack_events_queue()
    events = boto3.client("events", region_name=REGION)
    events.disable_rule(Name="stacks")

    create(cfn)

    assert "Messages" not in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)
    events.enable_rule(Name="stacks")
    cfn.delete_stack(StackName=STACK)
    assert statuses(drain(sqs, url, 2)) == ["DELETE_IN_PROGRESS", "DELETE_COMPLETE"]


# 24. STOP_ENDS_A_CALLBACK_WAIT ----------------------------------------------------------------


def test_stopping_an_execution_whose_task_waits_for_its_token_aborts_it(
    invoked: list[tuple[str, bytes]],
) -> None:
    """AWS: StopExecution ends the execution ABORTED at once, though its task waits for a callback
    (for up to an hour here); the task's token then resumes nothing."""
    function = create_function("waits-for-a-callback")
    sfn = boto3.client("stepfunctions", region_name=REGION)
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {"FunctionName": function, "Payload": {"token.$": "$$.Task.Token"}},
        "TimeoutSeconds": 3600,
        "End": True,
    }
    machine = sfn.create_state_machine(
        name="waits",
        definition=json.dumps({"StartAt": "Callback", "States": {"Callback": task}}),
        roleArn="arn:aws:iam::123456789012:role/any",
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=machine, name="run-1")["executionArn"]
    for _ in range(200):
        if any(
            e["type"] == "TaskSubmitted" for e in sfn.get_execution_history(executionArn=execution)["events"]
        ):
            break
        time.sleep(0.02)

    sfn.stop_execution(executionArn=execution, error="Operator", cause="stopped by a test")

    for _ in range(100):
        described = sfn.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING":
            break
        time.sleep(0.05)
    assert described["status"] == "ABORTED"
    token = json.loads(invoked[0][1])["token"]
    with pytest.raises(ClientError) as refused:
        sfn.send_task_success(taskToken=token, output="{}")
    assert refused.value.response["Error"]["Code"] in {"TaskTimedOut", "InvalidToken"}


# 30. DELIVERED_ENVELOPE -----------------------------------------------------------------------


def test_a_lambda_target_and_its_dead_letter_queue_get_eventbridges_envelope(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AWS: a target gets the envelope's fields only, `time` in ISO 8601 UTC (EventBridge User
    Guide, "Amazon EventBridge events"); moto's record has a Unix `time` and its `ingestion-time`."""
    queued: list[tuple[str, bytes, str | None]] = []
    monkeypatch.setattr(emulator.options, "invoke_async", lambda *call: queued.append(call))
    monkeypatch.setattr(emulator.options, "enforce_iam", True)  # no permission: the event is dead-lettered
    sqs = boto3.client("sqs", region_name=REGION)
    dead_letters_url = sqs.create_queue(QueueName="dead-letters")["QueueUrl"]
    dead_letters_arn = sqs.get_queue_attributes(QueueUrl=dead_letters_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    refused_rule = f"arn:aws:events:{REGION}:123456789012:rule/refused"
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage",
              "Principal": {"Service": "events.amazonaws.com"}, "Resource": dead_letters_arn,
              "Condition": {"ArnEquals": {"aws:SourceArn": refused_rule}}}]}  # fmt: skip
    sqs.set_queue_attributes(QueueUrl=dead_letters_url, Attributes={"Policy": json.dumps(policy)})
    events = boto3.client("events", region_name=REGION)
    envelope = {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}
    for name, queue in (("allowed", None), ("refused", dead_letters_arn)):
        function_arn = create_function(name)
        if queue is None:
            boto3.client("lambda", region_name=REGION).add_permission(
                FunctionName=name,
                StatementId="events",
                Action="lambda:InvokeFunction",
                Principal="events.amazonaws.com",
                SourceArn=f"arn:aws:events:{REGION}:123456789012:rule/{name}",
            )
        events.put_rule(Name=name, EventPattern=json.dumps({"source": ["agentcore.ecr"]}))
        target: dict[str, Any] = {"Id": "function", "Arn": function_arn}
        if queue:
            target["DeadLetterConfig"] = {"Arn": queue}
        events.put_targets(Rule=name, Targets=[target])

    events.put_events(Entries=[{"Source": "agentcore.ecr", "DetailType": "Result", "Detail": "{}"}])

    ((name, payload, _),) = queued
    (message,) = sqs.receive_message(QueueUrl=dead_letters_url)["Messages"]
    for delivered in (json.loads(payload), json.loads(message["Body"])):
        assert set(delivered) == envelope
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", delivered["time"])
    assert name == "allowed"


# 27. UNCATCHABLE_ERRORS ---------------------------------------------------------------------

QUOTA = 256 * 1024  # Step Functions' payload quota: 256 KiB of UTF-8 text per state's input or output


@pytest.fixture
def answers(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """options.invoke answers `{"size": n}` with a payload of n bytes, and `{"fail": true}` with an
    error; it records every call."""
    calls: list[str] = []

    def invoke(name: str, payload: bytes) -> tuple[bytes, str | None]:
        request = json.loads(payload)
        calls.append(name)
        if request.get("fail"):
            return json.dumps({"errorType": "Boom", "errorMessage": "failed"}).encode(), "Unhandled"
        return json.dumps({"padding": "x" * request.get("size", 0)}).encode(), None

    monkeypatch.setattr(emulator.options, "invoke", invoke)
    yield calls


def run_to_end(definition: dict[str, Any], name: str) -> dict[str, Any]:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    machine = sfn.create_state_machine(
        name=name, definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/any"
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=machine, name="run-1")["executionArn"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        described: dict[str, Any] = sfn.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.02)
    raise AssertionError(f"{name} still running")


def guarded_task(function: str, payload: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A task that retries and catches States.ALL, as the service's tasks do."""
    return {
        "StartAt": "Task",
        "States": {
            "Task": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": function, "Payload": payload},
                "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 1}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                "End": True,
                **fields,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }


def test_states_all_catches_a_task_error(answers: list[str]) -> None:
    """AWS: States.ALL retries and then catches an error a task reports (the control case)."""
    function = create_function("fails")

    ended = run_to_end(guarded_task(function, {"fail": True}), "catches")

    assert ended["status"] == "SUCCEEDED"
    assert answers == ["fails", "fails"], "retried once"


def test_states_all_does_not_catch_a_result_over_the_payload_quota(answers: list[str]) -> None:
    """AWS: a state's output over 256 KiB is States.DataLimitExceeded, a terminal error States.ALL
    neither retries nor catches (Step Functions Developer Guide, "Handling errors in Step Functions
    workflows"; "Step Functions service quotas": 256 KiB of input or output)."""
    function = create_function("too-much")

    ended = run_to_end(guarded_task(function, {"size": QUOTA}), "too-much")

    assert ended["status"] == "FAILED"
    assert ended["error"] == "States.DataLimitExceeded"
    assert answers == ["too-much"], "not retried"
    assert run_to_end(guarded_task(function, {"size": QUOTA // 2}), "within")["status"] == "SUCCEEDED"


def test_states_all_does_not_catch_a_runtime_error(answers: list[str]) -> None:
    """AWS: a path that selects nothing is States.Runtime, which no retrier or catcher takes: the
    execution fails (Step Functions Developer Guide, "Handling errors in Step Functions workflows")."""
    function = create_function("answers")

    ended = run_to_end(
        guarded_task(function, {"size": 1}, ResultSelector={"missing.$": "$.Payload.nothing"}), "runtime"
    )

    assert ended["status"] == "FAILED"
    assert ended["error"] == "States.Runtime"


# 28. PUT_EVENTS_ERRORS_ARE_TASK_FAILURES ----------------------------------------------------


def test_an_error_eventbridge_answers_a_put_events_task_is_retried_then_caught(aws: None) -> None:
    """AWS: EventBridge's error (here a 500) fails the `events:putEvents` task, which Retry and Catch
    take like any task's failure (moto made it States.Runtime, which nothing takes)."""
    from local.emulator import faults  # noqa: PLC0415

    boto3.client("events", region_name=REGION).create_event_bus(Name="results")
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::events:putEvents",
        "Parameters": {
            "Entries": [{"EventBusName": "results", "Source": "t", "DetailType": "d", "Detail": {}}]
        },
        "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 1}],
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}],
        "End": True,
    }
    definition = {"StartAt": "Put", "States": {"Put": task, "Caught": {"Type": "Pass", "End": True}}}
    outage = faults.inject("events:PutEvents", count=2, code="InternalException", status=500)

    ended = run_to_end(definition, "puts")

    assert outage.answered == 2, "tried, then retried"
    assert ended["status"] == "SUCCEEDED", "caught"
    assert json.loads(ended["output"])["error"]["Error"] == "EventBridge.InternalException"


# 29. ECR_NAME_RULE ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["a__b", "my--agent", "a--b/c__d", "team/agent-a", "a.b_c---d"])
def test_ecr_creates_every_name_its_rule_allows(ecr: Any, name: str) -> None:
    """AWS: runs of [a-z0-9] joined by `.`, `_`, `__` or any number of `-` are repository names."""
    created = ecr.create_repository(repositoryName=name)["repository"]

    assert created["repositoryName"] == name


@pytest.mark.parametrize("name", ["a___b", "a_.b", "-ab", "ab-", "a//b", "A-b"])
def test_ecr_refuses_the_names_its_rule_refuses(ecr: Any, name: str) -> None:
    """AWS: CreateRepository refuses a name outside the model's pattern (InvalidParameterException;
    botocore checks no pattern on the client side, so the service answers)."""
    with pytest.raises(ClientError) as refused:
        ecr.create_repository(repositoryName=name)

    assert refused.value.response["Error"]["Code"] == "InvalidParameterException"


def test_the_name_rule_is_ecrs_model_and_its_resource_schema() -> None:
    """The pattern moto checks is the API model's, and the AWS::ECR::Repository schema's too."""
    from cfnlint.schema.manager import PROVIDER_SCHEMA_MANAGER  # noqa: PLC0415
    from local.emulator.ecr_names import ecr_name_pattern  # noqa: PLC0415

    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(REGION, "AWS::ECR::Repository").schema
    schema_pattern = schema["properties"]["RepositoryName"]["pattern"]
    assert schema_pattern == f"^(?=.{{2,256}}$)({ecr_name_pattern()})$"


# 26. UPDATE_PARAMETERS_CHECKED -------------------------------------------------------------

EARLIER_TEMPLATE = ROOT / "tests" / "fixtures" / "repository-templates" / "04-no-repository-name-tag.yaml"


def create_from_earlier_template(cfn: Any) -> None:
    """A stack of the release before DeclareEncryption: its template's parameters only."""
    given = [p for p in parameters() if p["ParameterKey"] != "DeclareEncryption"]
    cfn.create_stack(
        StackName=STACK, TemplateBody=render_template(EARLIER_TEMPLATE.read_text(), {}), Parameters=given
    )


def test_use_previous_value_of_a_key_the_previous_template_lacks_is_refused(cfn: Any) -> None:
    """AWS: UsePreviousValue needs the key in the previous template; the stack is left as it was."""
    create_from_earlier_template(cfn)
    before = describe(cfn)
    others = [p for p in parameters() if p["ParameterKey"] != "DeclareEncryption"]

    with pytest.raises(ClientError) as refused:
        cfn.update_stack(
            StackName=STACK,
            TemplateBody=template(),
            Parameters=[*others, *previous_values("DeclareEncryption")],
        )

    assert refused.value.response["Error"]["Code"] == "ValidationError"
    assert refused.value.response["Error"]["Message"] == (
        "Invalid input for parameter key DeclareEncryption. "
        "Cannot specify usePreviousValue as true for a parameter key not in the previous template"
    )
    assert describe(cfn) == before


def test_a_parameter_the_template_does_not_declare_is_refused(cfn: Any) -> None:
    """AWS: every parameter given must be declared by the template applied (here the previous one)."""
    create_from_earlier_template(cfn)
    keys = list(stack_parameters(cfn))

    with pytest.raises(ClientError, match=r"Parameters: \[DeclareEncryption\] do not exist in the template"):
        cfn.update_stack(
            StackName=STACK,
            UsePreviousTemplate=True,
            Parameters=[
                *previous_values(*keys),
                {"ParameterKey": "DeclareEncryption", "ParameterValue": "true"},
            ],
        )
    assert status(cfn) == "CREATE_COMPLETE"


def test_use_previous_value_keeps_a_default_the_stack_took(cfn: Any, ecr: Any) -> None:
    """AWS: a key the stack took by default has a previous value, its default (moto: a 500)."""
    defaulted = {"MaxImageCount", "EmptyOnDelete", "DeclareEncryption"}
    cfn.create_stack(
        StackName=STACK,
        TemplateBody=template(),
        Parameters=[p for p in parameters() if p["ParameterKey"] not in defaulted],
    )

    keep_all_but_untagged_expiry(cfn, "14")

    assert status(cfn) == "UPDATE_COMPLETE"
    assert stack_parameters(cfn) == {**DEFAULTS, "UntaggedExpiryDays": "14"}
    assert lifecycle_policy(ecr) == expected_policy(14, None)


# 32. STACK_QUOTA ----------------------------------------------------------------------------

QUEUE_TEMPLATE = json.dumps({"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}})


def other_stack(cfn: Any, name: str) -> str:
    """A stack another tool made: every stack of the account in the Region counts."""
    stack_id: str = cfn.create_stack(StackName=name, TemplateBody=QUEUE_TEMPLATE)["StackId"]
    return stack_id


def assert_refused_at_the_quota(cfn: Any, ecr: Any) -> None:
    # One attempt: botocore retries LimitExceededException as throttling, and its backoff could
    # outlast a stack that is still being deleted (which must count while it does).
    once = boto3.client(
        "cloudformation",
        region_name=REGION,
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )
    with pytest.raises(ClientError) as refused:
        create(once)
    error = refused.value.response
    assert error["Error"]["Code"] == "LimitExceededException"
    assert error["Error"]["Message"] == "Limit for stack has been exceeded"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert STACK not in {stack["StackName"] for stack in cfn.describe_stacks()["Stacks"]}, "no stack made"
    assert not repository_exists(ecr)


def test_the_stack_quota_is_awss_default() -> None:
    """AWS: 2,000 stacks per account and Region (Service Quotas L-0485CB21, Stack count)."""
    assert emulator.EmulatorOptions().stack_quota == 2000


def test_a_create_past_the_stack_quota_is_refused_and_makes_nothing(
    cfn: Any, ecr: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AWS: CreateStack answers LimitExceededException (400) once the account has as many stacks
    in the Region as its quota; a stack deleted (DELETE_COMPLETE) no longer counts."""
    monkeypatch.setattr(emulator.options, "stack_quota", 2)
    first, _ = other_stack(cfn, "tool-a"), other_stack(cfn, "tool-b")

    assert_refused_at_the_quota(cfn, ecr)

    cfn.delete_stack(StackName=first)
    create(cfn)
    assert status(cfn) == "CREATE_COMPLETE"
    assert repository_exists(ecr)


def test_every_stack_not_delete_complete_counts(cfn: Any, ecr: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """AWS: a stack whose create rolled back counts, and one being deleted counts until it is
    DELETE_COMPLETE."""
    monkeypatch.setattr(emulator.options, "stack_quota", 2)
    ecr.create_repository(repositoryName="team/taken")
    create(cfn, stack="rolled-back", RepositoryName="team/taken")  # the name ECR already holds
    assert status(cfn, "rolled-back") == "ROLLBACK_COMPLETE"
    deleting = other_stack(cfn, "tool-a")
    monkeypatch.setattr(emulator.options, "settle_seconds", 2)
    cfn.delete_stack(StackName=deleting)
    assert status(cfn, deleting) == "DELETE_IN_PROGRESS"

    assert_refused_at_the_quota(cfn, ecr)

    deadline = time.monotonic() + 10
    while status(cfn, deleting) != "DELETE_COMPLETE":
        assert time.monotonic() < deadline, "the delete never settled"
        time.sleep(0.1)
    monkeypatch.setattr(emulator.options, "settle_seconds", 0)
    create(cfn)
    assert status(cfn) == "CREATE_COMPLETE"


def test_the_stack_quota_is_per_region(cfn: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """AWS: the quota is per account and Region; another Region's stacks do not count."""
    monkeypatch.setattr(emulator.options, "stack_quota", 1)
    other_stack(cfn, "tool-a")

    other_stack(boto3.client("cloudformation", region_name="eu-west-1"), "tool-a")

    with pytest.raises(ClientError, match="LimitExceededException"):
        other_stack(cfn, "tool-b")


def test_a_create_retried_with_its_token_is_answered_at_the_quota(
    cfn: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AWS: a call retried with the token of the stack's latest operation is that call (patch 12),
    not a new stack, so the quota does not refuse it; a taken name is still AlreadyExistsException."""
    monkeypatch.setattr(emulator.options, "stack_quota", 1)
    made = cfn.create_stack(
        StackName=STACK, TemplateBody=template(), Parameters=parameters(), ClientRequestToken="t-1"
    )

    again = cfn.create_stack(
        StackName=STACK, TemplateBody=template(), Parameters=parameters(), ClientRequestToken="t-1"
    )

    assert again["StackId"] == made["StackId"]
    with pytest.raises(ClientError, match="AlreadyExistsException"):
        create(cfn)
