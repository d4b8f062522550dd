"""The stack-name rule (docs/api.md, "Stack names"): agentcore-cli's name for simple names, a hash otherwise.

A hashed stack name is `{prefix}-{slug}-{digest}--{environment}-ecr`: its body (between `{prefix}-`
and `-{environment}-ecr`) ends with `-`, which no simple name does, so no simple name shares it.
"""

from __future__ import annotations

import hashlib
import re

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from agentcore_ecr.domain.models import ENVIRONMENT_PATTERN, REPOSITORY_NAME_PATTERN
from agentcore_ecr.domain.naming import stack_name_for

PREFIX = "agentcore"
CLOUDFORMATION_STACK_NAME = re.compile(r"^[a-zA-Z][-a-zA-Z0-9]*$")
MAX_STACK_NAME = 128
ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"


def room_for_simple_name(environment: str) -> int:
    """The longest simple name whose stack name `{prefix}-{name}-{environment}-ecr` fits in 128 chars."""
    return MAX_STACK_NAME - len(f"{PREFIX}--{environment}-ecr")


def digest_of(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:8]


def hashed_parts(stack_name: str, environment: str) -> tuple[str, str]:
    """(slug, digest) of a stack name of the form `{prefix}-{slug}-{digest}--{environment}-ecr`."""
    head, tail = f"{PREFIX}-", f"--{environment}-ecr"
    assert stack_name.startswith(head), stack_name
    assert stack_name.endswith(tail), stack_name
    slug, _, digest = stack_name[len(head) : -len(tail)].rpartition("-")
    assert re.fullmatch(r"[0-9a-f]{8}", digest), stack_name
    return slug, digest


# Strategies ---------------------------------------------------------------------------------

environments = st.from_regex(ENVIRONMENT_PATTERN, fullmatch=True)
runs = st.text(alphabet=ALNUM, min_size=1, max_size=60)


ECR_SEPARATORS = (".", "_", "__", "-", "--", "---", "/")


@st.composite
def ecr_names(draw: st.DrawFn, separators: tuple[str, ...] = ECR_SEPARATORS) -> str:
    """Any name ECR accepts: runs of [a-z0-9] joined by `.`, `_`, `__`, runs of `-` or `/`, 2-256
    characters."""
    first = draw(runs)
    rest = draw(st.lists(st.tuples(st.sampled_from(separators), runs), max_size=12))
    name = first + "".join(separator + run for separator, run in rest)
    name = name[:256].rstrip("".join(separators))
    assume(len(name) >= 2)
    assert re.fullmatch(REPOSITORY_NAME_PATTERN, name), name
    return name


simple_names = ecr_names(separators=("-", "--"))
any_names = st.one_of(simple_names, ecr_names())


# agentcore-cli's name for simple names ---------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "environment", "expected"),
    [
        pytest.param("agent-a", "dev", "agentcore-agent-a-dev-ecr", id="dashed"),
        pytest.param("ab", "prod", "agentcore-ab-prod-ecr", id="two-chars"),
        pytest.param("agent1", "staging", "agentcore-agent1-staging-ecr", id="digits"),
        pytest.param("1agent", "dev", "agentcore-1agent-dev-ecr", id="leading-digit"),
    ],
)
def test_simple_name_is_agentcore_cli_stack_name(name: str, environment: str, expected: str) -> None:
    assert stack_name_for(PREFIX, name, environment) == expected


@given(name=simple_names, environment=environments)
def test_simple_name_that_fits_is_its_own_slug(name: str, environment: str) -> None:
    assume(len(name) <= room_for_simple_name(environment))

    assert stack_name_for(PREFIX, name, environment) == f"{PREFIX}-{name}-{environment}-ecr"


def test_longest_simple_name_that_fits_is_its_own_slug() -> None:
    name = "a" * room_for_simple_name("dev")

    stack_name = stack_name_for(PREFIX, name, "dev")

    assert stack_name == f"agentcore-{name}-dev-ecr"
    assert len(stack_name) == MAX_STACK_NAME


def test_simple_name_one_char_too_long_is_hashed() -> None:
    name = "a" * (room_for_simple_name("dev") + 1)

    stack_name = stack_name_for(PREFIX, name, "dev")

    slug, digest = hashed_parts(stack_name, "dev")
    assert digest == digest_of(name)
    assert name.startswith(slug)
    assert len(stack_name) == MAX_STACK_NAME


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        pytest.param("team/agent-a", "team-agent-a", id="slash"),
        pytest.param("a.b", "a-b", id="dot"),
        pytest.param("a_b", "a-b", id="underscore"),
        pytest.param("team/agent.v1_x", "team-agent-v1-x", id="mixed"),
        pytest.param("a__b", "a-b", id="double-underscore"),
    ],
)
def test_other_names_get_slug_and_hash(name: str, slug: str) -> None:
    expected = f"agentcore-{slug}-{digest_of(name)}--dev-ecr"

    assert stack_name_for(PREFIX, name, "dev") == expected


