"""The repository stack's template: parameters, lifecycle rendering, retention, outputs, cfn-lint."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentcore_ecr.domain.models import LifecyclePolicy
from agentcore_ecr.domain.stack import ALL_PARAMETERS, P_MAX_IMAGES, P_UNTAGGED_DAYS, lifecycle_parameters
from tests.deployment import ROOT, load_template
from tests.examples import lifecycle_policy

TEMPLATE = ROOT / "functions" / "agentcore_ecr" / "templates" / "repository.yaml"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(TEMPLATE)


def repository(template: dict[str, Any]) -> dict[str, Any]:
    resource: dict[str, Any] = template["Resources"]["Repository"]
    assert resource["Type"] == "AWS::ECR::Repository"
    return resource


def lifecycle_branches(template: dict[str, Any]) -> tuple[str, str, str]:
    """(condition, text when it holds, text when it does not) of LifecyclePolicyText's !If."""
    text = repository(template)["Properties"]["LifecyclePolicy"]["LifecyclePolicyText"]
    condition, when_true, when_false = text["Fn::If"]
    return condition, when_true["Fn::Sub"], when_false["Fn::Sub"]


def render(text: str, parameters: dict[str, str]) -> str:
    """CloudFormation's !Sub for ${Parameter} references; every reference must be known."""

    def value(match: re.Match[str]) -> str:
        assert match[1] in parameters, f"unexpected reference ${{{match[1]}}}"
        return parameters[match[1]]

    return re.sub(r"\$\{([^}]+)\}", value, text)


def render_policy(template: dict[str, Any], policy: LifecyclePolicy) -> dict[str, Any]:
    """The lifecycle policy the stack gets for `policy`, from the parameters the service passes."""
    parameters = lifecycle_parameters(policy)
    condition, when_true, when_false = lifecycle_branches(template)
    assert condition == "HasMaxImageCount"
    has_max_image_count = parameters[P_MAX_IMAGES] != "0"  # the template's HasMaxImageCount
    rendered: dict[str, Any] = json.loads(
        render(when_true if has_max_image_count else when_false, parameters)
    )
    return rendered


# Lifecycle policy rendering ----------------------------------------------------------------


def test_has_max_image_count_is_max_image_count_not_zero(template: dict[str, Any]) -> None:
    assert template["Conditions"]["HasMaxImageCount"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": P_MAX_IMAGES}, "0"]}]
    }


@pytest.mark.parametrize(
    ("days", "count"),
    [
        pytest.param(30, 50, id="typical"),
        pytest.param(1, 1, id="lower-bounds"),
        pytest.param(3650, 10000, id="upper-bounds"),
    ],
)
def test_branch_with_count_rule_is_lifecycle_policy(template: dict[str, Any], days: int, count: int) -> None:
    _, when_true, _ = lifecycle_branches(template)

    rendered = render(when_true, {P_UNTAGGED_DAYS: str(days), P_MAX_IMAGES: str(count)})

    assert json.loads(rendered) == lifecycle_policy(days, count)


@pytest.mark.parametrize(
    "days", [pytest.param(30, id="default"), pytest.param(1, id="1"), pytest.param(3650, id="3650")]
)
def test_branch_without_count_rule_is_lifecycle_policy(template: dict[str, Any], days: int) -> None:
    _, _, when_false = lifecycle_branches(template)

    rendered = render(when_false, {P_UNTAGGED_DAYS: str(days)})

    assert json.loads(rendered) == lifecycle_policy(days, None)


@given(
    days=st.integers(min_value=1, max_value=3650),
    count=st.one_of(st.none(), st.integers(min_value=1, max_value=10000)),
)
def test_stack_renders_the_policy_the_service_means(
    template: dict[str, Any], days: int, count: int | None
) -> None:
    policy = LifecyclePolicy.model_validate({"untaggedExpiryDays": days, "maxImageCount": count})

    assert render_policy(template, policy) == lifecycle_policy(days, count)


@pytest.mark.parametrize("count", [pytest.param(None, id="no-count-rule"), pytest.param(5, id="count-rule")])
def test_any_rule_has_the_highest_priority(template: dict[str, Any], count: int | None) -> None:
    rules = render_policy(
        template, LifecyclePolicy.model_validate({"untaggedExpiryDays": 7, "maxImageCount": count})
    )["rules"]

    priorities = [rule["rulePriority"] for rule in rules]
    assert len(set(priorities)) == len(priorities), "ECR requires distinct rule priorities"
    assert all(isinstance(priority, int) and priority >= 1 for priority in priorities)
    any_rules = [rule for rule in rules if rule["selection"]["tagStatus"] == "any"]
    assert len(any_rules) == (0 if count is None else 1)
    for rule in any_rules:
        assert rule["rulePriority"] == max(priorities)


# Resource, parameters, outputs ---------------------------------------------------------------


def test_repository_is_retained_when_replaced(template: dict[str, Any]) -> None:
    assert repository(template)["UpdateReplacePolicy"] == "Retain"


def test_parameters_are_exactly_the_services(template: dict[str, Any]) -> None:
    assert set(template["Parameters"]) == set(ALL_PARAMETERS)
    assert len(ALL_PARAMETERS) == len(set(ALL_PARAMETERS))


def test_lifecycle_parameter_ranges_match_the_contract(template: dict[str, Any]) -> None:
    days = template["Parameters"][P_UNTAGGED_DAYS]
    count = template["Parameters"][P_MAX_IMAGES]

    assert (days["MinValue"], days["MaxValue"]) == (1, 3650)
    assert (count["MinValue"], count["MaxValue"]) == (0, 10000)  # 0 = no count rule
    assert str(days["Default"]) == "30"
    assert str(count["Default"]) == "0"


@pytest.mark.parametrize("output", ["RepositoryUri", "RepositoryArn", "RepositoryName"])
def test_output_exists(template: dict[str, Any], output: str) -> None:
    assert "Value" in template["Outputs"][output]


# cfn-lint ----------------------------------------------------------------------------------


def test_passes_cfn_lint() -> None:
    cfn_lint = Path(sys.executable).parent / "cfn-lint"

    result = subprocess.run(
        [str(cfn_lint), "--format", "parseable", str(TEMPLATE)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_passes_cfn_lint_api(tmp_path: Path) -> None:
    from cfnlint.api import lint_file  # noqa: PLC0415 - cfn-lint's rules load slowly

    matches = lint_file(TEMPLATE)

    assert [str(match) for match in matches] == []
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        TEMPLATE.read_text().replace("UpdateReplacePolicy: Retain", "UpdateReplacePolicy: Keep")
    )
    assert lint_file(broken), "cfn-lint reports a broken copy of the template"
