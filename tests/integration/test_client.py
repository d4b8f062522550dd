"""The client (`client/`: the `agentcore-ecr` command, the SDK, the ECRService drop-in) against the
local stack with AUTH=iam, signing with the profile the local stack writes, as a user would."""

from __future__ import annotations

import base64
import json
import os
import pty
import re
import select
import subprocess
import sys
import time
import tomllib
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from local.process import LocalStackProcess
from local.stack import API_USER

from agentcore_ecr_client import ApiError, Client, OperationFailed
from agentcore_ecr_client.compat import ECRRepository, ECRService
from tests.integration.conftest import leave_a_failed_create
from tests.integration.test_local_stack import push_image

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
COMMAND = str(Path(sys.executable).parent / "agentcore-ecr")  # the console script `make install` made


@pytest.fixture
def profile(local: LocalStackProcess) -> dict[str, str]:
    """The environment of a user of the local stack: its endpoint, its region and its profile."""
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "AGENTCORE_"))
    }
    environment.update(
        AGENTCORE_ECR_ENDPOINT=local.api,
        AWS_REGION="us-east-1",
        AWS_SHARED_CREDENTIALS_FILE=str(local.state_dir / "aws-credentials"),
        AWS_CONFIG_FILE=str(local.state_dir / "no-aws-config"),
        AWS_PROFILE=API_USER,
        AWS_EC2_METADATA_DISABLED="true",
    )
    return environment


@pytest.fixture
def session(local: LocalStackProcess) -> Any:
    """The same user's boto3 session, in this process (the profile, read from the file the local
    stack wrote, through botocore's credential chain)."""
    return boto3.Session(botocore_session=local.user_session, region_name="us-east-1")


@pytest.fixture
def client(local: LocalStackProcess, session: Any) -> Client:
    return Client(local.api, region="us-east-1", session=session)


def run(environment: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [COMMAND, *arguments], env=environment, capture_output=True, text=True, timeout=120, check=False
    )


def json_of(done: subprocess.CompletedProcess[str]) -> Any:
    assert done.returncode == 0, (done.returncode, done.stdout, done.stderr)
    return json.loads(done.stdout)


def test_every_command_of_the_console_script(
    local: LocalStackProcess, profile: dict[str, str], name: str
) -> None:
    created = json_of(
        run(profile, "create", name, "--wait", "--tag", "team=agents", "--tag", "cost=42",
            "--untagged-days", "14", "--max-images", "20", "--mutability", "mutable", "--no-scan",
            "--encryption", "AES256")
    )  # fmt: skip
    assert created["status"] == "SUCCEEDED" and created["action"] == "CREATE"
    repository = created["repository"]
    assert repository["tags"] == {"team": "agents", "cost": "42"}
    assert repository["lifecyclePolicy"] == {"untaggedExpiryDays": 14, "maxImageCount": 20}
    assert (repository["imageTagMutability"], repository["imageScanning"], repository["encryption"]) == (
        "MUTABLE", False, "AES256")  # fmt: skip

    # get: the API's own JSON, key for key
    shown = json_of(run(profile, "get", name))
    assert shown == local.request("GET", f"/repositories/{name}").body
    listed = json_of(run(profile, "list", "--environment", "dev"))
    assert name in [item["name"] for item in listed["items"]] and listed["nextToken"] is None
    table = run({**profile, "COLUMNS": "200"}, "list", "--output", "table")  # no column folds the name
    assert table.returncode == 0 and name in table.stdout and "STACK STATUS" in table.stdout, table

    changed = json_of(run(profile, "lifecycle", "set", name, "--untagged-days", "7", "--wait"))
    assert changed["action"] == "UPDATE_LIFECYCLE" and changed["status"] == "SUCCEEDED"
    policy = json_of(run(profile, "lifecycle", "get", name))
    assert (policy["untaggedExpiryDays"], policy["maxImageCount"]) == (7, None)
    assert json.loads(policy["policyText"])["rules"][0]["selection"]["countNumber"] == 7

    token = json_of(run(profile, "token"))
    assert token["username"] == "AWS" and token["password"] and token["proxyEndpoint"].startswith("https://")

    # Without --wait: the accepted operation (RUNNING); then operation get and operation wait
    push_image(local, name, "v1")
    refused = run(profile, "delete", name)
    assert refused.returncode == 254 and "RepositoryNotEmpty" in refused.stderr, refused
    accepted = json_of(run(profile, "delete", name, "--force"))
    assert accepted["status"] == "RUNNING" and accepted["action"] == "DELETE"
    again = json_of(run(profile, "operation", "get", accepted["operationId"]))
    assert again["operationId"] == accepted["operationId"]
    ended = json_of(run(profile, "operation", "wait", accepted["operationId"]))
    assert ended["status"] == "SUCCEEDED"

    gone = run(profile, "get", name)
    assert gone.returncode == 254 and gone.stdout == ""
    assert gone.stderr.startswith("error: NotFound: ")
    missing = run(profile, "operation", "get", str(uuid.uuid4()))
    assert missing.returncode == 254 and "NotFound" in missing.stderr


