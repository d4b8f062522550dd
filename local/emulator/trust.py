"""Patch 25, TRUST_POLICIES, for Lambda and Step Functions: a service may use a role only if the
role's trust policy lets the service's principal assume it, with the condition keys that service is
documented to send (CloudFormation's part is in cloudformation.py). moto accepts any role.

- Lambda (CreateFunction): `lambda.amazonaws.com`, no condition key (the Lambda Developer Guide
  documents none that Lambda sets when it assumes an execution role); refused with
  InvalidParameterValueException "The role defined for the function cannot be assumed by Lambda."
- Step Functions (CreateStateMachine): `states.amazonaws.com`, with `aws:SourceArn` (the state
  machine's ARN) and `aws:SourceAccount` (Step Functions Developer Guide, "Creating an IAM role for
  your state machine": "Prevent cross-service confused deputy issue"); refused with
  AccessDeniedException.
"""

from __future__ import annotations

from typing import Any

from local.emulator import access
from local.emulator.options import options

LAMBDA_PRINCIPAL = "lambda.amazonaws.com"
STATES_PRINCIPAL = "states.amazonaws.com"


def _patch_lambda() -> None:
    from moto.awslambda.exceptions import InvalidParameterValueException  # noqa: PLC0415
    from moto.awslambda.models import LambdaBackend  # noqa: PLC0415

    original = LambdaBackend.create_function

    def create_function(self: Any, spec: dict[str, Any]) -> Any:
        role = str(spec.get("Role") or "")
        if options.enforce_iam and role and not access.trusts(role, LAMBDA_PRINCIPAL):
            raise InvalidParameterValueException(
                "The role defined for the function cannot be assumed by Lambda."
            )
        return original(self, spec)

    LambdaBackend.create_function = create_function  # type: ignore[method-assign]


def _patch_step_functions() -> None:
    from moto.core.exceptions import AWSError  # noqa: PLC0415
    from moto.stepfunctions.models import StepFunctionBackend  # noqa: PLC0415

    class AccessDeniedException(AWSError):  # noqa: N818 - AWS's error code
        TYPE = "AccessDeniedException"
        STATUS = 400

    original = StepFunctionBackend.create_state_machine

    def create_state_machine(
        self: Any,
        name: str,
        definition: str,
        roleArn: str,  # noqa: N803 - moto's name
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        if options.enforce_iam:
            arn = f"arn:aws:states:{self.region_name}:{self.account_id}:stateMachine:{name}"
            context = {"aws:SourceArn": arn, "aws:SourceAccount": str(self.account_id)}
            if not access.trusts(roleArn, STATES_PRINCIPAL, context):
                raise AccessDeniedException(
                    f"Neither the global service principal {STATES_PRINCIPAL}, nor the regional one "
                    "is authorized to assume the provided role."
                )
        return original(self, name, definition, roleArn, *args, **kwargs)

    StepFunctionBackend.create_state_machine = create_state_machine  # type: ignore[method-assign]


def apply() -> None:
    _patch_lambda()
    _patch_step_functions()
