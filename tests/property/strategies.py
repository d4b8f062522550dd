"""Generators of the contract's values: valid ones, and wrong ones of every kind."""

from __future__ import annotations

import re
import string
from typing import Any

from hypothesis import strategies as st

from tests.deployment import load_template
from tests.property import contract
from tests.unit.test_naming import ecr_names

# Names and environments ------------------------------------------------------------------------


def _checked(pattern: str, text: str) -> str:
    assert re.fullmatch(pattern, text), (pattern, text)
    return text


ALNUM = string.ascii_lowercase + string.digits

# Valid names: runs of [a-z0-9] joined by ECR's separators (".", "_", "__", runs of "-", "/"), up to
# 256 characters (the naming suite's generator), with all of them or with "-" runs only (names
# agentcore-cli could have made).
names = st.one_of(ecr_names(), ecr_names(separators=("-", "--")))
# [a-z][a-z0-9]{0,19}, built rather than drawn from the expression (cheaper), and checked against it.
environments = st.builds(
    str.__add__, st.sampled_from(string.ascii_lowercase), st.text(ALNUM, max_size=19)
).map(lambda environment: _checked(contract.ENVIRONMENT.pattern, environment))
# The deployment's StackNamePrefix rule, as template.yaml declares it: ^[a-zA-Z][-a-zA-Z0-9]{0,30}$.
PREFIX_PATTERN = load_template()["Parameters"]["StackNamePrefix"]["AllowedPattern"]
prefixes = st.one_of(
    st.just(contract.AGENTCORE_CLI_PREFIX),
    st.builds(
        str.__add__,
        st.sampled_from(string.ascii_letters),
        st.text(string.ascii_letters + string.digits + "-", max_size=30),
    ).map(lambda prefix: _checked(PREFIX_PATTERN, prefix)),
)


def _simple(text: str) -> str:
    """`text` (of [a-z0-9-]) made a valid name of the same length: no "-" first, last or twice in a row."""
    characters = list(text)
    for index, char in enumerate(characters):
        if char == "-" and (index in (0, len(characters) - 1) or characters[index - 1] == "-"):
            characters[index] = "a"
    return "".join(characters)


def simple_names_of_length(length: int) -> st.SearchStrategy[str]:
    """Names of only [a-z0-9-] of exactly `length` (>= 2) characters."""
    return st.text(ALNUM + "-", min_size=length, max_size=length).map(_simple)


# Lifecycle policies ------------------------------------------------------------------------------

untagged_expiry_days = st.integers(*contract.UNTAGGED_EXPIRY_DAYS)
max_image_counts = st.one_of(st.none(), st.integers(*contract.MAX_IMAGE_COUNT))


@st.composite
def lifecycle_bodies(draw: st.DrawFn) -> dict[str, Any]:
    """A valid LifecyclePolicy body; each field may be left out (its default applies)."""
    body: dict[str, Any] = {}
    if draw(st.booleans()):
        body["untaggedExpiryDays"] = draw(untagged_expiry_days)
    if draw(st.booleans()):
        body["maxImageCount"] = draw(max_image_counts)
    return body


# Tags --------------------------------------------------------------------------------------------

# Any text of any script, never a lone surrogate (JSON text cannot carry one as UTF-8).
characters = st.characters(exclude_categories=["Cs"])
non_ascii = st.characters(min_codepoint=0x80, exclude_categories=["Cs"])
tag_keys = st.one_of(
    st.text(characters, min_size=contract.TAG_KEY_LENGTH[0], max_size=contract.TAG_KEY_LENGTH[1]),
    st.text(non_ascii, min_size=contract.TAG_KEY_LENGTH[0], max_size=contract.TAG_KEY_LENGTH[1]),
).filter(lambda key: not contract.is_reserved_tag_key(key))
tag_values = st.one_of(
    st.text(characters, min_size=contract.TAG_VALUE_LENGTH[0], max_size=contract.TAG_VALUE_LENGTH[1]),
    st.text(non_ascii, min_size=contract.TAG_VALUE_LENGTH[0], max_size=contract.TAG_VALUE_LENGTH[1]),
)
tags = st.dictionaries(tag_keys, tag_values, max_size=contract.MAX_TAGS)
# A few short tags: for bodies whose tags are not what a property is about (cheaper to make).
few_tags = st.dictionaries(
    st.text(characters, min_size=1, max_size=8).filter(lambda key: not contract.is_reserved_tag_key(key)),
    st.text(characters, min_size=1, max_size=8),
    max_size=3,
)


