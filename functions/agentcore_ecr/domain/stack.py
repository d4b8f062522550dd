"""How a repository's settings map to its stack's parameters and tags, and back."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Literal, Protocol

from agentcore_ecr.domain import stack_status
from agentcore_ecr.domain.models import CreateRepositoryRequest, LifecyclePolicy, is_reserved_tag_key

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
P_DECLARE_ENCRYPTION = "DeclareEncryption"

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
    P_DECLARE_ENCRYPTION,
)

# agentcore-cli's stacks (docs/api.md, "Adoption"): `agentcore-{name}-{env}-ecr`, its own template's
# parameters, and its tag on the repository.
AGENTCORE_CLI_PARAMETERS = frozenset(
    {"RepositoryName", "Environment", "ImageScanningEnabled", "LifecyclePolicyDays"}
)
AGENTCORE_CLI_MANAGED_BY = "AgentCorePlatformCLI"


def _flag(value: bool) -> str:
    return "true" if value else "false"


def lifecycle_parameters(policy: LifecyclePolicy) -> dict[str, str]:
    return {
        P_UNTAGGED_DAYS: str(policy.untagged_expiry_days),
        P_MAX_IMAGES: str(policy.max_image_count or 0),
    }


def stack_parameters(request: CreateRepositoryRequest) -> dict[str, str]:
    """Every parameter of the repository template, from a create/upsert request whose encryption
    has been settled (the default on create, the current setting on update)."""
    if request.encryption is None:
        raise ValueError("the request's encryption must be settled before it becomes stack parameters")
    return {
        P_NAME: request.name,
        P_ENVIRONMENT: request.environment,
        P_SCAN: _flag(request.image_scanning),
        P_MUTABILITY: request.image_tag_mutability,
        P_ENCRYPTION: request.encryption,
        P_KMS_KEY: request.kms_key_arn or "",
        **lifecycle_parameters(request.lifecycle_policy),
        P_EMPTY_ON_DELETE: "false",
        P_DECLARE_ENCRYPTION: "true",
    }


def keep_previous(previous: Mapping[str, str], **changes: str) -> dict[str, str | None]:
    """Parameters for an update with the stack's previous template that changes only `changes`
    (None = UsePreviousValue).

    `previous` is the stack's parameters (DescribeStacks): a stack made by an earlier release of the
    repository template lacks the keys added since (`DeclareEncryption`), and CloudFormation refuses
    UsePreviousValue for a key the previous template did not have, as it refuses a parameter the
    template does not declare. So the other keys are kept only where the stack has them.
    """
    return {key: changes.get(key) for key in ALL_PARAMETERS if key in changes or key in previous}


def use_previous(
    parameters: Mapping[str, str | None], previous: Mapping[str, str], *keys: str
) -> dict[str, str | None]:
    """`parameters` of an update to the current template, with UsePreviousValue (None) for each of
    `keys` the stack has; a key its template did not have keeps the value given in `parameters`
    (CloudFormation refuses UsePreviousValue for a key not in the previous template)."""
    return {key: None if key in keys and key in previous else value for key, value in parameters.items()}


def is_agentcore_cli_stack(
    stack_name: str,
    parameters: Mapping[str, str],
    repository_tags: Mapping[str, str],
    name: str,
    environment: str,
) -> bool:
    """A stack agentcore-cli made for repository `name` in `environment`, which this service adopts."""
    return (
        stack_name == f"agentcore-{name}-{environment}-ecr"
        and set(parameters) == AGENTCORE_CLI_PARAMETERS
        and parameters.get(P_NAME) == name
        and parameters.get(P_ENVIRONMENT) == environment
        and repository_tags.get(MANAGED_BY) == AGENTCORE_CLI_MANAGED_BY
    )


def service_tags(repository_name: str, environment: str) -> dict[str, str]:
    return {MANAGED_BY: SERVICE_TAG_VALUE, ENVIRONMENT: environment, REPOSITORY_TAG: repository_name}


def stack_tags(request: CreateRepositoryRequest) -> dict[str, str]:
    """The stack carries the service's tags only: CloudFormation refuses empty stack tag values."""
    return service_tags(request.name, request.environment)


