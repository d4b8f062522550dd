"""boto3 clients, made on first use and kept for the life of the process.

The endpoint comes from the environment (`AWS_ENDPOINT_URL`), as boto3 reads it. boto3 itself is
imported on first use too: a handler's import stays light (README, "Cold start and what is shipped").

Every call is bounded: botocore's defaults (60 s to connect, 60 s for each read) would let one
stuck call outlast the function, and a function behind the API must answer within its 25 s
Timeout, itself under API Gateway's 29 s integration timeout (template.yaml, Globals). With
these settings one call, its retries and the waits between them take at most
`worst_case_seconds()`, less than that Timeout (tests/unit/test_service_template.py), so a
handler whose call fails still answers (503 Throttled, 500 Internal) rather than being stopped.
The workflow's and the events' functions share the settings: what botocore no longer retries,
the state machine's Retry or Lambda's asynchronous retries do.
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

CONNECT_TIMEOUT_SECONDS = 1.0  # the TCP and TLS handshakes with a regional endpoint
READ_TIMEOUT_SECONDS = 2.5  # for each read of the answer; an attempt that waits longer is retried
ATTEMPTS = 3  # standard mode's default: the call and 2 retries
# Standard mode's longest wait before retry i (0-based): rand(0, 1) * min(2**i, 20) s for
# throttling errors (boto3 Developer Guide, "Retries": a base factor of 2, at most 20 s), raised
# when AWS answers x-amz-retry-after, by at most 5 s more (botocore's ExponentialBackoff).
MAX_BACKOFF_SECONDS = 20.0
RETRY_AFTER_EXTRA_SECONDS = 5.0


@cache
def client(service: str) -> Any:
    import boto3  # noqa: PLC0415
    from botocore.config import Config  # noqa: PLC0415

    config = Config(
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
        retries={"mode": "standard", "total_max_attempts": ATTEMPTS},
        user_agent_extra="agentcore-ecr",
    )
    return boto3.client(service, config=config)


def worst_case_seconds(config: Any) -> float:
    """The longest one call can take under a client's `config` (standard retry mode): each
    attempt waits out its connect and read timeouts, and each wait between attempts is the
    longest standard mode takes."""
    if config.retries.get("mode") != "standard":
        raise ValueError(f"only standard retry mode is bounded here, not {config.retries}")
    attempts = int(config.retries["total_max_attempts"])
    per_attempt = float(config.connect_timeout) + float(config.read_timeout)
    waits = sum(min(2.0**i, MAX_BACKOFF_SECONDS) + RETRY_AFTER_EXTRA_SECONDS for i in range(attempts - 1))
    return attempts * per_attempt + waits


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def raise_if_throttled(error: ClientError) -> None:
    if error_code(error) in THROTTLING_CODES:
        raise Throttled("AWS is throttling requests; try again shortly") from error
