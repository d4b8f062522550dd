"""Configuration: the settings each function needs, read from its environment and checked at cold start.

template.yaml gives each function the variables it needs: every function gets the Globals, some
get more of their own. Each kind of setting is one small model below, all of its fields required.
A handler names the models its function needs and checks them when it is imported (`require`):
a missing or invalid variable fails the cold start, naming the variable, rather than the first
request that needs it. The objects a function uses (wiring.py) read their settings with `load`,
once per process. tests/unit/test_settings.py checks every handler's needs against template.yaml.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TypeVar

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator

SERVICE_TAG_VALUE = "agentcore-ecr"
EVENT_SOURCE = "agentcore.ecr"


class SettingsError(RuntimeError):
    """The function's environment lacks a variable its handler needs, or holds an invalid one."""


class FunctionSettings(BaseModel):
    """One kind of setting. Each field's alias is its environment variable."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    @classmethod
    def variables(cls) -> tuple[str, ...]:
        return tuple(field.alias or name for name, field in cls.model_fields.items())


class NamingSettings(FunctionSettings):
    """How the repositories' stacks are named, and the environments a repository may belong to."""

    stack_name_prefix: str = Field(alias="STACK_NAME_PREFIX", pattern=r"^[a-zA-Z][-a-zA-Z0-9]*$")
    allowed_environments: tuple[str, ...] = Field(alias="ALLOWED_ENVIRONMENTS")

    @field_validator("allowed_environments", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(item.strip() for item in value.split(",") if item.strip())
        return value


class CatalogSettings(FunctionSettings):
    """The catalog table: the repositories' index, their locks, the waits of the workflow."""

    catalog_table_name: str = Field(alias="CATALOG_TABLE_NAME", min_length=1)


class StateMachineSettings(FunctionSettings):
    """The workflow: operations are its executions."""

    state_machine_arn: str = Field(alias="STATE_MACHINE_ARN", min_length=1)


class EventBusSettings(FunctionSettings):
    """The bus the result events go to."""

    event_bus_name: str = Field(alias="EVENT_BUS_NAME", min_length=1)


class StackWaitSettings(FunctionSettings):
    """How the workflow waits on a stack: the fallback poll, and how long before StackTimeout."""

    poll_interval_seconds: int = Field(alias="STACK_POLL_INTERVAL_SECONDS", ge=0)
    timeout_minutes: float = Field(alias="STACK_TIMEOUT_MINUTES", ge=0)


class ServiceRoleSettings(FunctionSettings):
    """The role CloudFormation changes the repository stacks with (the function's own cannot)."""

    cloudformation_role_arn: str = Field(alias="CLOUDFORMATION_ROLE_ARN", min_length=1)


S = TypeVar("S", bound=FunctionSettings)
_loaded: dict[type[FunctionSettings], FunctionSettings] = {}


def _problems(invalid: pydantic.ValidationError, environment: Mapping[str, str]) -> list[str]:
    found = []
    for error in invalid.errors():
        variable = str(error["loc"][0]) if error["loc"] else "?"
        if error["type"] == "missing":
            found.append(f"{variable} is not set")
        else:
            found.append(f"{variable}={environment.get(variable)!r} is invalid: {error['msg']}")
    return found


def _failure(problems: list[str]) -> SettingsError:
    return SettingsError(
        f"This function's settings are incomplete: {'; '.join(problems)} "
        "(template.yaml gives each function the variables its handler needs)."
    )


def require(*needs: type[FunctionSettings]) -> tuple[type[FunctionSettings], ...]:
    """Check at cold start every setting the function needs; all that is wrong is named at once."""
    problems = []
    for need in needs:
        try:
            need.model_validate(dict(os.environ))
        except pydantic.ValidationError as invalid:
            problems += _problems(invalid, os.environ)
    if problems:
        raise _failure(problems)
    return needs


def load(need: type[S]) -> S:
    """The function's settings of one kind, read from its environment once per process."""
    loaded = _loaded.get(need)
    if isinstance(loaded, need):
        return loaded
    try:
        settings = need.model_validate(dict(os.environ))
    except pydantic.ValidationError as invalid:
        raise _failure(_problems(invalid, os.environ)) from None
    _loaded[need] = settings
    return settings


def reset() -> None:
    """Forget what was read (tests change the environment between cases)."""
    _loaded.clear()


class StackWork:
    """The settings the workflow's steps read, each kind on first use: StartStackChangeFunction
    changes stacks (with the service role) and waits on them, CheckStackFunction waits on them,
    the other steps read neither (and their functions are not given them)."""

    @property
    def cloudformation_role_arn(self) -> str:
        return load(ServiceRoleSettings).cloudformation_role_arn

    @property
    def poll_interval_seconds(self) -> int:
        return load(StackWaitSettings).poll_interval_seconds

    @property
    def timeout_minutes(self) -> float:
        return load(StackWaitSettings).timeout_minutes
