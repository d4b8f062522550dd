"""The whole application on the local stack, through HTTP only; boto3 on the local AWS checks effects."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from local.process import LocalStackProcess
from local.template import load

from tests.examples import lifecycle_policy
from tests.integration.conftest import ROOT, abort_while_waiting

pytestmark = pytest.mark.integration


def create(local: LocalStackProcess, body: dict[str, Any], key: str | None = None) -> dict[str, Any]:
    response = local.request("POST", "/repositories", body, {"Idempotency-Key": key} if key else None)
    assert response.status == 202, response.body
    assert response.headers["Location"] == f"/operations/{response.body['operationId']}"
    operation: dict[str, Any] = response.body
    return operation


def created(local: LocalStackProcess, body: dict[str, Any]) -> dict[str, Any]:
    operation = local.wait(create(local, body)["operationId"])
    assert operation["status"] == "SUCCEEDED", operation
    return operation


def ecr_tags(local: LocalStackProcess, arn: str) -> dict[str, str]:
    tags = local.client("ecr").list_tags_for_resource(resourceArn=arn)["tags"]
    return {tag["Key"]: tag["Value"] for tag in tags}


def stack_parameters(local: LocalStackProcess, stack_name: str) -> dict[str, str]:
    stack = local.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"][0]
    return {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}


def push_image(local: LocalStackProcess, name: str, tag: str) -> None:
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"digest": f"sha256:{uuid.uuid4().hex * 2}"},
        "layers": [],
    }
    local.client("ecr").put_image(repositoryName=name, imageManifest=json.dumps(manifest), imageTag=tag)


def test_create_poll_get_and_the_settings_in_ecr_and_the_stack(local: LocalStackProcess, name: str) -> None:
    body = {
        "name": name,
        "imageScanning": False,
        "imageTagMutability": "MUTABLE",
        "encryption": "AES256",
        "lifecyclePolicy": {"untaggedExpiryDays": 9, "maxImageCount": 25},
        "tags": {"team": "agents", "note": "héllo wörld"},
    }
    accepted = create(local, body)
    assert accepted["status"] == "RUNNING"
    running = local.request("GET", f"/operations/{accepted['operationId']}")
    assert running.body["status"] in ("RUNNING", "SUCCEEDED")

    operation = local.wait(accepted["operationId"])

    assert operation["status"] == "SUCCEEDED", operation
    got = local.request("GET", f"/repositories/{name}")
    assert got.status == 200
    assert got.body == operation["repository"]
    repository = local.client("ecr").describe_repositories(repositoryNames=[name])["repositories"][0]
    assert repository["imageScanningConfiguration"] == {"scanOnPush": False}
    assert repository["imageTagMutability"] == "MUTABLE"
    assert repository["encryptionConfiguration"]["encryptionType"] == "AES256"
    policy = local.client("ecr").get_lifecycle_policy(repositoryName=name)["lifecyclePolicyText"]
    assert json.loads(policy) == lifecycle_policy(9, 25)
    tags = ecr_tags(local, repository["repositoryArn"])
    assert tags["team"] == "agents"
    assert tags["note"] == "héllo wörld"
    assert tags["ManagedBy"] == "agentcore-ecr"
    parameters = stack_parameters(local, got.body["stackName"])
    assert parameters["ImageScanOnPush"] == "false"
    assert parameters["UntaggedExpiryDays"] == "9"
    assert parameters["MaxImageCount"] == "25"


def test_upsert_lifecycle_change_and_delete(local: LocalStackProcess, name: str) -> None:
    first = created(local, {"name": name})

    update = created(local, {"name": name, "imageScanning": False, "tags": {"team": "b"}})
    assert update["action"] == "UPDATE"
    assert update["repository"]["imageScanning"] is False
    repository = local.client("ecr").describe_repositories(repositoryNames=[name])["repositories"][0]
    assert repository["imageScanningConfiguration"] == {"scanOnPush": False}
    assert ecr_tags(local, repository["repositoryArn"])["team"] == "b"

    response = local.request(
        "PUT", f"/lifecycle-policies/{name}", {"untaggedExpiryDays": 2, "maxImageCount": 5}
    )
    assert response.status == 202
    assert response.body["action"] == "UPDATE_LIFECYCLE"
    assert local.wait(response.body["operationId"])["status"] == "SUCCEEDED"
    policy = local.request("GET", f"/lifecycle-policies/{name}")
    assert policy.body["untaggedExpiryDays"] == 2
    assert json.loads(policy.body["policyText"]) == lifecycle_policy(2, 5)
    assert stack_parameters(local, first["repository"]["stackName"])["UntaggedExpiryDays"] == "2"
    assert ecr_tags(local, repository["repositoryArn"])["team"] == "b", "a lifecycle change keeps the tags"

    deleted = local.request("DELETE", f"/repositories/{name}")
    assert deleted.status == 202
    assert local.wait(deleted.body["operationId"])["status"] == "SUCCEEDED"
    assert local.request("GET", f"/repositories/{name}").status == 404


def test_delete_refused_while_images_exist_then_force_delete(local: LocalStackProcess, name: str) -> None:
    operation = created(local, {"name": name})
    push_image(local, name, "v1")
    push_image(local, name, "v2")

    refused = local.request("DELETE", f"/repositories/{name}")
    assert refused.status == 409
    assert refused.body["error"]["code"] == "RepositoryNotEmpty"
    assert len(local.client("ecr").list_images(repositoryName=name)["imageIds"]) == 2

    forced = local.request("DELETE", f"/repositories/{name}?force=true")
    assert forced.status == 202
    assert local.wait(forced.body["operationId"])["status"] == "SUCCEEDED"
    ecr = local.client("ecr")
    with pytest.raises(ecr.exceptions.RepositoryNotFoundException):
        ecr.describe_repositories(repositoryNames=[name])
    stacks = local.client("cloudformation").describe_stacks()["Stacks"]
    assert operation["repository"]["stackName"] not in {stack["StackName"] for stack in stacks}


def test_list_pagination_and_environment_filter(local: LocalStackProcess) -> None:
    prefix = f"list-{uuid.uuid4().hex[:6]}"
    names = [f"{prefix}/{letter}" for letter in "abcde"]
    operations = [create(local, {"name": n, "environment": "staging"}) for n in names]
    operations.append(create(local, {"name": f"{prefix}/prod", "environment": "prod"}))
    for operation in operations:
        assert local.wait(operation["operationId"])["status"] == "SUCCEEDED"

    seen: list[str] = []
    token = ""
    for _ in range(100):  # a bound: each page holds 2 of at most a few dozen staging repositories
        page = local.request("GET", f"/repositories?environment=staging&limit=2{token}")
        assert page.status == 200
        assert len(page.body["items"]) <= 2
        seen.extend(item["name"] for item in page.body["items"] if item["name"].startswith(prefix))
        if page.body["nextToken"] is None:
            break
        token = f"&nextToken={page.body['nextToken']}"
    else:
        raise AssertionError("the pages never ended")
    assert seen == names
    assert local.request("GET", "/repositories?limit=0").status == 400


def test_auth_token(local: LocalStackProcess) -> None:
    response = local.request("POST", "/auth-token")

    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert set(response.body) == {"username", "password", "proxyEndpoint", "expiresAt"}
    logs = (local.log_dir / "AuthTokenFunction.log").read_text()  # this session's own logs
    assert "registry token issued" in logs
    assert response.body["password"] not in logs


@pytest.mark.parametrize(
    ("method", "path", "raw"),
    [
        ("POST", "/repositories", b"{not json"),
        ("POST", "/repositories", b'{"name": "Bad_Name!"}'),
        ("POST", "/repositories", b'{"name": "ok-name", "colour": "blue"}'),
        ("POST", "/repositories", b'{"name": "ok-name", "environment": "qa"}'),
        ("POST", "/repositories", b'{"name": "ok-name", "lifecyclePolicy": {"untaggedExpiryDays": 0}}'),
        ("POST", "/repositories", b'{"name": "ok-name", "tags": {"aws:x": "y"}}'),
        ("POST", "/repositories", b'[{"name": "ok-name"}]'),
        ("PUT", "/lifecycle-policies/ok-name", b'{"maxImageCount": 0}'),
        ("GET", "/repositories?limit=101", None),
        ("GET", "/repositories/UPPER", None),
    ],
)
def test_bad_input_is_400_and_creates_nothing(
    local: LocalStackProcess, method: str, path: str, raw: bytes | None
) -> None:
    before = local.client("ecr").describe_repositories()["repositories"]

    response = local.request(method, path, raw=raw)

    assert response.status == 400, response.body
    assert response.body["error"]["code"] == "ValidationError"
    assert local.client("ecr").describe_repositories()["repositories"] == before


def test_not_found(local: LocalStackProcess) -> None:
    for path in ["/repositories/nope/none", "/lifecycle-policies/nope", f"/operations/{uuid.uuid4()}"]:
        response = local.request("GET", path)
        assert response.status == 404
        assert response.body["error"]["code"] == "NotFound"
    unknown = local.request("GET", "/no-such-route")
    assert unknown.status == 403
    assert unknown.body["error"]["code"] == "AccessDenied"


def test_idempotency_keys(local: LocalStackProcess, name: str) -> None:
    key = uuid.uuid4().hex
    first = create(local, {"name": name}, key)
    again = create(local, {"name": name}, key)
    assert again["operationId"] == first["operationId"]
    local.wait(first["operationId"])
    after = create(local, {"name": name}, key)
    assert after["operationId"] == first["operationId"]
    assert after["status"] == "SUCCEEDED"

    reused = local.request(
        "POST", "/repositories", {"name": name, "imageScanning": False}, {"Idempotency-Key": key}
    )
    assert reused.status == 422
    assert reused.body["error"]["code"] == "IdempotencyKeyReused"


@pytest.mark.parametrize("suffix", ["agent.v2", "agent_b", "deep/er/path-x"])
def test_names_with_dots_underscores_and_slashes(local: LocalStackProcess, suffix: str) -> None:
    name = f"n{uuid.uuid4().hex[:6]}/{suffix}"

    operation = created(local, {"name": name})

    assert operation["repository"]["name"] == name
    assert local.request("GET", f"/repositories/{name}").body["name"] == name


def test_a_repository_created_outside_is_left_alone(local: LocalStackProcess, name: str) -> None:
    local.client("ecr").create_repository(repositoryName=name)

    response = local.request("POST", "/repositories", {"name": name})
    assert response.status == 409
    assert response.body["error"]["code"] == "RepositoryExists"
    deleted = local.request("DELETE", f"/repositories/{name}?force=true")
    assert deleted.status == 409
    assert deleted.body["error"]["code"] == "NotManaged"
    assert local.client("ecr").describe_repositories(repositoryNames=[name])["repositories"]


def results_queue(local: LocalStackProcess) -> str:
    sqs, events = local.client("sqs"), local.client("events")
    suffix = uuid.uuid4().hex[:8]
    url: str = sqs.create_queue(QueueName=f"results-{suffix}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name=f"results-{suffix}",
        EventBusName="agentcore-ecr",
        EventPattern=json.dumps(
            {"source": ["agentcore.ecr"], "detail-type": [{"prefix": "Repository Operation"}]}
        ),
    )
    events.put_targets(
        Rule=f"results-{suffix}", EventBusName="agentcore-ecr", Targets=[{"Id": "q", "Arn": arn}]
    )
    return url


def wait_for_event(
    local: LocalStackProcess, queue_url: str, name: str, timeout: float = 60
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in (
            local.client("sqs")
            .receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
            .get("Messages", [])
        ):
            event: dict[str, Any] = json.loads(message["Body"])
            if event["detail"].get("repositoryName") == name:
                return event
        time.sleep(0.25)
    raise AssertionError(f"no result event for {name}")


def test_eventbridge_provisioning_and_its_result_events(local: LocalStackProcess, name: str) -> None:
    queue_url = results_queue(local)
    events = local.client("events")

    def provision(detail: dict[str, Any]) -> None:
        entry = {
            "Source": "agentcore.ecr",
            "DetailType": "Repository Provisioning Requested",
            "Detail": json.dumps(detail),
            "EventBusName": "agentcore-ecr",
        }
        assert events.put_events(Entries=[entry])["FailedEntryCount"] == 0

    provision({"name": name, "tags": {"via": "eventbridge"}})
    succeeded = wait_for_event(local, queue_url, name)
    assert succeeded["detail-type"] == "Repository Operation Succeeded"
    assert succeeded["detail"]["repository"]["tags"] == {"via": "eventbridge"}
    assert local.request("GET", f"/repositories/{name}").status == 200

    invalid = f"-bad-{uuid.uuid4().hex[:6]}"
    provision({"name": invalid})
    failed = wait_for_event(local, queue_url, invalid)
    assert failed["detail-type"] == "Repository Operation Failed"
    assert failed["detail"]["error"]["code"] == "ValidationError"


def test_a_dozen_concurrent_creates_all_succeed(local: LocalStackProcess) -> None:
    prefix = f"many-{uuid.uuid4().hex[:6]}"
    names = [f"{prefix}/agent-{index}" for index in range(12)]

    with ThreadPoolExecutor(max_workers=12) as pool:
        accepted = list(pool.map(lambda n: create(local, {"name": n}), names))
        finished = list(pool.map(lambda op: local.wait(op["operationId"], timeout=180), accepted))

    assert [operation["status"] for operation in finished] == ["SUCCEEDED"] * 12
    listed = local.request("GET", "/repositories?limit=100").body["items"]
    assert sorted(item["name"] for item in listed if item["name"].startswith(prefix)) == sorted(names)


def test_make_invoke_runs_one_function(local: LocalStackProcess) -> None:
    port = local.aws.rsplit(":", 1)[1]
    result = subprocess.run(
        [sys.executable, "-m", "local.invoke", "ListRepositoriesFunction", "events/list_repositories.json",
         "--aws-port", port],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    response = json.loads(result.stdout)
    assert response["statusCode"] == 200
    assert "items" in json.loads(response["body"])


def children_of(pid: int) -> set[int]:
    found: set[int] = set()
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:  # the process ended meanwhile
        return found
    for task in tasks:
        try:
            children = (task / "children").read_text().split()
        except OSError:  # a thread that ended between the listing and the read
            continue
        for child in children:
            found |= {int(child), *children_of(int(child))}
    return found


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs /proc")
def test_sigterm_stops_the_whole_process_tree(tmp_path: Path) -> None:
    stack = LocalStackProcess.start(tmp_path)
    workers = children_of(stack.process.pid)
    assert len(workers) >= 12, "one worker process per function at least"

    stack.stop()

    assert stack.process.returncode == 0
    time.sleep(0.5)
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists() and _alive(pid)]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_each_worker_has_its_functions_own_environment(local: LocalStackProcess) -> None:
    environments: dict[str, dict[str, str]] = {}
    for pid in children_of(local.process.pid):
        try:
            raw = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        variables = dict(item.split("=", 1) for item in raw.decode().split("\0") if "=" in item)
        if "AWS_LAMBDA_FUNCTION_NAME" in variables:
            environments[variables["AWS_LAMBDA_FUNCTION_NAME"]] = variables
    template = load(ROOT / "template.yaml")
    functions = [k for k, v in template["Resources"].items() if v["Type"] == "AWS::Serverless::Function"]

    assert set(environments) == set(functions)
    for function in functions:
        own = template["Resources"][function]["Properties"].get("Environment", {}).get("Variables", {})
        assert ("STATE_MACHINE_ARN" in environments[function]) == ("STATE_MACHINE_ARN" in own), function
        assert ("CLOUDFORMATION_ROLE_ARN" in environments[function]) == ("CLOUDFORMATION_ROLE_ARN" in own)
        assert environments[function]["EVENT_BUS_NAME"] == "agentcore-ecr"
        assert environments[function]["AWS_ENDPOINT_URL"] == local.aws
        assert environments[function]["AWS_SESSION_TOKEN"], (
            "credentials of the function's role, as Lambda gives"
        )
        assert environments[function]["AWS_LAMBDA_LOG_LEVEL"] == "INFO"  # the template's LogLevel
    keys = {environment["AWS_ACCESS_KEY_ID"] for environment in environments.values()}
    assert len(keys) == len(functions), "each function has credentials of its own"
    for waiting in ("StartStackChangeFunction", "CheckStackFunction"):  # the first wait, and the next ones
        assert environments[waiting]["STACK_POLL_INTERVAL_SECONDS"] == "1"
    assert environments["CreateRepositoryFunction"]["STATE_MACHINE_ARN"].startswith("arn:aws:states:")


def test_drift_a_repository_deleted_outside_the_service(local: LocalStackProcess, name: str) -> None:
    """Read with its drift, listed with it once the catalog is repaired (never a 500 for the page),
    then made again by a create, then deleted."""
    created(local, {"name": name, "encryption": "AES256"})
    local.client("ecr").delete_repository(repositoryName=name, force=True)
    repaired = local.client("lambda").invoke(FunctionName="RepairCatalogFunction", Payload=b"{}")
    assert "FunctionError" not in repaired, repaired["Payload"].read()

    drifted, path = [], "/repositories?limit=100"
    for _ in range(50):  # every page, each answered 200 despite the drift
        page = local.request("GET", path)
        assert page.status == 200, page.body
        drifted += [item for item in page.body["items"] if item["name"] == name]
        if page.body["nextToken"] is None:
            break
        path = f"/repositories?limit=100&nextToken={page.body['nextToken']}"
    assert [item["drift"]["code"] for item in drifted] == ["RepositoryMissing"]
    assert local.request("GET", f"/repositories/{name}").body["drift"]["code"] == "RepositoryMissing"

    remade = created(local, {"name": name})
    assert remade["action"] == "CREATE"
    assert remade["repository"]["drift"] is None

    local.client("ecr").delete_repository(repositoryName=name, force=True)
    deleted = local.wait(local.request("DELETE", f"/repositories/{name}").body["operationId"])
    assert deleted["status"] == "SUCCEEDED", deleted


def test_an_aborted_operation_ends_in_a_failed_event(local: LocalStackProcess, name: str) -> None:
    """StopExecution by an operator: Step Functions' status event reaches OperationStoppedFunction
    through the template's rule on the default bus, which emits the Failed event (code Aborted)."""
    queue_url = results_queue(local)
    accepted = create(local, {"name": name})

    abort_while_waiting(local, accepted["operationId"])

    failed = wait_for_event(local, queue_url, name)
    assert failed["detail-type"] == "Repository Operation Failed"
    assert failed["detail"]["operationId"] == accepted["operationId"]
    assert failed["detail"]["status"] == "ABORTED"
    assert failed["detail"]["error"]["code"] == "Aborted"
    operation = local.request("GET", f"/operations/{accepted['operationId']}").body
    assert operation["status"] == "ABORTED"
    assert operation["error"]["code"] == "Aborted"


