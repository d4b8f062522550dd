"""boto3 clients, made on first use and kept for the life of the process.

The endpoint comes from the environment (`AWS_ENDPOINT_URL`), as boto3 reads it.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from agentcore_ecr.domain.errors import Throttled

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, user_agent_extra="agentcore-ecr")
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
    return boto3.client(service, config=_CONFIG)


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def raise_if_throttled(error: ClientError) -> None:
    if error_code(error) in THROTTLING_CODES:
        raise Throttled("AWS is throttling requests; try again shortly") from error
