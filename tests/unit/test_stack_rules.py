from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from agentcore_ecr.domain.models import CreateRepositoryRequest
from agentcore_ecr.domain.stack import (
    MAX_TEMPLATE_BODY_BYTES,
    render_template,
    repository_template,
    repository_template_for,
    stack_tags,
    template_body_bytes,
)
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
    request = CreateRepositoryRequest(name="team/agent-a", environment="dev", tags={"team": "a"})

    assert stack_tags(request) == {
        "ManagedBy": "agentcore-ecr",
        "Environment": "dev",
        "agentcore:repository": "team/agent-a",
    }
    assert all(value for value in stack_tags(request).values()), (
        "CloudFormation refuses empty stack tag values"
    )


def rendered_tags(tmp_path: Path, tags: dict[str, str]) -> dict[str, str]:
    """The tags as CloudFormation reads them back from the rendered template, written as UTF-8."""
    path = tmp_path / "rendered.yaml"
    path.write_bytes(repository_template_for(tags).encode("utf-8"))
    rendered = load_template(path)["Resources"]["Repository"]["Properties"]["Tags"]
    return {tag["Key"]: tag["Value"] for tag in rendered if tag["Key"] in tags}


def test_every_printable_ascii_character_survives_the_rendering(tmp_path: Path) -> None:
    tags = {f"k{chr(code)}": f"v{chr(code)}" for code in range(32, 127)}

    assert rendered_tags(tmp_path, tags) == tags


def test_line_breaks_of_yaml_controls_and_astral_characters_survive_the_rendering(tmp_path: Path) -> None:
    # U+0085, U+2028 and U+2029 are line breaks to YAML 1.1: raw, they would fold into spaces.
    tags = {"nel": "a\u0085b", "ls": "a\u2028b", "ps": "a\u2029b", "nul": "a\x00b", "bom": "\ufeffx"}
    tags |= {"emoji": "\U0001f600", "cjk": "漢字", "accents": "éàü", "tab": "a\tb", "quote": 'a"b\\c'}

    assert rendered_tags(tmp_path, tags) == tags


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tags=st.dictionaries(st.text(min_size=1, max_size=20), st.text(min_size=1, max_size=20), max_size=5))
def test_any_text_survives_the_rendering(tmp_path: Path, tags: dict[str, str]) -> None:
    assume(not any(0xD800 <= ord(char) <= 0xDFFF for text in (*tags, *tags.values()) for char in text))

    assert rendered_tags(tmp_path, tags) == tags


def test_a_non_ascii_character_costs_its_utf8_bytes_not_an_escape() -> None:
    # 40 tags of the longest key and value, of a two-byte character: 30,400 characters of tags.
    tags = {f"{index:02d}" + "é" * 125: "é" * 255 for index in range(40)}

    body = repository_template_for(tags)

    assert "\\u00e9" not in body
    assert template_body_bytes(body) <= MAX_TEMPLATE_BODY_BYTES == 51_200
