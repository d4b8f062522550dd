"""The local API Gateway (local/gateway.py) in this process, in front of the real handlers on moto
(the deployment fixture), with the translated template's permissions: API Gateway's integration
timeout. Past it API Gateway answers 504 INTEGRATION_TIMEOUT, and the function runs on: what it
does still happens (API Gateway Developer Guide, "Quotas for configuring and running a REST API in
API Gateway"; Knowledge Center, "How can I troubleshoot API HTTP 504 timeout errors with API
Gateway?")."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from local.emulator import faults
from local.gateway import Gateway
from local.template import LocalTemplate

from tests.deployment import Deployment, load_template

NAME = "team/agent-a"
INTEGRATION_TIMEOUT = 1.0  # the local stack's setting, far below API Gateway's 29 s
SLOW = 3.0  # how long the admission's StartExecution is held: past the integration timeout


@dataclass
class Api:
    """The gateway on a free port, and every answer its functions gave (whether or not the
    gateway still waited for it)."""

    gateway: Gateway
    answers: list[dict[str, Any]] = field(default_factory=list)
    running: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, dict[str, str], Any]:
        connection = http.client.HTTPConnection("127.0.0.1", self.gateway.port, timeout=30)
        try:
            data = json.dumps(body).encode() if body is not None else None
            connection.request(method, path, body=data, headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            text = response.read()
            return response.status, dict(response.getheaders()), json.loads(text) if text else None
        finally:
            connection.close()

    def settle(self, timeout: float = 30) -> None:
        """Wait for the invocations the gateway stopped waiting for."""
        deadline = time.monotonic() + timeout
        while self.running and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not self.running, "an invocation still runs"


@pytest.fixture(scope="module")
def template() -> LocalTemplate:
    local = LocalTemplate(load_template())
    local.routes()  # translated once for the module
    return local


@pytest.fixture
def api(deployment: Deployment, template: LocalTemplate) -> Iterator[Api]:
    lam = boto3.client("lambda", region_name=deployment.region)
    for logical_id in template.of_type("AWS::Lambda::Permission"):
        permission = template.properties(logical_id)
        lam.add_permission(
            FunctionName=permission["FunctionName"],
            StatementId=logical_id,
            Action=permission["Action"],
            Principal=permission["Principal"],
            SourceArn=permission["SourceArn"],
        )
    holder: list[Api] = []

    def invoke(function: str, payload: bytes) -> tuple[bytes, str | None]:
        api = holder[0]
        with api.lock:
            api.running += 1
        try:
            answer = deployment.invoke(function, json.loads(payload))
            api.answers.append(answer)
            return json.dumps(answer).encode(), None
        finally:
            with api.lock:
                api.running -= 1

    gateway = Gateway(template, invoke, port=0, integration_timeout=INTEGRATION_TIMEOUT)
    holder.append(Api(gateway))
    threading.Thread(target=gateway.serve_forever, name="gateway", daemon=True).start()
    yield holder[0]
    holder[0].settle()  # no handler may outlive moto's mock
    gateway.stop()


def integration_timeout_body() -> Any:
    responses = load_template()["Resources"]["Api"]["Properties"]["GatewayResponses"]
    return json.loads(responses["INTEGRATION_TIMEOUT"]["ResponseTemplates"]["application/json"])


def test_a_function_slower_than_the_integration_timeout_answers_504_and_runs_on(
    api: Api, deployment: Deployment
) -> None:
    """The 504 is the template's INTEGRATION_TIMEOUT response, after the integration timeout and
    not after the function; the admission goes on and starts the operation all the same (which
    is why the template keeps the functions' Timeout under the integration timeout)."""
    held = faults.delay("stepfunctions:StartExecution", SLOW)
    started = time.monotonic()

    status, headers, body = api.request("POST", "/repositories", {"name": NAME})

    waited = time.monotonic() - started
    assert status == 504
    assert body == integration_timeout_body()
    assert headers["Content-Type"] == "application/json"
    assert "x-amzn-RequestId" in headers
    assert INTEGRATION_TIMEOUT <= waited < SLOW, "the gateway stopped waiting, not the function"
    api.settle()
    assert held.held == 1
    [answer] = api.answers
    assert answer["statusCode"] == 202, "the function ran on and admitted the request"
    operation_id = json.loads(answer["body"])["operationId"]
    assert deployment.wait(operation_id)["status"] == "SUCCEEDED"


def test_a_function_within_the_integration_timeout_answers_as_it_does(
    api: Api, deployment: Deployment
) -> None:
    status, headers, body = api.request("POST", "/repositories", {"name": NAME})

    assert status == 202, body
    assert headers["Location"] == f"/operations/{body['operationId']}"
    assert deployment.wait(body["operationId"])["status"] == "SUCCEEDED"
    status, _, body = api.request("GET", f"/repositories/{NAME}")
    assert status == 200, body
    assert body["name"] == NAME
