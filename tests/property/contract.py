"""The rules the properties hold the product to, written out from the API reference, docs/api.md
(its CreateRepositoryRequest, LifecyclePolicy and Stack names sections) and from AWS's
documentation, never taken from the code under test.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

# CreateRepository ----------------------------------------------------------------------------

# ECR's rule (botocore's model for CreateRepository, the AWS::ECR::Repository schema): runs of [a-z0-9]
# joined by ".", "_", "__" or any number of "-", in parts joined by "/".
NAME = re.compile(r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*")
NAME_LENGTH = (2, 256)
ENVIRONMENT = re.compile(r"[a-z][a-z0-9]{0,19}")
TAG_MUTABILITIES = ("MUTABLE", "IMMUTABLE")
ENCRYPTIONS = ("KMS", "AES256")
MAX_TAGS = 40
TAG_KEY_LENGTH = (1, 127)
TAG_VALUE_LENGTH = (1, 255)
RESERVED_TAG_PREFIXES = ("aws:", "agentcore:")  # "in any letter case"
RESERVED_TAG_KEYS = ("ManagedBy", "Environment")
# Field names are camelCase (Conventions); any other key is unknown and refused.
CREATE_FIELDS = (
    "name",
    "environment",
    "imageScanning",
    "imageTagMutability",
    "encryption",
    "kmsKeyArn",
    "lifecyclePolicy",
    "tags",
)
LIFECYCLE_FIELDS = ("untaggedExpiryDays", "maxImageCount")
UNTAGGED_EXPIRY_DAYS = (1, 3650)
MAX_IMAGE_COUNT = (1, 10000)
# What an omitted field means (the table's "default" column); `encryption` stays unset until the
# service settles it ("KMS" on create, the repository's own on update).
CREATE_DEFAULTS: dict[str, Any] = {
    "environment": "dev",
    "imageScanning": True,
    "imageTagMutability": "IMMUTABLE",
    "encryption": None,
    "kmsKeyArn": None,
    "lifecyclePolicy": {"untaggedExpiryDays": 30, "maxImageCount": None},
    "tags": {},
}

# The service's own tags on every repository ("Repository": `ManagedBy`, `Environment`).
SERVICE_TAG_VALUE = "agentcore-ecr"


def is_valid_name(value: object) -> bool:
    return (
        isinstance(value, str)
        and NAME_LENGTH[0] <= len(value) <= NAME_LENGTH[1]
        and NAME.fullmatch(value) is not None
    )


def is_valid_environment(value: object) -> bool:
    return isinstance(value, str) and ENVIRONMENT.fullmatch(value) is not None


def is_reserved_tag_key(key: str) -> bool:
    return key.lower().startswith(RESERVED_TAG_PREFIXES) or key in RESERVED_TAG_KEYS


def are_valid_tags(value: object) -> bool:
    if not isinstance(value, dict) or len(value) > MAX_TAGS:
        return False
    return all(
        isinstance(key, str)
        and isinstance(text, str)
        and TAG_KEY_LENGTH[0] <= len(key) <= TAG_KEY_LENGTH[1]
        and TAG_VALUE_LENGTH[0] <= len(text) <= TAG_VALUE_LENGTH[1]
        and not is_reserved_tag_key(key)
        for key, text in value.items()
    )


def is_positive_int(value: object) -> bool:
    """A JSON integer over 0: not a bool, not a float (even 30.0)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _int_within(value: object, bounds: tuple[int, int]) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and bounds[0] <= value <= bounds[1]


def is_valid_lifecycle(untagged_expiry_days: object, max_image_count: object) -> bool:
    return _int_within(untagged_expiry_days, UNTAGGED_EXPIRY_DAYS) and (
        max_image_count is None or _int_within(max_image_count, MAX_IMAGE_COUNT)
    )


# Stack names ---------------------------------------------------------------------------------

CLOUDFORMATION_STACK_NAME = re.compile(r"[a-zA-Z][-a-zA-Z0-9]*")  # CreateStack's StackName
MAX_STACK_NAME = 128
SIMPLE_NAME = re.compile(r"[a-z0-9-]+")
OTHER_RUNS = re.compile(r"[^a-z0-9-]+")
AGENTCORE_CLI_PREFIX = "agentcore"
AGENTCORE_CLI_ENVIRONMENTS = ("dev", "staging", "prod")


def digest8(name: str) -> str:
    """The first 8 hex digits of the SHA-256 of the name."""
    return hashlib.sha256(name.encode()).hexdigest()[:8]


