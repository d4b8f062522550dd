"""How a repository's settings map to its stack's parameters and tags, and back."""

from __future__ import annotations

import json
from collections.abc import Mapping

from agentcore_ecr.domain.models import (
    RESERVED_TAG_KEYS,
    RESERVED_TAG_PREFIXES,
    CreateRepositoryRequest,
    LifecyclePolicy,
)

SERVICE_TAG_VALUE = "agentcore-ecr"
MANAGED_BY = "ManagedBy"
ENVIRONMENT = "Environment"
REPOSITORY_TAG = "agentcore:repository"

P_NAME = "RepositoryName"
P_ENVIRONMENT = "Environment"
P_SCAN = "ImageScanOnPush"
P_MUTABILITY = "ImageTagMutability"
P_ENCRYPTION = "EncryptionType"
P_KMS_KEY = "KmsKeyArn"
P_UNTAGGED_DAYS = "UntaggedExpiryDays"
P_MAX_IMAGES = "MaxImageCount"
P_EMPTY_ON_DELETE = "EmptyOnDelete"

ALL_PARAMETERS = (
    P_NAME,
    P_ENVIRONMENT,
    P_SCAN,
    P_MUTABILITY,
    P_ENCRYPTION,
    P_KMS_KEY,
    P_UNTAGGED_DAYS,
    P_MAX_IMAGES,
    P_EMPTY_ON_DELETE,
)


def _flag(value: bool) -> str:
    return "true" if value else "false"


def lifecycle_parameters(policy: LifecyclePolicy) -> dict[str, str]:
    return {
        P_UNTAGGED_DAYS: str(policy.untagged_expiry_days),
        P_MAX_IMAGES: str(policy.max_image_count or 0),
    }


def stack_parameters(request: CreateRepositoryRequest) -> dict[str, str]:
    """Every parameter of the repository template, from a create/upsert request."""
    return {
        P_NAME: request.name,
        P_ENVIRONMENT: request.environment,
        P_SCAN: _flag(request.image_scanning),
        P_MUTABILITY: request.image_tag_mutability,
        P_ENCRYPTION: request.encryption,
        P_KMS_KEY: request.kms_key_arn or "",
        **lifecycle_parameters(request.lifecycle_policy),
        P_EMPTY_ON_DELETE: "false",
    }


def keep_previous(**changes: str) -> dict[str, str | None]:
    """Parameters for an update that changes only `changes` (None = UsePreviousValue)."""
    return {key: changes.get(key) for key in ALL_PARAMETERS}


def service_tags(repository_name: str, environment: str) -> dict[str, str]:
    return {MANAGED_BY: SERVICE_TAG_VALUE, ENVIRONMENT: environment, REPOSITORY_TAG: repository_name}


def stack_tags(request: CreateRepositoryRequest) -> dict[str, str]:
    """The stack carries the service's tags only: CloudFormation refuses empty stack tag values."""
    return service_tags(request.name, request.environment)


CALLER_TAGS_MARKER = "        # CALLER_TAGS:"


def render_template(template: str, tags: Mapping[str, str]) -> str:
    """The repository template with the caller's tags added to the repository's `Tags`.

    Keys and values are written as JSON strings, which YAML reads back verbatim.
    """
    head, marker, tail = template.partition(CALLER_TAGS_MARKER)
    if not marker:
        raise ValueError("the repository template has no CALLER_TAGS marker")
    entry = "        - Key: {}\n          Value: {}\n"
    lines = "".join(entry.format(json.dumps(key), json.dumps(value)) for key, value in sorted(tags.items()))
    return head + lines + marker + tail


def caller_tags(tags: Mapping[str, str]) -> dict[str, str]:
    return {
        key: value
        for key, value in tags.items()
        if key not in RESERVED_TAG_KEYS and not key.startswith(RESERVED_TAG_PREFIXES)
    }


def is_managed(tags: Mapping[str, str], environment: str | None = None) -> bool:
    if tags.get(MANAGED_BY) != SERVICE_TAG_VALUE:
        return False
    return environment is None or tags.get(ENVIRONMENT) == environment


def lifecycle_from_parameters(parameters: Mapping[str, str]) -> LifecyclePolicy:
    max_images = int(parameters.get(P_MAX_IMAGES) or 0)
    return LifecyclePolicy(
        untagged_expiry_days=int(parameters.get(P_UNTAGGED_DAYS) or 30),
        max_image_count=max_images or None,
    )
