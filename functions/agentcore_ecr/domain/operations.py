"""Operation ids, request fingerprints and the mapping of executions to Operations."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from typing import Any

_NAMESPACE = uuid.UUID("6f1c2b8e-4d0a-4f5e-9a57-2f9c8e0b7d31")
_OPERATION_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def operation_id_for(idempotency_key: str | None) -> str:
    """A key always names the same operation (and so the same execution); no key, a new one."""
    if idempotency_key is None:
        return str(uuid.uuid4())
    return str(uuid.uuid5(_NAMESPACE, idempotency_key))


def is_operation_id(value: str) -> bool:
    return bool(_OPERATION_ID.fullmatch(value))


def fingerprint(kind: str, request: Any) -> str:
    """A digest of what was asked, to tell a repeated request from a different one under the same key."""
    canonical = json.dumps({"kind": kind, "request": request}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
