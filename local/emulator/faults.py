"""Fault injection: not a difference from AWS, but AWS's bad moments on demand.

AWS answers throttling (`Throttling`, `ThrottlingException`) and transient server errors at
times; the service must retry them and still finish the operation. Tests arm a fault for one
API operation (`"cloudformation:CreateStack"`), the emulator answers the next `count` calls of it
with that error, in the service's protocol, and records when each call came, so a test can see
that the retry happened and that it waited.

Some of AWS's bad answers are not errors: BatchDeleteImage answers 200 and lists, in `failures[]`,
the images it could not delete, with a `failureCode` (`KmsError`, `ImageInaccessible`...) and a
`failureReason` (ECR API Reference, BatchDeleteImage, ImageFailure). `fail_image_delete` arms such
an answer for one image (by tag or digest) of one repository: until `clear()`, BatchDeleteImage
keeps that image and lists it in `failures[]`, and deletes the others it is asked to.

Others are slow answers: `delay` holds the next `count` calls of one operation for a while before
the emulator answers them, as a slow AWS does; a function making that call is slow as a whole
(what an API Gateway integration timeout is tested with).
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from moto.core.exceptions import ServiceException


class InjectedFault(ServiceException):
    """The error an armed fault answers, serialized by moto in the service's protocol."""


@dataclass
class Fault:
    code: str
    status: int
    armed: int  # how many calls get the error
    remaining: int
    calls: list[float] = field(default_factory=list)  # monotonic time of every call of the operation

    @property
    def answered(self) -> int:
        """Calls that got the injected error."""
        return min(len(self.calls), self.armed)

    def gaps(self) -> list[float]:
        """Seconds between consecutive calls: the client's backoff."""
        return [later - earlier for earlier, later in zip(self.calls, self.calls[1:], strict=False)]


@dataclass(frozen=True)
class ImageFault:
    repository: str
    image: str  # a tag or a digest
    code: str
    reason: str

    def matches(self, repository: str, image_id: dict[str, str]) -> bool:
        return repository == self.repository and self.image in (
            image_id.get("imageTag"),
            image_id.get("imageDigest"),
        )


@dataclass
class Delay:
    seconds: float
    remaining: int  # how many more calls are held
    calls: list[float] = field(default_factory=list)  # monotonic time each held call came

    @property
    def held(self) -> int:
        return len(self.calls)


_faults: dict[str, Fault] = {}
_image_faults: list[ImageFault] = []
_delays: dict[str, Delay] = {}
_lock = threading.Lock()


def inject(operation: str, count: int, code: str | None = None, status: int = 400) -> Fault:
    """Answer the next `count` calls of `operation` ("service:Operation") with an error.

    `code` defaults to the service's throttling code (`Throttling` for query-protocol services
    such as CloudFormation, `ThrottlingException` for JSON ones).
    """
    fault = Fault(code=code or "", status=status, armed=count, remaining=count)
    with _lock:
        _faults[operation] = fault
    return fault


def fail_image_delete(
    repository: str,
    image: str,
    code: str = "KmsError",
    reason: str = "The KMS key of the repository is disabled (injected)",
) -> ImageFault:
    """BatchDeleteImage keeps `image` (a tag or digest) of `repository` and answers it in
    `failures[]` with `code` and `reason`, until `clear()`."""
    fault = ImageFault(repository, image, code, reason)
    with _lock:
        _image_faults.append(fault)
    return fault


def delay(operation: str, seconds: float, count: int = 1) -> Delay:
    """Hold the next `count` calls of `operation` ("service:Operation") `seconds` before answering
    them (an armed error, if any, comes after the wait)."""
    held = Delay(seconds=seconds, remaining=count)
    with _lock:
        _delays[operation] = held
    return held


def clear() -> None:
    with _lock:
        _faults.clear()
        _image_faults.clear()
        _delays.clear()


def _wait(response: Any, operation: str) -> None:
    with _lock:
        held = _delays.get(f"{response.boto3_service_name}:{operation}")
        if held is None or held.remaining <= 0:
            return
        held.remaining -= 1
        held.calls.append(time.monotonic())
    time.sleep(held.seconds)  # outside the lock: other calls go on meanwhile


def _image_failure(repository: str, image_id: dict[str, str]) -> dict[str, Any] | None:
    with _lock:
        fault = next((f for f in _image_faults if f.matches(repository, image_id)), None)
    if fault is None:
        return None
    return {"imageId": dict(image_id), "failureCode": fault.code, "failureReason": fault.reason}


def answer(response: Any, operation: str) -> tuple[int, dict[str, str], str] | None:
    """The injected error for this call, or None to let it through (recording the call either way)."""
    with _lock:
        fault = _faults.get(f"{response.boto3_service_name}:{operation}")
        if fault is None:
            return None
        fault.calls.append(time.monotonic())
        if fault.remaining <= 0:
            return None
        fault.remaining -= 1
    from moto.core.responses import ActionResult  # noqa: PLC0415
    from moto.core.utils import get_service_model  # noqa: PLC0415

    protocol = get_service_model(response.boto3_service_name).protocol
    code = fault.code or ("Throttling" if protocol == "query" else "ThrottlingException")
    _, headers, body = response.serialized(ActionResult(InjectedFault(code, "Rate exceeded (injected)")))
    headers.setdefault("x-amzn-RequestId", str(uuid.uuid4()))
    return fault.status, headers, body


def apply() -> None:
    from moto.core.responses import BaseResponse  # noqa: PLC0415

    original = BaseResponse.call_action

    def call_action(self: Any) -> Any:
        if _delays:
            _wait(self, self._get_action())
        if _faults:
            injected = answer(self, self._get_action())
            if injected is not None:
                return injected
        return original(self)

    BaseResponse.call_action = call_action  # type: ignore[method-assign]
    _patch_batch_delete_image()


def _patch_batch_delete_image() -> None:
    from moto.ecr.models import ECRBackend  # noqa: PLC0415

    original = ECRBackend.batch_delete_image

    def batch_delete_image(
        self: Any,
        repository_name: str,
        registry_id: str | None = None,
        image_ids: list[dict[str, str]] | None = None,
    ) -> dict[str, Any]:
        if not _image_faults or not image_ids or repository_name not in self.repositories:
            return original(self, repository_name, registry_id, image_ids)
        failures, others = [], []
        for image_id in image_ids:
            failure = _image_failure(repository_name, image_id)
            if failure is None:
                others.append(image_id)
            else:
                failures.append(failure)
        response: dict[str, Any] = (
            original(self, repository_name, registry_id, others)
            if others
            else {"imageIds": [], "failures": []}
        )
        response["failures"] = [*response.get("failures", []), *failures]
        return response

    ECRBackend.batch_delete_image = batch_delete_image  # type: ignore[method-assign]
