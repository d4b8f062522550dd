"""Where moto differs from AWS in ways the service depends on, and how the local stack mends it.

Each patch names the difference and what AWS does instead. `apply()` installs them all, once,
in the process that runs moto (the local stack's server, or a test process). The product code
never knows: it talks to what looks like AWS.

1. ECR_REPOSITORY_PROPERTIES - moto's `AWS::ECR::Repository` ignores `LifecyclePolicy` and
   `EmptyOnDelete`, stores `ImageScanningConfiguration` and `EncryptionConfiguration` under
   CloudFormation's keys (`ScanOnPush`) instead of ECR's (`scanOnPush`), and on update only adds
   tags. AWS applies all of them, and removes the tags an update drops.
2. FAILED_CREATE_ROLLS_BACK - a resource that fails makes moto's CreateStack raise and leaves the
   stack in CREATE_IN_PROGRESS for ever. AWS accepts the call, rolls back, ends in
   ROLLBACK_COMPLETE and gives the reason in a CREATE_FAILED stack event.
3. FAILED_UPDATE_ROLLS_BACK - the same for UpdateStack: AWS ends in UPDATE_ROLLBACK_COMPLETE with
   the previous template, parameters and tags. (Not mended: a rename, which moto does by deleting
   the old repository first; the service never renames a stack's repository.)
4. FAILED_DELETE_KEEPS_STACK - DeleteStack of a repository with images raises in moto and yet
   removes the stack, leaving the repository behind. AWS ends in DELETE_FAILED and keeps both;
   a stack being deleted is found by name (DELETE_IN_PROGRESS) until it is gone.
5. EQUALS_COMPARES_TEXT - moto resolves Number parameters to numbers, so `!Equals [!Ref Count, "0"]`
   is false for 0. AWS compares the two values as strings.
6. NO_OP_UPDATE_BY_VALUE - moto finds "No updates are to be performed" only when the resolved
   parameters are equal as Python values (30 != "30"), and ignores tags. AWS compares the
   template, the parameter values as text and the stack's tags.
7. PARAMETER_CHANGE_UPDATES_RESOURCES - when only parameters change, moto updates the resources
   that `Ref` them but misses those that use them in `Fn::Sub` (the lifecycle policy text).
   AWS updates every resource whose properties change.
8. LAMBDA_RUNS_HANDLERS - moto runs Lambda code only in Docker; without it, invocations go to
   `options.invoke` (the local stack's function workers), and a function error is reported in
   the `X-Amz-Function-Error` header as Lambda does.
9. EVENTBRIDGE_TO_LAMBDA - moto's EventBridge delivers to SQS, logs and buses, not to Lambda
   targets. Here a Lambda target is invoked asynchronously through `options.invoke_async`.
10. SETTLE_DELAY - moto's CloudFormation is synchronous. With `settle_seconds` > 0 a stack reports
   its *_IN_PROGRESS status for that long after each change, as AWS does while it works, so the
   workflow's Wait/check loop runs for real (`float("inf")`: a stack that never settles).
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

PATCHES = (
    "ECR_REPOSITORY_PROPERTIES",
    "FAILED_CREATE_ROLLS_BACK",
    "FAILED_UPDATE_ROLLS_BACK",
    "FAILED_DELETE_KEEPS_STACK",
    "EQUALS_COMPARES_TEXT",
    "NO_OP_UPDATE_BY_VALUE",
    "PARAMETER_CHANGE_UPDATES_RESOURCES",
    "LAMBDA_RUNS_HANDLERS",
    "EVENTBRIDGE_TO_LAMBDA",
    "SETTLE_DELAY",
)


Invoke = Callable[[str, bytes], tuple[bytes, "str | None"]]
InvokeAsync = Callable[[str, bytes, "str | None"], None]


@dataclass
class EmulatorOptions:
    settle_seconds: float = 0.0
    invoke: Invoke | None = None  # function name, payload -> (response, function error or None)
    invoke_async: InvokeAsync | None = None  # function name, payload, dead-letter ARN of the target


options = EmulatorOptions()
_applied = False


def _flag(value: Any) -> bool:
    return str(value).lower() == "true"


def _first_resource(stack: Any) -> str:
    return str(next(iter(stack.template_dict.get("Resources", {})), stack.name))


def _resource_event(stack: Any, logical_id: str, status: str, reason: str) -> None:
    from moto.cloudformation.models import Event  # noqa: PLC0415

    stack.events.append(
        Event(
            stack_id=stack.stack_id,
            stack_name=stack.name,
            logical_resource_id=logical_id,
            physical_resource_id="",
            resource_type=stack.template_dict.get("Resources", {}).get(logical_id, {}).get("Type", ""),
            resource_status=status,
            resource_status_reason=reason,
            resource_properties=None,
        )
    )


def _reason(error: Exception) -> str:
    message = getattr(error, "message", None) or str(error)
    return f"Resource handler returned message: {message}"


def _patch_ecr_repository() -> None:
    from moto.ecr import models as ecr  # noqa: PLC0415

    repository_cls = ecr.Repository
    original_create = repository_cls.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]
    original_update = repository_cls.update_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def apply_properties(repository: Any, properties: dict[str, Any], account_id: str, region: str) -> None:
        backend = ecr.ecr_backends[account_id][region]
        scanning = properties.get("ImageScanningConfiguration") or {}
        repository.image_scanning_configuration = {"scanOnPush": _flag(scanning.get("ScanOnPush", False))}
        repository.empty_on_delete = _flag(properties.get("EmptyOnDelete", False))
        # The repository's tags are exactly the property's: an update also removes dropped tags.
        backend.tagger.delete_all_tags_for_resource(repository.arn)
        backend.tagger.tag_resource(repository.arn, properties.get("Tags", []))
        policy = (properties.get("LifecyclePolicy") or {}).get("LifecyclePolicyText")
        if policy:
            backend.put_lifecycle_policy(repository.registry_id, repository.name, policy)
        elif repository.lifecycle_policy:
            backend.delete_lifecycle_policy(repository.registry_id, repository.name)

    def create(
        cls: Any,
        /,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        properties = cloudformation_json["Properties"]
        encryption = properties.get("EncryptionConfiguration")
        if encryption:  # ECR's keys, not CloudFormation's
            properties = {
                **properties,
                "EncryptionConfiguration": {
                    "encryptionType": encryption.get("EncryptionType", "AES256"),
                    **({"kmsKey": encryption["KmsKey"]} if encryption.get("KmsKey") else {}),
                },
            }
        repository = original_create(
            cls,
            resource_name,
            {**cloudformation_json, "Properties": properties},
            account_id,
            region_name,
            **kwargs,
        )
        apply_properties(repository, cloudformation_json["Properties"], account_id, region_name)
        return repository

    def update(
        cls: Any,
        /,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
    ) -> Any:
        properties = cloudformation_json["Properties"]
        encryption = properties.get("EncryptionConfiguration") or {}
        converted = {
            "encryptionType": encryption.get("EncryptionType", "AES256"),
            **({"kmsKey": encryption["KmsKey"]} if encryption.get("KmsKey") else {}),
        }
        if converted == original_resource.encryption_configuration or (
            converted.get("encryptionType")
            == original_resource.encryption_configuration.get("encryptionType")
            and "kmsKey" not in converted
        ):
            converted = original_resource.encryption_configuration
        repository = original_update(
            cls,
            original_resource,
            new_resource_name,
            {**cloudformation_json, "Properties": {**properties, "EncryptionConfiguration": converted}},
            account_id,
            region_name,
        )
        apply_properties(repository, properties, account_id, region_name)
        return repository

    def delete(self: Any, account_id: str, region_name: str) -> None:
        backend = ecr.ecr_backends[account_id][region_name]
        backend.delete_repository(self.name, force=getattr(self, "empty_on_delete", False))

    repository_cls.create_from_cloudformation_json = classmethod(create)  # type: ignore[assignment, method-assign]
    repository_cls.update_from_cloudformation_json = classmethod(update)  # type: ignore[assignment, method-assign]
    repository_cls.delete = delete  # type: ignore[method-assign]


def _patch_failed_create() -> None:
    from moto.cloudformation import models as cfn  # noqa: PLC0415

    original_create_stack = cfn.CloudFormationBackend.create_stack
    original_create_resources = cfn.Stack.create_resources

    def create_stack(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        known = set(self.stacks)
        try:
            return original_create_stack(self, name, *args, **kwargs)
        except Exception as error:
            stack = next((s for i, s in self.stacks.items() if i not in known and s.name == name), None)
            if stack is None:  # refused before a stack existed: AWS refuses those calls too
                raise
            failed = _first_resource(stack)
            _resource_event(stack, failed, "CREATE_FAILED", _reason(error))
            stack._add_stack_event(
                "ROLLBACK_IN_PROGRESS",
                resource_status_reason=f"The following resource(s) failed to create: [{failed}]. "
                "Rollback requested by user.",
            )
            stack._add_stack_event("ROLLBACK_COMPLETE")
            stack.status = "ROLLBACK_COMPLETE"
            stack.template_dict = {**stack.template_dict, "Outputs": {}}  # nothing was created
            stack.output_map = stack._create_output_map()
            _hold(stack)
            return stack

    def create_resources(self: Any) -> None:
        original_create_resources(self)
        _hold(self)

    cfn.Stack.create_resources = create_resources  # type: ignore[method-assign]
    cfn.CloudFormationBackend.create_stack = create_stack  # type: ignore[method-assign]


ROLLBACK_STACK_STATE = ("template", "parameters", "tags")
ROLLBACK_RESOURCE_STATE = ("_template", "input_parameters", "_resource_json_map")


def _patch_failed_update() -> None:
    from moto.cloudformation import models as cfn  # noqa: PLC0415

    original_update = cfn.Stack.update

    def update(self: Any, *args: Any, **kwargs: Any) -> None:
        resources = self.resource_map
        before = [
            (owner, name, getattr(owner, name))
            for owner, names in ((self, ROLLBACK_STACK_STATE), (resources, ROLLBACK_RESOURCE_STATE))
            for name in names
        ]
        try:
            original_update(self, *args, **kwargs)
        except Exception as error:  # noqa: BLE001 - any resource failure rolls the update back
            _resource_event(self, _first_resource(self), "UPDATE_FAILED", _reason(error))
            for owner, name, value in before:  # the rollback puts back template, parameters and tags
                setattr(owner, name, value)
            self._parse_template()
            resources.load_parameters()
            resources.load_conditions()
            self._add_stack_event("UPDATE_ROLLBACK_COMPLETE")
            self.status = "UPDATE_ROLLBACK_COMPLETE"
        _hold(self)

    cfn.Stack.update = update  # type: ignore[method-assign]


def _patch_failed_delete() -> None:
    from moto.cloudformation import models as cfn  # noqa: PLC0415
    from moto.cloudformation.exceptions import ValidationError  # noqa: PLC0415

    original_delete = cfn.Stack.delete
    original_backend_delete = cfn.CloudFormationBackend.delete_stack
    original_describe = cfn.CloudFormationBackend.describe_stacks

    def delete(self: Any) -> None:
        try:
            original_delete(self)
        except Exception as error:  # noqa: BLE001 - the stack stays, as on AWS
            _resource_event(self, _first_resource(self), "DELETE_FAILED", _reason(error))
            self._add_stack_event(
                "DELETE_FAILED",
                resource_status_reason="The following resource(s) failed to delete: "
                f"[{_first_resource(self)}].",
            )
            self.status = "DELETE_FAILED"
        _hold(self)

    def backend_delete_stack(self: Any, name_or_stack_id: str) -> None:
        original_backend_delete(self, name_or_stack_id)
        for stack_id, stack in list(self.deleted_stacks.items()):
            if _settled_status(stack) == "DELETE_FAILED":  # not the status shown while it settles
                self.stacks[stack_id] = self.deleted_stacks.pop(stack_id)

    def describe_stacks(self: Any, name_or_stack_id: str) -> list[Any]:
        """A stack being deleted is still found by name (DELETE_IN_PROGRESS) until it settles."""
        settling = [
            stack
            for stack in self.deleted_stacks.values()
            if _settling(stack) and (not name_or_stack_id or stack.name == name_or_stack_id)
        ]
        try:
            found: list[Any] = original_describe(self, name_or_stack_id)
        except ValidationError:
            if not settling:
                raise
            return settling[:1]
        return found if name_or_stack_id else [*found, *settling]

    cfn.Stack.delete = delete  # type: ignore[method-assign]
    cfn.CloudFormationBackend.delete_stack = backend_delete_stack  # type: ignore[method-assign]
    cfn.CloudFormationBackend.describe_stacks = describe_stacks  # type: ignore[method-assign]


def _patch_equals() -> None:
    from moto.cloudformation import parsing  # noqa: PLC0415

    original = parsing.parse_condition

    def parse_condition(condition: Any, resources_map: Any, condition_map: dict[str, Any]) -> bool:
        if isinstance(condition, dict) and list(condition) == ["Fn::Equals"]:
            left, right = (
                condition_map[value["Condition"]]
                if isinstance(value, dict) and "Condition" in value
                else parsing.clean_json(value, resources_map)
                for value in condition["Fn::Equals"]
            )
            return _text(left) == _text(right)
        result: bool = original(condition, resources_map, condition_map)
        return result

    parsing.parse_condition = parse_condition


def _patch_no_op_update() -> None:
    from moto.cloudformation import responses  # noqa: PLC0415
    from moto.cloudformation.exceptions import ValidationError  # noqa: PLC0415

    def validate_different_update(
        self: Any, incoming_params: list[dict[str, Any]] | None, stack_body: str, old_stack: Any
    ) -> None:
        if not incoming_params or not stack_body or old_stack.template != stack_body:
            return
        new = self._get_param_values(incoming_params, old_stack.stack_parameters)
        old = {key: _text(value) for key, value in old_stack.stack_parameters.items()}
        if old != {**old, **{key: _text(value) for key, value in new.items()}}:
            return
        tags = {item["Key"]: item["Value"] for item in self._get_param("Tags", [])}
        if tags and tags != old_stack.tags:
            return
        raise ValidationError(old_stack.name, message="No updates are to be performed.")

    responses.CloudFormationResponse._validate_different_update = validate_different_update  # type: ignore[method-assign]


def _patch_parameter_change() -> None:
    from moto.cloudformation import parsing  # noqa: PLC0415

    original = parsing.ResourceMap.build_resource_diff

    def build_resource_diff(
        self: Any, other_template: dict[str, Any], parameters: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        actions: dict[str, Any] = original(self, other_template, parameters)
        changed = [
            key
            for key, value in (parameters or {}).items()
            if _text(self.input_parameters.get(key)) != _text(value)
        ]
        for name, resource in other_template["Resources"].items():
            text = json.dumps(resource)
            if (
                name in self._resource_json_map
                and name not in actions["Modify"]
                and any(f'"Ref": "{key}"' in text or f"${{{key}}}" in text for key in changed)
            ):
                actions["Modify"].append(name)
        return actions

    parsing.ResourceMap.build_resource_diff = build_resource_diff  # type: ignore[method-assign]


def _patch_lambda_invoke() -> None:
    from moto.awslambda_simple.models import LambdaSimpleBackend  # noqa: PLC0415

    original = LambdaSimpleBackend.invoke

    def invoke(
        self: Any, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any
    ) -> bytes | str | None:
        if options.invoke is None:
            return original(self, function_name, qualifier, body, headers, response_headers)
        name = function_name.rsplit(":", 1)[-1]
        payload = body.encode() if isinstance(body, str) else bytes(body or b"{}")
        if headers.get("X-Amz-Invocation-Type") == "Event" and options.invoke_async is not None:
            options.invoke_async(name, payload, None)
            return b""
        result, error = options.invoke(name, payload)
        if error is not None:
            response_headers["x-amz-function-error"] = error
        return result

    LambdaSimpleBackend.invoke = invoke  # type: ignore[method-assign]


def _patch_eventbridge_lambda_targets() -> None:
    from moto.events import models as events  # noqa: PLC0415

    original = events.Rule.send_to_targets

    def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
        lambdas = [target for target in self.targets if target["Arn"].startswith("arn:aws:lambda:")]
        others = copy.copy(self)  # moto raises on a Lambda target: give it the other targets only
        others.targets = [target for target in self.targets if target not in lambdas]
        original(others, original_event, transform_input)
        if options.invoke_async is None or not self.event_pattern.matches_event(original_event):
            return
        for target in lambdas:
            options.invoke_async(
                target["Arn"].rsplit(":", 1)[-1],
                json.dumps(original_event).encode(),
                target.get("DeadLetterConfig", {}).get("Arn"),
            )

    events.Rule.send_to_targets = send_to_targets  # type: ignore[method-assign]


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


_IN_PROGRESS = {
    "CREATE_COMPLETE": "CREATE_IN_PROGRESS",
    "ROLLBACK_COMPLETE": "ROLLBACK_IN_PROGRESS",
    "UPDATE_COMPLETE": "UPDATE_IN_PROGRESS",
    "UPDATE_ROLLBACK_COMPLETE": "UPDATE_ROLLBACK_IN_PROGRESS",
    "DELETE_COMPLETE": "DELETE_IN_PROGRESS",
    "DELETE_FAILED": "DELETE_IN_PROGRESS",
}


def _settled_status(stack: Any) -> str:
    return str(stack.__dict__.get("_status", ""))


def _settling(stack: Any) -> bool:
    return time.monotonic() < float(stack.__dict__.get("_settles_at", 0.0))


def _hold(stack: Any) -> None:
    """Report the stack as still working for `options.settle_seconds`."""
    if options.settle_seconds > 0:
        stack.__dict__["_settles_at"] = time.monotonic() + options.settle_seconds


def _patch_settle_delay() -> None:
    from moto.cloudformation import models as cfn  # noqa: PLC0415

    def get_status(self: Any) -> str:
        status: str = self.__dict__.get("_status", "")
        if time.monotonic() < self.__dict__.get("_settles_at", 0.0):
            return _IN_PROGRESS.get(status, status)
        return status

    def set_status(self: Any, value: str) -> None:
        self.__dict__["_status"] = value

    cfn.Stack.status = property(get_status, set_status)  # type: ignore[assignment]


def apply() -> None:
    """Install every patch of PATCHES (once per process)."""
    global _applied  # noqa: PLW0603 - one set of patches per process
    if _applied:
        return
    _patch_ecr_repository()
    _patch_failed_create()
    _patch_failed_update()
    _patch_failed_delete()
    _patch_equals()
    _patch_no_op_update()
    _patch_parameter_change()
    _patch_lambda_invoke()
    _patch_eventbridge_lambda_targets()
    _patch_settle_delay()
    _applied = True
