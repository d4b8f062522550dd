"""The agentcore-ecr service's Python SDK.

    from agentcore_ecr_client import Client

    client = Client("https://abc123.execute-api.us-east-1.amazonaws.com/v1")
    operation = client.create_repository("team/agent-a", tags={"team": "agents"})
    done = client.wait(operation, timeout=900)          # OperationFailed if it fails
    print(done.repository.repository_uri)

`agentcore_ecr_client.compat.ECRService` stands in for agentcore-cli's class.
"""

from agentcore_ecr_client.client import Client
from agentcore_ecr_client.errors import (
    ApiError,
    ClientError,
    ConfigurationError,
    EndpointUnreachable,
    OperationFailed,
    WaiterTimeout,
)
from agentcore_ecr_client.models import (
    AuthToken,
    LifecyclePolicy,
    LifecyclePolicyView,
    Operation,
    OperationError,
    Progress,
    Repository,
    RepositoryPage,
)

__all__ = [
    "ApiError",
    "AuthToken",
    "Client",
    "ClientError",
    "ConfigurationError",
    "EndpointUnreachable",
    "LifecyclePolicy",
    "LifecyclePolicyView",
    "Operation",
    "OperationError",
    "OperationFailed",
    "Progress",
    "Repository",
    "RepositoryPage",
    "WaiterTimeout",
]