def full_slug(name: str) -> str:
    """The name with every run of characters other than [a-z0-9-] turned into one `-`."""
    return OTHER_RUNS.sub("-", name)


def contrived_twin(name: str) -> str:
    """`{slug}-{digest}` of a name: a simple name made to spell the start of the name's stack body,
    the one way two names met on a stack under the earlier rule, `{prefix}-{slug}-{digest}-{env}-ecr`
    (`a-b-2e7336dc` and `a.b`). Under the rule now (docs/api.md, "Stack names": a hashed body ends
    with `-`) it must get a stack of its own."""
    return f"{full_slug(name)}-{digest8(name)}"


# ECR lifecycle policies (Amazon ECR User Guide, "Lifecycle policy properties") ----------------

TAG_STATUSES = ("tagged", "untagged", "any")
COUNT_TYPES = ("imageCountMoreThan", "sinceImagePushed")
RULE_KEYS = {"rulePriority", "description", "selection", "action"}
SELECTION_KEYS = {"tagStatus", "tagPrefixList", "tagPatternList", "countType", "countUnit", "countNumber"}


def _rule_problems(index: int, rule: Any) -> list[str]:
    where = f"rules[{index}]"
    if not isinstance(rule, dict):
        return [f"{where} is not an object"]
    problems = [f"{where}: unknown key {key}" for key in sorted(set(rule) - RULE_KEYS)]
    priority = rule.get("rulePriority")
    if not is_positive_int(priority):
        problems.append(f"{where}.rulePriority {priority!r} is not a positive integer")
    if "description" in rule and not isinstance(rule["description"], str):
        problems.append(f"{where}.description is not a string")
    selection = rule.get("selection")
    if not isinstance(selection, dict):
        return [*problems, f"{where}.selection is not an object"]
    problems += [f"{where}.selection: unknown key {key}" for key in sorted(set(selection) - SELECTION_KEYS)]
    status = selection.get("tagStatus")
    if status not in TAG_STATUSES:
        problems.append(f"{where}.selection.tagStatus {status!r} is not one of {TAG_STATUSES}")
    lists = [key for key in ("tagPrefixList", "tagPatternList") if key in selection]
    if status == "tagged" and not any(selection[key] for key in lists):
        problems.append(f"{where}: a tagged rule needs a tagPrefixList or a tagPatternList")
    if status != "tagged" and lists:
        problems.append(f"{where}: {lists} only go with tagStatus tagged")
    count_type = selection.get("countType")
    if count_type not in COUNT_TYPES:
        problems.append(f"{where}.selection.countType {count_type!r} is not one of {COUNT_TYPES}")
    if count_type == "sinceImagePushed" and selection.get("countUnit") != "days":
        problems.append(f"{where}: sinceImagePushed needs countUnit days")
    if count_type == "imageCountMoreThan" and "countUnit" in selection:
        problems.append(f"{where}: imageCountMoreThan takes no countUnit")
    count = selection.get("countNumber")
    if not is_positive_int(count):
        problems.append(f"{where}.selection.countNumber {count!r} is not a positive integer")
    if rule.get("action") != {"type": "expire"}:
        problems.append(f"{where}.action {rule.get('action')!r} is not {{'type': 'expire'}}")
    return problems


def lifecycle_policy_problems(text: str) -> list[str]:
    """Why ECR would refuse `text` as a lifecycle policy (empty: it would not)."""
    try:
        policy = json.loads(text)
    except ValueError as error:
        return [f"not JSON: {error}"]
    if not isinstance(policy, dict) or set(policy) != {"rules"}:
        return [f"not an object of exactly `rules`: {policy!r}"]
    rules = policy["rules"]
    if not isinstance(rules, list) or not rules:
        return ["rules is not a non-empty list"]
    problems = [problem for index, rule in enumerate(rules) for problem in _rule_problems(index, rule)]
    if problems:
        return problems
    priorities = [rule["rulePriority"] for rule in rules]
    if len(set(priorities)) != len(priorities):
        problems.append(f"rulePriority values repeat: {priorities}")
    for rule in rules:
        # "A rule with a tagStatus value of any must have the highest value for rulePriority."
        if rule["selection"]["tagStatus"] == "any" and rule["rulePriority"] != max(priorities):
            problems.append(f"the tagStatus any rule has priority {rule['rulePriority']}, not the highest")
    return problems
