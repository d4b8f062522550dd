"""The create-or-update decision of `POST /repositories` (and of the provisioning intake).

Pure: from the request and what the reads found (the stack of the name and environment, the
repository of the name and its tags), the action the workflow takes and the settings it applies,
or the contract's refusal. The use case (service.py) reads; this decides.

- The request first: an environment the deployment does not allow, or tags that would make the
  stack's template longer than CloudFormation takes, are a 400 before anything is read.
- A stack of another repository under that name is `RepositoryExists`; a stack being changed is
  `OperationInProgress`.
- No stack: a CREATE, with KMS unless asked otherwise; a repository of that name that exists
  outside the service is `RepositoryExists`.
- A stack whose create failed: a CREATE (the workflow deletes that stack first).
- A stack whose repository was deleted outside the service (drift): a CREATE of both again, a
  new repository, so its encryption is the one asked for, or else the one the stack had.
- Otherwise an update of the stack: an ADOPT of the stack agentcore-cli made for this name and
  environment, an UPDATE of the service's own. A repository someone else tagged is
  `RepositoryExists`; a stack CloudFormation will not update is `StackNotUpdatable`; the
  encryption stays as it was created (another is `ImmutableSetting`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from agentcore_ecr.domain import errors, stack_status
from agentcore_ecr.domain import stack as stack_rules
from agentcore_ecr.domain.models import Action, CreateRepositoryRequest, ErrorDetail


@dataclass(frozen=True)
class Found:
    """What the reads found for a request.

    `repository_tags` are read only when they can matter (`reads_tags`); None when they were not
    read, or the repository went between the two reads (as if it were not found).
    """

    stack: stack_rules.StackView | None
    repository_exists: bool
    repository_tags: Mapping[str, str] | None = None


@dataclass(frozen=True)
class Decision:
    action: Action
    settings: CreateRepositoryRequest  # the request, with the encryption the repository is to have


def check_request(request: CreateRepositoryRequest, allowed_environments: Sequence[str]) -> None:
    """What the request alone decides, before any read: its environment, its template's size."""
    if request.environment not in allowed_environments:
        message = f"environment must be one of {', '.join(allowed_environments)}"
        raise errors.ValidationError(
            f"Invalid request: {message}.",
            details=[ErrorDetail(location="body", field="environment", message=message).to_json_dict()],
        )
    size = stack_rules.template_body_bytes(stack_rules.repository_template_for(request.tags))
    if size > stack_rules.MAX_TEMPLATE_BODY_BYTES:
        message = (
            f"the tags make the repository's stack template {size} bytes of UTF-8, over "
            f"CloudFormation's {stack_rules.MAX_TEMPLATE_BODY_BYTES}; use fewer or shorter tags"
        )
        raise errors.ValidationError(
            f"Invalid request: {message}.",
            details=[ErrorDetail(location="body", field="tags", message=message).to_json_dict()],
        )


def check_stack(request: CreateRepositoryRequest, stack: stack_rules.StackView | None) -> None:
    """What the stack alone refuses: another repository's, or one being changed. The use case
    asks before it reads ECR, which such a request never needs."""
    if stack is None:
        return
    if stack_rules.owner(stack.parameters) != request.name:
        raise errors.RepositoryExists(
            f"Stack {stack.name} belongs to repository {stack_rules.owner(stack.parameters)!r}; "
            "use another name or environment."
        )
    stack_status.require_idle(stack.name, stack.status)


def reads_tags(stack: stack_rules.StackView | None) -> bool:
    """The repository's tags matter only when the stack is to be updated (they say whose it is)."""
    return stack is not None and stack.status not in stack_status.FAILED_CREATE


def decide(request: CreateRepositoryRequest, found: Found) -> Decision:
    stack = found.stack
    check_stack(request, stack)
    outside = errors.RepositoryExists(
        f"Repository {request.name!r} exists and is not managed by this service "
        f"for environment {request.environment!r}."
    )
    if stack is None or stack.status in stack_status.FAILED_CREATE:
        if found.repository_exists and stack is None:
            raise outside
        return Decision(Action.CREATE, request.model_copy(update={"encryption": request.encryption or "KMS"}))
    if not found.repository_exists and stack_rules.is_orphan(stack, request.name):
        chosen = request.encryption is not None or request.kms_key_arn is not None
        encryption, kms_key_arn = (
            (request.encryption or "KMS", request.kms_key_arn)
            if chosen
            else stack_rules.encryption_from_parameters(stack.parameters)
        )
        return Decision(
            Action.CREATE, request.model_copy(update={"encryption": encryption, "kms_key_arn": kms_key_arn})
        )
    tags = found.repository_tags
    adopted = tags is not None and stack_rules.is_agentcore_cli_stack(
        stack.name, stack.parameters, tags, request.name, request.environment
    )
    if tags is not None and not adopted and not stack_rules.is_managed(tags, request.environment):
        raise outside
    stack_status.require_updatable(stack.name, stack.status)
    # Adopted, the repository keeps its encryption (AES256: agentcore-cli set none).
    return Decision(Action.ADOPT if adopted else Action.UPDATE, keep_encryption(stack, request))


def keep_encryption(
    stack: stack_rules.StackView, request: CreateRepositoryRequest
) -> CreateRepositoryRequest:
    """The request with the repository's encryption, which CloudFormation can only set on create.

    Omitted, `encryption` and `kmsKeyArn` keep what the repository has; a different value is refused.
    """
    current = stack_rules.encryption_from_parameters(stack.parameters)
    if (request.encryption is not None and request.encryption != current[0]) or (
        request.kms_key_arn is not None and request.kms_key_arn != current[1]
    ):
        raise errors.ImmutableSetting(
            "Encryption is fixed when a repository is created; "
            "delete and recreate the repository to change it."
        )
    return request.model_copy(update={"encryption": current[0], "kms_key_arn": current[1]})
