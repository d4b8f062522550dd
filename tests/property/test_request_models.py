"""CreateRepository and LifecyclePolicy bodies: the request models refuse every invalid value, naming
its field in the error's `loc`, and accept every valid one; through the API, the field is named in
the error's `details` (docs/api.md, Conventions: "one entry per invalid field with its location").

tests/unit/test_validation.py holds the worked examples end to end (nothing started, edges applied);
here the values are generated, and the rules are compared with the contract's own (contract.py).
"""

from __future__ import annotations

import json
import re
import string
from typing import Any

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from agentcore_ecr.domain.models import CreateRepositoryRequest, LifecyclePolicy, ProvisioningRequest
from tests import api_events
from tests.deployment import run_handler
from tests.property import contract
from tests.property.strategies import (
    ALNUM,
    any_case,
    characters,
    create_bodies,
    environments,
    few_tags,
    json_except,
    kms_key_arns,
    lifecycle_bodies,
    names,
    reserved_tag_keys,
    tag_keys,
    tag_values,
    with_defaults,
)

# Bodies around the invalid value: every field varies, but the names are short and the tags few and
# short, cheaper to generate (test_name_rule_is_the_contracts, test_tags_rule_is_the_contracts and
# test_every_valid_body_is_accepted_as_given take the whole range).
short_valid_names = st.builds(
    lambda first, separator, second: first + separator + second if separator else first,
    st.text(ALNUM, min_size=2, max_size=8),
    st.sampled_from(["", "/", ".", "_", "-"]),
    st.text(ALNUM, min_size=1, max_size=8),
)
bodies = create_bodies(name=short_valid_names, tag_maps=few_tags)

# A provisioning event's `detail` is a CreateRepository body (contract, Events): both models hold.
create_models = st.sampled_from([CreateRepositoryRequest, ProvisioningRequest])


def refusal(model: type[BaseModel], body: Any) -> ValidationError:
    with pytest.raises(ValidationError) as refused:
        model.model_validate(body)
    return refused.value


def locations(error: ValidationError) -> list[tuple[str | int, ...]]:
    return [tuple(item["loc"]) for item in error.errors()]


def names_the_field(error: ValidationError, path: tuple[str, ...]) -> bool:
    return any(loc[: len(path)] == path for loc in locations(error))


# Wrong values, field by field ------------------------------------------------------------------

short_names = st.text(ALNUM, min_size=2, max_size=8)
invalid_name_text = st.one_of(
    st.text(ALNUM + "._-/ A$", max_size=12),  # separators anywhere, upper case, other characters
    st.text(characters, max_size=8),
    short_names.flatmap(
        lambda name: st.sampled_from(
            [name.upper(), f"-{name}", f"{name}/", f"{name}..x", f"{name}A", f"a//{name}"]
        )
    ),
    st.builds(lambda run, length: (run * 300)[:length], short_names, st.integers(257, 300)),  # too long
    st.sampled_from(ALNUM),  # too short
).filter(lambda text: not contract.is_valid_name(text))
invalid_environment_text = st.one_of(
    st.text(ALNUM + "-_A", max_size=24),
    st.text(characters, max_size=8),
    environments.map(lambda environment: environment + "-x"),
    st.text(string.ascii_lowercase, min_size=21, max_size=30),
).filter(lambda text: not contract.is_valid_environment(text))


@st.composite
def not_kms_key_arns(draw: st.DrawFn) -> str:
    """Text that is no KMS key ARN: an alias, another service, a bad account, no key id, a bare id..."""
    arn = draw(kms_key_arns)
    head, _, key_id = arn.partition(":key/")
    spoilt = draw(
        st.sampled_from(
            [
                f"{head}:alias/my-key",
                arn.replace(":kms:", ":s3:"),
                re.sub(r":\d{12}:", ":12345678901:", arn),
                f"{head}:key/",
                key_id,
                f"alias/{key_id}",
                arn + " ",
                arn.replace("arn:", "ARN:"),
                head.replace(":kms:", ":kms::") + f":key/{key_id}",
            ]
        )
    )
    return spoilt


