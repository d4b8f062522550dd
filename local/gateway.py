"""API Gateway (REST, proxy integration) for the local stack: routes from the template's `Api`
events, requests turned into proxy events, the functions' answers turned back into HTTP, and the
template's gateway responses where API Gateway itself answers.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from local.template import ACCOUNT, LocalTemplate, Route

MAX_BODY = 10 * 1024 * 1024  # API Gateway's payload limit
STAGE = "v1"
Invoke = Callable[[str, bytes], tuple[bytes, str | None]]


def proxy_event(
    route: Route, method: str, raw_path: str, headers: list[tuple[str, str]], body: bytes, source_ip: str
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
            "resourcePath": route.path,
            "httpMethod": method,
            "path": f"/{STAGE}{path}",
            "stage": STAGE,
            "accountId": ACCOUNT,
            "apiId": "local",
            "protocol": "HTTP/1.1",
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(time.time() * 1000),
            "identity": {"sourceIp": source_ip, "userAgent": dict(headers).get("User-Agent", "")},
        },
        "body": text,
        "isBase64Encoded": encoded,
    }


class Gateway:
    def __init__(self, template: LocalTemplate, invoke: Invoke, port: int) -> None:
        self.routes = template.routes()
        self.template = template
        self.invoke = invoke
        self.server = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self.server.daemon_threads = True

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
        status, body = self.template.gateway_response(kind) or (
            500,
            '{"message":$context.error.messageString}',
        )
        return (
            status,
            {"Content-Type": "application/json"},
            body.replace("$context.error.messageString", json.dumps(message)).encode(),
        )

    def handle(
        self, method: str, raw_path: str, headers: list[tuple[str, str]], body: bytes, source_ip: str
    ) -> tuple[int, dict[str, str], bytes]:
        route = self.match(method, unquote(urlsplit(raw_path).path))
        if route is None:
            return self.gateway_answer("MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token")
        event = proxy_event(route, method, raw_path, headers, body, source_ip)
        payload, error = self.invoke(route.function, json.dumps(event).encode())
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

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _serve  # noqa: N815

        return Handler
