"""The repository's stack as CloudFormation would get it, for every valid LifecyclePolicy and request.

tests/unit/test_repository_template.py compares the two lifecycle branches of the template with the
worked example (tests/examples.py). Here the whole TemplateBody the service sends - the shipped
template with the caller's tags rendered in - is read back as YAML, its parameters checked against
their declarations, the repository's properties resolved (conditions included) and then checked
against ECR's lifecycle policy rules and against `AWS::ECR::Repository`'s schema as cfn-lint bundles it.
"""

from __future__ import annotations

import json
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydantic
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from agentcore_ecr.domain.models import CreateRepositoryRequest, LifecyclePolicy
from agentcore_ecr.domain.stack import (
    lifecycle_from_parameters,
    lifecycle_parameters,
    repository_template,
    repository_template_for,
    stack_parameters,
    stack_tags,
)
from tests.examples import lifecycle_policy
from tests.property import contract
from tests.property.cloudformation import (
    ECR_REPOSITORY,
    Stack,
    check_against_schema,
    load_rendered,
    schema_node,
)
from tests.property.strategies import create_bodies, max_image_counts, untagged_expiry_days

# CloudFormation's CreateStack Tag: a key of 1-128 characters, a value of 1-256 (API Reference, Tag).
STACK_TAG_KEY_LENGTH = (1, 128)
STACK_TAG_VALUE_LENGTH = (1, 256)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield tmp_path_factory.mktemp("rendered")


@pytest.fixture(scope="module")
def shipped(workdir: Path) -> dict[str, Any]:
    return load_rendered(workdir, repository_template())


def settled(request: CreateRepositoryRequest) -> CreateRepositoryRequest:
    """The request as a create applies it: encryption "KMS" when omitted (contract, CreateRepository)."""
    return request.model_copy(update={"encryption": request.encryption or "KMS"})


def lifecycle_request(days: int, count: int | None) -> CreateRepositoryRequest:
    policy = {"untaggedExpiryDays": days, "maxImageCount": count}
    return settled(
        CreateRepositoryRequest.model_validate({"name": "team/agent-a", "lifecyclePolicy": policy})
    )


# The lifecycle policy ------------------------------------------------------------------------------


def test_the_schema_bounds_the_lifecycle_policy_text() -> None:
    limits = schema_node(ECR_REPOSITORY, "LifecyclePolicy", "LifecyclePolicyText")

    assert limits["type"] == "string"
    assert isinstance(limits["minLength"], int)
    assert isinstance(limits["maxLength"], int)
    assert 0 < limits["minLength"] < limits["maxLength"]


@given(days=untagged_expiry_days, count=max_image_counts)
@example(days=1, count=None)  # the shortest text
@example(days=3650, count=10000)  # the longest
@example(days=1, count=1)
def test_rendered_lifecycle_policy_is_one_ecr_takes(
    shipped: dict[str, Any], days: int, count: int | None
) -> None:
    stack = Stack(shipped, stack_parameters(lifecycle_request(days, count)))
    assert stack.problems() == []

    text = stack.resource_properties("Repository")["LifecyclePolicy"]["LifecyclePolicyText"]

    assert isinstance(text, str)
    assert contract.lifecycle_policy_problems(text) == []
    limits = schema_node(ECR_REPOSITORY, "LifecyclePolicy", "LifecyclePolicyText")
    assert limits["minLength"] <= len(text) <= limits["maxLength"], len(text)
    assert json.loads(text) == lifecycle_policy(days, count)


@given(days=untagged_expiry_days, count=max_image_counts)
def test_lifecycle_policy_reads_back_from_the_stack_parameters(days: int, count: int | None) -> None:
    # GET /lifecycle-policies and every Repository read the policy back from the stack's parameters.
    policy = LifecyclePolicy.model_validate({"untaggedExpiryDays": days, "maxImageCount": count})

    read_back = lifecycle_from_parameters(lifecycle_parameters(policy))

    assert read_back.to_json_dict() == {"untaggedExpiryDays": days, "maxImageCount": count}


UNTAGGED_RULE, COUNT_RULE = lifecycle_policy(1, 5)["rules"]


def policy_text(*rules: dict[str, Any]) -> str:
    return json.dumps({"rules": list(rules)})


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        pytest.param("{", "not JSON", id="not-json"),
        pytest.param(policy_text(), "non-empty", id="no-rules"),
        pytest.param(
            policy_text({**COUNT_RULE, "rulePriority": 1}, {**UNTAGGED_RULE, "rulePriority": 2}),
            "not the highest",
            id="any-rule-first",
        ),
        pytest.param(policy_text(UNTAGGED_RULE, UNTAGGED_RULE), "repeat", id="same-priority"),
        pytest.param(
            policy_text({**COUNT_RULE, "selection": {**COUNT_RULE["selection"], "countUnit": "days"}}),
            "no countUnit",
            id="count-rule-with-unit",
        ),
        pytest.param(
            policy_text({**UNTAGGED_RULE, "selection": {**UNTAGGED_RULE["selection"], "countUnit": "hours"}}),
            "countUnit days",
            id="age-rule-in-hours",
        ),
        pytest.param(policy_text({**COUNT_RULE, "action": {"type": "delete"}}), "expire", id="other-action"),
        pytest.param(
            policy_text({**COUNT_RULE, "selection": {**COUNT_RULE["selection"], "tagStatus": "tagged"}}),
            "tagPrefixList",
            id="tagged-without-prefixes",
        ),
        pytest.param(
            policy_text({**UNTAGGED_RULE, "selection": {**UNTAGGED_RULE["selection"], "countNumber": 0}}),
            "countNumber",
            id="count-zero",
        ),
        pytest.param(
            policy_text({**UNTAGGED_RULE, "rulePriority": True}), "rulePriority", id="priority-bool"
        ),
    ],
)
def test_the_lifecycle_checker_finds_what_ecr_refuses(text: str, problem: str) -> None:
    # The checker the properties above rely on, on policies ECR refuses (Amazon ECR User Guide).
    problems = contract.lifecycle_policy_problems(text)

    assert any(problem in found for found in problems), problems


