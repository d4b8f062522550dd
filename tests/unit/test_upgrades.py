"""Stacks made by earlier releases of the service, with the repository template of their release
(tests/fixtures/repository-templates), taken through today's workflow.

Such a stack has only the parameters its template declared: today's updates must not ask
CloudFormation for the previous value of a key it never had (emulator patch 26 refuses that as
CloudFormation does). Earlier releases kept no catalog: their stacks get their items from
RepairCatalogFunction, as on the first deploy of the release that brought the catalog.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from local.template import load

from agentcore_ecr.domain import stack as stack_rules
from agentcore_ecr.domain.models import CreateRepositoryRequest
from tests import api_events
from tests.deployment import ROOT, Deployment
from tests.examples import TEAM_AGENT_A_DEV_STACK as STACK
from tests.examples import lifecycle_policy
from tests.unit.test_workflow import push_image, run

NAME = "team/agent-a"
CALLER_TAGS = {"team": "agents"}
FIXTURES = ROOT / "tests" / "fixtures" / "repository-templates"
EARLIER_TEMPLATES = sorted(FIXTURES.glob("*.yaml"))


def release_stack(deployment: Deployment, fixture: Path) -> dict[str, str]:
    """The stack the release of `fixture` made for `NAME` (its template, its parameters: that
    release's `stack_parameters`, today's less the keys added since), with two images; then the
    catalog repaired from the stacks. Returns the stack's parameters."""
    template = fixture.read_text()
    declared = set(load(fixture)["Parameters"])
    request = CreateRepositoryRequest.model_validate({"name": NAME, "tags": CALLER_TAGS, "encryption": "KMS"})
    parameters = {k: v for k, v in stack_rules.stack_parameters(request).items() if k in declared}
    assert set(parameters) == declared, "the release's workflow gave every parameter its template declared"
    tags = stack_rules.service_tags(NAME, "dev")
    if stack_rules.CALLER_TAGS_MARKER in template:
        template = stack_rules.render_template(template, CALLER_TAGS)
    else:  # the first release put the caller's tags on the stack, which passed them on
        tags = {**CALLER_TAGS, **tags}
    deployment.cfn.create_stack(
        StackName=STACK,
        TemplateBody=template,
        Parameters=[{"ParameterKey": key, "ParameterValue": value} for key, value in parameters.items()],
        Tags=[{"Key": key, "Value": value} for key, value in tags.items()],
    )
    push_image(deployment, NAME, "v1")
    push_image(deployment, NAME, "v2")
    assert deployment.invoke("RepairCatalogFunction", {})["recorded"] == 1
    return described_parameters(deployment)


def described_parameters(deployment: Deployment) -> dict[str, str]:
    stack = deployment.cfn.describe_stacks(StackName=STACK)["Stacks"][0]
    return {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}


def images(deployment: Deployment) -> set[str]:
    return {image["imageTag"] for image in deployment.ecr.list_images(repositoryName=NAME)["imageIds"]}


def live_policy(deployment: Deployment) -> Any:
    return json.loads(deployment.ecr.get_lifecycle_policy(repositoryName=NAME)["lifecyclePolicyText"])


def test_every_earlier_release_of_the_template_is_kept() -> None:
    """Four releases changed the template before the current one; the current one adds DeclareEncryption."""
    assert len(EARLIER_TEMPLATES) == 4
    for fixture in EARLIER_TEMPLATES:
        assert stack_rules.P_DECLARE_ENCRYPTION not in load(fixture)["Parameters"], fixture.name
        assert fixture.read_text() != stack_rules.repository_template()


@pytest.mark.parametrize("fixture", EARLIER_TEMPLATES, ids=lambda path: path.stem)
def test_an_upsert_moves_an_earlier_releases_stack_to_the_current_template(
    deployment: Deployment, fixture: Path
) -> None:
    release_stack(deployment, fixture)
    arn = deployment.ecr.describe_repositories(repositoryNames=[NAME])["repositories"][0]["repositoryArn"]

    operation = run(
        deployment,
        "CreateRepositoryFunction",
        api_events.create_repository({"name": NAME, "tags": CALLER_TAGS, "imageTagMutability": "MUTABLE"}),
    )

    assert (operation["action"], operation["status"]) == ("UPDATE", "SUCCEEDED"), operation
    assert operation["repository"]["repositoryArn"] == arn, "the same repository, updated in place"
    assert operation["repository"]["imageTagMutability"] == "MUTABLE"
    assert operation["repository"]["encryption"] == "KMS"
    parameters = described_parameters(deployment)
    # The key the earlier template lacked got the current template's value: its template declared
    # the encryption. EmptyOnDelete, which it had, kept its value.
    assert parameters[stack_rules.P_DECLARE_ENCRYPTION] == "true"
    assert parameters[stack_rules.P_EMPTY_ON_DELETE] == "false"
    assert "DeclareEncryption" in str(deployment.cfn.get_template(StackName=STACK)["TemplateBody"])
    assert images(deployment) == {"v1", "v2"}


@pytest.mark.parametrize("fixture", EARLIER_TEMPLATES, ids=lambda path: path.stem)
def test_a_lifecycle_change_of_an_earlier_releases_stack_keeps_its_template(
    deployment: Deployment, fixture: Path
) -> None:
    before = release_stack(deployment, fixture)

    operation = run(
        deployment,
        "PutLifecyclePolicyFunction",
        api_events.put_lifecycle_policy(NAME, {"untaggedExpiryDays": 3, "maxImageCount": 5}),
    )

    assert (operation["action"], operation["status"]) == ("UPDATE_LIFECYCLE", "SUCCEEDED"), operation
    assert live_policy(deployment) == lifecycle_policy(3, 5)
    after = described_parameters(deployment)
    assert set(after) == set(before), "the release's template, with its parameters"
    assert after == {**before, stack_rules.P_UNTAGGED_DAYS: "3", stack_rules.P_MAX_IMAGES: "5"}
    assert images(deployment) == {"v1", "v2"}


@pytest.mark.parametrize("fixture", EARLIER_TEMPLATES, ids=lambda path: path.stem)
def test_a_force_delete_of_an_earlier_releases_stack_removes_it_and_its_images(
    deployment: Deployment, fixture: Path
) -> None:
    release_stack(deployment, fixture)

    operation = run(deployment, "DeleteRepositoryFunction", api_events.delete_repository(NAME, force=True))

    assert (operation["action"], operation["status"]) == ("DELETE", "SUCCEEDED"), operation
    assert deployment.ecr.describe_repositories()["repositories"] == []
    assert deployment.cfn.describe_stacks()["Stacks"] == []
    assert deployment.catalog_item(NAME) is None
