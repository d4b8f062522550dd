"""The local stack holds the service to AWS's rules: API Gateway as deployed, IAM on every call,
and the template's own settings. Each template-variant test starts a stack of its own from a
copy of template.yaml with one setting put back as it was before the fix, and shows the defect
that AWS would have shown.
"""

from __future__ import annotations

import datetime
import json
import re
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from local.process import LocalStackProcess, Response
from local.template import LocalTemplate, load

from tests.integration.conftest import (
    NEW_ACCOUNT_CONCURRENCY_QUOTA,
    ROOT,
    abort_while_waiting,
    leave_a_failed_create,
    settled_status,
)
from tests.integration.test_local_stack import results_queue, wait_for_event

pytestmark = pytest.mark.integration


def raw_request(
    local: LocalStackProcess, method: str, path: str, headers: dict[str, str], data: bytes = b""
) -> Response:
    request = urllib.request.Request(local.api + path, data=data or None, method=method, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - loopback
            return Response(answer.status, dict(answer.headers), json.loads(answer.read() or b"null"))
    except urllib.error.HTTPError as error:
        return Response(error.code, dict(error.headers), json.loads(error.read() or b"null"))


def signed_headers(
    local: LocalStackProcess, method: str, path: str, credentials: Any, at: datetime.datetime | None = None
) -> dict[str, str]:
    request = AWSRequest(method=method, url=local.api + path, data=b"")
    with mock.patch(
        "botocore.auth.get_current_datetime", return_value=at or datetime.datetime.now(datetime.UTC)
    ):
        SigV4Auth(credentials, "execute-api", "us-east-1").add_auth(request)
    return dict(request.headers.items())


def assert_access_denied(response: Response, message: str) -> None:
    assert response.status == 403, response.body
    assert response.body["error"]["code"] == "AccessDenied"
    assert re.search(message, response.body["error"]["message"]), response.body["error"]["message"]


# API Gateway as deployed ------------------------------------------------------------------------


def test_an_unsigned_request_is_refused(local: LocalStackProcess) -> None:
    response = local.request("GET", "/repositories", signed=False)

    assert_access_denied(response, "Sign the request with SigV4")


def test_a_request_signed_with_a_wrong_secret_is_refused(local: LocalStackProcess) -> None:
    real = local.signing_credentials
    wrong = Credentials(real.access_key, "x" * 40)

    response = raw_request(
        local, "GET", "/repositories", signed_headers(local, "GET", "/repositories", wrong)
    )

    assert_access_denied(response, "^The request signature we calculated does not match")


def test_a_signature_older_than_five_minutes_is_refused(local: LocalStackProcess) -> None:
    old = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=6)

    headers = signed_headers(local, "GET", "/repositories", local.signing_credentials, old)

    response = raw_request(local, "GET", "/repositories", headers)

    assert_access_denied(response, "^Signature expired: ")


def test_a_key_nobody_holds_is_refused(local: LocalStackProcess) -> None:
    stranger = Credentials("AKIA" + "Z" * 16, "s" * 40)

    response = raw_request(
        local, "GET", "/repositories", signed_headers(local, "GET", "/repositories", stranger)
    )

    assert_access_denied(response, "security token included in the request is invalid")


def test_a_caller_without_execute_api_invoke_is_refused(local: LocalStackProcess) -> None:
    iam = local.client("iam")
    iam.create_user(UserName="no-invoke")
    key = iam.create_access_key(UserName="no-invoke")["AccessKey"]
    credentials = Credentials(key["AccessKeyId"], key["SecretAccessKey"])

    response = raw_request(
        local, "GET", "/repositories", signed_headers(local, "GET", "/repositories", credentials)
    )

    resource = r"arn:aws:execute-api:us-east-1:123456789012:\w+/v1/GET/repositories$"
    assert_access_denied(
        response, r"user/no-invoke is not authorized to perform: execute-api:Invoke on resource: " + resource
    )


UNDEFINED = [
    ("TRACE", "/repositories"),
    ("PATCH", "/repositories"),
    ("DELETE", "/repositories"),
    ("GET", "/x"),
]


