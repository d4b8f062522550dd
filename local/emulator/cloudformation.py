"""CloudFormation as AWS runs it: patches 2-7, 10-14, 18, 21, 25 and 26 (see the package's list).

moto's CloudFormation is synchronous: each API call creates, updates or deletes the resources
before it answers. The patches hang on that: an API call opens an `Operation` (its token and
role) for the duration of the call, every event it adds carries the token, every resource
handler it runs is validated against the type's schema and authorized with the stack's role, and
a failure is rolled back the way AWS rolls back.
"""

from __future__ import annotations

import contextvars
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any

from local import iam
from local.emulator import access, stack_events
from local.emulator.options import options

# AWS's rule, written out here on its own: the product's domain/stack_status.py states it too, and
# a test where both came from one place would prove nothing.
UPDATABLE = frozenset(
    {
        "CREATE_COMPLETE",
        "UPDATE_COMPLETE",
        "UPDATE_ROLLBACK_COMPLETE",
        "IMPORT_COMPLETE",
        "IMPORT_ROLLBACK_COMPLETE",
    }
)
LAST_TOKEN = "_last_request_token"  # noqa: S105 - an attribute name, not a secret
ROLLBACK_TARGET = "_rollback_target"
HANDLER_SESSION = "AWSCloudFormation"


@dataclass(frozen=True)
class Operation:
    """The CloudFormation API call under way in this thread."""

    token: str | None
    role_arn: str | None


_operation: contextvars.ContextVar[Operation | None] = contextvars.ContextVar("operation", default=None)
# The stack whose resources are being changed (moto's ResourceMap does not know its stack).
_changing: contextvars.ContextVar[Any] = contextvars.ContextVar("changing", default=None)


@contextmanager
def _changing_stack(stack: Any) -> Iterator[None]:
    handle = _changing.set(stack)
    try:
        yield
    finally:
        _changing.reset(handle)


@contextmanager
def _operating(token: str | None, role_arn: str | None) -> Iterator[None]:
    handle = _operation.set(Operation(token or None, role_arn or None))
    try:
        yield
    finally:
        _operation.reset(handle)


class StackResourceError(Exception):
    """A resource failed; `reason` is the status reason of its *_FAILED event, as AWS words it."""

    def __init__(self, logical_id: str, reason: str) -> None:
        super().__init__(reason)
        self.logical_id = logical_id
        self.reason = reason


# Events --------------------------------------------------------------------------------------


def _first_resource(stack: Any) -> str:
    return str(next(iter(stack.template_dict.get("Resources", {})), stack.name))


def _failed_resource(stack: Any, error: Exception) -> str:
    if isinstance(error, StackResourceError) and error.logical_id:
        return error.logical_id
    return _first_resource(stack)


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


def _failed(stack: Any, error: Exception, resource_status: str, stack_status: str, failed_to: str) -> None:
    """The failed resource's event with the error's reason, then the stack's with AWS's summary."""
    failed = _failed_resource(stack, error)
    _resource_event(stack, failed, resource_status, _reason(error))
    summary = f"The following resource(s) failed to {failed_to}: [{failed}]."
    if stack_status == "ROLLBACK_IN_PROGRESS":
        summary += " Rollback requested by user."
    stack._add_stack_event(stack_status, resource_status_reason=summary)


def _reason(error: Exception) -> str:
    if isinstance(error, StackResourceError):
        return error.reason
    message = getattr(error, "message", None) or str(error)
    return f"Resource handler returned message: {message}"


def _patch_event_tokens() -> None:
    """12. CLIENT_REQUEST_TOKEN: an operation's events carry its token; the stack remembers it."""
    from moto.cloudformation import models as cfn  # noqa: PLC0415

    original_init = cfn.Event.__init__
    original_add = cfn.Stack._add_stack_event

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        operation = _operation.get()
        self.client_request_token = operation.token if operation else None

    def add_stack_event(self: Any, *args: Any, **kwargs: Any) -> None:
        operation = _operation.get()
        if operation is not None:
            self.__dict__[LAST_TOKEN] = operation.token
        original_add(self, *args, **kwargs)

    cfn.Event.__init__ = init  # type: ignore[method-assign]
    cfn.Stack._add_stack_event = add_stack_event  # type: ignore[method-assign]


