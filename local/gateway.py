"""API Gateway (REST, Lambda proxy integration) for the local stack, as `sam deploy` would make it.

The routes, their integrations and their method auth come from the translated template's OpenAPI
body (local/template.py). A request is answered as API Gateway answers it:

- a method or path the API does not have: 403 MISSING_AUTHENTICATION_TOKEN, whatever the method;
- with `AUTH=iam`, an `AWS_IAM` method needs a valid SigV4 signature (local/sigv4.py) and a caller
  allowed `execute-api:Invoke` on the method's ARN; without it, nothing is checked, as
  `sam local start-api` does;
- the integration invokes the function under the template's rules: with no `credentials`, the
  function's resource-based policy must let `apigateway.amazonaws.com` invoke it for this method;
  with the caller's credentials (`arn:aws:iam::*:user/*`), the caller needs `lambda:InvokeFunction`;
  with a role, the role does. Otherwise 500, as API Gateway's "Invalid permissions on Lambda
  function";
- the request becomes a REST proxy event, and the function's answer the HTTP response; the
  template's gateway responses shape what API Gateway itself answers;
- an integration that has not answered within the integration timeout (29 s, API Gateway's
  default for a REST API; the local stack's `--integration-timeout-seconds`) answers 504
  INTEGRATION_TIMEOUT; the function is not stopped, it runs on to its own end, as on AWS.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from local import iam, sigv4
from local.emulator import access
from local.template import ACCOUNT, API_ID, CALLER_CREDENTIALS, REGION, LocalTemplate, Route

MAX_BODY = 10 * 1024 * 1024  # API Gateway's payload limit
DRAIN_LIMIT = 64 * 1024 * 1024  # what the gateway reads of a body too large, before its 413
LISTEN_BACKLOG = 128
# How long API Gateway waits for a REST API's integration: 29 s by default, at most 29 s but for
# Regional and private APIs raised through a quota request (API Gateway Developer Guide, "Quotas
# for configuring and running a REST API in API Gateway"; API Reference, Integration,
# timeoutInMillis). Past it the caller gets 504 INTEGRATION_TIMEOUT.
INTEGRATION_TIMEOUT_SECONDS = 29.0
Invoke = Callable[[str, bytes], tuple[bytes, str | None]]
# API Gateway's status for each gateway response type (when the template's response has none).
DEFAULT_STATUS = {
    "ACCESS_DENIED": 403,
    "API_CONFIGURATION_ERROR": 500,
    "EXPIRED_TOKEN": 403,
    "INVALID_SIGNATURE": 403,
    "MISSING_AUTHENTICATION_TOKEN": 403,
    "REQUEST_TOO_LARGE": 413,
    "UNAUTHORIZED": 401,
    "INTEGRATION_TIMEOUT": 504,
    "DEFAULT_5XX": 500,
}


# Every field of requestContext.identity, null when the request has no such caller (API Gateway
# Developer Guide, "Input format of a Lambda function for proxy integration").
IDENTITY_FIELDS = (
    "cognitoIdentityPoolId",
    "accountId",
    "cognitoIdentityId",
    "caller",
    "sourceIp",
    "principalOrgId",
    "accessKey",
    "cognitoAuthenticationType",
    "cognitoAuthenticationProvider",
    "userArn",
    "userAgent",
    "user",
)
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def request_time(epoch: float) -> str:
    """$context.requestTime: CLF-formatted, in UTC (dd/MMM/yyyy:HH:mm:ss +0000), whatever the locale."""
    moment = time.gmtime(epoch)
    return time.strftime(f"%d/{MONTHS[moment.tm_mon - 1]}/%Y:%H:%M:%S +0000", moment)


def method_arn(stage: str, method: str, path: str) -> str:
    """The resource `execute-api:Invoke` is authorized on, and a Lambda permission's SourceArn."""
    return f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{API_ID}/{stage}/{method}/{path.lstrip('/')}"


