"""The ECR lifecycle policy the service renders from a LifecyclePolicy."""

from __future__ import annotations

import json
from typing import Any


def lifecycle_rules(untagged_expiry_days: int, max_image_count: int | None) -> dict[str, Any]:
    """ECR rules: untagged images expire first; an `any` rule, if present, has the lowest priority.

    ECR requires a rule with `tagStatus: any` to carry the highest `rulePriority` value.
    """
    rules: list[dict[str, Any]] = [
        {
            "rulePriority": 1,
            "description": f"Expire untagged images {untagged_expiry_days} days after push",
            "selection": {
                "tagStatus": "untagged",
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": untagged_expiry_days,
            },
            "action": {"type": "expire"},
        }
    ]
    if max_image_count is not None:
        rules.append(
            {
                "rulePriority": 2,
                "description": f"Keep at most {max_image_count} images",
                "selection": {
                    "tagStatus": "any",
                    "countType": "imageCountMoreThan",
                    "countNumber": max_image_count,
                },
                "action": {"type": "expire"},
            }
        )
    return {"rules": rules}


def lifecycle_policy_text(untagged_expiry_days: int, max_image_count: int | None) -> str:
    return json.dumps(lifecycle_rules(untagged_expiry_days, max_image_count), separators=(",", ":"))
