"""EventBridge adapter: the service's result events."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from agentcore_ecr.aws.clients import client, raise_if_throttled
from agentcore_ecr.config import EVENT_SOURCE


class EventPublishError(Exception):
    pass


class EventBus:
    def __init__(self, bus_name: str, events_client: Any | None = None) -> None:
        self._bus_name = bus_name
        self._client = events_client or client("events")

    def publish(self, detail_type: str, detail: dict[str, Any]) -> None:
        entry = {
            "Source": EVENT_SOURCE,
            "DetailType": detail_type,
            "Detail": json.dumps(detail),
            "EventBusName": self._bus_name,
        }
        try:
            response = self._client.put_events(Entries=[entry])
        except ClientError as error:
            raise_if_throttled(error)
            raise
        if response.get("FailedEntryCount"):
            failed = response["Entries"][0]
            raise EventPublishError(f"{failed.get('ErrorCode')}: {failed.get('ErrorMessage')}")