def proxy_event(
    route: Route,
    method: str,
    raw_path: str,
    headers: list[tuple[str, str]],
    body: bytes,
    source_ip: str,
    stage: str,
    caller: access.Principal | None = None,
) -> dict[str, Any]:
    split = urlsplit(raw_path)
    path = unquote(split.path)
    match = route.pattern.match(path)
    assert match is not None
    query = parse_qsl(split.query, keep_blank_values=True)
    multi_query: dict[str, list[str]] = {}
    for key, value in query:
        multi_query.setdefault(key, []).append(value)
    multi_headers: dict[str, list[str]] = {}
    for key, value in headers:
        multi_headers.setdefault(key, []).append(value)
    try:
        text: str | None = body.decode() if body else None
        encoded = False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode(), True
    named = {key.lower(): value for key, value in headers}
    identity: dict[str, Any] = dict.fromkeys(IDENTITY_FIELDS)
    identity |= {"sourceIp": source_ip, "userAgent": named.get("user-agent")}
    if caller is not None:
        credential = re.search(r"Credential=([^/,\s]+)/", named.get("authorization", ""))
        identity |= {
            "accessKey": credential[1] if credential else None,
            "accountId": caller.account,
            "caller": caller.arn,
            "userArn": caller.arn,
            "user": caller.arn,
        }
    now = time.time()
    # $context.domainName: the Host the caller used (without its port); the API's own name otherwise
    host = named.get("host")
    domain = host.rsplit(":", 1)[0] if host else f"{API_ID}.execute-api.{REGION}.amazonaws.com"
    return {
        "resource": route.path,
        "path": path,
        "httpMethod": method,
        "headers": {key: values[-1] for key, values in multi_headers.items()} or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": {key: values[-1] for key, values in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": match.groupdict() or None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": hashlib.sha256(route.path.encode()).hexdigest()[:6],
            "resourcePath": route.path,
            "httpMethod": method,
            "extendedRequestId": base64.b64encode(os.urandom(11)).decode(),
            "requestTime": request_time(now),
            "path": f"/{stage}{path}",
            "accountId": ACCOUNT,
            "protocol": "HTTP/1.1",
            "stage": stage,
            "domainPrefix": domain.split(".", 1)[0],
            "requestTimeEpoch": int(now * 1000),
            "requestId": str(uuid.uuid4()),
            "identity": identity,
            "domainName": domain,
            "apiId": API_ID,
        },
        "body": text,
        "isBase64Encoded": encoded,
    }


class _Server(ThreadingHTTPServer):
    request_queue_size = LISTEN_BACKLOG  # API Gateway queues callers; it does not reset them
    daemon_threads = True


