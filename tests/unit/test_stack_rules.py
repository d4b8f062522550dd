from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agentcore_ecr.domain.models import CreateRepositoryRequest
from agentcore_ecr.domain.stack import render_template, stack_tags
from agentcore_ecr.workflow import repository_template
from tests.deployment import load_template

TRICKY = {"team": "a", 'quote"d': "it's: {yaml} - [x] # not a comment", "ünïcode": "välue", "n": "0"}


def test_caller_tags_are_rendered_into_the_repository_tags(tmp_path: Path) -> None:
    rendered = render_template(repository_template(), TRICKY)
    path = tmp_path / "rendered.yaml"
    path.write_text(rendered)

    tags = load_template(path)["Resources"]["Repository"]["Properties"]["Tags"]

    assert {tag["Key"]: tag["Value"] for tag in tags if isinstance(tag["Value"], str)} == {
        "ManagedBy": "agentcore-ecr",
        **TRICKY,
    }
    lint = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout


def test_no_tags_renders_the_shipped_template_unchanged_but_for_the_marker() -> None:
    assert render_template(repository_template(), {}) == repository_template()


def test_a_template_without_the_marker_is_refused() -> None:
    with pytest.raises(ValueError, match="CALLER_TAGS"):
        render_template("Resources: {}\n", {"a": "b"})


def test_stack_tags_hold_only_the_service_tags() -> None:
    request = CreateRepositoryRequest(name="team/agent-a", environment="dev", tags={"team": "a", "empty": ""})

    assert stack_tags(request) == {
        "ManagedBy": "agentcore-ecr",
        "Environment": "dev",
        "agentcore:repository": "team/agent-a",
    }
    assert all(value for value in stack_tags(request).values()), (
        "CloudFormation refuses empty stack tag values"
    )


def test_every_printable_character_survives_the_rendering(tmp_path: Path) -> None:
    tags = {f"k{chr(code)}": f"v{chr(code)}" for code in range(32, 127)} | {"empty": ""}
    path = tmp_path / "rendered.yaml"
    path.write_text(render_template(repository_template(), tags))

    rendered = load_template(path)["Resources"]["Repository"]["Properties"]["Tags"]

    assert {tag["Key"]: tag["Value"] for tag in rendered if tag["Key"] in tags} == tags
