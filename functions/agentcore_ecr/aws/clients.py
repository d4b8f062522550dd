"""boto3 clients, made on first use and kept for the life of the process.

The endpoint comes from the environment (`AWS_ENDPOINT_URL`), as boto3 reads it. boto3 itself is
imported on first use too: a handler's import stays light (README, "Cold start and what is shipped").
"""

from __future__ import annotations

from functools import cache
from typing import Any

from botocore.exceptions import ClientError

from agentcore_ecr.domain.errors import Throttled

THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",  # DynamoDB's
    }
)


@cache
def client(service: str) -> Any:
    import boto3  # noqa: PLC0415
    from botocore.config import Config  # noqa: PLC0415

    config = Config(retries={"mode": "standard", "max_attempts": 5}, user_agent_extra="agentcore-ecr")
    return boto3.client(service, config=config)


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def raise_if_throttled(error: ClientError) -> None:
    if error_code(error) in THROTTLING_CODES:
        raise Throttled("AWS is throttling requests; try again shortly") from error