class Gateway:
    def __init__(
        self,
        template: LocalTemplate,
        invoke: Invoke,
        port: int,
        iam_auth: bool = False,
        integration_timeout: float = INTEGRATION_TIMEOUT_SECONDS,
    ) -> None:
        self.template = template
        self.routes = template.routes()
        self.stage = template.stage()
        self.responses = template.gateway_responses()
        self.invoke = invoke
        self.iam_auth = iam_auth
        self.integration_timeout = integration_timeout
        self.server = _Server(("127.0.0.1", port), self._handler_class())

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def serve_forever(self) -> None:
        self.server.serve_forever()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def match(self, method: str, path: str) -> Route | None:
        for route in self.routes:
            if route.method == method and route.pattern.match(path):
                return route
        return None

    def gateway_answer(self, kind: str, message: str) -> tuple[int, dict[str, str], bytes]:
        status = DEFAULT_STATUS.get(kind, 500 if kind.endswith("5XX") else 400)
        response = self.responses.get(kind) or self.responses.get(
            "DEFAULT_5XX" if status >= 500 else "DEFAULT_4XX"
        )
        template = '{"message":$context.error.messageString}'
        if response:
            status = int(response.get("statusCode") or status)
            template = response.get("responseTemplates", {}).get("application/json", template)
        body = template.replace("$context.error.messageString", json.dumps(message))
        return status, {"Content-Type": "application/json"}, body.encode()

    def caller_of(
        self, method: str, raw_path: str, headers: list[tuple[str, str]], body: bytes
    ) -> access.Principal | sigv4.Refusal:
        host = dict((key.lower(), value) for key, value in headers).get("host", f"127.0.0.1:{self.port}")

        def signer_of(key: str) -> sigv4.Signer[access.Principal] | None:
            found = access.signing_secret(key, ACCOUNT)
            if found is None:
                return None
            principal, secret, token = found
            return sigv4.Signer(principal, secret, token)

        return sigv4.verify(method, f"http://{host}{raw_path}", dict(headers), body, REGION, signer_of)

    def may_invoke(self, route: Route, caller: access.Principal | None, source_arn: str) -> bool:
        """The integration's permission to invoke the function (its `credentials`)."""
        function = self.template.function_arn(route.function)
        if route.credentials is None:
            return access.resource_policy_allows(function, "apigateway.amazonaws.com", source_arn)
        invoker = (
            caller
            if route.credentials == CALLER_CREDENTIALS
            else access.role_principal(route.credentials, "apigateway")
        )
        return (
            invoker is not None
            and access.authorize(invoker, [iam.Need("lambda:InvokeFunction", function)]) is None
        )

    def integrate(self, function: str, payload: bytes) -> tuple[bytes, str | None] | None:
        """The function's answer, or None when it has not come within the integration timeout.

        API Gateway stops waiting then, not the function: the invocation runs on in its own
        thread to its end (or to the function's own Timeout), and what it does still happens.
        """
        answer: Future[tuple[bytes, str | None]] = Future()

        def run() -> None:
            try:
                answer.set_result(self.invoke(function, payload))
            except BaseException as error:  # noqa: BLE001 - raised again in the request's thread
                answer.set_exception(error)

        threading.Thread(target=run, name=f"integration-{function}", daemon=True).start()
        try:
            return answer.result(timeout=self.integration_timeout)
        except TimeoutError:
            return None

    def handle(
        self, method: str, raw_path: str, headers: list[tuple[str, str]], body: bytes, source_ip: str
    ) -> tuple[int, dict[str, str], bytes]:
        path = unquote(urlsplit(raw_path).path)
        route = self.match(method, path)
        if route is None:
            return self.gateway_answer("MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token")
        resource = method_arn(self.stage, method, path)
        caller: access.Principal | None = None
        if self.iam_auth and route.iam_auth:
            verdict = self.caller_of(method, raw_path, headers, body)
            if isinstance(verdict, sigv4.Refusal):
                return self.gateway_answer(verdict.kind, verdict.message)
            caller = verdict
            if access.authorize(caller, [iam.Need("execute-api:Invoke", resource)]) is not None:
                message = f"User: {caller.arn} is not authorized to perform: execute-api:Invoke on resource: "
                message += resource
                return self.gateway_answer("ACCESS_DENIED", message)
        if not self.may_invoke(route, caller, resource):
            return self.gateway_answer("API_CONFIGURATION_ERROR", "Internal server error")
        event = proxy_event(route, method, raw_path, headers, body, source_ip, self.stage, caller)
        answered = self.integrate(route.function, json.dumps(event).encode())
        if answered is None:
            return self.gateway_answer("INTEGRATION_TIMEOUT", "Endpoint request timed out")
        payload, error = answered
        if error is not None:
            return self.gateway_answer("DEFAULT_5XX", "Internal server error")
        try:
            response = json.loads(payload)
            status = int(response["statusCode"])
        except (ValueError, KeyError, TypeError):
            return self.gateway_answer("DEFAULT_5XX", "Internal server error")
        out_headers = {key: str(value) for key, value in (response.get("headers") or {}).items()}
        for key, values in (response.get("multiValueHeaders") or {}).items():
            out_headers[key] = ", ".join(str(value) for value in values)
        raw = response.get("body") or ""
        data = base64.b64decode(raw) if response.get("isBase64Encoded") else str(raw).encode()
        return status, out_headers, data

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as they are written: no 40 ms stalls
            server_version = "agentcore-ecr-local"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY:
                    status, headers, body = gateway.gateway_answer("REQUEST_TOO_LARGE", "Request Too Long")
                    self.close_connection = True
                    # Take the body in before answering (up to a bound), so the caller, still
                    # sending, reads the 413 rather than a reset connection.
                    left = min(length, DRAIN_LIMIT)
                    while left > 0 and (chunk := self.rfile.read(min(left, 1 << 20))):
                        left -= len(chunk)
                else:
                    request_body = self.rfile.read(length) if length else b""
                    status, headers, body = gateway.handle(
                        self.command,
                        self.path,
                        list(self.headers.items()),
                        request_body,
                        self.client_address[0],
                    )
                self.send_response(HTTPStatus(status) if status in HTTPStatus._value2member_map_ else status)
                headers.setdefault("Content-Type", "application/json")
                headers["x-amzn-RequestId"] = str(uuid.uuid4())
                for name, value in headers.items():
                    if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def __getattr__(self, name: str) -> Any:
                # Every method (TRACE, CONNECT, anything) gets API Gateway's answer, never a 501.
                if name.startswith("do_"):
                    return self._serve
                raise AttributeError(name)

        return Handler
