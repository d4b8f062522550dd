from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any, cast

import pytest
from local import emulator
from local.emulator import faults, stack_events
from local.emulator.stepfunctions import stop_executions
from moto import mock_aws

from agentcore_ecr import wiring
from tests.deployment import CATALOG_TABLE_NAME, Deployment, load_template

TEST_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "POWERTOOLS_SERVICE_NAME": "agentcore-ecr",
    "POWERTOOLS_METRICS_NAMESPACE": "AgentCoreEcr",
    "POWERTOOLS_DEV": "false",
    "STACK_NAME_PREFIX": "agentcore",
    "ALLOWED_ENVIRONMENTS": "dev,staging,prod",
    "EVENT_BUS_NAME": "agentcore-ecr",
    "STACK_POLL_INTERVAL_SECONDS": "0",
    "STACK_TIMEOUT_MINUTES": "30",
    # Every handler checks its settings at import: these are set even where no deployment is (the
    # `deployment` fixture sets the state machine it made; the table and the role are its names).
    "CATALOG_TABLE_NAME": CATALOG_TABLE_NAME,
    "STATE_MACHINE_ARN": (
        "arn:aws:states:us-east-1:123456789012:stateMachine:agentcore-ecr-repository-workflow"
    ),
    "CLOUDFORMATION_ROLE_ARN": "arn:aws:iam::123456789012:role/agentcore-ecr-cloudformation",
}
# Powertools reads these when Logger/Metrics are created, at import: set before any test imports them.
for _name in ("POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE"):
    os.environ[_name] = TEST_ENVIRONMENT[_name]
MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in (
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "STATE_MACHINE_ARN",
        "CLOUDFORMATION_ROLE_ARN",
        "CATALOG_TABLE_NAME",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in TEST_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    wiring.reset()
    yield
    wiring.reset()


@pytest.fixture
def aws() -> Iterator[None]:
    """moto in this process, mended where it differs from AWS (local/emulator).

    No execution outlives the test: moto's executor threads would otherwise go on into the next
    test's backends (and find what it made).
    """
    emulator.apply()
    emulator.options.settle_seconds = 0
    with mock_aws(config=cast("Any", MOTO_CONFIG)):
        yield
        leaked = stop_executions()
        stack_events.cancel()
    faults.clear()
    emulator.options.settle_seconds = 0
    assert not leaked, f"executions still running after the test: {leaked}"


@pytest.fixture
def deployment(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Deployment]:
    from moto.awslambda_simple.models import LambdaSimpleBackend  # noqa: PLC0415

    deployed = Deployment(load_template())
    deployed.deploy(TEST_ENVIRONMENT["EVENT_BUS_NAME"])
    monkeypatch.setattr(
        LambdaSimpleBackend, "invoke", lambda _self, *args: deployed.invoke_from_workflow(*args)
    )
    monkeypatch.setattr(emulator.options, "invoke_async", deployed.invoke_async)
    monkeypatch.setenv("STATE_MACHINE_ARN", deployed.state_machine_arn)
    monkeypatch.setenv("CATALOG_TABLE_NAME", CATALOG_TABLE_NAME)
    wiring.reset()
    yield deployed
    stop_executions()
    stack_events.cancel()
    deployed.drain()
