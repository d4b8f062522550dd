"""32. STACK_QUOTA: CloudFormation's stack quota, which moto does not have.

moto's CreateStack makes any number of stacks. CloudFormation refuses a CreateStack once the
account has as many stacks in the Region as its quota allows (Service Quotas code L-0485CB21,
"Stack count", 2,000 by default; CloudFormation User Guide, "Understand CloudFormation quotas":
Stacks): `LimitExceededException`, HTTP 400 (CloudFormation API Reference, CreateStack, Errors:
LimitExceeded), and no stack is made. Every stack of the account in the Region counts, whoever made
it, until it is DELETE_COMPLETE: one being deleted, one whose create rolled back, one whose delete
failed. moto keeps a backend per account and Region, so its stacks are the ones that count.
`options.stack_quota` is the quota (the local stack's `--stack-quota`, `STACK_QUOTA`).
"""

from __future__ import annotations

from typing import Any

from local.emulator.options import options

# What CloudFormation answers (its wording as SDKs have shown it; the code and status are the API
# model's).
MESSAGE = "Limit for stack has been exceeded"


def stack_count(backend: Any) -> int:
    """The account's stacks in the backend's Region that count against the quota.

    A deleted stack moves to moto's `deleted_stacks`, and reports DELETE_IN_PROGRESS there while it
    settles (patch 10): it counts until then.
    """
    stacks = [*backend.stacks.values(), *backend.deleted_stacks.values()]
    return sum(1 for stack in stacks if stack.status != "DELETE_COMPLETE")


def apply() -> None:
    from moto.cloudformation import models as cfn  # noqa: PLC0415
    from moto.cloudformation.exceptions import CloudFormationError  # noqa: PLC0415

    class StackLimitError(CloudFormationError):
        code = "LimitExceededException"  # moto takes the HTTP status (400) from botocore's model

    original_create_stack = cfn.CloudFormationBackend.create_stack

    def create_stack(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        # A name already taken is answered as moto answers it (AlreadyExistsException): that call
        # would not add a stack. A call retried with its token is answered before (patch 12).
        taken = any(stack.name == name for stack in self.stacks.values())
        if not taken and stack_count(self) >= options.stack_quota:
            raise StackLimitError(MESSAGE)
        return original_create_stack(self, name, *args, **kwargs)

    cfn.CloudFormationBackend.create_stack = create_stack  # type: ignore[method-assign]