def test_create_then_force_delete_with_wait(profile: dict[str, str], name: str) -> None:
    """The README's session: create --wait, list, token, delete --force --wait."""
    assert json_of(run(profile, "create", name, "--wait"))["status"] == "SUCCEEDED"
    assert name in [item["name"] for item in json_of(run(profile, "list"))["items"]]
    assert json_of(run(profile, "token"))["password"]
    deleted = run(profile, "delete", name, "--force", "--wait")
    assert json_of(deleted)["status"] == "SUCCEEDED"
    assert deleted.stderr == ""  # not a terminal: no progress display


def test_wait_on_a_failed_operation_exits_1_with_its_error(
    local: LocalStackProcess, profile: dict[str, str], client: Client
) -> None:
    # A failed create that left ROLLBACK_COMPLETE, its repository still in ECR: the next create fails
    leftover = leave_a_failed_create(local, "cl")

    failed = run(profile, "create", leftover, "--wait")
    assert failed.returncode == 1, failed
    operation = json.loads(failed.stdout)  # the final operation, for scripts
    assert operation["status"] == "FAILED" and operation["error"]["code"] == "StackFailed"
    assert failed.stderr.startswith("error: StackFailed: ") and "already exists" in failed.stderr
    tabled = run(profile, "create", leftover, "--wait", "--output", "table")  # the option holds on failure
    assert tabled.returncode == 1 and "Status" in tabled.stdout and "FAILED" in tabled.stdout, tabled

    with pytest.raises(OperationFailed) as raised:  # the SDK's waiter says the same
        client.wait(client.create_repository(leftover), timeout=120)
    assert raised.value.code == "StackFailed" and raised.value.operation.status == "FAILED"
    local.client("ecr").delete_repository(repositoryName=leftover)


