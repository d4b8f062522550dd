"""docs/api.md, the API reference, checked against openapi.json and the code.

The reference is written by hand, for people; openapi.json is generated from the routes and
models (`make openapi`). These tests keep the two from telling different stories: the routes and
what each takes and answers, every schema with its fields, types and enumerations, the error
codes (errors.py, template.yaml's gateway responses and the stopped executions' codes), the
examples and the stack names. Each failure names what differs, so the fix is in the page or in
the code, never in the test.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from agentcore_ecr.domain import errors
from agentcore_ecr.domain.models import STOPPED_ERRORS, CreateRepositoryRequest, Operation, Repository
from agentcore_ecr.domain.naming import stack_name_for
from tests.deployment import load_template

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "api.md"
METHODS = ("get", "put", "post", "delete", "patch")
TYPE_WORDS = {"string", "integer", "boolean", "object", "list", "null"}
NONE = {"none", "—", ""}
SCHEMA_HEADING = re.compile(r"[A-Z][A-Za-z]+")
LINK = re.compile(r"\[([A-Za-z]+)\]\(#[a-z0-9-]+\)")
CODE_SPAN = re.compile(r"`([^`]+)`")
CELL_BORDER = re.compile(r"(?<!\\)\|")  # `\|` inside a cell is a literal bar


# Reading the page ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    level: int
    title: str
    body: str


@cache
def sections() -> tuple[Section, ...]:
    found: list[Section] = []
    heading: tuple[int, str] | None = None
    lines: list[str] = []
    fenced = False
    for line in [*REFERENCE.read_text().splitlines(), "## (end)"]:
        fenced ^= line.startswith("```")
        match = None if fenced else re.fullmatch(r"(#{1,6}) (.+)", line)
        if match:
            if heading is not None:
                found.append(Section(heading[0], heading[1], "\n".join(lines)))
            heading, lines = (len(match[1]), match[2].strip()), []
        else:
            lines.append(line)
    return tuple(found)


def section(title: str) -> Section:
    matches = [found for found in sections() if found.title == title]
    assert len(matches) == 1, f"docs/api.md needs exactly one section titled {title!r}"
    return matches[0]


def tables(text: str) -> list[list[list[str]]]:
    """Each markdown table in `text`: its rows (header first, the `|---|` line left out) of cells."""
    found: list[list[list[str]]] = []
    rows: list[list[str]] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            cells = [cell.strip() for cell in CELL_BORDER.split(line.strip())[1:-1]]
            if not all(re.fullmatch(r":?-+:?", cell) for cell in cells):
                rows.append(cells)
        elif rows:
            found.append(rows)
            rows = []
    return found


def table(header: str) -> list[dict[str, str]]:
    """The one table of the page whose first column is `header`, as a dict per row."""
    matches = [rows for found in sections() for rows in tables(found.body) if rows[0][0] == header]
    assert len(matches) == 1, f"docs/api.md needs exactly one table whose first column is {header!r}"
    head, *rows = matches[0]
    return [dict(zip(head, row, strict=True)) for row in rows]


def differ(page: set[Any], truth: set[Any]) -> str:
    """What to fix: the page's extras and what it lacks."""
    return f"only in docs/api.md: {sorted(page - truth)}; missing from it: {sorted(truth - page)}"


def code_spans(cell: str) -> list[str]:
    return CODE_SPAN.findall(cell)


def the_code(cell: str) -> str:
    spans = code_spans(cell)
    assert len(spans) == 1, f"one `name` expected in {cell!r}"
    return spans[0]


def numbers(cell: str) -> set[int]:
    return {int(number) for number in re.findall(r"\b\d{3}\b", cell)}


