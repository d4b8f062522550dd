"""The create-or-update decision of POST /repositories, on its own: no AWS, no workflow.

Each case is a world as the reads would find it (the stack under the request's name and
environment, the repository of that name and its tags) and the decision the contract asks for
(openapi.json's createRepository, the README's adoption and troubleshooting rules).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from agentcore_ecr.aws.cloudformation import Stack
from agentcore_ecr.domain import errors
from agentcore_ecr.domain.models import Action, CreateRepositoryRequest
from agentcore_ecr.domain.upsert import Found, check_request, decide

NAME = "team/agent-a"
STACK = "agentcore-team-agent-a-4b5fd0e4--dev-ecr"  # whatever name the deployment gives it
ARN = "arn:aws:ecr:us-east-1:123456789012:repository/team/agent-a"
URI = "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/agent-a"
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
OTHER_KEY = "arn:aws:kms:us-east-1:123456789012:key/9999abcd-12ab-34cd-56ef-1234567890ab"
ENVIRONMENTS = ("dev", "staging", "prod")
# The tags this service puts on a repository it manages, and agentcore-cli's.
MANAGED = {"ManagedBy": "agentcore-ecr", "Environment": "dev", "agentcore:repository": NAME}
AGENTCORE_CLI = {"ManagedBy": "AgentCorePlatformCLI", "Environment": "dev", "Project": "agentcore"}


def request(**fields: Any) -> CreateRepositoryRequest:
    return CreateRepositoryRequest.model_validate({"name": NAME, **fields})


def service_stack(
    status: str = "CREATE_COMPLETE", name: str = NAME, encryption: str = "KMS", kms_key: str = ""
) -> Stack:
    """A stack this service made for `name` in dev, which made its repository."""
    return Stack(
        stack_id=f"arn:aws:cloudformation:us-east-1:123456789012:stack/{STACK}/1",
        name=STACK,
        status=status,
        created_at=datetime(2025, 1, 1, tzinfo=UTC),
        parameters={
            "RepositoryName": name,
            "Environment": "dev",
            "ImageScanOnPush": "true",
            "ImageTagMutability": "IMMUTABLE",
            "EncryptionType": encryption,
            "KmsKeyArn": kms_key,
            "UntaggedExpiryDays": "30",
            "MaxImageCount": "0",
            "EmptyOnDelete": "false",
            "DeclareEncryption": "true",
        },
        outputs={"RepositoryArn": ARN, "RepositoryUri": URI},
        tags={"ManagedBy": "agentcore-ecr", "Environment": "dev", "agentcore:repository": name},
    )


def agentcore_cli_stack(name: str = "agent-a", environment: str = "dev") -> Stack:
    """The stack agentcore-cli made: its name, its four parameters, no encryption setting."""
    return Stack(
        stack_id=f"arn:aws:cloudformation:us-east-1:123456789012:stack/agentcore-{name}-{environment}-ecr/1",
        name=f"agentcore-{name}-{environment}-ecr",
        status="CREATE_COMPLETE",
        created_at=datetime(2024, 1, 1, tzinfo=UTC),
        parameters={
            "RepositoryName": name,
            "Environment": environment,
            "ImageScanningEnabled": "true",
            "LifecyclePolicyDays": "14",
        },
        outputs={"RepositoryArn": f"arn:aws:ecr:us-east-1:123456789012:repository/{name}"},
    )


def managed_repository() -> Found:
    return Found(service_stack(), repository_exists=True, repository_tags=MANAGED)


# The request alone -------------------------------------------------------------------------------


def test_an_environment_the_deployment_does_not_allow_is_a_validation_error_on_it() -> None:
    with pytest.raises(errors.ValidationError) as refused:
        check_request(request(environment="qa"), ENVIRONMENTS)

    assert refused.value.status == 400
    assert refused.value.details is not None
    assert [detail["field"] for detail in refused.value.details] == ["environment"]
    assert "dev, staging, prod" in refused.value.message


def test_tags_that_make_the_template_longer_than_cloudformation_takes_are_refused() -> None:
    """Troubleshooting: tags that would make the repository's template longer than CloudFormation's
    51,200 bytes are refused (40 tags of four-byte characters, each escaped in the YAML)."""
    tags = {f"{i:02d}" + "\U0001f600" * 125: "\U0001f600" * 255 for i in range(40)}

    with pytest.raises(errors.ValidationError) as refused:
        check_request(request(tags=tags), ENVIRONMENTS)

    assert refused.value.details is not None
    assert [detail["field"] for detail in refused.value.details] == ["tags"]
    assert "51200" in refused.value.message


def test_an_ordinary_request_passes() -> None:
    check_request(request(environment="prod", tags={"team": "agents"}), ENVIRONMENTS)


# A new repository ---------------------------------------------------------------------------------


def test_nothing_there_is_a_create_encrypted_with_kms_unless_asked_otherwise() -> None:
    decision = decide(request(), Found(None, repository_exists=False))

    assert decision.action is Action.CREATE
    assert (decision.settings.encryption, decision.settings.kms_key_arn) == ("KMS", None)
    assert decide(request(encryption="AES256"), Found(None, False)).settings.encryption == "AES256"
    assert decide(request(kmsKeyArn=KEY), Found(None, False)).settings.kms_key_arn == KEY


def test_a_repository_that_exists_without_a_stack_of_ours_is_not_taken() -> None:
    with pytest.raises(errors.RepositoryExists):
        decide(request(), Found(None, repository_exists=True, repository_tags={"team": "x"}))


@pytest.mark.parametrize("status", ["ROLLBACK_COMPLETE", "ROLLBACK_FAILED"])
def test_a_stack_whose_create_failed_is_created_again(status: str) -> None:
    """Troubleshooting: ROLLBACK_COMPLETE or ROLLBACK_FAILED (its create failed): POST again deletes
    and recreates it, whether or not the failed create left the repository behind."""
    for exists in (False, True):
        decision = decide(request(), Found(service_stack(status), repository_exists=exists))

        assert decision.action is Action.CREATE
        assert decision.settings.encryption == "KMS"


def test_a_repository_deleted_outside_the_service_is_created_again_as_it_was() -> None:
    """Drift: the repository is gone, its stack remains; POST recreates it. A new repository, so its
    encryption may be chosen again; not chosen, it is the one the stack had."""
    drifted = service_stack(encryption="KMS", kms_key=KEY)

    kept = decide(request(), Found(drifted, repository_exists=False))
    chosen = decide(request(encryption="AES256"), Found(drifted, repository_exists=False))

    assert kept.action is Action.CREATE
    assert (kept.settings.encryption, kept.settings.kms_key_arn) == ("KMS", KEY)
    assert chosen.action is Action.CREATE
    assert (chosen.settings.encryption, chosen.settings.kms_key_arn) == ("AES256", None)


# An update of a managed repository ---------------------------------------------------------------


def test_a_repository_the_service_manages_for_that_environment_is_updated() -> None:
    """createRepository: when the service already manages the repository for that environment, the
    action is UPDATE, with the settings asked for."""
    decision = decide(request(imageTagMutability="MUTABLE", tags={"team": "agents"}), managed_repository())

    assert decision.action is Action.UPDATE
    assert decision.settings.image_tag_mutability == "MUTABLE"
    assert decision.settings.tags == {"team": "agents"}


def test_an_update_keeps_the_encryption_the_repository_was_created_with() -> None:
    """encryption and kmsKeyArn left out keep what the repository has; the same values may be
    repeated; another one is ImmutableSetting (CloudFormation sets them on create only)."""
    created_with_key = Found(service_stack(kms_key=KEY), repository_exists=True, repository_tags=MANAGED)

    omitted = decide(request(), created_with_key)
    repeated = decide(request(encryption="KMS", kmsKeyArn=KEY), created_with_key)

    assert (omitted.settings.encryption, omitted.settings.kms_key_arn) == ("KMS", KEY)
    assert (repeated.settings.encryption, repeated.settings.kms_key_arn) == ("KMS", KEY)
    for other in (request(encryption="AES256"), request(kmsKeyArn=OTHER_KEY)):
        with pytest.raises(errors.ImmutableSetting):
            decide(other, created_with_key)


def test_a_stuck_rollback_does_not_refuse_an_update() -> None:
    """Troubleshooting: UPDATE_ROLLBACK_FAILED needs no action, the next change continues the rollback."""
    found = Found(service_stack("UPDATE_ROLLBACK_FAILED"), repository_exists=True, repository_tags=MANAGED)

    assert decide(request(), found).action is Action.UPDATE


# Adoption of agentcore-cli's repositories --------------------------------------------------------


def test_agentcore_clis_stack_and_repository_are_adopted_and_keep_aes256() -> None:
    """Adoption: the stack agentcore-cli made (`agentcore-{name}-{env}-ecr`, its four parameters, the
    repository tagged ManagedBy AgentCorePlatformCLI) answers ADOPT; the encryption stays AES256."""
    found = Found(agentcore_cli_stack(), repository_exists=True, repository_tags=AGENTCORE_CLI)

    decision = decide(request(name="agent-a", tags={"team": "agents"}), found)

    assert decision.action is Action.ADOPT
    assert (decision.settings.encryption, decision.settings.kms_key_arn) == ("AES256", None)
    assert decision.settings.tags == {"team": "agents"}


def test_adoption_asking_for_another_encryption_is_refused() -> None:
    found = Found(agentcore_cli_stack(), repository_exists=True, repository_tags=AGENTCORE_CLI)

    with pytest.raises(errors.ImmutableSetting):
        decide(request(name="agent-a", encryption="KMS"), found)


def test_only_agentcore_clis_own_stack_and_tag_are_adopted() -> None:
    """Any other repository outside the service stays RepositoryExists: one tagged by someone else,
    or under a stack that is not agentcore-cli's (another name, other parameters)."""
    cli = agentcore_cli_stack()
    refused = [
        Found(cli, True, {"ManagedBy": "someone-else"}),
        Found(replace(cli, name="platform-agent-a-dev-ecr"), True, AGENTCORE_CLI),
        Found(replace(cli, parameters={**cli.parameters, "Extra": "x"}), True, AGENTCORE_CLI),
    ]
    for found in refused:
        with pytest.raises(errors.RepositoryExists):
            decide(request(name="agent-a"), found)