# (path of the field, wrong values): a wrong type, or a value of the right type that breaks its rule.
INVALID_CREATE: dict[str, st.SearchStrategy[Any]] = {
    "name": st.one_of(json_except("string"), invalid_name_text),
    "environment": st.one_of(json_except("string"), invalid_environment_text),
    "imageScanning": json_except("bool"),
    "imageTagMutability": st.one_of(
        json_except("string"),
        st.text(max_size=12).filter(lambda text: text not in contract.TAG_MUTABILITIES),
        st.sampled_from(contract.TAG_MUTABILITIES)
        .flatmap(any_case)
        .filter(lambda text: text not in contract.TAG_MUTABILITIES),
    ),
    # null is left out: the project's OpenAPI document gives `encryption` as string or null, null
    # meaning "not given" (the contract's default applies).
    "encryption": st.one_of(
        json_except("string", "null"),
        st.text(max_size=8).filter(lambda text: text not in contract.ENCRYPTIONS),
        st.sampled_from(contract.ENCRYPTIONS)
        .flatmap(any_case)
        .filter(lambda text: text not in contract.ENCRYPTIONS),
    ),
    "kmsKeyArn": st.one_of(json_except("string", "null"), not_kms_key_arns()),
    "lifecyclePolicy": json_except("object"),
    "lifecyclePolicy.untaggedExpiryDays": st.one_of(
        json_except("int"),
        st.integers(max_value=contract.UNTAGGED_EXPIRY_DAYS[0] - 1),
        st.integers(min_value=contract.UNTAGGED_EXPIRY_DAYS[1] + 1),
        st.integers(*contract.UNTAGGED_EXPIRY_DAYS).map(float),
    ),
    "lifecyclePolicy.maxImageCount": st.one_of(
        json_except("int", "null"),
        st.integers(max_value=contract.MAX_IMAGE_COUNT[0] - 1),
        st.integers(min_value=contract.MAX_IMAGE_COUNT[1] + 1),
        st.integers(*contract.MAX_IMAGE_COUNT).map(float),
    ),
    "tags": st.one_of(
        json_except("object"),
        st.dictionaries(
            st.text(ALNUM, min_size=1, max_size=6),
            st.text(ALNUM, min_size=1, max_size=3),
            min_size=contract.MAX_TAGS + 1,
            max_size=contract.MAX_TAGS + 5,
        ),
        st.dictionaries(reserved_tag_keys, tag_values, min_size=1, max_size=3),
        st.dictionaries(st.just(""), tag_values, min_size=1, max_size=1),
        st.dictionaries(st.text(characters, min_size=128, max_size=140), tag_values, min_size=1, max_size=2),
        st.dictionaries(tag_keys, st.just(""), min_size=1, max_size=2),
        st.dictionaries(tag_keys, st.text(characters, min_size=256, max_size=270), min_size=1, max_size=2),
        st.dictionaries(tag_keys, json_except("string"), min_size=1, max_size=2),
    ),
}