@pytest.mark.parametrize(("method", "path"), UNDEFINED)
def test_a_method_or_path_the_api_does_not_have_is_403(
    local: LocalStackProcess, method: str, path: str
) -> None:
    response = local.request(method, path)

    assert_access_denied(response, "check the method and path")


def test_a_body_over_api_gateways_10_mb_is_413_in_the_contract_shape(local: LocalStackProcess) -> None:
    """API Gateway's payload limit is 10 MB; its REQUEST_TOO_LARGE response is the template's."""
    response = local.request("POST", "/repositories", raw=b"{" + b" " * (10 * 1024 * 1024) + b"}")

    assert response.status == 413
    assert response.body["error"]["code"] == "PayloadTooLarge"


# Lambda's concurrency quota (patch 31) -----------------------------------------------------------


def test_the_defaults_serve_under_a_new_accounts_concurrency_quota(local: LocalStackProcess) -> None:
    # The suite's local stack has a new account's quota, 10: the default reserves nothing, so every
    # function deployed, and a reservation of even 1 is refused there as Lambda refuses it.
    lambda_client = local.client("lambda")
    functions = [f["FunctionName"] for f in lambda_client.list_functions()["Functions"]]

    assert len(functions) == 15
    assert not any(
        "ReservedConcurrentExecutions" in lambda_client.get_function_concurrency(FunctionName=function)
        for function in functions
    )
    with pytest.raises(ClientError) as refused:
        lambda_client.put_function_concurrency(FunctionName=functions[0], ReservedConcurrentExecutions=1)
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert refused.value.response["Error"]["Message"].endswith(
        f"below its minimum value of [{NEW_ACCOUNT_CONCURRENCY_QUOTA}]."
    )
    assert local.request("GET", "/repositories").status == 200


# Template variants: each defect, put back, fails locally as on AWS -------------------------------


@contextmanager
def variant(tmp_path: Path, replace: tuple[str, str], **start: Any) -> Iterator[LocalStackProcess]:
    """A local stack from a copy of template.yaml with one text replaced."""
    text = (ROOT / "template.yaml").read_text()
    old, new = replace
    assert old in text, f"template.yaml no longer has {old!r}"
    template = tmp_path / "template.yaml"
    template.write_text(text.replace(old, new))
    with LocalStackProcess.start(tmp_path / "state", settle_seconds=0, template=template, **start) as stack:
        yield stack


def test_caller_credentials_on_the_integrations_would_fail_every_route(tmp_path: Path) -> None:
    # SAM's default InvokeRole for AWS_IAM is CALLER_CREDENTIALS: API Gateway invokes each function
    # as the caller, who holds execute-api:Invoke and no lambda:InvokeFunction.
    with variant(tmp_path, ("InvokeRole: NONE", "InvokeRole: CALLER_CREDENTIALS")) as stack:
        response = stack.request("GET", "/repositories")

    assert response.status == 500
    assert response.body["error"]["code"] == "Internal"


def test_the_list_needs_its_query_of_the_catalog_index_and_log_level_reaches_lambda(tmp_path: Path) -> None:
    # Query of an index is authorized on the index's ARN: a grant on the table alone is not enough.
    statement = (
        "              Action: dynamodb:Query\n"
        "              Resource: !Sub arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}"
        ":table/${Catalog}/index/*\n"
    )
    on_the_table = statement.replace("/index/*", "")
    with variant(tmp_path, (statement, on_the_table), parameters={"LogLevel": "DEBUG"}) as stack:
        accepted = stack.request("POST", "/repositories", {"name": f"lv/{uuid.uuid4().hex[:6]}"})
        assert accepted.status == 202, accepted.body
        assert stack.wait(accepted.body["operationId"])["status"] == "SUCCEEDED"
        listed = stack.request("GET", "/repositories")
        logs = (stack.log_dir / "CreateRepositoryFunction.log").read_text()
        denial = (stack.log_dir / "ListRepositoriesFunction.log").read_text()

    assert listed.status == 500
    assert "not authorized to perform: dynamodb:Query on resource: " in denial
    assert ":table/Catalog/index/ByName" in denial
    debug = [json.loads(line) for line in logs.splitlines() if '"level":"DEBUG"' in line]
    assert any(entry["message"] == "operation accepted" for entry in debug), (
        "LogLevel=DEBUG reaches the function"
    )


