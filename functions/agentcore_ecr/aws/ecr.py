"""ECR adapter: the reads the service makes of repositories, and the registry token."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from agentcore_ecr.aws.clients import client, error_code, raise_if_throttled

BATCH_DELETE_LIMIT = 100
# BatchDeleteImage's failure code for an image that is already gone: nothing is left to delete.
IMAGE_NOT_FOUND = "ImageNotFound"


@dataclass(frozen=True)
class RepositoryDescription:
    name: str
    arn: str
    uri: str
    registry_id: str
    created_at: datetime


@dataclass(frozen=True)
class RegistryToken:
    username: str
    password: str
    proxy_endpoint: str
    expires_at: datetime


@dataclass(frozen=True)
class ImageFailure:
    """An image BatchDeleteImage did not delete (an entry of its `failures[]`)."""

    image_id: dict[str, str]
    code: str
    reason: str

    @property
    def image(self) -> str:
        """The image as the caller knows it: `tag@digest`, or whichever of the two it has."""
        tag, digest = self.image_id.get("imageTag"), self.image_id.get("imageDigest")
        return "@".join(part for part in (tag, digest) if part) or "(no tag or digest)"


class Ecr:
    def __init__(self, ecr_client: Any | None = None) -> None:
        self._client = ecr_client or client("ecr")

    def describe(self, name: str) -> RepositoryDescription | None:
        try:
            response = self._client.describe_repositories(repositoryNames=[name])
        except ClientError as error:
            raise_if_throttled(error)
            if error_code(error) == "RepositoryNotFoundException":
                return None
            raise
        item = response["repositories"][0]
        return RepositoryDescription(
            name=item["repositoryName"],
            arn=item["repositoryArn"],
            uri=item["repositoryUri"],
            registry_id=item["registryId"],
            created_at=item["createdAt"],
        )

    def tags(self, arn: str) -> dict[str, str]:
        try:
            response = self._client.list_tags_for_resource(resourceArn=arn)
        except ClientError as error:
            raise_if_throttled(error)
            raise
        return {tag["Key"]: tag["Value"] for tag in response.get("tags", [])}

    def tags_if_exists(self, arn: str) -> dict[str, str] | None:
        """The repository's tags; None when the repository no longer exists."""
        try:
            return self.tags(arn)
        except ClientError as error:
            if error_code(error) == "RepositoryNotFoundException":
                return None
            raise

    def exists(self, name: str) -> bool:
        """Whether the repository exists (asked with ListImages, which the workflow may call)."""
        try:
            self._client.list_images(repositoryName=name, maxResults=1)
        except ClientError as error:
            raise_if_throttled(error)
            if error_code(error) == "RepositoryNotFoundException":
                return False
            raise
        return True

    def has_images(self, name: str) -> bool:
        return bool(self.image_ids(name, limit=1))

    def image_ids(self, name: str, limit: int) -> list[dict[str, str]]:
        """Up to `limit` of the repository's images (none if the repository is gone); the paginator
        follows empty pages."""
        found: list[dict[str, str]] = []
        paginator = self._client.get_paginator("list_images")
        try:
            for page in paginator.paginate(
                repositoryName=name, PaginationConfig={"PageSize": min(limit, 1000)}
            ):
                found.extend(page.get("imageIds", []))
                if len(found) >= limit:
                    break
        except ClientError as error:
            raise_if_throttled(error)
            if error_code(error) == "RepositoryNotFoundException":
                return []
            raise
        return found[:limit]

    def delete_images(self, name: str, image_ids: list[dict[str, str]]) -> list[ImageFailure]:
        """BatchDeleteImage, 100 images a call (its limit); the images it could not delete.

        BatchDeleteImage answers 200 even when it deletes nothing: each image it did not delete is
        in `failures[]`. One already gone (`ImageNotFound`) is what was asked; the others
        (`KmsError`, `ImageInaccessible`...) are returned.
        """
        failures: list[ImageFailure] = []
        for start in range(0, len(image_ids), BATCH_DELETE_LIMIT):
            try:
                response = self._client.batch_delete_image(
                    repositoryName=name, imageIds=image_ids[start : start + BATCH_DELETE_LIMIT]
                )
            except ClientError as error:
                raise_if_throttled(error)
                if error_code(error) == "RepositoryNotFoundException":
                    return failures
                raise
            failures.extend(
                ImageFailure(
                    image_id=dict(item.get("imageId") or {}),
                    code=str(item.get("failureCode", "")),
                    reason=str(item.get("failureReason", "")),
                )
                for item in response.get("failures", [])
                if item.get("failureCode") != IMAGE_NOT_FOUND
            )
        return failures

    def lifecycle_policy_text(self, name: str) -> str | None:
        try:
            response = self._client.get_lifecycle_policy(repositoryName=name)
        except ClientError as error:
            raise_if_throttled(error)
            if error_code(error) in ("LifecyclePolicyNotFoundException", "RepositoryNotFoundException"):
                return None
            raise
        return str(response["lifecyclePolicyText"])

    def authorization_token(self) -> RegistryToken:
        try:
            response = self._client.get_authorization_token()
        except ClientError as error:
            raise_if_throttled(error)
            raise
        data = response["authorizationData"][0]
        username, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
        return RegistryToken(
            username=username,
            password=password,
            proxy_endpoint=data["proxyEndpoint"],
            expires_at=data["expiresAt"],
        )