def json_examples(text: str) -> list[Any]:
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)\n```", text, flags=re.S)]


@dataclass(frozen=True)
class TypeText:
    """What a type is made of: JSON types (`list` for an array), schemas linked, values allowed."""

    kinds: frozenset[str]
    refs: frozenset[str]
    values: frozenset[str]


def documented_type(cell: str) -> TypeText:
    refs = frozenset(LINK.findall(cell))
    values = frozenset(code_spans(cell))
    words = CODE_SPAN.sub(" ", LINK.sub(" ", cell))
    return TypeText(frozenset(re.findall(r"\b[a-z]+\b", words)) & TYPE_WORDS, refs, values)


# Reading openapi.json and the code -------------------------------------------------------------


@cache
def spec() -> dict[str, Any]:
    document: dict[str, Any] = json.loads((ROOT / "openapi.json").read_text())
    return document


def operations() -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): operation
        for path, methods in spec()["paths"].items()
        for method, operation in methods.items()
        if method in METHODS
    }


def ref_name(schema: dict[str, Any]) -> str:
    return str(schema["$ref"]).rsplit("/", 1)[-1]


def schema_type(schema: dict[str, Any]) -> TypeText:
    if "$ref" in schema:
        return TypeText(frozenset(), frozenset({ref_name(schema)}), frozenset())
    kinds: set[str] = set()
    refs: set[str] = set()
    values: set[str] = {str(value) for value in schema.get("enum", [])}
    if "const" in schema:
        values.add(str(schema["const"]))
    for part in schema.get("anyOf", []):
        inner = schema_type(part)
        kinds |= inner.kinds
        refs |= inner.refs
        values |= inner.values
    if "type" in schema:
        kinds.add("list" if schema["type"] == "array" else schema["type"])
    if schema.get("type") == "array":
        inner = schema_type(schema["items"])
        kinds |= inner.kinds
        refs |= inner.refs
    return TypeText(frozenset(kinds), frozenset(refs), frozenset(values))


def service_errors() -> dict[str, int]:
    """Every ServiceError of errors.py: code -> the status a route answers it with."""
    found: dict[str, int] = {}
    pending: list[type[errors.ServiceError]] = [errors.ServiceError]
    while pending:
        error = pending.pop()
        found[error.code] = error.status
        pending.extend(error.__subclasses__())
    return found


@cache
def gateway_codes() -> frozenset[str]:
    """The codes of template.yaml's gateway responses: API Gateway's own answers."""
    found: set[str] = set()
    for resource in load_template()["Resources"].values():
        for response in resource.get("Properties", {}).get("GatewayResponses", {}).values():
            for text in response["ResponseTemplates"].values():
                found.update(re.findall(r'"code":"(\w+)"', text))
    return frozenset(found)


def stopped_codes() -> set[str]:
    return {code for code, _ in STOPPED_ERRORS.values()}


def every_code() -> set[str]:
    return set(service_errors()) | gateway_codes() | stopped_codes()


def operation_codes() -> set[str]:
    """What an operation may end with: the workflow's errors, Internal, and a stopped execution's."""
    return set(errors.OPERATION_ERROR_CODES) | {errors.ServiceError.code} | stopped_codes()


def answered_statuses() -> dict[str, set[int]]:
    """code -> the HTTP statuses openapi.json's error responses name it under."""
    found: dict[str, set[int]] = {}
    codes = every_code()
    for operation in operations().values():
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                for code in codes:
                    if re.search(rf"\b{code}\b", response["description"]):
                        found.setdefault(code, set()).add(int(status))
    return found


def route_key(cell: str) -> tuple[str, str]:
    method, path = the_code(cell).split(" ", 1)
    return method.lower(), path.replace("{name+}", "{name}")


def error_statuses(operation: dict[str, Any]) -> set[int]:
    return {int(status) for status in operation["responses"] if int(status) >= 400}


def every_route_statuses() -> set[int]:
    return set.intersection(*(error_statuses(operation) for operation in operations().values()))


# The routes ----------------------------------------------------------------------------------


def test_the_reference_is_of_the_documents_version() -> None:
    stated = re.search(r"version\s+\*\*([0-9.]+)\*\*", REFERENCE.read_text())
    assert stated is not None, "docs/api.md says which version it describes: version **N.N**"
    assert stated[1] == spec()["info"]["version"]


def test_every_route_is_in_the_reference_and_vice_versa() -> None:
    documented = [route_key(row["route"]) for row in table("route")]
    assert len(documented) == len(set(documented)), "a route is listed twice"
    assert set(documented) == set(operations()), differ(set(documented), set(operations()))


def test_each_route_takes_and_answers_what_openapi_says() -> None:
    every_route = every_route_statuses()
    for row in table("route"):
        key = route_key(row["route"])
        operation = operations()[key]
        body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
        assert set(LINK.findall(row["request body"])) == ({ref_name(body["schema"])} if body else set()), key
        parameters = {p["name"].lower() for p in operation.get("parameters", []) if p["in"] != "path"}
        assert {name.lower() for name in code_spans(row["query and headers"])} == parameters, key
        success = {s: r for s, r in operation["responses"].items() if s.startswith("2")}
        assert len(success) == 1, key
        ((status, response),) = success.items()
        assert numbers(row["success"]) == {int(status)}, key
        answered = ref_name(response["content"]["application/json"]["schema"])
        assert LINK.findall(row["success"]) == [answered], key
        assert numbers(row["errors beyond every route's"]) == error_statuses(operation) - every_route, key


def test_what_every_route_may_answer_is_stated() -> None:
    line = next(
        (
            line
            for line in REFERENCE.read_text().splitlines()
            if line.startswith("Every route may also answer")
        ),
        None,
    )
    assert line is not None, 'docs/api.md says "Every route may also answer: <statuses>."'
    assert numbers(line) == every_route_statuses()


# The schemas ---------------------------------------------------------------------------------


def schema_sections() -> dict[str, Section]:
    return {
        found.title: found
        for found in sections()
        if found.level == 3 and SCHEMA_HEADING.fullmatch(found.title)
    }


def test_every_schema_has_a_section_and_vice_versa() -> None:
    page, truth = set(schema_sections()), set(spec()["components"]["schemas"])
    assert page == truth, differ(page, truth)


def test_each_schemas_fields_types_and_values_are_openapis() -> None:
    for name, found in schema_sections().items():
        schema = spec()["components"]["schemas"][name]
        head, *rows = tables(found.body)[0]
        if "enum" in schema:
            assert head[0] == "value", name
            assert {the_code(row[0]) for row in rows} == set(schema["enum"]), name
            continue
        fields = {the_code(row[0]): dict(zip(head, row, strict=True)) for row in rows}
        properties = schema["properties"]
        assert set(fields) == set(properties), f"{name}: {differ(set(fields), set(properties))}"
        for field, row in fields.items():
            assert documented_type(row["type"]) == schema_type(properties[field]), f"{name}.{field}"
            if "default" in row:  # a request body: what may be left out, and what it then is
                assert (row["default"] == "required") == (field in schema.get("required", [])), (
                    f"{name}.{field}"
                )
                if "default" in properties[field]:
                    given = json.loads(code_spans(row["default"])[0])
                    assert given == properties[field]["default"], f"{name}.{field}"


def test_the_examples_are_what_the_service_answers() -> None:
    (repository,) = json_examples(section("Repository").body)
    assert Repository.model_validate(repository).to_json_dict() == repository
    assert repository["stackName"] == stack_name_for(
        "agentcore", repository["name"], repository["environment"]
    )
    (operation,) = json_examples(section("Operation").body)
    assert Operation.model_validate(operation).to_json_dict() == operation
    (request,) = json_examples(section("CreateRepositoryRequest").body)
    CreateRepositoryRequest.model_validate(request)


def test_the_stack_names_are_the_codes() -> None:
    rows = table("repository name")
    assert rows
    for row in rows:
        name, environment = the_code(row["repository name"]), the_code(row["environment"])
        assert the_code(row["stack name"]) == stack_name_for("agentcore", name, environment), name


# The error codes -----------------------------------------------------------------------------


def test_every_error_code_is_the_codes_and_vice_versa() -> None:
    documented = [the_code(row["code"]) for row in table("code")]
    assert len(documented) == len(set(documented)), "an error code is listed twice"
    assert set(documented) == every_code(), differ(set(documented), every_code())


def test_each_error_codes_status_is_openapis() -> None:
    answered = answered_statuses()
    for row in table("code"):
        code = the_code(row["code"])
        assert numbers(row["HTTP status"]) == answered.get(code, set()), code


def test_the_codes_an_operation_may_end_with_are_marked() -> None:
    for row in table("code"):
        code = the_code(row["code"])
        assert row["in a failed Operation"] in ("yes", "no"), code
        assert (row["in a failed Operation"] == "yes") == (code in operation_codes()), code


def test_a_routes_error_has_the_status_openapi_gives_its_code() -> None:
    """errors.py and openapi.json agree: a code a route answers has its class's status there."""
    answered = answered_statuses()
    for code, status in service_errors().items():
        if code in answered:
            assert status in answered[code], code