def test_wait_shows_progress_on_a_terminal(profile: dict[str, str], client: Client, name: str) -> None:
    """On a terminal: a line for each change of the operation or its stack, with the elapsed time,
    and the result as a table."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [COMMAND, "create", name, "--wait"],
        env={**profile, "COLUMNS": "160", "TERM": "xterm"},
        stdin=follower, stdout=follower, stderr=follower,
    )  # fmt: skip
    os.close(follower)
    seen = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 1)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed: the process ended
                break
            if not chunk:
                break
            seen += chunk
        elif process.poll() is not None:
            break
    os.close(leader)
    assert process.wait(timeout=30) == 0, seen
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", seen.decode(errors="replace"))  # colours and cursor moves
    assert "CREATE_IN_PROGRESS" in text and "CREATE_COMPLETE" in text, text
    assert "RUNNING" in text and "SUCCEEDED" in text
    assert "s  SUCCEEDED" in text  # the elapsed time ahead of the end
    assert "Operation" in text and "Stack status" in text  # the table, not JSON
    assert '"operationId"' not in text
    client.delete_repository(name, force=True)


def test_list_follows_every_page(profile: dict[str, str], client: Client) -> None:
    names = sorted(f"pg/{uuid.uuid4().hex[:8]}" for _ in range(3))
    for each in [client.create_repository(item, environment="staging") for item in names]:
        assert client.wait(each, timeout=120).succeeded
    first = client.list_repositories_page(environment="staging", limit=1)
    assert len(first.items) == 1 and first.next_token  # more than one page
    listed = json_of(run(profile, "list", "--environment", "staging", "--page-size", "1"))
    found = [item["name"] for item in listed["items"]]
    assert set(names) <= set(found) and found == sorted(found) and len(found) == len(set(found))
    assert [item.name for item in client.list_repositories("staging", page_size=2)] == found
    for item in names:
        client.wait(client.delete_repository(item), timeout=120)


def test_unsigned_and_wrongly_signed_calls_are_refused(
    local: LocalStackProcess, profile: dict[str, str], tmp_path: Path
) -> None:
    unsigned = run(profile, "list", "--no-sign-request")
    assert unsigned.returncode == 254 and unsigned.stderr.startswith("error: AccessDenied: "), unsigned
    wrong = tmp_path / "credentials"
    wrong.write_text(
        f"[{API_USER}]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wrong\n"
    )
    badly = run({**profile, "AWS_SHARED_CREDENTIALS_FILE": str(wrong)}, "list")
    assert badly.returncode == 254 and badly.stderr.startswith("error: AccessDenied: "), badly
    with pytest.raises(ApiError) as raised:
        Client(local.api, region="us-east-1", sign=False).get_auth_token()
    assert (raised.value.status, raised.value.code) == (403, "AccessDenied")


def test_configuration_errors_exit_253(profile: dict[str, str]) -> None:
    no_endpoint = {key: value for key, value in profile.items() if key != "AGENTCORE_ECR_ENDPOINT"}
    done = run(no_endpoint, "list")
    assert done.returncode == 253 and "--endpoint-url" in done.stderr, done
    done = run({**profile, "AWS_PROFILE": "nobody"}, "list")
    assert done.returncode == 253 and "nobody" in done.stderr, done
    unreachable = run(profile, "list", "--endpoint-url", "http://127.0.0.1:9")
    assert unreachable.returncode == 255 and "did not answer" in unreachable.stderr, unreachable


def test_the_endpoint_from_the_deployed_stacks_api_url_output(
    local: LocalStackProcess, profile: dict[str, str]
) -> None:
    stack_name = f"agentcore-ecr-{uuid.uuid4().hex[:6]}"
    template = {
        "Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {"ApiUrl": {"Value": local.api}},
    }
    local.client("cloudformation").create_stack(StackName=stack_name, TemplateBody=json.dumps(template))
    environment = {key: value for key, value in profile.items() if key != "AGENTCORE_ECR_ENDPOINT"}
    environment["AWS_ENDPOINT_URL_CLOUDFORMATION"] = local.aws  # CloudFormation is the local one
    # The user may invoke the API but not read stacks: a clear error, as on AWS
    denied = run(environment, "list", "--stack-name", stack_name)
    assert denied.returncode == 253 and "cloudformation:DescribeStacks" in denied.stderr, denied
    statement = {"Effect": "Allow", "Action": "cloudformation:DescribeStacks", "Resource": "*"}
    local.client("iam").put_user_policy(
        UserName=API_USER, PolicyName="read-stacks",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
    )  # fmt: skip
    assert "items" in json_of(run(environment, "list", "--stack-name", stack_name))


def test_login_pipes_the_token_to_docker(profile: dict[str, str], client: Client, tmp_path: Path) -> None:
    # A stand-in `docker` on PATH that records how it was called (no Docker engine runs here)
    record = tmp_path / "docker-call.json"
    docker = tmp_path / "bin" / "docker"
    docker.parent.mkdir()
    docker.write_text(
        f"#!{sys.executable}\nimport json, sys\n"
        f"json.dump({{'argv': sys.argv[1:], 'stdin': sys.stdin.read()}}, open({str(record)!r}, 'w'))\n"
        "print('Login Succeeded')\n"
    )
    docker.chmod(0o755)
    done = run({**profile, "PATH": f"{docker.parent}:{profile['PATH']}"}, "login")
    assert done.returncode == 0 and "Login Succeeded" in done.stdout, done
    call = json.loads(record.read_text())
    token = client.get_auth_token()
    assert call["argv"] == ["login", "--username", "AWS", "--password-stdin", token.proxy_endpoint]
    assert call["stdin"] == token.password  # on stdin, never in argv

    without = run({**profile, "PATH": str(tmp_path / "empty")}, "login")
    assert without.returncode == 253 and "'docker' is not on PATH" in without.stderr, without


def test_idempotency_key_passes_through(profile: dict[str, str], client: Client, name: str) -> None:
    first = json_of(run(profile, "create", name, "--idempotency-key", f"k-{name.replace('/', '-')}"))
    second = json_of(run(profile, "create", name, "--idempotency-key", f"k-{name.replace('/', '-')}"))
    assert first["operationId"] == second["operationId"]
    reused = run(profile, "create", name, "--tag", "a=b", "--idempotency-key", f"k-{name.replace('/', '-')}")
    assert reused.returncode == 254 and "IdempotencyKeyReused" in reused.stderr
    client.wait(first["operationId"], timeout=120)
    client.wait(client.delete_repository(name), timeout=120)


def test_ecr_service_drop_in(local: LocalStackProcess, session: Any) -> None:
    """What agentcore-cli's users run, through the drop-in: the same calls and returns."""
    # The old class took a region and a boto3 session; the drop-in takes them, and the endpoint
    service = ECRService("us-east-1", session=session, endpoint_url=local.api)
    name = f"agent-{uuid.uuid4().hex[:8]}"

    success, repository, message = service.create_repository(
        name, environment="dev", image_scanning=True, lifecycle_policy_days=14, tags={"team": "agents"}
    )
    assert success, message
    assert isinstance(repository, ECRRepository) and message == f"Repository {name} created successfully"
    assert repository.repository_uri.endswith(f"/{name}") and repository.registry_id == "123456789012"
    assert repository.image_tag_mutability == "MUTABLE"  # what agentcore-cli's repositories were
    served = local.request("GET", f"/repositories/{name}").body
    assert served["tags"] == {"team": "agents"}  # applied, not ignored as before
    assert served["lifecyclePolicy"]["untaggedExpiryDays"] == 14
    assert served["stackName"] == f"agentcore-{name}-dev-ecr"  # agentcore-cli's stack name

    success, found, message = service.get_repository(name)
    assert success and found is not None and found.repository_uri == repository.repository_uri, message
    assert service.get_repository("no-such-repo") == (False, None, "Repository 'no-such-repo' not found")

    success, repositories, message = service.list_repositories()
    assert success and message == f"Found {len(repositories)} repositories"
    [described] = [item for item in repositories if item["repositoryName"] == name]
    assert described["imageScanningConfiguration"] == {"scanOnPush": True}
    assert (
        described["repositoryUri"] == repository.repository_uri and described["registryId"] == "123456789012"
    )

    assert service.set_lifecycle_policy(name, max_days=7) == (
        True,
        f"Lifecycle policy set on repository '{name}'",
    )
    assert local.request("GET", f"/lifecycle-policies/{name}").body["untaggedExpiryDays"] == 7

    success, auth, message = service.get_auth_token()
    assert success and auth is not None, message
    user, _, password = base64.b64decode(auth["authorizationToken"]).decode().partition(":")
    assert user == "AWS" and password and auth["proxyEndpoint"].startswith("https://")

    push_image(local, name, "v1")
    success, message = service.delete_repository(name, environment="prod", force=True)
    assert not success and "not found" in message  # another environment's: refused, nothing deleted
    success, message = service.delete_repository(name)
    assert not success and "RepositoryNotEmpty" in message
    assert service.delete_repository(name, force=True) == (True, f"Repository '{name}' deleted successfully")
    assert service.get_repository(name)[0] is False
    success, message = service.delete_repository(name)
    assert (success, message) == (False, f"ECR stack for repository '{name}' not found")


def test_the_client_depends_on_neither_the_service_nor_moto() -> None:
    probe = (
        "import sys, agentcore_ecr_client, agentcore_ecr_client.cli, agentcore_ecr_client.compat\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'agentcore_ecr', 'moto', 'boto3'})\n"
        "print(bad)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd="/")
    assert done.stdout.strip() == "[]"
    project = tomllib.loads((ROOT / "client/pyproject.toml").read_text())["project"]
    pinned = dict(requirement.split("==") for requirement in project["dependencies"])
    assert set(pinned) == {"botocore", "click", "pydantic", "rich"}  # each pinned with ==
