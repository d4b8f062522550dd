from __future__ import annotations

import json

from agentcore_ecr.openapi import document, render
from tests.deployment import ROOT, functions, load_template


def test_committed_openapi_matches_the_code() -> None:
    committed = (ROOT / "openapi.json").read_text()
    assert committed == render(), "openapi.json is stale: run `make openapi` and commit it"


def test_every_template_route_is_documented_and_vice_versa() -> None:
    template = load_template()
    routes = set()
    for logical_id in functions(template):
        for event in template["Resources"][logical_id]["Properties"].get("Events", {}).values():
            if event["Type"] == "Api":
                path = event["Properties"]["Path"].replace("{name+}", "{name}")
                routes.add((path, event["Properties"]["Method"]))
    documented = {(path, method) for path, operations in document()["paths"].items() for method in operations}
    assert routes == documented


def test_errors_use_the_contract_shape() -> None:
    spec = json.loads(render())
    error_body = spec["components"]["schemas"]["ErrorBody"]
    assert error_body["required"] == ["error"]
    for operations in spec["paths"].values():
        for operation in operations.values():
            assert "422" not in operation["responses"] or operation["responses"]["422"]["description"] == (
                "IdempotencyKeyReused"
            )
