"""Patch 1, ECR_REPOSITORY_PROPERTIES: CloudFormation's AWS::ECR::Repository as AWS applies it,
its create-only properties included (RepositoryName, EncryptionConfiguration: a change replaces
the repository).

CloudFormation decides a replacement by comparing the property in the previous template with the
new one, not with the live repository: declaring `EncryptionConfiguration: {EncryptionType:
AES256}` on a repository whose template left it out replaces it, though ECR encrypts it with AES256
either way (cloudformation-coverage-roadmap issue 2502). So each repository keeps the property as
its template declared it, and an update compares with that."""

from __future__ import annotations

from typing import Any

from local.emulator.cloudformation import StackResourceError


def _flag(value: Any) -> bool:
    return str(value).lower() == "true"


def apply() -> None:
    from moto.ecr import models as ecr  # noqa: PLC0415

    repository_cls = ecr.Repository
    original_create = repository_cls.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]
    original_update = repository_cls.update_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def apply_properties(repository: Any, properties: dict[str, Any], account_id: str, region: str) -> None:
        backend = ecr.ecr_backends[account_id][region]
        scanning = properties.get("ImageScanningConfiguration") or {}
        repository.image_scanning_configuration = {"scanOnPush": _flag(scanning.get("ScanOnPush", False))}
        repository.empty_on_delete = _flag(properties.get("EmptyOnDelete", False))
        # The repository's tags are exactly the property's: an update also removes dropped tags.
        backend.tagger.delete_all_tags_for_resource(repository.arn)
        backend.tagger.tag_resource(repository.arn, properties.get("Tags", []))
        policy = (properties.get("LifecyclePolicy") or {}).get("LifecyclePolicyText")
        if policy:
            backend.put_lifecycle_policy(repository.registry_id, repository.name, policy)
        elif repository.lifecycle_policy:
            backend.delete_lifecycle_policy(repository.registry_id, repository.name)

    def create(
        cls: Any,
        /,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        properties = cloudformation_json["Properties"]
        encryption = properties.get("EncryptionConfiguration")
        if encryption:  # ECR's keys, not CloudFormation's
            properties = {
                **properties,
                "EncryptionConfiguration": {
                    "encryptionType": encryption.get("EncryptionType", "AES256"),
                    **({"kmsKey": encryption["KmsKey"]} if encryption.get("KmsKey") else {}),
                },
            }
        repository = original_create(
            cls,
            resource_name,
            {**cloudformation_json, "Properties": properties},
            account_id,
            region_name,
            **kwargs,
        )
        apply_properties(repository, cloudformation_json["Properties"], account_id, region_name)
        repository.declared_encryption = cloudformation_json["Properties"].get("EncryptionConfiguration")
        return repository

    def update(
        cls: Any,
        /,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
    ) -> Any:
        properties = cloudformation_json["Properties"]
        encryption = properties.get("EncryptionConfiguration") or {}
        converted = {
            "encryptionType": encryption.get("EncryptionType", "AES256"),
            **({"kmsKey": encryption["KmsKey"]} if encryption.get("KmsKey") else {}),
        }
        declared = getattr(original_resource, "declared_encryption", None)
        if properties.get("EncryptionConfiguration") == declared:
            converted = original_resource.encryption_configuration
        elif new_resource_name == original_resource.name:
            # EncryptionConfiguration is create-only: a change replaces the repository, which AWS
            # cannot do under the same custom name (and moto would delete it with its images).
            raise StackResourceError(
                "",
                "CloudFormation cannot update a stack when a custom-named resource requires replacing. "
                f"Rename {original_resource.name} and update the stack again.",
            )
        if new_resource_name != original_resource.name:
            # A replacement: AWS creates the new repository first (which fails if the name is taken),
            # then removes the old one, unless UpdateReplacePolicy keeps it.
            replacement = create(cls, new_resource_name, cloudformation_json, account_id, region_name)
            if cloudformation_json.get("UpdateReplacePolicy") != "Retain":
                original_resource.delete(account_id, region_name)
            return replacement
        repository = original_update(
            cls,
            original_resource,
            new_resource_name,
            {**cloudformation_json, "Properties": {**properties, "EncryptionConfiguration": converted}},
            account_id,
            region_name,
        )
        apply_properties(repository, properties, account_id, region_name)
        repository.declared_encryption = properties.get("EncryptionConfiguration")
        return repository

    def delete(self: Any, account_id: str, region_name: str) -> None:
        backend = ecr.ecr_backends[account_id][region_name]
        backend.delete_repository(self.name, force=getattr(self, "empty_on_delete", False))

    repository_cls.create_from_cloudformation_json = classmethod(create)  # type: ignore[assignment, method-assign]
    repository_cls.update_from_cloudformation_json = classmethod(update)  # type: ignore[assignment, method-assign]
    repository_cls.delete = delete  # type: ignore[method-assign]
