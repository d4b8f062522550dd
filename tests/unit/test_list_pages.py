"""GET /repositories pages through a catalog whose items are large: a DynamoDB Query stops at 1 MB
of items read whatever its Limit (DynamoDB Developer Guide, "Paginating table query results"), and
a page is still full (or the last), its token resuming exactly after its last item."""

from __future__ import annotations

import boto3
import pytest

from agentcore_ecr.aws.catalog import Catalog
from agentcore_ecr.domain.models import Repository
from tests import api_events
from tests.deployment import CATALOG_TABLE_NAME, Deployment
from tests.unit.test_api import created

COUNT = 150
# 40 tags of the longest key and value CloudFormation takes, in a script of 3 bytes a character in
# UTF-8 (DynamoDB counts an item's size in the UTF-8 bytes of its attribute names and values): about
# 46 KB of item each, so one Query reads about 21 of them before its 1 MB stops it.
LONG_TAGS = {f"{index:02d}".ljust(127, "鍵"): "値" * 255 for index in range(40)}


def seed(deployment: Deployment, environment: str = "dev") -> list[str]:
    """COUNT repositories in the catalog, each with 40 long tags (the list reads the catalog only)."""
    model = Repository.model_validate(created(deployment, "seed-0000")["repository"])
    catalog = Catalog(CATALOG_TABLE_NAME, boto3.client("dynamodb", region_name=deployment.region))
    names = [f"seed-{index:04d}" for index in range(COUNT)]
    for name in names:
        repository = model.model_copy(update={"name": name, "tags": LONG_TAGS, "environment": environment})
        assert catalog.record(repository, f"stack-of-{name}")
    return names


def pages(deployment: Deployment, limit: int, **query: str) -> list[list[str]]:
    found: list[list[str]] = []
    token: str | None = None
    for _ in range(COUNT + 1):
        arguments = {**query, "limit": str(limit), **({"nextToken": token} if token else {})}
        page = deployment.call("ListRepositoriesFunction", api_events.list_repositories(**arguments))
        assert page.status == 200, page.body
        found.append([item["name"] for item in page.body["items"]])
        token = page.body["nextToken"]
        if token is None:
            return found
    raise AssertionError("the pages never ended")


@pytest.mark.parametrize("limit", [50, 100])
@pytest.mark.parametrize("query", [{}, {"environment": "dev"}], ids=["all", "one-environment"])
def test_every_page_is_full_but_the_last_and_none_repeats_or_skips(
    deployment: Deployment, limit: int, query: dict[str, str]
) -> None:
    names = seed(deployment)

    found = pages(deployment, limit, **query)

    assert [len(page) for page in found] == [limit] * (COUNT // limit) + (
        [COUNT % limit] if COUNT % limit else []
    )
    assert [name for page in found for name in page] == names