@st.composite
def any_case(draw: st.DrawFn, text: str) -> str:
    """`text` with each letter in upper or lower case."""
    return "".join(draw(st.sampled_from(sorted({char.lower(), char.upper()}))) for char in text)


reserved_tag_keys = st.one_of(
    st.sampled_from(contract.RESERVED_TAG_KEYS),
    st.builds(
        str.__add__,
        st.sampled_from(contract.RESERVED_TAG_PREFIXES).flatmap(any_case),
        st.text(characters, max_size=20),
    ),
)


# KMS keys ------------------------------------------------------------------------------------

# arn:{partition}:kms:{region}:{account}:key/{key id}, the key id a UUID or a multi-Region key's
# mrk- and 32 hex digits (AWS KMS Developer Guide, "Key identifiers").
hex_digits = st.text("0123456789abcdef", min_size=32, max_size=32)
kms_key_ids = st.one_of(st.uuids().map(str), hex_digits.map(lambda digits: f"mrk-{digits}"))
kms_key_arns = st.builds(
    "arn:{}:kms:{}:{}:key/{}".format,
    st.sampled_from(["aws", "aws-cn", "aws-us-gov"]),
    st.sampled_from(["us-east-1", "eu-west-3", "ap-southeast-2", "cn-north-1", "us-gov-west-1"]),
    st.text(string.digits, min_size=12, max_size=12),
    kms_key_ids,
)


# CreateRepository ------------------------------------------------------------------------------


@st.composite
def create_bodies(
    draw: st.DrawFn, name: st.SearchStrategy[str] = names, tag_maps: st.SearchStrategy[dict[str, str]] = tags
) -> dict[str, Any]:
    """A valid CreateRepository body, as JSON would carry it; any optional field may be left out."""
    body: dict[str, Any] = {"name": draw(name)}
    optional: dict[str, st.SearchStrategy[Any]] = {
        "environment": environments,
        "imageScanning": st.booleans(),
        "imageTagMutability": st.sampled_from(contract.TAG_MUTABILITIES),
        "encryption": st.sampled_from(contract.ENCRYPTIONS),
        "lifecyclePolicy": lifecycle_bodies(),
        "tags": tag_maps,
    }
    for field, values in optional.items():
        if draw(st.booleans()):
            body[field] = draw(values)
    if body.get("encryption", "KMS") == "KMS" and draw(st.booleans()):
        body["kmsKeyArn"] = draw(st.one_of(st.none(), kms_key_arns))
    return body


def with_defaults(body: dict[str, Any]) -> dict[str, Any]:
    """The body with the contract's default for each field left out."""
    lifecycle = {**contract.CREATE_DEFAULTS["lifecyclePolicy"], **body.get("lifecyclePolicy", {})}
    return {**contract.CREATE_DEFAULTS, **body, "lifecyclePolicy": lifecycle}


# Wrong values ------------------------------------------------------------------------------------

# A JSON value of every type but the one named.
json_scalars: dict[str, st.SearchStrategy[Any]] = {
    "null": st.none(),
    "bool": st.booleans(),
    "int": st.integers(),
    "float": st.floats(allow_nan=False, allow_infinity=False),
    "string": st.text(max_size=20),
}
json_containers: dict[str, st.SearchStrategy[Any]] = {
    "array": st.lists(st.integers() | st.text(max_size=5), max_size=3),
    "object": st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=3),
}


def json_except(*kinds: str) -> st.SearchStrategy[Any]:
    """Any JSON value whose type is none of `kinds` (of null, bool, int, float, string, array, object)."""
    every = {**json_scalars, **json_containers}
    return st.one_of(*(strategy for kind, strategy in every.items() if kind not in kinds))
