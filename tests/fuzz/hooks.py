"""schemathesis hooks of `make fuzz`: the false positives it drops, each with its reason.

schemathesis loads this file by its path (SCHEMATHESIS_HOOKS) into its own process and virtualenv
(.venv-fuzz), so it imports nothing of the project. A failure is dropped only when the response is
exactly the one a reason explains; every drop is written to the file FUZZ_DROPPED names, and the
report counts them (`dropped`), so none is silent.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from typing import Any, NamedTuple

import schemathesis


class FalsePositive(NamedTuple):  # no dataclass: a file loaded by path is not in sys.modules
    name: str
    check: str
    status: int
    code: str
    # Given the error's `details` and the request body: whether this reason explains every detail
    explains: Callable[[list[dict[str, Any]], Any], bool]
    reason: str


def _every(field: str, message_start: str = "") -> Callable[[list[dict[str, Any]], Any], bool]:
    def explained(details: list[dict[str, Any]], _body: Any) -> bool:
        return bool(details) and all(
            detail.get("field") == field and str(detail.get("message", "")).startswith(message_start)
            for detail in details
        )

    return explained


def _value_at(body: Any, field: str) -> Any:
    """`lifecyclePolicy.maxImageCount` of the body (None when it has no such field)."""
    for key in field.split("."):
        body = body.get(key) if isinstance(body, dict) else None
    return body


def _integral_floats(details: list[dict[str, Any]], body: Any) -> bool:
    return bool(details) and all(
        detail.get("message") == "Input should be a valid integer"
        and isinstance(value := _value_at(body, str(detail.get("field"))), float)
        and value.is_integer()
        for detail in details
    )


FALSE_POSITIVES = [
    FalsePositive(
        "idempotency-key-reused",
        "positive_data_acceptance",
        422,
        "IdempotencyKeyReused",
        lambda details, _body: not details,
        "The contract answers 422 IdempotencyKeyReused to a key an earlier, different request used. The "
        "fuzzer draws keys from a small space and sends the same key with other requests; no document can "
        "say which keys a run has used.",
    ),
    FalsePositive(
        "next-token-not-issued",
        "positive_data_acceptance",
        400,
        "ValidationError",
        _every("nextToken"),
        "nextToken is an opaque cursor: only a value a previous page returned is valid (400 otherwise, as "
        "the contract's 'bad query parameter'). A generated string matches the document's type but was "
        "never issued.",
    ),
    FalsePositive(
        "environment-not-allowed",
        "positive_data_acceptance",
        400,
        "ValidationError",
        _every("environment", "environment must be one of"),
        "The document gives the contract's environment pattern, which every deployment shares; a "
        "deployment narrows it with its AllowedEnvironments parameter (dev, staging, prod on the local "
        "stack), as the contract says, and answers 400 for another.",
    ),
    FalsePositive(
        "integer-written-with-a-fraction",
        "positive_data_acceptance",
        400,
        "ValidationError",
        _integral_floats,
        "JSON Schema's integer includes numbers written with a zero fraction (290.0). The API takes an "
        "integer field only as an integer literal (290), as tests/unit/test_validation.py pins "
        "(untaggedExpiryDays-integral-float), and answers 400 otherwise.",
    ),
]

_lock = threading.Lock()


def _error(content: bytes) -> dict[str, Any]:
    try:
        body = json.loads(content)
    except ValueError:
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def explain(check_names: tuple[str, ...], status: int, content: bytes, body: Any) -> FalsePositive | None:
    """The false positive a failure of these checks, with this response to this body, is, if any."""
    error = _error(content)
    details = error.get("details") or []
    for known in FALSE_POSITIVES:
        if (
            known.check in check_names
            and status == known.status
            and error.get("code") == known.code
            and isinstance(details, list)
            and known.explains(details, body)
        ):
            return known
    return None


def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    """schemathesis' hook: False drops the failure."""
    checks = tuple(getattr(failure, "checks", ()))
    known = explain(checks, response.status_code, response.content or b"", getattr(case, "body", None))
    if known is None:
        return True
    record = {
        "reason": known.name,
        "check": known.check,
        "operation": case.operation.label,
        "status": response.status_code,
        "case": getattr(failure, "case_id", None),
        "why": known.reason,
    }
    path = os.environ.get("FUZZ_DROPPED")
    if path:
        with _lock, open(path, "a", encoding="utf-8") as out:  # noqa: PTH123 - one line, appended
            out.write(json.dumps(record) + "\n")
    return False


schemathesis.hook(filter_failure)
