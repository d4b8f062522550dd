"""Stack names (docs/api.md, "Stack names") for every valid name, environment and prefix.

tests/unit/test_naming.py holds the worked examples and the properties for the default prefix; here
the prefix varies too, and pairs of (name, environment) are made to nearly meet: names that differ
only in their separators, or only past the part of them that fits in a stack name, and each hashed
name's contrived twin, the simple name `{slug}-{digest}` that spells the start of its stack name
(the pair `a.b` / `a-b-2e7336dc` shared a stack under the earlier rule,
`{prefix}-{slug}-{digest}-{environment}-ecr`). No pair meets.
"""

from __future__ import annotations

from hypothesis import assume, example, given
from hypothesis import strategies as st

from agentcore_ecr.domain.naming import stack_name_for
from tests.property import contract
from tests.property.strategies import (
    ALNUM,
    environments,
    names,
    prefixes,
    simple_names_of_length,
)

SEPARATORS = "._-/"
JOINS = (".", "_", "__", "-", "--", "/")


def parts(stack_name: str, prefix: str, environment: str) -> str:
    """The `{slug}` of `{prefix}-{slug}-{environment}-ecr`, checking the frame around it."""
    head, tail = f"{prefix}-", f"-{environment}-ecr"
    assert stack_name.startswith(head), stack_name
    assert stack_name.endswith(tail), stack_name
    return stack_name[len(head) : -len(tail)]


# Every stack name is one CloudFormation takes, and says which environment it is ------------------


@given(prefix=prefixes, name=names, environment=environments)
@example(prefix="A" + "-" * 30, name="a" * 256, environment="e" * 20)
@example(prefix="a", name=("a." * 128)[:255] + "b", environment="e")
@example(prefix="Z9", name="/".join(["a"] * 128), environment="prod")
def test_stack_name_is_a_valid_cloudformation_stack_name(prefix: str, name: str, environment: str) -> None:
    stack_name = stack_name_for(prefix, name, environment)

    assert contract.CLOUDFORMATION_STACK_NAME.fullmatch(stack_name), stack_name
    assert len(stack_name) <= contract.MAX_STACK_NAME, stack_name
    assert parts(stack_name, prefix, environment)
    # Environments have no "-": the part between the last two "-" is always the environment.
    assert stack_name.removesuffix("-ecr").rsplit("-", 1)[1] == environment
    assert stack_name_for(prefix, name, environment) == stack_name, "the same inputs, another name"


# The slug is the contract's -------------------------------------------------------------------


@given(prefix=prefixes, name=names, environment=environments)
@example(prefix="agentcore", name="a.b", environment="dev")
@example(
    prefix="agentcore",
    name="0000-0-00000-00000000--00--000--000000--0000000--00000000000000000--00000000000000000--00000000000",
    environment="a000000000000000",
)
def test_slug_is_the_name_or_its_slug_and_digest(prefix: str, name: str, environment: str) -> None:
    stack_name = stack_name_for(prefix, name, environment)
    as_is = f"{prefix}-{name}-{environment}-ecr"

    if contract.SIMPLE_NAME.fullmatch(name) and len(as_is) <= contract.MAX_STACK_NAME:
        assert stack_name == as_is
        return
    body = parts(stack_name, prefix, environment)
    assert body.endswith("-"), "a hashed body ends with '-', which no simple name does"
    slug, _, digest = body.removesuffix("-").rpartition("-")
    assert digest == contract.digest8(name), stack_name
    whole = f"{prefix}-{contract.full_slug(name)}-{digest}--{environment}-ecr"
    if len(whole) <= contract.MAX_STACK_NAME:
        assert stack_name == whole, "the slug was shortened although it fits"
    else:
        # "shortened to fit": a start of the slug, cut at the limit, less the "-"s it would end on
        # (a name may hold "--", so there can be two).
        full = contract.full_slug(name)
        assert slug, stack_name
        assert full.startswith(slug), stack_name
        room = contract.MAX_STACK_NAME - len(stack_name)
        assert full[len(slug) : len(slug) + room].strip("-") == "", (stack_name, "cut short of the limit")


@st.composite
def fitting_simple_names(draw: st.DrawFn, environment: str) -> str:
    """A name of only [a-z0-9-] whose agentcore-cli stack name fits, often right at the limit."""
    room = contract.MAX_STACK_NAME - len(f"{contract.AGENTCORE_CLI_PREFIX}--{environment}-ecr")
    length = draw(st.one_of(st.integers(2, room), st.integers(max(2, room - 3), room)))
    return draw(simple_names_of_length(length))


@given(
    data=st.data(), environment=st.one_of(st.sampled_from(contract.AGENTCORE_CLI_ENVIRONMENTS), environments)
)
def test_simple_name_that_fits_is_agentcore_clis_stack(data: st.DataObject, environment: str) -> None:
    name = data.draw(fitting_simple_names(environment), label="name")

    stack_name = stack_name_for(contract.AGENTCORE_CLI_PREFIX, name, environment)

    assert stack_name == f"agentcore-{name}-{environment}-ecr"
    assert len(stack_name) <= contract.MAX_STACK_NAME


