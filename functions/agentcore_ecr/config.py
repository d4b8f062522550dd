"""Configuration: one validated model read from the environment once per process."""

from __future__ import annotations

import os
from functools import cache

from pydantic import BaseModel, ConfigDict, Field, field_validator

SERVICE_TAG_VALUE = "agentcore-ecr"
EVENT_SOURCE = "agentcore.ecr"


class Settings(BaseModel):
    """The template gives each function the variables it needs; a missing one fails on first use."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    stack_name_prefix: str = Field("agentcore", alias="STACK_NAME_PREFIX", pattern=r"^[a-zA-Z][-a-zA-Z0-9]*$")
    allowed_environments: tuple[str, ...] = Field(("dev", "staging", "prod"), alias="ALLOWED_ENVIRONMENTS")
    event_bus_name: str = Field("agentcore-ecr", alias="EVENT_BUS_NAME")
    state_machine_arn: str | None = Field(None, alias="STATE_MACHINE_ARN")
    cloudformation_role_arn: str | None = Field(None, alias="CLOUDFORMATION_ROLE_ARN")
    catalog_table_name: str | None = Field(None, alias="CATALOG_TABLE_NAME")
    # The workflow's steps need both; a step whose function lacks one fails on first use.
    stack_poll_interval_seconds: int | None = Field(None, ge=0, alias="STACK_POLL_INTERVAL_SECONDS")
    stack_timeout_minutes: float | None = Field(None, ge=0, alias="STACK_TIMEOUT_MINUTES")

    @field_validator("allowed_environments", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(item.strip() for item in value.split(",") if item.strip())
        return value

    def require_state_machine_arn(self) -> str:
        if not self.state_machine_arn:
            raise RuntimeError("STATE_MACHINE_ARN is not set for this function")
        return self.state_machine_arn

    @property
    def poll_interval_seconds(self) -> int:
        if self.stack_poll_interval_seconds is None:
            raise RuntimeError("STACK_POLL_INTERVAL_SECONDS is not set for this function")
        return self.stack_poll_interval_seconds

    @property
    def timeout_minutes(self) -> float:
        if self.stack_timeout_minutes is None:
            raise RuntimeError("STACK_TIMEOUT_MINUTES is not set for this function")
        return self.stack_timeout_minutes


@cache
def get_settings() -> Settings:
    return Settings.model_validate(dict(os.environ))