CALLER_TAGS_MARKER = "        # CALLER_TAGS:"
MAX_TEMPLATE_BODY_BYTES = 51_200  # CreateStack and UpdateStack refuse a longer TemplateBody


def yaml_string(text: str) -> str:
    """`text` as a YAML double-quoted scalar that reads back verbatim, in as few UTF-8 bytes as can be.

    Printable characters stay as they are (an escape costs up to 10 bytes where UTF-8 needs at most
    4); anything else is escaped, including the characters YAML 1.1 reads as line breaks (U+0085,
    U+2028, U+2029), with YAML's `\\UXXXXXXXX` beyond the Basic Multilingual Plane.
    """
    return '"' + "".join(_yaml_character(char) for char in text) + '"'


def _yaml_character(char: str) -> str:
    if char.isprintable() and char not in '"\\':
        return char
    if ord(char) > 0xFFFF:
        return f"\\U{ord(char):08x}"
    return json.dumps(char)[1:-1]  # JSON escapes (\n, \", \uXXXX) are YAML escapes too


@cache
def repository_template() -> str:
    """The repository's CloudFormation template, shipped with the code."""
    return (resources.files("agentcore_ecr") / "templates" / "repository.yaml").read_text(encoding="utf-8")


def render_template(template: str, tags: Mapping[str, str]) -> str:
    """The repository template with the caller's tags added to the repository's `Tags`."""
    head, marker, tail = template.partition(CALLER_TAGS_MARKER)
    if not marker:
        raise ValueError("the repository template has no CALLER_TAGS marker")
    entry = "        - Key: {}\n          Value: {}\n"
    lines = "".join(entry.format(yaml_string(key), yaml_string(value)) for key, value in sorted(tags.items()))
    return head + lines + marker + tail


def repository_template_for(tags: Mapping[str, str]) -> str:
    """The TemplateBody of a repository's stack: the shipped template with the caller's tags."""
    return render_template(repository_template(), tags)


def template_body_bytes(template_body: str) -> int:
    return len(template_body.encode("utf-8"))


def caller_tags(tags: Mapping[str, str]) -> dict[str, str]:
    return {key: value for key, value in tags.items() if not is_reserved_tag_key(key)}


def is_managed(tags: Mapping[str, str], environment: str | None = None) -> bool:
    if tags.get(MANAGED_BY) != SERVICE_TAG_VALUE:
        return False
    return environment is None or tags.get(ENVIRONMENT) == environment


class StackView(Protocol):
    """A stack as DescribeStacks shows it (aws/cloudformation.py's `Stack`): what the rules read."""

    @property
    def name(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def parameters(self) -> Mapping[str, str]: ...
    @property
    def outputs(self) -> Mapping[str, str]: ...
    @property
    def tags(self) -> Mapping[str, str]: ...


def owner(parameters: Mapping[str, str]) -> str:
    """The repository a stack belongs to: its RepositoryName parameter."""
    return parameters.get(P_NAME, "")


def is_orphan(stack: StackView, name: str) -> bool:
    """A settled stack of `name`, made by this service, that has made its repository: when ECR no
    longer knows the name, the repository was deleted outside the service (drift)."""
    return (
        owner(stack.parameters) == name
        and is_managed(stack.tags)
        and "RepositoryArn" in stack.outputs
        and (stack_status.is_updatable(stack.status) or stack.status == stack_status.DELETE_FAILED)
    )


def encryption_from_parameters(parameters: Mapping[str, str]) -> tuple[Literal["KMS", "AES256"], str | None]:
    """(encryption, KMS key ARN or None) of a stack; a stack without the parameter has ECR's AES256."""
    encryption: Literal["KMS", "AES256"] = "KMS" if parameters.get(P_ENCRYPTION) == "KMS" else "AES256"
    return encryption, (parameters.get(P_KMS_KEY) or None) if encryption == "KMS" else None


def lifecycle_from_parameters(parameters: Mapping[str, str]) -> LifecyclePolicy:
    max_images = int(parameters.get(P_MAX_IMAGES) or 0)
    return LifecyclePolicy.model_validate(
        {
            "untaggedExpiryDays": int(parameters.get(P_UNTAGGED_DAYS) or 30),
            "maxImageCount": max_images or None,
        }
    )