# Refusals ----------------------------------------------------------------------------------------


def test_a_repository_managed_by_someone_else_is_not_managed_here() -> None:
    """A stack under the name is not enough: the repository's own tags say whose it is."""
    for tags in ({"ManagedBy": "someone-else"}, {}, {**MANAGED, "Environment": "prod"}):
        with pytest.raises(errors.RepositoryExists):
            decide(request(), Found(service_stack(), repository_exists=True, repository_tags=tags))


def test_a_stack_of_another_repository_under_the_same_name_is_refused() -> None:
    found = Found(service_stack(name="team/agent-b"), repository_exists=False)

    with pytest.raises(errors.RepositoryExists) as refused:
        decide(request(), found)

    assert "team/agent-b" in refused.value.message


@pytest.mark.parametrize("status", ["CREATE_IN_PROGRESS", "UPDATE_IN_PROGRESS", "DELETE_IN_PROGRESS"])
def test_a_stack_being_changed_refuses_the_request(status: str) -> None:
    found = Found(service_stack(status), repository_exists=True, repository_tags=MANAGED)

    with pytest.raises(errors.OperationInProgress) as refused:
        decide(request(), found)

    assert status in refused.value.message


def test_a_stack_cloudformation_will_not_update_is_refused_with_the_way_out() -> None:
    """Troubleshooting: DELETE_FAILED (a delete met images pushed meanwhile): delete it again, with
    force=true if it holds images."""
    found = Found(service_stack("DELETE_FAILED"), repository_exists=True, repository_tags=MANAGED)

    with pytest.raises(errors.StackNotUpdatable) as refused:
        decide(request(), found)

    assert refused.value.status == 409
    assert "DELETE_FAILED" in refused.value.message
    assert "force=true" in refused.value.message
