"""Patch 29, ECR_NAME_RULE: moto's CreateRepository takes names by an older rule than ECR's.

moto allows one `.`, `_` or `-` between two runs of `[a-z0-9]`, so it refuses `a__b` and
`my--agent`, which ECR creates. ECR's rule is its API model's `RepositoryName` pattern (the one
botocore ships, the same as the `AWS::ECR::Repository` schema's): runs of `[a-z0-9]` joined by `.`,
`_`, `__` or any number of `-`, in parts joined by `/`, 2 to 256 characters. Here moto checks names
with that pattern, read from botocore's model, so it refuses what ECR refuses (`a___b`) and no more.
"""

from __future__ import annotations


def ecr_name_pattern() -> str:
    """The `RepositoryName` pattern of ECR's API model (Amazon ECR API Reference, CreateRepository)."""
    import botocore.session  # noqa: PLC0415

    model = botocore.session.get_session().get_service_model("ecr")
    pattern: str = model.shape_for("RepositoryName").metadata["pattern"]
    return pattern


def apply() -> None:
    from moto.ecr import models as ecr  # noqa: PLC0415

    ecr.ECR_REPOSITORY_NAME_PATTERN = ecr_name_pattern()
