"""The client's transport against an HTTP server that answers what each test scripts: retries with
the same Idempotency-Key and a fresh signature, which answers are retried, and how errors read."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import botocore.session
import pytest
from click.testing import CliRunner

from agentcore_ecr_client import (
    ApiError,
    Client,
    ConfigurationError,
    EndpointUnreachable,
    Progress,
    WaiterTimeout,
)
from agentcore_ecr_client.cli import cli
from agentcore_ecr_client.transport import Transport, path_of, resolve_region

OPERATION = {
    "operationId": "op-1",
    "action": "CREATE",
    "status": "RUNNING",
    "repositoryName": "team/agent-a",
    "environment": "dev",
    "startedAt": "2026-11-28T03:00:00Z",
    "stoppedAt": None,
    "repository": None,
    "error": None,
}


@dataclass
class Script:
    answers: list[tuple[int, Any]]
    seen: list[tuple[str, str, dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
def server() -> Iterator[tuple[str, Script]]:
    script = Script([])

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            script.seen.append((self.command, self.path, dict(self.headers.items()), body))
            status, payload = script.answers.pop(0)
            data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = _answer  # noqa: N815 - http.server's names

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", script
    httpd.shutdown()


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def fast(client: Client) -> Client:
    client.transport.backoff = 0.0
    return client


def test_a_retried_mutation_keeps_its_idempotency_key_and_is_signed_again(
    server: tuple[str, Script], credentials: None
) -> None:
    url, script = server
    script.answers = [(503, {"message": "Service Unavailable"}), (502, "bad gateway"), (202, OPERATION)]
    operation = fast(Client(url, region="us-east-1")).create_repository("team/agent-a", tags={"team": "x"})
    assert operation.operation_id == "op-1"
    keys = {headers["Idempotency-Key"] for _, _, headers, _ in script.seen}
    assert len(script.seen) == 3 and len(keys) == 1  # one generated key, reused by every try
    for method, path, headers, body in script.seen:
        assert (method, path) == ("POST", "/repositories")
        assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
        assert "/us-east-1/execute-api/aws4_request" in headers["Authorization"]
        assert json.loads(body) == {"name": "team/agent-a", "tags": {"team": "x"}}


def test_a_client_error_is_not_retried_and_reads_as_the_contract_says(
    server: tuple[str, Script], credentials: None
) -> None:
    url, script = server
    details = [{"location": "body", "field": "name", "message": "String should match pattern"}]
    script.answers = [
        (400, {"error": {"code": "ValidationError", "message": "bad name", "details": details}})
    ]
    with pytest.raises(ApiError) as raised:
        fast(Client(url, region="us-east-1")).create_repository("Bad")
    assert (raised.value.status, raised.value.code, raised.value.message) == (
        400,
        "ValidationError",
        "bad name",
    )
    assert raised.value.details[0].field == "name" and len(script.seen) == 1


def test_an_answer_that_is_not_the_contracts_reads_as_its_http_status(
    server: tuple[str, Script], credentials: None
) -> None:
    url, script = server
    script.answers = [(404, "<html>not here</html>")]
    with pytest.raises(ApiError) as raised:
        Client(url, region="us-east-1").get_repository("team/agent-a")
    assert raised.value.code == "Http404" and "not here" in raised.value.message
    assert script.seen[0][1] == "/repositories/team/agent-a"  # a greedy path keeps its "/"


def test_retries_give_up_after_the_last_attempt(server: tuple[str, Script], credentials: None) -> None:
    url, script = server
    script.answers = [(429, {"error": {"code": "TooManyRequests", "message": "slow down"}})] * 3
    client = fast(Client(url, region="us-east-1", max_attempts=3))
    with pytest.raises(ApiError) as raised:
        client.get_operation("op-1")
    assert raised.value.code == "TooManyRequests" and len(script.seen) == 3
    unreachable = Transport("http://127.0.0.1:9", "us-east-1", None, max_attempts=2, backoff=0.0)
    with pytest.raises(EndpointUnreachable):
        unreachable.request("GET", "/repositories")
    assert unreachable.attempts == 2


def test_unsigned_requests_carry_no_signature(server: tuple[str, Script]) -> None:
    url, script = server
    script.answers = [(200, {"items": [], "nextToken": None})]
    assert list(Client(url, region="us-east-1", sign=False).list_repositories()) == []
    assert "Authorization" not in script.seen[0][2]


def test_the_region_comes_from_the_option_the_environment_or_the_endpoint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    session = botocore.session.Session()
    deployed = "https://abc123.execute-api.eu-west-3.amazonaws.com/v1"
    assert resolve_region(session, None, deployed) == "eu-west-3"
    assert resolve_region(session, "us-west-2", deployed) == "us-west-2"
    monkeypatch.setenv("AWS_REGION", "ap-south-1")
    assert resolve_region(session, None, deployed) == "ap-south-1"
    monkeypatch.delenv("AWS_REGION")
    with pytest.raises(ConfigurationError, match="--region"):
        resolve_region(session, None, "http://127.0.0.1:3000")


def test_paths_keep_a_names_slashes_and_quote_the_rest() -> None:
    assert path_of("repositories", "team/agent-a") == "/repositories/team/agent-a"
    assert path_of("operations", "a b?") == "/operations/a%20b%3F"


def test_a_wait_gives_up_after_its_timeout_and_the_command_exits_3(
    server: tuple[str, Script], credentials: None
) -> None:
    url, script = server
    not_yet = {"error": {"code": "NotFound", "message": "Repository 'team/agent-a' does not exist."}}
    script.answers = [(200, OPERATION), (404, not_yet)] * 50
    seen: list[Progress] = []
    with pytest.raises(WaiterTimeout) as raised:
        Client(url, region="us-east-1").wait("op-1", timeout=1.2, on_progress=seen.append)
    assert raised.value.operation.status == "RUNNING"
    assert [(item.operation.status, item.stack_status) for item in seen] == [("RUNNING", None)]  # one change

    script.answers = [(200, OPERATION)] * 20  # no progress display: operations only
    result = CliRunner().invoke(
        cli, ["operation", "wait", "op-1", "--timeout", "1", "--endpoint-url", url, "--region", "us-east-1"]
    )
    assert result.exit_code == 3, result.output
    assert "WaiterTimeout" in result.stderr and "still RUNNING after 1 s" in result.stderr
    assert json.loads(result.stdout)["operationId"] == "op-1"  # not a terminal: the operation as JSON


@pytest.mark.parametrize(
    "name", ["Repository", "RepositoryPage", "LifecyclePolicyView", "AuthToken", "Operation"]
)
def test_the_clients_models_have_the_services_fields(name: str) -> None:
    """The client keeps its own models (it depends on no service code): they must stay the API's."""
    from agentcore_ecr.domain import models as service  # noqa: PLC0415 - the service, for this check only
    from agentcore_ecr_client import models as client  # noqa: PLC0415

    def aliases(model: Any) -> set[str]:
        return {field.alias or key for key, field in model.model_fields.items()}

    assert aliases(getattr(client, name)) == aliases(getattr(service, name))


def test_tls_is_verified_with_the_ca_bundle_the_aws_cli_would_use(
    credentials: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_CA_BUNDLE", "/etc/corporate-ca.pem")
    assert (
        Client("https://abc.execute-api.us-east-1.amazonaws.com/v1").transport.verify
        == "/etc/corporate-ca.pem"
    )
    monkeypatch.delenv("AWS_CA_BUNDLE")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    assert Client("https://abc.execute-api.us-east-1.amazonaws.com/v1").transport.verify is True
