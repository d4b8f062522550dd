"""What the client raises. Each error knows the command's exit code (the README's table)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agentcore_ecr_client.models import ErrorDetail, Operation

# Exit codes of the command, as the AWS CLI numbers them where it has one.
EXIT_OK = 0
EXIT_OPERATION_FAILED = 1  # the operation ended FAILED, TIMED_OUT or ABORTED
EXIT_USAGE = 2  # a bad option or argument (click's own code)
EXIT_WAIT_TIMEOUT = 3  # --wait gave up; the operation goes on
EXIT_INTERRUPTED = 130  # Ctrl-C; an operation already accepted goes on
EXIT_CONFIGURATION = 253  # no endpoint, region or credentials; the stack has no ApiUrl
EXIT_SERVICE = 254  # the service answered an error (its code is printed)
EXIT_UNREACHABLE = 255  # the endpoint could not be reached, after retries


class ClientError(Exception):
    """Any error of the client."""

    exit_code = EXIT_UNREACHABLE


class ConfigurationError(ClientError):
    """No endpoint, region or credentials could be found."""

    exit_code = EXIT_CONFIGURATION


class EndpointUnreachable(ClientError):
    """The endpoint did not answer (connection refused, timeout), after the client's retries."""

    exit_code = EXIT_UNREACHABLE


class ApiError(ClientError):
    """The service answered an error: `code` is the contract's (`NotFound`, `AccessDenied`, ...)."""

    exit_code = EXIT_SERVICE

    def __init__(
        self, status: int, code: str, message: str, details: list[ErrorDetail] | None = None
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []


class OperationFailed(ClientError):
    """The operation ended without succeeding (FAILED, TIMED_OUT or ABORTED)."""

    exit_code = EXIT_OPERATION_FAILED

    def __init__(self, operation: Operation) -> None:
        error = operation.error
        code = error.code if error is not None else operation.status
        message = error.message if error is not None else f"the operation ended {operation.status}"
        super().__init__(f"{code}: {message}")
        self.operation = operation
        self.code = code
        self.message = message


class WaiterTimeout(ClientError):
    """The operation was still running when the waiter's time was up; it goes on."""

    exit_code = EXIT_WAIT_TIMEOUT

    def __init__(self, operation: Operation, timeout: float) -> None:
        super().__init__(
            f"operation {operation.operation_id} is still {operation.status} after {timeout:g} s; "
            f"it goes on: `agentcore-ecr operation wait {operation.operation_id}` follows it again"
        )
        self.operation = operation
        self.timeout = timeout