# Two (name, environment) pairs never share a stack ----------------------------------------------


@st.composite
def near_names(draw: st.DrawFn, name: str) -> str:
    """Another valid name close to `name`: its separators changed, a part added, its end changed."""
    how = draw(st.sampled_from(["separators", "longer", "other-end", "any"]))
    if how == "separators":
        other = "".join(draw(st.sampled_from(SEPARATORS)) if char in SEPARATORS else char for char in name)
    elif how == "longer":
        other = name + draw(st.sampled_from(JOINS)) + draw(st.text(ALNUM, min_size=1, max_size=3))
    elif how == "other-end":
        other = name[:-1] + draw(st.sampled_from(ALNUM))
    else:
        other = draw(names)
    assume(contract.is_valid_name(other))
    return other


def twins(name: str, stack_name: str, prefix: str, environment: str) -> list[str]:
    """The simple names made to spell the start of `name`'s stack name: `{slug}-{digest}` of the
    whole slug, and of the slug as shortened to fit (read off the stack name's body)."""
    body = parts(stack_name, prefix, environment)
    made = [contract.contrived_twin(name), body.strip("-")]
    return [twin for twin in made if twin != name and contract.is_valid_name(twin)]


@st.composite
def other_names(draw: st.DrawFn, name: str, prefix: str, environment: str) -> str:
    """A name near `name`, or `name` itself, or, often, a contrived twin of it."""
    found = twins(name, stack_name_for(prefix, name, environment), prefix, environment)
    choices: list[st.SearchStrategy[str]] = [near_names(name), st.just(name)]
    if found:
        choices.insert(0, st.sampled_from(found))
    other: str = draw(st.one_of(*choices))
    return other


@given(data=st.data(), prefix=prefixes, name=names, environment=environments)
@example(data=None, prefix="agentcore", name="a.b", environment="dev")
def test_two_pairs_never_share_a_stack(
    data: st.DataObject | None, prefix: str, name: str, environment: str
) -> None:
    if data is None:  # the worked example: the pair that shared a stack under the first rule
        other_name, other_environment = "a-b-2e7336dc", environment
    else:
        other_name = data.draw(other_names(name, prefix, environment), label="other name")
        other_environment = data.draw(
            st.one_of(st.just(environment), environments), label="other environment"
        )
    assume((other_name, other_environment) != (name, environment))

    assert stack_name_for(prefix, name, environment) != stack_name_for(prefix, other_name, other_environment)


def _not_simple_when_short(name: str) -> str:
    """A short name of only [a-z0-9-] (its own slug) with a "." added, so it is hashed."""
    return f"{name}.x" if contract.SIMPLE_NAME.fullmatch(name) and len(name) <= 60 else name


@given(
    prefix=prefixes,
    name=names.map(_not_simple_when_short),
    environment=st.one_of(st.sampled_from(contract.AGENTCORE_CLI_ENVIRONMENTS), environments),
)
@example(prefix="agentcore", name="a.b", environment="dev")
def test_the_contrived_twin_of_a_hashed_name_has_a_stack_of_its_own(
    prefix: str, name: str, environment: str
) -> None:
    # Every hashed name has contrived twins (simple names spelling its `{slug}-{digest}`); each is a
    # name agentcore-cli could have made, so it keeps agentcore-cli's stack name, and that is never
    # the hashed name's: the hashed body ends with "-". Creating a twin first blocks nothing.
    stack_name = stack_name_for(prefix, name, environment)
    found = twins(name, stack_name, prefix, environment)
    assume(found)

    for twin in found:
        twin_stack = stack_name_for(prefix, twin, environment)
        assert contract.SIMPLE_NAME.fullmatch(twin)
        assert twin_stack != stack_name, (twin, name)
        if len(f"{prefix}-{twin}-{environment}-ecr") <= contract.MAX_STACK_NAME:
            assert twin_stack == f"{prefix}-{twin}-{environment}-ecr", "agentcore-cli's stack name kept"
    if name == "a.b":
        assert found[0] == "a-b-2e7336dc"  # `printf a.b | sha256sum`


@given(data=st.data(), environment=environments)
def test_a_simple_name_too_long_to_be_its_own_slug_is_hashed_like_any_other(
    data: st.DataObject, environment: str
) -> None:
    room = contract.MAX_STACK_NAME - len(f"{contract.AGENTCORE_CLI_PREFIX}--{environment}-ecr")
    length = data.draw(st.one_of(st.integers(room + 1, room + 3), st.integers(room + 1, 256)), label="length")
    name = data.draw(simple_names_of_length(length), label="name")

    stack_name = stack_name_for(contract.AGENTCORE_CLI_PREFIX, name, environment)

    assert stack_name != f"agentcore-{name}-{environment}-ecr"
    assert stack_name.endswith(f"-{contract.digest8(name)}--{environment}-ecr")
    assert len(stack_name) <= contract.MAX_STACK_NAME