# Schemas and handler permissions (13, 14) ----------------------------------------------------


@cache
def _schema(region: str, resource_type: str) -> dict[str, Any] | None:
    from cfnlint.schema.manager import PROVIDER_SCHEMA_MANAGER  # noqa: PLC0415

    try:
        schema: dict[str, Any] = PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, resource_type).schema
    except Exception:  # noqa: BLE001 - a type without a published schema is not checked
        return None
    return schema


def resolve_ref(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """The schema node a `$ref` points to (followed until a node without one)."""
    while "$ref" in node:
        target: Any = schema
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _coerce(schema: dict[str, Any], node: dict[str, Any], value: Any) -> Any:
    """The value as CloudFormation hands it to a handler: template strings turned into the
    schema's booleans and numbers, numbers turned into its strings."""
    node = resolve_ref(schema, node)
    types = node.get("type", [])
    types = types if isinstance(types, list) else [types]
    if isinstance(value, dict):
        properties = node.get("properties", {})
        return {key: _coerce(schema, properties.get(key, {}), item) for key, item in value.items()}
    if isinstance(value, list):
        return [_coerce(schema, node.get("items", {}), item) for item in value]
    if isinstance(value, str) and "string" not in types:
        if "boolean" in types and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if {"integer", "number"} & set(types):
            try:
                return int(value)
            except ValueError:
                try:
                    return float(value)
                except ValueError:
                    return value
    if isinstance(value, bool | int | float) and types == ["string"]:
        return str(value).lower() if isinstance(value, bool) else str(value)
    return value


_JSON_TYPES = {
    str: "String",
    bool: "Boolean",
    int: "Integer",
    float: "Number",
    dict: "JSONObject",
    list: "JSONArray",
}


def _violation(error: Any) -> str:
    path = "#" + "".join(f"/{part}" for part in error.absolute_path)
    validator, expected, instance = error.validator, error.validator_value, error.instance
    if validator in ("minLength", "maxLength"):
        return f"{path}: expected {validator}: {expected}, actual: {len(instance)}"
    if validator in ("minItems", "maxItems"):
        return f"{path}: expected {validator}: {expected}, actual: {len(instance)}"
    if validator == "required":
        missing = [key for key in expected if key not in instance]
        return f"{path}: required key [{missing[0] if missing else ''}] not found"
    if validator == "additionalProperties":
        extra = sorted(set(instance) - set(error.schema.get("properties", {})))
        return f"{path}: extraneous key [{extra[0] if extra else ''}] is not permitted"
    if validator == "enum":
        return f"{path}: {instance} is not a valid enum value"
    if validator == "pattern":
        return f"{path}: failed validation constraint for keyword [pattern]"
    if validator == "type":
        found = _JSON_TYPES.get(type(instance), "Null")
        return f"{path}: expected type: {str(expected).title()}, found: {found}"
    return f"{path}: {error.message}"


def validate_properties(region: str, logical_id: str, resource_type: str, properties: dict[str, Any]) -> None:
    """13. RESOURCE_SCHEMAS: the resolved properties against the type's schema, as AWS checks them."""
    schema = _schema(region, resource_type)
    if schema is None:
        return
    from jsonschema import Draft7Validator  # noqa: PLC0415

    shape = {
        "type": "object",
        "properties": schema.get("properties", {}),
        "definitions": schema.get("definitions", {}),
        "required": schema.get("required", []),
        "additionalProperties": schema.get("additionalProperties", True),
    }
    read_only = {pointer.removeprefix("/properties/") for pointer in schema.get("readOnlyProperties", [])}
    given = _coerce(schema, {"properties": schema.get("properties", {})}, properties)
    errors = sorted(Draft7Validator(shape).iter_errors(given), key=lambda error: list(error.absolute_path))
    messages = [_violation(error) for error in errors]
    messages += [f"#/{key}: extraneous key [{key}] is not permitted" for key in read_only if key in given]
    if messages:
        raise StackResourceError(
            logical_id,
            f"Properties validation failed for resource {logical_id} with message: [{', '.join(messages)}]",
        )


def _handler_resource(
    resource_type: str, permission: str, properties: dict[str, Any], region: str, account: str
) -> tuple[str, dict[str, str]] | None:
    """(resource ARN, condition keys) a handler's call is authorized on; None when it makes none."""
    if resource_type != "AWS::ECR::Repository":
        return "*", {}
    if permission.startswith("ecr:"):
        return f"arn:aws:ecr:{region}:{account}:repository/{properties.get('RepositoryName', '*')}", {}
    key = (properties.get("EncryptionConfiguration") or {}).get("KmsKey")
    if permission.startswith("kms:") and key:
        return str(key), {"kms:ViaService": f"ecr.{region}.amazonaws.com"}  # ECR calls KMS for the handler
    return None


def _handler_principal(stack: Any) -> access.Principal | None:
    operation = _operation.get()
    role = (operation.role_arn if operation else None) or stack.role_arn
    if role:
        return access.role_principal(role, HANDLER_SESSION)
    return access.caller.get()


def _require(
    stack: Any, logical_id: str, resource_type: str, properties: dict[str, Any], permissions: list[str]
) -> None:
    """14. HANDLER_PERMISSIONS: the handler's calls, authorized as the stack's role (or the caller)."""
    principal = _handler_principal(stack) if options.enforce_iam else None
    if principal is None or not permissions:
        return
    region, account = stack.region_name, stack.account_id
    needs = []
    for permission in permissions:
        target = _handler_resource(resource_type, permission, properties, region, account)
        if target is not None:
            needs.append(iam.Need(permission, target[0], target[1]))
    denial = access.authorize(principal, needs)
    if denial is not None:
        service = needs[0].action.split(":")[0].title() if needs else ""
        raise StackResourceError(
            logical_id,
            f'Resource handler returned message: "{denial} (Service: {service}, Status Code: 400, '
            f'Request ID: {uuid.uuid4()})" (HandlerErrorCode: AccessDenied)',
        )


def _permissions(region: str, resource_type: str, *handlers: str) -> list[str]:
    schema = _schema(region, resource_type) or {}
    found: list[str] = []
    for handler in handlers:
        for permission in schema.get("handlers", {}).get(handler, {}).get("permissions", []):
            if permission not in found:
                found.append(permission)
    return found


def _stack_of(resources_map: Any) -> Any:
    stack = _changing.get()
    if stack is not None and stack.stack_id == resources_map.stack_id:
        return stack
    from moto.cloudformation.models import cloudformation_backends  # noqa: PLC0415

    backend = cloudformation_backends[resources_map._account_id][resources_map._region_name]
    return backend.stacks.get(resources_map.stack_id) or backend.deleted_stacks.get(resources_map.stack_id)


def _resolved(resource_json: dict[str, Any], resources_map: Any) -> dict[str, Any]:
    from moto.cloudformation import parsing  # noqa: PLC0415

    parsed = parsing.parse_resource(resource_json, resources_map)
    properties: dict[str, Any] = (parsed[1] if parsed else resource_json).get("Properties") or {}
    return properties


def _patch_resource_handlers() -> None:
    from moto.cloudformation import parsing  # noqa: PLC0415

    original_create = parsing.parse_and_create_resource
    original_update = parsing.parse_and_update_resource
    original_delete = parsing.ResourceMap._delete_resource

    def parse_and_create_resource(
        logical_id: str, resource_json: dict[str, Any], resources_map: Any, account_id: str, region_name: str
    ) -> Any:
        condition = resource_json.get("Condition")
        if condition and not resources_map.lazy_condition_map[condition]:
            return None
        kind, stack = resource_json["Type"], _stack_of(resources_map)
        properties = _resolved(resource_json, resources_map)
        validate_properties(region_name, logical_id, kind, properties)
        # The first permission of the create handler is the call that makes the resource; the others
        # (and the read handler's) come after it, so a refusal there leaves a resource to roll back.
        first, *rest = _permissions(region_name, kind, "create", "read") or [""]
        _require(stack, logical_id, kind, properties, [first] if first else [])
        resource = original_create(logical_id, resource_json, resources_map, account_id, region_name)
        try:
            _require(stack, logical_id, kind, properties, rest)
        except StackResourceError:
            resources_map._parsed_resources[logical_id] = resource
            raise
        return resource

    def parse_and_update_resource(
        logical_id: str, resource_json: dict[str, Any], resources_map: Any, account_id: str, region_name: str
    ) -> Any:
        kind, stack = resource_json["Type"], _stack_of(resources_map)
        properties = _resolved(resource_json, resources_map)
        validate_properties(region_name, logical_id, kind, properties)
        _require(stack, logical_id, kind, properties, _permissions(region_name, kind, "update", "read"))
        return original_update(logical_id, resource_json, resources_map, account_id, region_name)

    def delete_resource(self: Any, parsed_resource: Any, resource_json: dict[str, Any]) -> None:
        kind, stack = resource_json["Type"], _stack_of(self)
        properties = _resolved(resource_json, self)
        logical_id = getattr(parsed_resource, "logical_resource_id", kind)
        _require(stack, logical_id, kind, properties, _permissions(self._region_name, kind, "delete"))
        try:
            original_delete(self, parsed_resource, resource_json)
        except Exception as error:
            # 18. MISSING_RESOURCE_DELETED: a resource already gone is deleted (handler contract).
            if not type(error).__name__.endswith("NotFoundException"):
                raise

    parsing.parse_and_create_resource = parse_and_create_resource
    parsing.parse_and_update_resource = parse_and_update_resource
    parsing.ResourceMap._delete_resource = delete_resource  # type: ignore[method-assign]


# Failures roll back (2, 3, 4) -----------------------------------------------------------------


def _patch_failed_create() -> None:
    """2. FAILED_CREATE_ROLLS_BACK."""
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
            _failed(stack, error, "CREATE_FAILED", "ROLLBACK_IN_PROGRESS", "create")
            try:
                with _changing_stack(stack):
                    stack.resource_map.delete()  # what was created goes, through the delete handlers
            except Exception as rollback_error:  # noqa: BLE001 - the stack stays, ROLLBACK_FAILED
                _failed(stack, rollback_error, "DELETE_FAILED", "ROLLBACK_FAILED", "delete")
                stack.status = "ROLLBACK_FAILED"
            else:
                stack._add_stack_event("ROLLBACK_COMPLETE")
                stack.status = "ROLLBACK_COMPLETE"
            stack.template_dict = {**stack.template_dict, "Outputs": {}}  # a failed create has none
            stack.output_map = stack._create_output_map()
            _hold(stack)
            return stack

    def create_resources(self: Any) -> None:
        with _changing_stack(self):
            original_create_resources(self)
        _hold(self)

    cfn.Stack.create_resources = create_resources  # type: ignore[method-assign]
    cfn.CloudFormationBackend.create_stack = create_stack  # type: ignore[method-assign]


ROLLBACK_STACK_STATE = ("template", "parameters", "tags")
ROLLBACK_RESOURCE_STATE = ("_template", "input_parameters", "_resource_json_map")


def _roll_back_update(stack: Any) -> None:
    """Put the resources back as they were before the update, with the handlers' permissions, and
    the stack with them; UPDATE_ROLLBACK_FAILED (keeping the target) when that fails."""
    before = stack.__dict__[ROLLBACK_TARGET]
    resources = stack.resource_map
    failed_state = {name: getattr(resources, name) for name in ROLLBACK_RESOURCE_STATE}
    try:
        with _changing_stack(stack):
            resources.update(
                dict(before["resources"]["_template"]), dict(before["resources"]["input_parameters"])
            )
    except Exception as error:  # noqa: BLE001 - the rollback itself failed
        for name, value in failed_state.items():  # a continued rollback starts from the same place
            setattr(resources, name, value)
        _failed(stack, error, "UPDATE_FAILED", "UPDATE_ROLLBACK_FAILED", "update")
        stack.status = "UPDATE_ROLLBACK_FAILED"
        return
    for name, value in before["stack"].items():
        setattr(stack, name, value)
    for name, value in before["resources"].items():
        setattr(resources, name, value)
    stack._parse_template()
    resources.load_parameters()
    resources.load_conditions()
    stack.output_map = stack._create_output_map()
    del stack.__dict__[ROLLBACK_TARGET]
    stack._add_stack_event("UPDATE_ROLLBACK_COMPLETE")
    stack.status = "UPDATE_ROLLBACK_COMPLETE"


def _patch_failed_update() -> None:
    """3. FAILED_UPDATE_ROLLS_BACK, and the stack keeps its service role (11)."""
    from moto.cloudformation import models as cfn  # noqa: PLC0415

    original_update = cfn.Stack.update

    def update(
        self: Any,
        template: str,
        role_arn: str | None = None,
        parameters: dict[str, Any] | None = None,
        tags: dict[str, str] | None = None,
    ) -> None:
        self.role_arn = role_arn or self.role_arn  # AWS keeps using the role a stack was given
        resources = self.resource_map
        before = {
            "stack": {name: getattr(self, name) for name in ROLLBACK_STACK_STATE},
            "resources": {name: getattr(resources, name) for name in ROLLBACK_RESOURCE_STATE},
        }
        try:
            with _changing_stack(self):
                original_update(self, template, self.role_arn, parameters=parameters, tags=tags)
        except Exception as error:  # noqa: BLE001 - any resource failure rolls the update back
            _failed(self, error, "UPDATE_FAILED", "UPDATE_ROLLBACK_IN_PROGRESS", "update")
            self.__dict__[ROLLBACK_TARGET] = before
            _roll_back_update(self)
        _hold(self)

    cfn.Stack.update = update  # type: ignore[method-assign]


def _patch_failed_delete() -> None:
    """4. FAILED_DELETE_KEEPS_STACK."""
    from moto.cloudformation import models as cfn  # noqa: PLC0415
    from moto.cloudformation.exceptions import ValidationError  # noqa: PLC0415

    original_delete = cfn.Stack.delete
    original_backend_delete = cfn.CloudFormationBackend.delete_stack
    original_describe = cfn.CloudFormationBackend.describe_stacks

    def delete(self: Any) -> None:
        try:
            with _changing_stack(self):
                original_delete(self)
            # A deleted stack has no outputs (moto would evaluate them, creating its resources again).
            self.template_dict = {**self.template_dict, "Outputs": {}}
            self.output_map = self._create_output_map()
        except Exception as error:  # noqa: BLE001 - the stack stays, as on AWS
            _failed(self, error, "DELETE_FAILED", "DELETE_FAILED", "delete")
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


# The API's rules (11, 12) ----------------------------------------------------------------------


def _find_stack(backend: Any, name_or_id: str) -> Any:
    """A stack by id (live or deleted) or by name (live first, then one still settling)."""
    if name_or_id in backend.stacks:
        return backend.stacks[name_or_id]
    if name_or_id in backend.deleted_stacks:
        return backend.deleted_stacks[name_or_id]
    named = [stack for stack in backend.stacks.values() if stack.name == name_or_id]
    named += [s for s in backend.deleted_stacks.values() if s.name == name_or_id and _settling(s)]
    return named[0] if named else None


def _retried(stack: Any, token: str | None) -> bool:
    """The call carries the token of the stack's latest operation: it is that operation, retried."""
    return bool(token) and stack is not None and stack.__dict__.get(LAST_TOKEN) == token


def _patch_api_rules() -> None:
    """11. STACK_STATE_RULES and 12. CLIENT_REQUEST_TOKEN, at the API."""
    from moto.cloudformation import responses  # noqa: PLC0415
    from moto.cloudformation.exceptions import ValidationError  # noqa: PLC0415
    from moto.core.responses import ActionResult, EmptyResult  # noqa: PLC0415

    api = responses.CloudFormationResponse
    original_create, original_update, original_delete = api.create_stack, api.update_stack, api.delete_stack

    def validate_status(self: Any, stack: Any) -> None:
        if stack.status not in UPDATABLE:
            raise ValidationError(
                stack.stack_id,
                message=f"Stack:{stack.stack_id} is in {stack.status} state and can not be updated.",
            )

    def create_stack(self: Any) -> Any:
        token = self._get_param("ClientRequestToken")
        stack = _find_stack(self.cloudformation_backend, self._get_param("StackName"))
        if _retried(stack, token):
            return ActionResult({"StackId": stack.stack_id})
        with _operating(token, self._get_param("RoleARN")):
            return original_create(self)

    def update_stack(self: Any) -> Any:
        token = self._get_param("ClientRequestToken")
        stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
        if _retried(stack, token):
            return ActionResult({"StackId": stack.stack_id})
        self._validate_status(stack)
        with _operating(token, self._get_param("RoleARN")):
            return original_update(self)

    def delete_stack(self: Any) -> Any:
        token = self._get_param("ClientRequestToken")
        stack = _find_stack(self.cloudformation_backend, self._get_param("StackName"))
        if _retried(stack, token):
            return EmptyResult()
        if stack is not None and stack.status.startswith("UPDATE") and stack.status.endswith("_IN_PROGRESS"):
            raise ValidationError(
                stack.name, message=f"Stack [{stack.name}] cannot be deleted while in status {stack.status}"
            )
        with _operating(token, self._get_param("RoleARN")):
            return original_delete(self)

    def continue_update_rollback(self: Any) -> Any:
        token = self._get_param("ClientRequestToken")
        stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
        if _retried(stack, token):
            return EmptyResult()
        if stack.status != "UPDATE_ROLLBACK_FAILED":
            raise ValidationError(
                stack.stack_id,
                message=f"Stack:{stack.stack_id} is in {stack.status} state and can not continue "
                "update rollback.",
            )
        with _operating(token, self._get_param("RoleARN")):
            stack.role_arn = self._get_param("RoleARN") or stack.role_arn
            stack._add_stack_event(
                "UPDATE_ROLLBACK_IN_PROGRESS", resource_status_reason="Continue rollback requested by user."
            )
            _roll_back_update(stack)
            _hold(stack)
        return EmptyResult()

    api._validate_status = validate_status  # type: ignore[method-assign]
    api.create_stack = create_stack  # type: ignore[method-assign]
    api.update_stack = update_stack  # type: ignore[method-assign]
    api.delete_stack = delete_stack  # type: ignore[method-assign]
    api.continue_update_rollback = continue_update_rollback  # type: ignore[attr-defined]


# UpdateStack's parameters against the templates (26) -------------------------------------------

USE_PREVIOUS_NOT_IN_TEMPLATE = (
    "Invalid input for parameter key {key}. "
    "Cannot specify usePreviousValue as true for a parameter key not in the previous template"
)


def _declared(template: Any) -> set[str]:
    return set((template or {}).get("Parameters") or {})


def _patch_previous_values() -> None:
    """26. UPDATE_PARAMETERS_CHECKED: UpdateStack's parameters are judged against the templates.

    AWS refuses UsePreviousValue for a key the previous template did not declare, and a parameter
    the template being applied does not declare ("Parameters: [...] do not exist in the
    template"); it gives UsePreviousValue the value the stack has, a default it took included.
    moto accepts both, and fails (a KeyError, a 500) on UsePreviousValue for a key the stack took
    by default or never had."""
    from moto.cloudformation import models as cfn  # noqa: PLC0415
    from moto.cloudformation import responses  # noqa: PLC0415
    from moto.cloudformation.exceptions import ValidationError  # noqa: PLC0415

    api = responses.CloudFormationResponse
    original_update = api.update_stack
    original_resolve = cfn.CloudFormationBackend._resolve_update_parameters

    def update_stack(self: Any) -> Any:
        stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
        incoming = self._get_param("Parameters", [])
        previous = _declared(stack.template_dict)
        for parameter in incoming:
            if parameter.get("UsePreviousValue") and parameter["ParameterKey"] not in previous:
                raise ValidationError(
                    stack.name, message=USE_PREVIOUS_NOT_IN_TEMPLATE.format(key=parameter["ParameterKey"])
                )
        body = self._get_param("TemplateBody")
        if self._get_bool_param("UsePreviousTemplate", False) or not body:
            declared = previous
        else:
            declared = _declared(stack.parse_template(body))
        unknown = [p["ParameterKey"] for p in incoming if p["ParameterKey"] not in declared]
        if unknown:
            raise ValidationError(
                stack.name, message=f"Parameters: [{', '.join(unknown)}] do not exist in the template"
            )
        return original_update(self)

    def resolve_update_parameters(self: Any, instance: Any, incoming_params: list[dict[str, Any]]) -> Any:
        if not isinstance(instance, cfn.Stack):
            return original_resolve(self, instance, incoming_params)
        current = {key: _text(value) for key, value in instance.stack_parameters.items()}
        resolved: dict[str, str] = {}
        for parameter in incoming_params:
            key = parameter["ParameterKey"]
            if parameter.get("UsePreviousValue"):
                resolved[key] = current[key]
            elif "ParameterValue" in parameter:
                resolved[key] = parameter["ParameterValue"]
        return resolved

    api.update_stack = update_stack  # type: ignore[method-assign]
    cfn.CloudFormationBackend._resolve_update_parameters = resolve_update_parameters  # type: ignore[method-assign]


# The service role's trust (25) -----------------------------------------------------------------

CLOUDFORMATION_PRINCIPAL = "cloudformation.amazonaws.com"


def _patch_service_role_trust() -> None:
    """25. TRUST_POLICIES, for CloudFormation: a stack operation with a service role (the call's
    `RoleARN`, or the role the stack keeps) needs the role's trust policy to let CloudFormation
    assume it; otherwise the call fails with AWS's ValidationError "Role <arn> is invalid or cannot
    be assumed". No document says which condition keys CloudFormation sets when it assumes a
    stack's role, so none are sent: only a trust policy that holds without them passes."""
    from moto.cloudformation import responses  # noqa: PLC0415
    from moto.cloudformation.exceptions import ValidationError  # noqa: PLC0415

    api = responses.CloudFormationResponse

    def assuming(operation: Any) -> Any:
        def checked(self: Any) -> Any:
            if options.enforce_iam:
                stack = _find_stack(self.cloudformation_backend, self._get_param("StackName") or "")
                live = stack is not None and stack.status != "DELETE_COMPLETE"
                role = self._get_param("RoleARN") or (stack.role_arn if live else None)
                if role and not access.trusts(role, CLOUDFORMATION_PRINCIPAL):
                    raise ValidationError(message=f"Role {role} is invalid or cannot be assumed")
            return operation(self)

        return checked

    for name in ("create_stack", "update_stack", "delete_stack", "continue_update_rollback"):
        setattr(api, name, assuming(getattr(api, name)))


# Templates and parameters (5, 6, 7) -----------------------------------------------------------


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _patch_equals() -> None:
    """5. EQUALS_COMPARES_TEXT."""
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
    """6. NO_OP_UPDATE_BY_VALUE."""
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
    """7. PARAMETER_CHANGE_UPDATES_RESOURCES."""
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


# Settling (10) ---------------------------------------------------------------------------------

_IN_PROGRESS = {
    "CREATE_COMPLETE": "CREATE_IN_PROGRESS",
    "ROLLBACK_COMPLETE": "ROLLBACK_IN_PROGRESS",
    "ROLLBACK_FAILED": "ROLLBACK_IN_PROGRESS",
    "UPDATE_COMPLETE": "UPDATE_IN_PROGRESS",
    "UPDATE_ROLLBACK_COMPLETE": "UPDATE_ROLLBACK_IN_PROGRESS",
    "UPDATE_ROLLBACK_FAILED": "UPDATE_ROLLBACK_IN_PROGRESS",
    "DELETE_COMPLETE": "DELETE_IN_PROGRESS",
    "DELETE_FAILED": "DELETE_IN_PROGRESS",
}


def _settled_status(stack: Any) -> str:
    return str(stack.__dict__.get("_status", ""))


def _settles_at(stack: Any) -> float:
    return float(stack.__dict__.get("_settles_at", 0.0))


def _settling(stack: Any) -> bool:
    return time.monotonic() < _settles_at(stack)


def _shown_while_settling(status: str) -> str:
    return _IN_PROGRESS.get(status, status)


def _hold(stack: Any) -> None:
    """Report the stack as still working for `options.settle_seconds`."""
    if options.settle_seconds > 0:
        stack.__dict__["_settles_at"] = time.monotonic() + options.settle_seconds


def _patch_settle_delay() -> None:
    """10. SETTLE_DELAY."""
    from moto.cloudformation import models as cfn  # noqa: PLC0415

    def get_status(self: Any) -> str:
        status: str = self.__dict__.get("_status", "")
        if time.monotonic() < self.__dict__.get("_settles_at", 0.0):
            return _IN_PROGRESS.get(status, status)
        return status

    def set_status(self: Any, value: str) -> None:
        changed = self.__dict__.get("_status") != value
        self.__dict__["_status"] = value
        if changed:  # 22: announced when the API call returns
            operation = _operation.get()
            stack_events.changed(self, value, operation.token if operation else self.__dict__.get(LAST_TOKEN))

    cfn.Stack.status = property(get_status, set_status)  # type: ignore[assignment]


# One call at a time (21) -----------------------------------------------------------------------

# Reentrant: a call may make another through the backend (a rollback, a nested stack).
_api_lock = threading.RLock()


def _patch_atomic_calls() -> None:
    """21. STACK_CALLS_ATOMIC."""
    from moto.cloudformation.responses import CloudFormationResponse  # noqa: PLC0415
    from moto.core.responses import BaseResponse  # noqa: PLC0415

    def call_action(self: Any) -> Any:
        with _api_lock:
            try:
                # BaseResponse's, looked up at each call: patch 15 replaces it after this one.
                return BaseResponse.call_action(self)
            finally:
                stack_events.flush(_settles_at, _shown_while_settling)  # 22

    CloudFormationResponse.call_action = call_action  # type: ignore[method-assign]


def apply() -> None:
    _patch_atomic_calls()
    _patch_failed_create()
    _patch_failed_update()
    _patch_failed_delete()
    _patch_equals()
    _patch_no_op_update()
    _patch_parameter_change()
    _patch_settle_delay()
    _patch_previous_values()
    _patch_api_rules()  # wraps 26's check: a retried call (12) is answered before it is judged
    _patch_service_role_trust()  # 25
    _patch_event_tokens()
    _patch_resource_handlers()
