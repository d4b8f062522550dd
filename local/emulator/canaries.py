"""Canaries: unpatched moto still differs from AWS as the patches say.

Each canary runs one call on moto exactly as installed (no patch applied: run it in a process of
its own, `python -m local.emulator.canaries`) and answers True while moto still behaves as the
patch's entry in `local.emulator` describes. After a moto upgrade, a canary answering False names
a patch that may have become obsolete: read the new moto, then drop or narrow the patch
(docs/upgrading-moto.md).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import boto3
from botocore.exceptions import ClientError

REGION = "us-east-1"
_REPOSITORY = "AWS::ECR::Repository"


def _client(service: str) -> Any:
    return boto3.client(service, region_name=REGION)


def _stack(name: str, resources: dict[str, Any], **kwargs: Any) -> Any:
    cloudformation = _client("cloudformation")
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps({"Resources": resources}), **kwargs)
    return cloudformation


def ecr_lifecycle_policy_ignored() -> bool:
    """1: moto's AWS::ECR::Repository drops its LifecyclePolicy."""
    rules = {
        "rules": [
            {
                "rulePriority": 1,
                "selection": {
                    "tagStatus": "untagged",
                    "countType": "imageCountMoreThan",
                    "countNumber": 1,
                },
                "action": {"type": "expire"},
            }
        ]
    }
    properties = {
        "RepositoryName": "canary-lifecycle",
        "LifecyclePolicy": {"LifecyclePolicyText": json.dumps(rules)},
    }
    _stack("canary-lifecycle", {"Repository": {"Type": _REPOSITORY, "Properties": properties}})
    try:
        _client("ecr").get_lifecycle_policy(repositoryName="canary-lifecycle")
    except ClientError as error:
        return bool(error.response["Error"]["Code"] == "LifecyclePolicyNotFoundException")
    return False


def equal_update_accepted() -> bool:
    """6: moto accepts an UpdateStack that changes nothing; AWS answers "No updates ..."."""
    repository = {"Type": _REPOSITORY, "Properties": {"RepositoryName": "canary-no-op"}}
    cloudformation = _stack("canary-no-op", {"Repository": repository})
    try:
        cloudformation.update_stack(
            StackName="canary-no-op", TemplateBody=json.dumps({"Resources": {"Repository": repository}})
        )
    except ClientError:
        return False
    return True


def continue_update_rollback_missing() -> bool:
    """11: moto has no ContinueUpdateRollback."""
    repository = {"Type": _REPOSITORY, "Properties": {"RepositoryName": "canary-rollback"}}
    cloudformation = _stack("canary-rollback", {"Repository": repository})
    try:
        cloudformation.continue_update_rollback(StackName="canary-rollback")
    except NotImplementedError:
        return True
    except ClientError:
        return False
    return False


def client_request_token_ignored() -> bool:
    """12: moto's stack events do not carry the operation's ClientRequestToken."""
    repository = {"Type": _REPOSITORY, "Properties": {"RepositoryName": "canary-token"}}
    cloudformation = _stack("canary-token", {"Repository": repository}, ClientRequestToken="tok-1")
    events = cloudformation.describe_stack_events(StackName="canary-token")["StackEvents"]
    return all(event.get("ClientRequestToken") != "tok-1" for event in events)


def policy_without_version_refused() -> bool:
    """17: moto refuses a policy without Version; IAM takes it as a 2008-10-17 policy."""
    document = {"Statement": [{"Effect": "Allow", "Action": "ecr:*", "Resource": "*"}]}
    try:
        _client("iam").create_policy(PolicyName="canary", PolicyDocument=json.dumps(document))
    except ClientError as error:
        return bool(error.response["Error"]["Code"] == "MalformedPolicyDocument")
    return False


def ecr_double_separator_refused() -> bool:
    """29: moto refuses repository names ECR creates, such as `my--agent`."""
    try:
        _client("ecr").create_repository(repositoryName="my--agent")
    except ClientError as error:
        return bool(error.response["Error"]["Code"] == "InvalidParameterException")
    return False


CANARIES: dict[str, Callable[[], bool]] = {
    "ECR_REPOSITORY_PROPERTIES": ecr_lifecycle_policy_ignored,
    "NO_OP_UPDATE_BY_VALUE": equal_update_accepted,
    "STACK_STATE_RULES": continue_update_rollback_missing,
    "CLIENT_REQUEST_TOKEN": client_request_token_ignored,
    "IAM_POLICY_VERSION": policy_without_version_refused,
    "ECR_NAME_RULE": ecr_double_separator_refused,
}


def run() -> dict[str, bool]:
    """Each canary on a fresh, unpatched moto: True where moto still differs from AWS."""
    from moto import mock_aws  # noqa: PLC0415 - moto is imported only where canaries run

    from local import emulator  # noqa: PLC0415

    if emulator._applied:
        raise RuntimeError("canaries run on unpatched moto: run them in a process of their own")
    results = {}
    for name, canary in CANARIES.items():
        with mock_aws():
            results[name] = canary()
    return results


def main() -> int:
    results = run()
    for name, still_differs in results.items():
        sys.stdout.write(f"{name:40} {'still needed' if still_differs else 'OBSOLETE? moto now differs'}\n")
    return 0 if all(results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