# The whole repository stack --------------------------------------------------------------------


def expected_repository_tags(request: CreateRepositoryRequest) -> dict[str, str]:
    """The contract's tags of a repository: the service's `ManagedBy` and `Environment`, then the caller's."""
    return {"ManagedBy": contract.SERVICE_TAG_VALUE, "Environment": request.environment, **request.tags}


@given(body=create_bodies())
@example(body={"name": "team/agent-a", "tags": {"チーム": "エージェント", "emoji": "\U0001f600" * 255}})
@example(body={"name": "a" * 256, "environment": "e" * 20, "tags": {"k" * 127: "v" * 255}})
@example(body={"name": "ab", "tags": {f"{index:02d}" + "é" * 125: "é" * 255 for index in range(40)}})
@example(
    body={
        "name": "x.y_z",
        "encryption": "KMS",
        "kmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "tags": {"nel": "a\u0085b", "ls": "a\u2028b", "bom": "\ufeff", "nul": "\x00", "environment": "x"},
    }
)
def test_every_valid_request_renders_a_repository_cloudformation_takes(
    workdir: Path, body: dict[str, Any]
) -> None:
    request = settled(CreateRepositoryRequest.model_validate(body))
    template = load_rendered(workdir, repository_template_for(request.tags))
    stack = Stack(template, stack_parameters(request))
    assert stack.problems() == []

    properties = stack.resource_properties("Repository")
    check_against_schema("Repository", ECR_REPOSITORY, properties)

    assert properties["RepositoryName"] == body["name"]
    tags = {tag["Key"]: tag["Value"] for tag in properties["Tags"]}
    assert len(tags) == len(properties["Tags"]), "a tag key twice"
    assert tags == expected_repository_tags(request)
    assert properties["ImageScanningConfiguration"] == {"ScanOnPush": str(request.image_scanning).lower()}
    assert properties["ImageTagMutability"] == body.get("imageTagMutability", "IMMUTABLE")
    key = {"KmsKey": body["kmsKeyArn"]} if body.get("kmsKeyArn") else {}
    assert properties["EncryptionConfiguration"] == {"EncryptionType": body.get("encryption", "KMS"), **key}
    policy = body.get("lifecyclePolicy", {})
    expected_policy = lifecycle_policy(policy.get("untaggedExpiryDays", 30), policy.get("maxImageCount"))
    assert json.loads(properties["LifecyclePolicy"]["LifecyclePolicyText"]) == expected_policy
    assert properties["EmptyOnDelete"] == "false"
    for tag_key, value in stack_tags(request).items():
        assert STACK_TAG_KEY_LENGTH[0] <= len(tag_key) <= STACK_TAG_KEY_LENGTH[1], tag_key
        assert STACK_TAG_VALUE_LENGTH[0] <= len(value) <= STACK_TAG_VALUE_LENGTH[1], value


# A KMS key ARN as long as the request model lets it be ----------------------------------------

KMS_ARN_HEAD = "arn:aws:kms:us-east-1:123456789012:key/"  # 39 characters
KMS_KEY_MAX = 2048  # AWS::ECR::Repository's EncryptionConfiguration.KmsKey maxLength (cfn-lint's schema)
SHORTEST_REFUSED_KEY_ID = "a" * (KMS_KEY_MAX + 1 - len(KMS_ARN_HEAD))  # 2010 characters


@given(key_id=st.text(string.ascii_letters + string.digits + "-", min_size=1, max_size=2100))
@example(key_id=SHORTEST_REFUSED_KEY_ID)
def test_every_kms_key_arn_the_model_accepts_is_one_cloudformation_takes(workdir: Path, key_id: str) -> None:
    arn = KMS_ARN_HEAD + key_id
    if len(arn) > KMS_KEY_MAX:  # refused up front (400), never a stack that fails
        with pytest.raises(pydantic.ValidationError, match="kmsKeyArn"):
            CreateRepositoryRequest.model_validate({"name": "ab", "kmsKeyArn": arn})
        return
    request = settled(CreateRepositoryRequest.model_validate({"name": "ab", "kmsKeyArn": arn}))
    stack = Stack(load_rendered(workdir, repository_template_for({})), stack_parameters(request))

    assert schema_node(ECR_REPOSITORY, "EncryptionConfiguration", "KmsKey")["maxLength"] == KMS_KEY_MAX
    properties = stack.resource_properties("Repository")

    check_against_schema("Repository", ECR_REPOSITORY, properties)

    assert properties["EncryptionConfiguration"]["KmsKey"] == request.kms_key_arn
