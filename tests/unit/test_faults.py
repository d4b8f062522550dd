"""AWS's bad moments, injected at the emulator's edge (local/emulator/faults.py): every operation
still ends, retried with backoff where AWS asks to slow down, or FAILED with a clear code."""

from __future__ import annotations

import json
from typing import Any

import pytest
from local.emulator import faults

from agentcore_ecr.aws.clients import ATTEMPTS
from agentcore_ecr.aws.ecr import Ecr, ImageFailure
from agentcore_ecr.workflow import Workflow
from tests import api_events
from tests.deployment import Deployment
from tests.unit.test_workflow import run

NAME = "team/agent-a"


def create(deployment: Deployment) -> dict[str, Any]:
    return run(deployment, "CreateRepositoryFunction", api_events.create_repository({"name": NAME}))


@pytest.mark.parametrize(
    ("operation", "code", "status"),
    [
        ("cloudformation:CreateStack", None, 400),
        ("cloudformation:DescribeStacks", None, 400),
        ("ecr:DescribeRepositories", None, 400),
        ("ecr:ListTagsForResource", None, 400),
        ("stepfunctions:StartExecution", None, 400),
        ("events:PutEvents", None, 400),
        ("cloudformation:CreateStack", "InternalFailure", 500),
        ("ecr:DescribeRepositories", "ServerException", 500),
    ],
)
def test_a_few_throttled_or_failed_calls_are_retried_by_the_client(
    deployment: Deployment, operation: str, code: str | None, status: int
) -> None:
    """botocore's standard retry mode (ATTEMPTS in all, backoff with jitter) absorbs a short episode."""
    fault = faults.inject(operation, count=ATTEMPTS - 1, code=code, status=status)

    operation_result = create(deployment)

    assert operation_result["status"] == "SUCCEEDED", operation_result
    assert fault.answered == ATTEMPTS - 1
    assert len(fault.calls) >= ATTEMPTS, "the call was made again after each error"
    assert all(gap > 0 for gap in fault.gaps()[: ATTEMPTS - 1])


def test_a_long_throttling_episode_is_retried_by_the_workflow_with_backoff(deployment: Deployment) -> None:
    """Past botocore's attempts the step fails with Throttled, and the state machine's Retry waits
    (IntervalSeconds 2, BackoffRate 2, full jitter) and runs the step again."""
    fault = faults.inject("cloudformation:CreateStack", count=ATTEMPTS)  # botocore: a call and its retries

    operation = create(deployment)

    assert operation["status"] == "SUCCEEDED", operation
    assert fault.answered == ATTEMPTS
    assert len(fault.calls) == ATTEMPTS + 1
    # Within one step botocore's backoff (under a second); between the two steps the state machine's.
    assert sum(fault.gaps()) > 0


def test_a_server_error_that_persists_fails_the_operation_with_a_clear_code(deployment: Deployment) -> None:
    """botocore's attempts spent, the step fails as StepCrashed, the workflow runs it twice more,
    then the operation ends FAILED (Internal, the raw AWS text kept out), with its Failed event."""
    fault = faults.inject("cloudformation:CreateStack", count=10_000, code="InternalFailure", status=500)

    operation = run(deployment, "CreateRepositoryFunction", api_events.create_repository({"name": NAME}))

    assert operation["status"] == "FAILED"
    assert operation["error"]["code"] == "Internal"
    assert "injected" not in operation["error"]["message"]
    # botocore's standard mode: the call and its retries; the step itself is run 3 times (StepCrashed).
    assert len(fault.calls) == 3 * ATTEMPTS
    assert [e["detail-type"] for e in deployment.result_events()] == ["Repository Operation Failed"]


def test_a_step_that_crashes_fails_the_operation_never_leaves_it_running(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    crashes: list[str] = []

    def crash(self: Workflow, task: Any) -> Any:
        crashes.append("check")
        raise RuntimeError("boom")

    monkeypatch.setattr(Workflow, "check_stack", crash)

    operation = create(deployment)

    assert len(crashes) == 3, "retried twice (StepCrashed), then the operation fails"

    assert operation["status"] == "FAILED"
    assert operation["error"]["code"] == "Internal"
    assert "boom" not in operation["error"]["message"], "no raw exception text reaches the caller"
    [event] = deployment.result_events()
    assert event["detail-type"] == "Repository Operation Failed"
    assert event["detail"]["operationId"] == operation["operationId"]


def test_a_read_meets_throttling_and_still_answers(deployment: Deployment) -> None:
    create(deployment)
    fault = faults.inject("cloudformation:DescribeStacks", count=ATTEMPTS - 1)  # the last attempt answers

    got = deployment.call("GetRepositoryFunction", api_events.get_repository(NAME))

    assert got.status == 200
    assert fault.answered == ATTEMPTS - 1


def test_a_read_throttled_past_the_clients_retries_is_503_in_the_contract_shape(
    deployment: Deployment,
) -> None:
    create(deployment)
    faults.inject("ecr:DescribeRepositories", count=10)

    got = deployment.call("GetRepositoryFunction", api_events.get_repository(NAME))

    assert got.status == 503, got.body
    assert got.body["error"]["code"] == "Throttled"
    assert "injected" not in got.body["error"]["message"], "no raw AWS text reaches the caller"


def test_an_armed_image_failure_is_answered_in_failures_and_the_image_is_kept(ecr: Any) -> None:
    """BatchDeleteImage answers 200; an image it did not delete is in `failures[]` with its code
    and reason (ECR API Reference, ImageFailure), the others are deleted. The adapter reports the
    failures, except ImageNotFound: an image already gone is what a delete wants."""
    ecr.create_repository(repositoryName=NAME)
    for tag in ("v1", "v2"):
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"digest": f"sha256:{tag:0>64}"},
            "layers": [],
        }
        ecr.put_image(repositoryName=NAME, imageManifest=json.dumps(manifest), imageTag=tag)
    faults.fail_image_delete(NAME, "v1", code="ImageInaccessible", reason="injected")
    wanted = [{"imageTag": "v1"}, {"imageTag": "v2"}, {"imageTag": "gone"}]

    answered = ecr.batch_delete_image(repositoryName=NAME, imageIds=wanted)
    failures = Ecr(ecr).delete_images(NAME, [{"imageTag": "v1"}, {"imageTag": "gone"}])

    assert [image["imageTag"] for image in answered["imageIds"]] == ["v2"]
    assert {(f["imageId"].get("imageTag"), f["failureCode"]) for f in answered["failures"]} == {
        ("v1", "ImageInaccessible"),
        ("gone", "ImageNotFound"),
    }
    assert failures == [ImageFailure({"imageTag": "v1"}, "ImageInaccessible", "injected")]
    assert failures[0].image == "v1"
    assert [image["imageTag"] for image in ecr.list_images(repositoryName=NAME)["imageIds"]] == ["v1"]