def with_value(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """`body` with the field at `path` (`a.b` for a nested one) set to `value`."""
    head, _, rest = path.partition(".")
    if not rest:
        return {**body, head: value}
    inner = body.get(head)
    return {**body, head: with_value(inner if isinstance(inner, dict) else {}, rest, value)}


@pytest.mark.parametrize("field", list(INVALID_CREATE))
@given(data=st.data(), body=bodies, model=create_models)
def test_model_refuses_an_invalid_value_naming_its_field(
    field: str, data: st.DataObject, body: dict[str, Any], model: type[BaseModel]
) -> None:
    value = data.draw(INVALID_CREATE[field], label=field)
    if field == "kmsKeyArn":
        body = {key: item for key, item in body.items() if key != "encryption"}
    invalid = with_value(body, field, value)

    error = refusal(model, invalid)

    assert names_the_field(error, tuple(field.split("."))), (field, locations(error))


@given(body=bodies, arn=kms_key_arns, model=create_models)
def test_a_kms_key_with_aes256_is_refused_naming_kms_key_arn(
    model: type[BaseModel], body: dict[str, Any], arn: str
) -> None:
    error = refusal(model, {**body, "encryption": "AES256", "kmsKeyArn": arn})

    assert names_the_field(error, ("kmsKeyArn",)), locations(error)


INVALID_LIFECYCLE = {
    path.removeprefix("lifecyclePolicy."): values
    for path, values in INVALID_CREATE.items()
    if path.startswith("lifecyclePolicy.")
}


@pytest.mark.parametrize("field", list(INVALID_LIFECYCLE))
@given(data=st.data(), body=lifecycle_bodies())
def test_lifecycle_model_refuses_an_invalid_value_naming_its_field(
    field: str, data: st.DataObject, body: dict[str, Any]
) -> None:
    invalid = {**body, field: data.draw(INVALID_LIFECYCLE[field], label=field)}

    error = refusal(LifecyclePolicy, invalid)

    assert names_the_field(error, (field,)), locations(error)


# Unknown fields ----------------------------------------------------------------------------------

# The Python names of the fields, with a valid value each: not the contract's names, so unknown fields.
SNAKE_CASE_SYNONYMS: dict[str, tuple[type[BaseModel], dict[str, Any]]] = {
    "image_scanning": (CreateRepositoryRequest, {"name": "ab", "image_scanning": False}),
    "image_tag_mutability": (CreateRepositoryRequest, {"name": "ab", "image_tag_mutability": "MUTABLE"}),
    "kms_key_arn": (
        CreateRepositoryRequest,
        {
            "name": "ab",
            "kms_key_arn": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        },
    ),
    "lifecycle_policy": (
        CreateRepositoryRequest,
        {"name": "ab", "lifecycle_policy": {"untaggedExpiryDays": 7}},
    ),
    "untagged_expiry_days": (LifecyclePolicy, {"untagged_expiry_days": 7}),
    "max_image_count": (LifecyclePolicy, {"max_image_count": 5}),
}

unknown_keys = st.one_of(
    st.text(string.ascii_letters + string.digits + "_-", min_size=1, max_size=16),
    st.sampled_from(contract.CREATE_FIELDS).map(str.upper),
    st.sampled_from(contract.CREATE_FIELDS).map(str.capitalize),
    st.sampled_from(contract.CREATE_FIELDS).map(lambda field: f"{field} "),
)


@given(body=bodies, key=unknown_keys, value=json_except(), model=create_models)
def test_an_unknown_field_is_refused_naming_it(
    model: type[BaseModel], body: dict[str, Any], key: str, value: Any
) -> None:
    assume(key not in contract.CREATE_FIELDS)
    assume(key not in SNAKE_CASE_SYNONYMS)  # test_snake_case_field_names_are_unknown_fields
    if model is ProvisioningRequest:
        assume(key not in ("idempotencyKey", "idempotency_key"))  # the event's own field

    error = refusal(model, {**body, key: value})

    assert names_the_field(error, (key,)), locations(error)


@given(body=lifecycle_bodies(), key=unknown_keys, value=json_except())
def test_an_unknown_lifecycle_field_is_refused_naming_it(body: dict[str, Any], key: str, value: Any) -> None:
    assume(key not in contract.LIFECYCLE_FIELDS)
    assume(key not in SNAKE_CASE_SYNONYMS)

    error = refusal(LifecyclePolicy, {**body, key: value})

    assert names_the_field(error, (key,)), locations(error)


@pytest.mark.parametrize("key", list(SNAKE_CASE_SYNONYMS))
def test_snake_case_field_names_are_unknown_fields(key: str) -> None:
    # Conventions: camelCase keys; "Unknown request fields are rejected (400), never ignored."
    model, body = SNAKE_CASE_SYNONYMS[key]

    error = refusal(model, body)

    assert names_the_field(error, (key,)), locations(error)


# Rules compared with the contract's, valid and invalid values alike ------------------------------


@given(
    text=st.one_of(
        names,
        invalid_name_text,
        st.text(ALNUM + "._-/", min_size=1, max_size=10),
        st.text(ALNUM, min_size=250, max_size=260),
    )
)
@example(text="a" * 256)
@example(text="a" * 257)
@example(text="a/b.c_d-e")
def test_name_rule_is_the_contracts(text: str) -> None:
    accepted = _accepts(CreateRepositoryRequest, {"name": text})

    assert accepted == contract.is_valid_name(text), text


@given(text=st.one_of(environments, invalid_environment_text))
@example(text="a" + "0" * 19)
@example(text="a" + "0" * 20)
def test_environment_rule_is_the_contracts(text: str) -> None:
    accepted = _accepts(CreateRepositoryRequest, {"name": "ab", "environment": text})

    assert accepted == contract.is_valid_environment(text), text


around_days = st.one_of(st.integers(-5, 5), st.integers(3645, 3655), st.integers(), json_except("int"))
around_counts = st.one_of(st.integers(-5, 5), st.integers(9995, 10005), st.integers(), json_except("int"))


@given(days=around_days, count=around_counts)
def test_lifecycle_rule_is_the_contracts(days: Any, count: Any) -> None:
    accepted = _accepts(LifecyclePolicy, {"untaggedExpiryDays": days, "maxImageCount": count})

    assert accepted == contract.is_valid_lifecycle(days, count), (days, count)


def _text_of(lengths: list[int]) -> st.SearchStrategy[str]:
    return st.sampled_from(lengths).flatmap(
        lambda length: st.text(characters, min_size=length, max_size=length)
    )


# One tag near an edge: key and value lengths 0-1 and around their limits, reserved keys in any letter
# case, the names of the service's tags in another case.
edge_keys = st.one_of(
    _text_of([0, 1, 2, 126, 127, 128]),
    reserved_tag_keys,
    st.sampled_from(contract.RESERVED_TAG_KEYS).flatmap(any_case),
)
edge_values = _text_of([0, 1, 2, 254, 255, 256])


@st.composite
def tag_maps(draw: st.DrawFn) -> dict[str, str]:
    """A few tags near their edges, or about 40 short ones and maybe one near an edge."""
    if draw(st.booleans()):
        return draw(st.dictionaries(edge_keys, edge_values, max_size=3))
    count = draw(st.integers(contract.MAX_TAGS - 2, contract.MAX_TAGS + 1))
    tags: dict[str, str] = draw(
        st.dictionaries(
            st.text(ALNUM, min_size=1, max_size=6),
            st.text(ALNUM, min_size=1, max_size=3),
            min_size=count,
            max_size=count,
        )
    )
    if draw(st.booleans()):
        tags[draw(edge_keys)] = draw(edge_values)
    return tags


@given(tags=tag_maps())
def test_tags_rule_is_the_contracts(tags: dict[str, str]) -> None:
    accepted = _accepts(CreateRepositoryRequest, {"name": "ab", "tags": tags})

    assert accepted == contract.are_valid_tags(tags), tags


@pytest.mark.parametrize("key", ["managedBy", "MANAGEDBY", "managedby", "environment", "ENVIRONMENT"])
def test_the_service_tag_names_in_another_case_are_the_callers(key: str) -> None:
    # "no key starting with `aws:` or `agentcore:` in any letter case, nor `ManagedBy` or `Environment`":
    # the letter case goes with the prefixes; tag keys are case-sensitive, so `environment` is not
    # the service's `Environment`.
    request = CreateRepositoryRequest.model_validate({"name": "ab", "tags": {key: "v"}})

    assert request.tags == {key: "v"}


def _accepts(model: type[BaseModel], body: dict[str, Any]) -> bool:
    try:
        model.model_validate(body)
    except ValidationError:
        return False
    return True


# Valid bodies ------------------------------------------------------------------------------------


@given(body=create_bodies(), model=create_models)
def test_every_valid_body_is_accepted_as_given(model: type[BaseModel], body: dict[str, Any]) -> None:
    accepted = model.model_validate(body)

    expected = with_defaults(body)
    if model is ProvisioningRequest:
        expected["idempotencyKey"] = None
    assert accepted.model_dump(mode="json", by_alias=True) == expected


@given(body=lifecycle_bodies())
def test_every_valid_lifecycle_body_is_accepted_as_given(body: dict[str, Any]) -> None:
    accepted = LifecyclePolicy.model_validate(body)

    assert accepted.model_dump(mode="json", by_alias=True) == {
        **contract.CREATE_DEFAULTS["lifecyclePolicy"],
        **body,
    }


# Through the API: the field is in the error's details ------------------------------------------


def call(handler: str, event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = run_handler(f"agentcore_ecr.handlers.{handler}.lambda_handler", event, handler)
    body: dict[str, Any] = json.loads(response["body"])
    return response["statusCode"], body


def assert_names_the_field(status: int, body: dict[str, Any], field: str) -> None:
    assert status == 400, body
    error = body["error"]
    assert error["code"] == "ValidationError"
    assert error["message"]
    details = error.get("details") or []
    assert all(set(detail) == {"location", "field", "message"} for detail in details), details
    named = [detail["field"] for detail in details if detail["location"] == "body"]
    # A tag's own entry names it under `tags` (`tags.<key>`); every other field is named exactly.
    assert any(found == field or (field == "tags" and found.startswith("tags")) for found in named), details


UNKNOWN = "<an unknown field>"


@given(data=st.data(), body=bodies, field=st.sampled_from([*INVALID_CREATE, UNKNOWN]))
def test_post_repositories_names_the_invalid_field_in_details(
    data: st.DataObject, body: dict[str, Any], field: str
) -> None:
    if field == UNKNOWN:
        field = data.draw(st.text(string.ascii_letters, min_size=1, max_size=16), label="unknown field")
        assume(field not in contract.CREATE_FIELDS)
        invalid = {**body, field: data.draw(json_except(), label="its value")}
    else:
        if field == "kmsKeyArn":
            body = {key: item for key, item in body.items() if key != "encryption"}
        invalid = with_value(body, field, data.draw(INVALID_CREATE[field], label=field))

    status, answer = call("create_repository", api_events.create_repository(invalid))

    assert_names_the_field(status, answer, field)


@given(data=st.data(), body=lifecycle_bodies(), field=st.sampled_from(list(INVALID_LIFECYCLE)))
def test_put_lifecycle_policy_names_the_invalid_field_in_details(
    data: st.DataObject, body: dict[str, Any], field: str
) -> None:
    invalid = {**body, field: data.draw(INVALID_LIFECYCLE[field], label=field)}

    status, answer = call("put_lifecycle_policy", api_events.put_lifecycle_policy("team/agent-a", invalid))

    assert_names_the_field(status, answer, field)
