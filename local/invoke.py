"""`make invoke FUNCTION=<LogicalId> EVENT=events/<file>.json`: one function, on the running
local stack, the docker-less counterpart of `sam local invoke`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import boto3
from botocore.exceptions import ClientError, EndpointConnectionError


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m local.invoke", description=__doc__)
    parser.add_argument("function", help="the function's logical id in template.yaml")
    parser.add_argument("event", type=Path, help="the event file, e.g. events/get_repository.json")
    parser.add_argument("--aws-port", type=int, default=int(os.environ.get("AWS_PORT", "5000")))
    args = parser.parse_args()
    client = boto3.client(
        "lambda",
        endpoint_url=f"http://127.0.0.1:{args.aws_port}",
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 - moto accepts any credentials
    )
    try:
        response = client.invoke(FunctionName=args.function, Payload=args.event.read_bytes())
    except EndpointConnectionError:
        print(f"No local stack on port {args.aws_port}: start it with `make run`.", file=sys.stderr)  # noqa: T201
        return 2
    except ClientError as error:
        print(error, file=sys.stderr)  # noqa: T201
        return 2
    payload = response["Payload"].read()
    try:
        print(json.dumps(json.loads(payload), indent=2))  # noqa: T201
    except ValueError:
        print(payload.decode(errors="replace"))  # noqa: T201
    if response.get("FunctionError"):
        print(f"FunctionError: {response['FunctionError']}", file=sys.stderr)  # noqa: T201
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
