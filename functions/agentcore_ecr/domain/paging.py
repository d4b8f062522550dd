"""The page token of `GET /repositories`: opaque to the caller, the last name of its page to us.

The catalog's pages are ordered by name, so the next page starts strictly after the last name
given. A token this API did not issue (bad base64, not our JSON, not a repository name) is a
400 `ValidationError` on `nextToken`, never a 500 or a page from elsewhere.
"""

from __future__ import annotations

import base64
import binascii
import json
import re

from agentcore_ecr.domain import errors
from agentcore_ecr.domain.models import REPOSITORY_NAME_PATTERN


def encode_token(last_name: str) -> str:
    """An opaque cursor: the last name of the page, so the next page starts strictly after it."""
    return base64.urlsafe_b64encode(json.dumps({"after": last_name}).encode()).decode().rstrip("=")


def decode_token(token: str) -> str:
    """The name a token says its page ended on."""
    try:
        padded = token + "=" * (-len(token) % 4)
        if not re.fullmatch(r"[A-Za-z0-9_-]+=*", padded):
            raise ValueError(token)
        after = json.loads(base64.urlsafe_b64decode(padded))["after"]
        if not isinstance(after, str) or not re.fullmatch(REPOSITORY_NAME_PATTERN, after):
            raise ValueError(token)
    except (binascii.Error, UnicodeDecodeError, ValueError, KeyError, TypeError) as error:
        raise errors.ValidationError(
            "Invalid nextToken: pass the value a previous page returned.",
            details=[{"location": "query", "field": "nextToken", "message": "not a token this API issued"}],
        ) from error
    return after
