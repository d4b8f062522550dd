"""Expected values written out by hand from the API contract and AWS's rules,
never computed by the code under test.

The lifecycle policy: `untaggedExpiryDays` expires untagged images that many days after push;
`maxImageCount` keeps at most that many images of any tag status, as ECR's `imageCountMoreThan`
rule with the lowest priority (ECR requires a `tagStatus: any` rule to have the highest
`rulePriority` value).
"""

from __future__ import annotations

from typing import Any


def lifecycle_policy(untagged_expiry_days: int, max_image_count: int | None) -> dict[str, Any]:
    """The ECR lifecycle policy a repository with this LifecyclePolicy must have."""
    untagged = {
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
    if max_image_count is None:
        return {"rules": [untagged]}
    count = {
        "rulePriority": 2,
        "description": f"Keep at most {max_image_count} images",
        "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": max_image_count},
        "action": {"type": "expire"},
    }
    return {"rules": [untagged, count]}


# The "Stack names" rule of docs/api.md, worked out for the name most tests use: "team/agent-a" has a
# "/", so its slug is "team-agent-a" followed by the first 8 hex digits of sha256("team/agent-a"),
# which are a45ff932 (`printf team/agent-a | sha256sum`), and a closing "-" (no simple name's does).
TEAM_AGENT_A_DEV_STACK = "agentcore-team-agent-a-a45ff932--dev-ecr"
