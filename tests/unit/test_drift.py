"""A repository deleted behind the service's back (drift): shown, never a 500, and repairable."""

from __future__ import annotations

from tests import api_events
from tests.deployment import Deployment
from tests.examples import TEAM_AGENT_A_DEV_STACK
from tests.unit.test_api import assert_error, created, executions
from tests.unit.test_workflow import push_image, run

NAME = "team/agent-a"


def delete_behind_the_services_back(deployment: Deployment, name: str) -> None:
    deployment.ecr.delete_repository(repositoryName=name, force=True)


def test_a_list_survives_a_repository_deleted_outside_the_service(deployment: Deployment) -> None:
    created(deployment, NAME, tags={"team": "a"}, encryption="AES256")
    created(deployment, "team/agent-b")
    delete_behind_the_services_back(deployment, NAME)

    # The list is the catalog's: the repository as its last operation left it, until a repair.
    before = deployment.call("ListRepositoriesFunction", api_events.list_repositories())
    assert before.status == 200, before.body
    assert [item["drift"] for item in before.body["items"]] == [None, None]
    assert deployment.invoke("RepairCatalogFunction", {})["recorded"] == 2
    page = deployment.call("ListRepositoriesFunction", api_events.list_repositories())

    assert page.status == 200, page.body
    items = {item["name"]: item for item in page.body["items"]}
    assert set(items) == {NAME, "team/agent-b"}
    drifted = items[NAME]
    assert drifted["drift"]["code"] == "RepositoryMissing"
    assert TEAM_AGENT_A_DEV_STACK in drifted["drift"]["message"]
    # What the stack knows: its settings (the caller's tags were the repository's).
    assert drifted["tags"] == {}
    assert drifted["encryption"] == "AES256"
    assert drifted["repositoryUri"].endswith(f"/{NAME}")
    assert items["team/agent-b"]["drift"] is None


def test_a_read_shows_the_drift(deployment: Deployment) -> None:
    created(deployment, NAME)
    delete_behind_the_services_back(deployment, NAME)

    got = deployment.call("GetRepositoryFunction", api_events.get_repository(NAME))

    assert got.status == 200, got.body
    assert got.body["drift"]["code"] == "RepositoryMissing"
    assert got.body["stackName"] == TEAM_AGENT_A_DEV_STACK


def test_a_lifecycle_change_of_a_drifted_repository_is_refused_and_changes_nothing(
    deployment: Deployment,
) -> None:
    created(deployment, NAME)
    delete_behind_the_services_back(deployment, NAME)
    before = len(executions(deployment))

    response = deployment.call(
        "PutLifecyclePolicyFunction", api_events.put_lifecycle_policy(NAME, {"untaggedExpiryDays": 3})
    )

    assert_error(response, 409, "RepositoryDrifted")
    assert len(executions(deployment)) == before


def test_delete_removes_the_stack_of_a_drifted_repository(deployment: Deployment) -> None:
    created(deployment, NAME)
    delete_behind_the_services_back(deployment, NAME)

    operation = run(deployment, "DeleteRepositoryFunction", api_events.delete_repository(NAME))

    assert operation["status"] == "SUCCEEDED", operation
    stacks = deployment.cfn.describe_stacks()["Stacks"]
    assert TEAM_AGENT_A_DEV_STACK not in [stack["StackName"] for stack in stacks]
    assert_error(deployment.call("GetRepositoryFunction", api_events.get_repository(NAME)), 404, "NotFound")


def test_force_delete_of_a_drifted_repository_skips_emptying(deployment: Deployment) -> None:
    created(deployment, NAME)
    delete_behind_the_services_back(deployment, NAME)

    operation = run(deployment, "DeleteRepositoryFunction", api_events.delete_repository(NAME, force=True))

    assert operation["status"] == "SUCCEEDED", operation


def test_create_recreates_a_drifted_repository_with_its_settings(deployment: Deployment) -> None:
    created(deployment, NAME, encryption="AES256", tags={"team": "a"})
    delete_behind_the_services_back(deployment, NAME)

    operation = run(
        deployment,
        "CreateRepositoryFunction",
        api_events.create_repository({"name": NAME, "tags": {"team": "b"}}),
    )

    assert operation["status"] == "SUCCEEDED", operation
    assert operation["action"] == "CREATE"
    repository = operation["repository"]
    assert repository["drift"] is None
    assert repository["encryption"] == "AES256"  # omitted: the stack's setting
    assert repository["tags"] == {"team": "b"}
    assert deployment.ecr.describe_repositories(repositoryNames=[NAME])["repositories"]
    push_image(deployment, NAME, "v1")  # a real repository again