@given(name=ecr_names(), environment=environments)
def test_name_with_other_characters_is_slug_then_hash(name: str, environment: str) -> None:
    assume(not re.fullmatch(r"[a-z0-9-]+", name))

    slug, digest = hashed_parts(stack_name_for(PREFIX, name, environment), environment)

    assert digest == digest_of(name)
    assert slug
    assert re.sub(r"[^a-z0-9-]+", "-", name).startswith(slug)


# Every name is a valid stack name ----------------------------------------------------------


@given(name=any_names, environment=environments)
@example(name="a" * 256, environment="e" * 20)
@example(name=("a." * 128)[:255] + "b", environment="e" * 20)
@example(name="/".join(["a"] * 128), environment="dev")
def test_stack_name_is_valid_for_cloudformation(name: str, environment: str) -> None:
    stack_name = stack_name_for(PREFIX, name, environment)

    assert CLOUDFORMATION_STACK_NAME.fullmatch(stack_name), stack_name
    assert len(stack_name) <= MAX_STACK_NAME
    assert stack_name.startswith(f"{PREFIX}-")
    assert stack_name.endswith(f"-{environment}-ecr")


@given(name=any_names, environment=environments)
def test_stack_name_is_deterministic(name: str, environment: str) -> None:
    assert stack_name_for(PREFIX, name, environment) == stack_name_for(PREFIX, name, environment)


# Two names never share a stack -------------------------------------------------------------


@given(first=any_names, second=any_names, environment=environments)
def test_distinct_names_have_distinct_stacks(first: str, second: str, environment: str) -> None:
    assume(first != second)

    assert stack_name_for(PREFIX, first, environment) != stack_name_for(PREFIX, second, environment)


@given(stem=st.text(alphabet=ALNUM, min_size=100, max_size=100), first=any_names, second=any_names)
def test_long_names_sharing_a_100_char_prefix_have_distinct_stacks(
    stem: str, first: str, second: str
) -> None:
    first_name, second_name = f"{stem}-{first}"[:256], f"{stem}-{second}"[:256]
    assume(first_name != second_name)
    assume(
        re.fullmatch(REPOSITORY_NAME_PATTERN, first_name)
        and re.fullmatch(REPOSITORY_NAME_PATTERN, second_name)
    )

    assert stack_name_for(PREFIX, first_name, "dev") != stack_name_for(PREFIX, second_name, "dev")


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param("a.b", "a-b", id="dot-vs-dash"),
        pytest.param("a_b", "a-b", id="underscore-vs-dash"),
        pytest.param("a/b", "a-b", id="slash-vs-dash"),
        pytest.param("a.b", "a_b", id="dot-vs-underscore"),
        pytest.param("a/b", "a.b", id="slash-vs-dot"),
        pytest.param("a" * 100 + "-x", "a" * 100 + "-y", id="100-char-prefix-short"),
        pytest.param("a" * 100 + "/" + "b" * 150, "a" * 100 + "/" + "c" * 150, id="100-char-prefix-long"),
        pytest.param("a" * 120 + "-b", "a" * 120 + "-c", id="simple-too-long-differ-at-end"),
        pytest.param("a" * 250 + "x", "a" * 250 + "y", id="256-differ-at-end"),
    ],
)
def test_explicit_pairs_have_distinct_stacks(first: str, second: str) -> None:
    assert stack_name_for(PREFIX, first, "dev") != stack_name_for(PREFIX, second, "dev")


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
def test_a_contrived_simple_name_keeps_agentcore_clis_stack_and_never_meets_a_hashed_name(
    environment: str,
) -> None:
    # "a-b-2e7336dc" spells the slug and digest of "a.b" (`printf a.b | sha256sum`): a name
    # agentcore-cli could have made, so it keeps agentcore-cli's stack; "a.b"'s body ends with "-".
    assert digest_of("a.b") == "2e7336dc"

    twin = stack_name_for(PREFIX, "a-b-2e7336dc", environment)
    hashed = stack_name_for(PREFIX, "a.b", environment)

    assert twin == f"agentcore-a-b-2e7336dc-{environment}-ecr"
    assert hashed == f"agentcore-a-b-2e7336dc--{environment}-ecr"
    assert twin != hashed


@pytest.mark.parametrize("name", ["my--agent", "a--b", "agent-20240101", "a-b-2e7336dc", "x-deadbeef"])
def test_simple_names_agentcore_cli_took_keep_its_stack(name: str) -> None:
    assert stack_name_for(PREFIX, name, "dev") == f"agentcore-{name}-dev-ecr"


@given(first=any_names, second=any_names, first_env=environments, second_env=environments)
@example(first="x-pre", second="x", first_env="prod", second_env="preprod")
def test_names_in_different_environments_never_share_a_stack(
    first: str, second: str, first_env: str, second_env: str
) -> None:
    # Environments have no "-" (docs/api.md, CreateRepositoryRequest): the part before "-ecr" is
    # always the environment.
    assume(first_env != second_env)

    assert stack_name_for(PREFIX, first, first_env) != stack_name_for(PREFIX, second, second_env)
