"""Adoption of agentcore-cli's stacks (docs/api.md, "Adoption"): a POST moves the stack to this service's
template, and the repository keeps its images and its encryption."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agentcore_ecr.domain import stack as stack_rules
from agentcore_ecr.domain.models import CreateRepositoryRequest
from tests import api_events
from tests.deployment import Deployment
from tests.unit.test_api import assert_error
from tests.unit.test_workflow import push_image, run

AGENTCORE_CLI_TEMPLATE = (Path(__file__).resolve().parent.parent / "agentcore_cli_template.yaml").read_text()
NAME = "agent-a"
STACK = f"agentcore-{NAME}-dev-ecr"  # agentcore-cli's name, and this service's for a simple name


def agentcore_cli_create(deployment: Deployment, name: str = NAME, environment: str = "dev") -> str:
    """What agentcore-cli's `create_repository` did: its template, its four parameters."""
    parameters = {
        "RepositoryName": name,
        "Environment": environment,
        "ImageScanningEnabled": "true",
        "LifecyclePolicyDays": "14",
    }
    stack_id: str = deployment.cfn.create_stack(
        StackName=f"agentcore-{name}-{environment}-ecr",
        TemplateBody=AGENTCORE_CLI_TEMPLATE,
        Parameters=[{"ParameterKey": key, "ParameterValue": value} for key, value in parameters.items()],
    )["StackId"]
    return stack_id


def describe_stack(deployment: Deployment, name: str = STACK) -> dict[str, Any]:
    stack: dict[str, Any] = deployment.cfn.describe_stacks(StackName=name)["Stacks"][0]
    return stack


def images(deployment: Deployment, name: str = NAME) -> set[str]:
    found = deployment.ecr.list_images(repositoryName=name)["imageIds"]
    return {image["imageTag"] for image in found}


def test_a_post_adopts_the_stack_and_keeps_the_images(deployment: Deployment) -> None:
    stack_id = agentcore_cli_create(deployment)
    push_image(deployment, NAME, "v1")
    push_image(deployment, NAME, "v2")
    arn = deployment.ecr.describe_repositories(repositoryNames=[NAME])["repositories"][0]["repositoryArn"]

    operation = run(
        deployment,
        "CreateRepositoryFunction",
        api_events.create_repository({"name": NAME, "tags": {"team": "agents"}}),
    )

    assert operation["action"] == "ADOPT"
    assert operation["status"] == "SUCCEEDED", operation
    adopted = operation["repository"]
    assert adopted["encryption"] == "AES256"
    assert adopted["repositoryArn"] == arn
    assert adopted["tags"] == {"team": "agents"}
    assert adopted["stackName"] == STACK
    assert adopted["stackStatus"] == "UPDATE_COMPLETE"
    assert images(deployment) == {"v1", "v2"}
    stack = describe_stack(deployment)
    assert stack["StackId"] == stack_id  # the same stack, updated in place
    assert {tag["Key"]: tag["Value"] for tag in stack["Tags"]}["ManagedBy"] == "agentcore-ecr"
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert parameters[stack_rules.P_DECLARE_ENCRYPTION] == "false"
    body = deployment.cfn.get_template(StackName=STACK)["TemplateBody"]
    assert "managed by the agentcore-ecr service" in str(body)
    # Managed from then on: listed, read, changed, deleted like any other.
    listed = deployment.call("ListRepositoriesFunction", api_events.list_repositories()).body["items"]
    assert [item["name"] for item in listed] == [NAME]
    assert deployment.call("GetRepositoryFunction", api_events.get_repository(NAME)).body == adopted
    again = run(deployment, "CreateRepositoryFunction", api_events.create_repository({"name": NAME}))
    assert (again["action"], again["status"]) == ("UPDATE", "SUCCEEDED")
    lifecycle = run(
        deployment,
        "PutLifecyclePolicyFunction",
        api_events.put_lifecycle_policy(NAME, {"untaggedExpiryDays": 3}),
    )
    assert lifecycle["status"] == "SUCCEEDED", lifecycle
    assert images(deployment) == {"v1", "v2"}
    assert describe_stack(deployment)["StackId"] == stack_id
    deleted = run(deployment, "DeleteRepositoryFunction", api_events.delete_repository(NAME, force=True))
    assert deleted["status"] == "SUCCEEDED", deleted
    assert deployment.ecr.describe_repositories()["repositories"] == []


def test_adoption_with_another_encryption_is_refused_and_changes_nothing(deployment: Deployment) -> None:
    agentcore_cli_create(deployment)
    before = describe_stack(deployment)

    response = deployment.call(
        "CreateRepositoryFunction", api_events.create_repository({"name": NAME, "encryption": "KMS"})
    )

    assert_error(response, 409, "ImmutableSetting")
    assert describe_stack(deployment) == before
    assert deployment.catalog_item(NAME) is None


def test_only_the_stacks_environment_adopts_it(deployment: Deployment) -> None:
    agentcore_cli_create(deployment)

    response = deployment.call(
        "CreateRepositoryFunction", api_events.create_repository({"name": NAME, "environment": "prod"})
    )

    assert_error(response, 409, "RepositoryExists")


def test_a_repository_tagged_by_someone_else_is_not_adopted(deployment: Deployment) -> None:
    agentcore_cli_create(deployment)
    arn = deployment.ecr.describe_repositories(repositoryNames=[NAME])["repositories"][0]["repositoryArn"]
    deployment.ecr.tag_resource(resourceArn=arn, tags=[{"Key": "ManagedBy", "Value": "someone-else"}])

    response = deployment.call("CreateRepositoryFunction", api_events.create_repository({"name": NAME}))

    assert_error(response, 409, "RepositoryExists")


def test_declaring_the_encryption_agentcore_cli_left_out_would_replace_the_repository(
    deployment: Deployment,
) -> None:
    """The AWS rule adoption works around (emulator patch 1): EncryptionConfiguration is
    create-only, and CloudFormation compares templates, so declaring AES256 where the template
    declared nothing replaces the repository; under its custom name, the update fails."""
    agentcore_cli_create(deployment)
    push_image(deployment, NAME, "v1")
    request = CreateRepositoryRequest.model_validate({"name": NAME, "encryption": "AES256"})
    parameters = stack_rules.stack_parameters(request)  # DeclareEncryption "true"

    deployment.cfn.update_stack(
        StackName=STACK,
        TemplateBody=stack_rules.repository_template_for({}),
        Parameters=[{"ParameterKey": key, "ParameterValue": value} for key, value in parameters.items()],
    )

    stack = describe_stack(deployment)
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    reasons = [
        event.get("ResourceStatusReason", "")
        for event in deployment.cfn.describe_stack_events(StackName=STACK)["StackEvents"]
    ]
    assert any("custom-named resource requires replacing" in reason for reason in reasons), json.dumps(
        reasons
    )
    assert images(deployment) == {"v1"}
