"""Signature Version 4 as API Gateway checks it for `AWS_IAM` methods (service `execute-api`).

The signature is computed again with botocore's own signer from the request as it arrived, the
headers the client signed and the secret key the local IAM holds for the access key; a request
is refused as API Gateway refuses it: unsigned (MISSING_AUTHENTICATION_TOKEN), signed wrongly,
for another service or region, or too long ago (INVALID_SIGNATURE), with a key nobody holds.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SERVICE = "execute-api"
VALIDITY = timedelta(minutes=5)  # IAM User Guide: a request must reach AWS within 5 minutes of its date
_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)"
    r"/aws4_request,\s*SignedHeaders=(?P<signed>[^,]+),\s*Signature=(?P<signature>[0-9a-f]{64})$"
)
MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your AWS "
    "Secret Access Key and signing method. Consult the service documentation for details."
)

MALFORMED = "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters."
NO_DATE = "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."

P = TypeVar("P")


@dataclass(frozen=True)
class Refusal:
    kind: str  # the gateway response type API Gateway answers with
    message: str


@dataclass(frozen=True)
class Signer(Generic[P]):
    principal: P
    secret: str
    session_token: str | None = None  # an assumed role's; the request must carry it


def verify(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    region: str,
    signer_of: Callable[[str], Signer[P] | None],
    now: datetime | None = None,
) -> P | Refusal:
    """The principal that signed the request, or why API Gateway refuses it."""
    lowered = {key.lower(): value for key, value in headers.items()}
    authorization = lowered.get("authorization")
    if not authorization:
        return Refusal("MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token")
    parsed = _AUTHORIZATION.match(authorization.strip())
    if parsed is None:
        return Refusal("INVALID_SIGNATURE", MALFORMED)
    if parsed["service"] != SERVICE:
        return Refusal("INVALID_SIGNATURE", f"Credential should be scoped to correct service: '{SERVICE}'.")
    if parsed["region"] != region:
        return Refusal(
            "INVALID_SIGNATURE", f"Credential should be scoped to a valid region, not '{parsed['region']}'."
        )
    signer = signer_of(parsed["key"])
    if signer is None:
        return Refusal("UNAUTHORIZED", "The security token included in the request is invalid.")
    if signer.session_token is not None and lowered.get("x-amz-security-token") != signer.session_token:
        return Refusal("UNAUTHORIZED", "The security token included in the request is invalid.")
    stamp = lowered.get("x-amz-date", "")
    try:
        signed_at = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return Refusal("INVALID_SIGNATURE", NO_DATE)
    current = now or datetime.now(UTC)
    if abs(current - signed_at) > VALIDITY:
        earliest = (current - VALIDITY).strftime("%Y%m%dT%H%M%SZ")
        return Refusal(
            "INVALID_SIGNATURE",
            f"Signature expired: {stamp} is now earlier than {earliest} "
            f"({current.strftime('%Y%m%dT%H%M%SZ')} - 5 min.)",
        )
    signed = [name.strip() for name in parsed["signed"].split(";")]
    if "host" not in signed:
        return Refusal("INVALID_SIGNATURE", MISMATCH)
    request = AWSRequest(
        method=method, url=url, data=body, headers={name: lowered.get(name, "") for name in signed}
    )
    request.context["timestamp"] = stamp
    auth = SigV4Auth(Credentials(parsed["key"], signer.secret, signer.session_token), SERVICE, region)
    expected = auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)
    if not hmac.compare_digest(expected, parsed["signature"]):
        return Refusal("INVALID_SIGNATURE", MISMATCH)
    return signer.principal