def test_an_asynchronous_event_that_keeps_failing_ends_in_the_dead_letter_queue(
    local: LocalStackProcess,
) -> None:
    """Lambda runs a failing asynchronous event three times, then writes it to the function's
    dead-letter queue with the function's own role (which the template lets send there)."""
    marker = uuid.uuid4().hex
    local.client("lambda").invoke(
        FunctionName="ProvisioningIntakeFunction",
        InvocationType="Event",
        Payload=json.dumps({"not": "an EventBridge event", "marker": marker}).encode(),
    )
    sqs = local.client("sqs")
    [queue_url] = [url for url in sqs.list_queues()["QueueUrls"] if "ProvisioningDeadLetterQueue" in url]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", [])
        kept = [m for m in messages if marker in m["Body"]]
        if kept:
            assert "ErrorMessage" in kept[0]["MessageAttributes"]
            return
        time.sleep(0.5)
    raise AssertionError("the failed event never reached the dead-letter queue")


def test_an_agentcore_cli_stack_is_adopted_with_its_images(local: LocalStackProcess) -> None:
    """docs/api.md, "Adoption": a stack made from agentcore-cli's template, images pushed, then a
    POST of its name and environment moves it to this service's template and keeps them."""
    name = f"legacy-{uuid.uuid4().hex[:6]}"
    cfn, ecr = local.client("cloudformation"), local.client("ecr")
    parameters = {"RepositoryName": name, "Environment": "dev", "ImageScanningEnabled": "false",
                  "LifecyclePolicyDays": "7"}  # fmt: skip
    stack_id = cfn.create_stack(
        StackName=f"agentcore-{name}-dev-ecr",
        TemplateBody=(ROOT / "tests/agentcore_cli_template.yaml").read_text(),
        Parameters=[{"ParameterKey": key, "ParameterValue": value} for key, value in parameters.items()],
    )["StackId"]
    for _ in range(100):
        if cfn.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE":
            break
        time.sleep(0.1)
    push_image(local, name, "v1")
    push_image(local, name, "v2")
    assert local.request("GET", f"/repositories/{name}").status == 404  # not managed yet

    adopted = created(local, {"name": name, "lifecyclePolicy": {"untaggedExpiryDays": 7}})

    assert adopted["action"] == "ADOPT"
    repository = adopted["repository"]
    assert repository["encryption"] == "AES256"
    assert repository["stackName"] == f"agentcore-{name}-dev-ecr"
    images = ecr.list_images(repositoryName=name)["imageIds"]
    assert sorted(image["imageTag"] for image in images) == ["v1", "v2"]
    stack = cfn.describe_stacks(StackName=stack_id)["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    assert stack_parameters(local, stack_id)["DeclareEncryption"] == "false"
    assert ecr_tags(local, repository["repositoryArn"])["ManagedBy"] == "agentcore-ecr"
    assert local.request("GET", f"/repositories/{name}").body == repository
    forced = local.request("DELETE", f"/repositories/{name}?force=true")
    assert local.wait(forced.body["operationId"])["status"] == "SUCCEEDED"


# Waiting on CloudFormation: events first, polling as the fallback -------------------------------


def states_entered(local: LocalStackProcess, operation_id: str) -> list[str]:
    sfn = local.client("stepfunctions")
    machine = sfn.list_state_machines()["stateMachines"][0]["stateMachineArn"]
    head, _, name = machine.rpartition(":stateMachine:")
    events = sfn.get_execution_history(
        executionArn=f"{head}:execution:{name}:{operation_id}", maxResults=1000
    )
    return [
        e["stateEnteredEventDetails"]["name"] for e in events["events"] if "stateEnteredEventDetails" in e
    ]


def stack_status_rule(local: LocalStackProcess) -> str:
    """The rule on the default bus that brings CloudFormation's status events to the function."""
    events = local.client("events")
    for rule in events.list_rules()["Rules"]:
        targets = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
        if any(target["Arn"].endswith(":function:StackStatusChangedFunction") for target in targets):
            return str(rule["Name"])
    raise AssertionError("no rule targets StackStatusChangedFunction")


def resumed_stacks(local: LocalStackProcess) -> str:
    log = local.log_dir / "StackStatusChangedFunction.log"
    return log.read_text() if log.exists() else ""


def test_with_a_30_s_interval_operations_resume_on_the_stacks_status_event(tmp_path: Path) -> None:
    """POLL_SECONDS=30 SETTLE_SECONDS=2 make run: a create and a delete end with their stacks, not
    at the next poll; no wait times out, so CheckStack never runs."""
    with LocalStackProcess.start(
        tmp_path / "events", settle_seconds=2, parameters={"StackPollIntervalSeconds": "30"}
    ) as stack:
        name = f"it/{uuid.uuid4().hex[:10]}"
        create_id = create(stack, {"name": name})["operationId"]
        assert stack.wait(create_id, timeout=20)["status"] == "SUCCEEDED"
        delete = stack.request("DELETE", f"/repositories/{name}")
        assert delete.status == 202, delete.body
        assert stack.wait(delete.body["operationId"], timeout=20)["status"] == "SUCCEEDED"

        for operation_id in (create_id, delete.body["operationId"]):
            entered = states_entered(stack, operation_id)
            assert "AwaitStack" in entered
            assert "CheckStack" not in entered, entered
        log = resumed_stacks(stack)
        assert log.count("wait resumed by the stack's status event") == 2, log[-2000:]
        assert '"stack_status":"CREATE_COMPLETE"' in log
        assert '"stack_status":"DELETE_COMPLETE"' in log


def test_with_the_rule_disabled_the_fallback_still_finishes_the_operation(
    local: LocalStackProcess, name: str
) -> None:
    """No event at all: each wait times out after one interval (1 s locally) and CheckStack finds
    the stack settled; the operation ends anyway."""
    events, rule = local.client("events"), stack_status_rule(local)
    events.disable_rule(Name=rule)
    try:
        operation = created(local, {"name": name})
    finally:
        events.enable_rule(Name=rule)

    entered = states_entered(local, operation["operationId"])
    assert "CheckStack" in entered, entered
    assert entered[entered.index("CheckStack") - 1] == "AwaitStack"
    assert operation["repository"]["stackName"] not in resumed_stacks(local)