# Least privilege: every permission the template grants is one the service uses -------------------


def roles_and_actions() -> dict[str, set[str]]:
    """Each role of the translated template, and the actions of its own (inline) policies."""
    template = LocalTemplate(load(ROOT / "template.yaml"))
    found: dict[str, set[str]] = {}
    for role, resource in template.of_type("AWS::IAM::Role").items():
        for policy in resource["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                actions = statement["Action"]
                found.setdefault(role, set()).update(actions if isinstance(actions, list) else [actions])
    return found


NOT_EXERCISED = {
    # Step Functions' delivery of its own logs: the local stack has no CloudWatch Logs delivery.
    ("RepositoryWorkflowRole", "logs:CreateLogDelivery"),
    ("RepositoryWorkflowRole", "logs:GetLogDelivery"),
    ("RepositoryWorkflowRole", "logs:UpdateLogDelivery"),
    ("RepositoryWorkflowRole", "logs:DeleteLogDelivery"),
    ("RepositoryWorkflowRole", "logs:ListLogDeliveries"),
    ("RepositoryWorkflowRole", "logs:PutResourcePolicy"),
    ("RepositoryWorkflowRole", "logs:DescribeResourcePolicies"),
    ("RepositoryWorkflowRole", "logs:DescribeLogGroups"),
}


def test_every_permission_the_template_grants_is_used(tmp_path: Path) -> None:
    state = tmp_path / "state"
    # Stacks settle after 0.3 s, within the 1 s wait: their status events resume the workflow.
    with LocalStackProcess.start(state, settle_seconds=0.3, iam_log=True) as stack:
        exercise_every_path(stack)
    # Stacks that settle at once: the wait's own look finds each settled and resumes it itself.
    early = tmp_path / "early"
    with LocalStackProcess.start(early, settle_seconds=0, iam_log=True) as stack:
        operation = stack.wait(
            stack.request("POST", "/repositories", {"name": "px/early"}).body["operationId"]
        )
        assert operation["status"] == "SUCCEEDED", operation
    decisions = [
        json.loads(line)
        for log in (state / "iam-decisions.jsonl", early / "iam-decisions.jsonl")
        for line in log.read_text().splitlines()
    ]
    refused = [d for d in decisions if not d["allowed"] and "/lacking/" not in d["principal"]]
    used = {
        (match[1], d["action"])
        for d in decisions
        if d["allowed"] and (match := re.search(r":assumed-role/([^/]+)/", d["principal"]))
    }

    assert refused == [], "the service made a call its own role does not allow"
    unused = {
        (role, action)
        for role, actions in roles_and_actions().items()
        for action in actions
        if (role, action) not in used and (role, action) not in NOT_EXERCISED
    }
    assert unused == set(), "granted and never used: remove them, or exercise them here"


def exercise_every_path(stack: LocalStackProcess) -> None:
    """Every route and every way through the workflow, each asserted to succeed."""

    def ok(response: Response, status: int) -> dict[str, Any]:
        assert response.status == status, response.body
        body: dict[str, Any] = response.body
        return body

    def done(response: Response) -> dict[str, Any]:
        operation = stack.wait(ok(response, 202)["operationId"])
        assert operation["status"] == "SUCCEEDED", operation
        return operation

    name, keyed = f"px/{uuid.uuid4().hex[:6]}", f"px/{uuid.uuid4().hex[:6]}"
    kms = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    done(stack.request("POST", "/repositories", {"name": name, "kmsKeyArn": kms}))
    created = done(stack.request("POST", "/repositories", {"name": keyed}, {"Idempotency-Key": "k1"}))
    ok(stack.request("POST", "/repositories", {"name": keyed}, {"Idempotency-Key": "k1"}), 202)
    done(stack.request("POST", "/repositories", {"name": keyed, "tags": {"team": "x"}}))
    ok(stack.request("GET", f"/repositories/{keyed}"), 200)
    ok(stack.request("GET", "/repositories?limit=10"), 200)
    ok(stack.request("GET", f"/lifecycle-policies/{keyed}"), 200)
    done(
        stack.request(
            "PUT", f"/lifecycle-policies/{keyed}", {"untaggedExpiryDays": 5}, {"Idempotency-Key": "k2"}
        )
    )
    ok(stack.request("POST", "/auth-token"), 200)
    ok(stack.request("GET", f"/operations/{created['operationId']}"), 200)
    # Refused after the lock was taken: each gives it back (a conditional DeleteItem)
    outside = f"px-{uuid.uuid4().hex[:6]}"
    stack.client("ecr").create_repository(repositoryName=outside)
    assert stack.request("POST", "/repositories", {"name": outside}).status == 409
    assert stack.request("DELETE", "/repositories/px/none").status == 404
    assert stack.request("PUT", "/lifecycle-policies/px/none", {"untaggedExpiryDays": 5}).status == 404
    provisioned = f"px/{uuid.uuid4().hex[:6]}"
    events = stack.client("events")
    details = ({"name": provisioned, "idempotencyKey": "k3"}, {"name": "-invalid-"}, {"name": keyed},
               {"name": outside})  # fmt: skip
    for detail in details:
        entry = {"Source": "agentcore.ecr", "DetailType": "Repository Provisioning Requested",
                 "Detail": json.dumps(detail), "EventBusName": "agentcore-ecr"}  # fmt: skip
        assert events.put_events(Entries=[entry])["FailedEntryCount"] == 0
    for _ in range(240):  # the new repository, and the upsert of `keyed` (an UPDATE: its tag goes)
        new = stack.request("GET", f"/repositories/{provisioned}")
        updated = stack.request("GET", f"/repositories/{keyed}").body
        machine = stack.client("stepfunctions").list_state_machines()["stateMachines"][0]["stateMachineArn"]
        running = stack.client("stepfunctions").list_executions(
            stateMachineArn=machine, statusFilter="RUNNING"
        )
        if new.status == 200 and updated["tags"] == {} and not running["executions"]:
            break
        time.sleep(0.25)
    else:
        raise AssertionError("the EventBridge intake did not provision the repository and update the other")
    # A failed create (ROLLBACK_COMPLETE) that the next create cleans up
    cfn, ecr = stack.client("cloudformation"), stack.client("ecr")
    leftover = leave_a_failed_create(stack, "px")
    # ...with the stack status events off, so that CheckStack reads the failure (the fallback)
    [rule] = [r["Name"] for r in events.list_rules()["Rules"] if "StackStatusChanged" in r["Name"]]
    events.disable_rule(Name=rule)
    failed = stack.wait(ok(stack.request("POST", "/repositories", {"name": leftover}), 202)["operationId"])
    events.enable_rule(Name=rule)
    assert failed["error"]["code"] == "StackFailed", failed  # the repository is still in the way
    assert "already exists" in failed["error"]["message"]
    # ...and again with them on: the failure reason read by StackStatusChangedFunction
    failed = stack.wait(ok(stack.request("POST", "/repositories", {"name": leftover}), 202)["operationId"])
    assert failed["error"]["code"] == "StackFailed", failed
    assert "already exists" in failed["error"]["message"]
    ecr.delete_repository(repositoryName=leftover)
    done(stack.request("POST", "/repositories", {"name": leftover}))
    # UPDATE_ROLLBACK_FAILED (an update by a role without DeleteRepositoryPolicy), then recovered
    iam = stack.client("iam")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
             "Principal": {"Service": "cloudformation.amazonaws.com"}}]}  # fmt: skip
    iam.create_role(RoleName="lacking", AssumeRolePolicyDocument=json.dumps(trust))
    lacking = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": [
        "ecr:DescribeRepositories", "ecr:PutLifecyclePolicy", "ecr:TagResource", "ecr:UntagResource"],
        "Resource": "*"}]}  # fmt: skip
    iam.put_role_policy(RoleName="lacking", PolicyName="p", PolicyDocument=json.dumps(lacking))
    stack_name = ok(stack.request("GET", f"/repositories/{leftover}"), 200)["stackName"]
    previous = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]["Parameters"]
    changed = [{**p, "ParameterValue": "9"} if p["ParameterKey"] == "MaxImageCount" else p for p in previous]
    role = "arn:aws:iam::123456789012:role/lacking"
    cfn.update_stack(StackName=stack_name, UsePreviousTemplate=True, RoleARN=role, Parameters=changed)
    assert settled_status(cfn, stack_name) == "UPDATE_ROLLBACK_FAILED"
    done(stack.request("PUT", f"/lifecycle-policies/{leftover}", {"untaggedExpiryDays": 4}))
    # Deletes: an empty repository; one with images (force); a DELETE_FAILED one (force)
    done(stack.request("DELETE", f"/repositories/{provisioned}", headers={"Idempotency-Key": "k4"}))
    for repository in (keyed, leftover):
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                    "config": {"digest": f"sha256:{uuid.uuid4().hex * 2}"}, "layers": []}  # fmt: skip
        ecr.put_image(repositoryName=repository, imageManifest=json.dumps(manifest), imageTag="v1")
    done(stack.request("DELETE", f"/repositories/{keyed}?force=true"))
    cfn.delete_stack(StackName=stack_name)
    assert settled_status(cfn, stack_name) == "DELETE_FAILED"
    done(stack.request("DELETE", f"/repositories/{leftover}?force=true"))
    done(stack.request("DELETE", f"/repositories/{name}"))
    # An operation aborted by an operator: its Failed event comes from OperationStoppedFunction
    queue_url = results_queue(stack)
    aborted = f"px/{uuid.uuid4().hex[:6]}"
    abort_while_waiting(
        stack, ok(stack.request("POST", "/repositories", {"name": aborted}), 202)["operationId"]
    )
    assert wait_for_event(stack, queue_url, aborted)["detail"]["error"]["code"] == "Aborted"
    # ...and a delete aborted once its stack is gone: the catalog forgets the repository
    aborted_stack = ok(stack.request("GET", f"/repositories/{aborted}"), 200)["stackName"]
    aborted_id = cfn.describe_stacks(StackName=aborted_stack)["Stacks"][0]["StackId"]
    abort_while_waiting(
        stack,
        ok(stack.request("DELETE", f"/repositories/{aborted}"), 202)["operationId"],
        stack_gone=aborted_id,
    )
    for _ in range(120):
        if stack.request("GET", "/repositories?limit=100").body["items"] == []:
            break
        time.sleep(0.25)
    else:
        raise AssertionError("the aborted delete's repository is still listed")
    # The catalog rebuilt from the stacks, with a lock whose operation never started released
    done(stack.request("POST", "/repositories", {"name": aborted}))
    dynamodb = stack.client("dynamodb")
    [table] = dynamodb.list_tables()["TableNames"]
    stale = {"name": {"S": "px/stale"}, "operationId": {"S": str(uuid.uuid4())},
             "operationStartedAt": {"S": "2026-01-01T00:00:00+00:00"}}  # fmt: skip
    dynamodb.put_item(TableName=table, Item=stale)
    repaired = stack.client("lambda").invoke(FunctionName="RepairCatalogFunction", Payload=b"{}")
    report = json.loads(repaired["Payload"].read())
    assert report == {"recorded": 1, "removed": 0, "released": 1}, report
    # An asynchronous event each function fails three times: Lambda writes it to the dead-letter
    # queue with the function's role
    sqs = stack.client("sqs")
    [dead_letters] = [url for url in sqs.list_queues()["QueueUrls"] if "ProvisioningDeadLetterQueue" in url]
    for function in ("ProvisioningIntakeFunction", "OperationStoppedFunction", "StackStatusChangedFunction"):
        stack.client("lambda").invoke(FunctionName=function, InvocationType="Event", Payload=b'{"junk": 1}')
    kept = 0
    for _ in range(120):
        kept += len(sqs.receive_message(QueueUrl=dead_letters, MaxNumberOfMessages=10).get("Messages", []))
        if kept >= 3:
            break
        time.sleep(0.5)
    assert kept == 3, "the three failed events reached the dead-letter queue"
