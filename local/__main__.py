"""`python -m local`: serve the whole application on this machine (see README, "Set up")."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from pathlib import Path

from local.emulator.options import DEFAULT_STACK_QUOTA
from local.gateway import INTEGRATION_TIMEOUT_SECONDS
from local.stack import API_USER, ROOT, LocalConfig, LocalStack
from local.template import REGION


def banner(stack: LocalStack, elapsed: float) -> str:
    config = stack.config
    credentials = config.credentials_file
    if config.iam_auth:
        api = f"""  API          {stack.api_url}
               (AWS_IAM: requests are signed with SigV4, service execute-api)"""
    else:
        api = f"""  API          {stack.api_url}
               (signatures are not checked, as with `sam local start-api`;
               AUTH=iam make run checks SigV4 and execute-api:Invoke as API Gateway does)"""
    if credentials is not None:
        shown = credentials.resolve()
        api += f"""
  credentials  {shown}, profile {API_USER} (may invoke every route)

Try the client (it signs with the profile, through the standard AWS credential chain):
  export AGENTCORE_ECR_ENDPOINT={stack.api_url} AWS_REGION={REGION} \\
         AWS_SHARED_CREDENTIALS_FILE={shown} AWS_PROFILE={API_USER}
  .venv/bin/agentcore-ecr create team/agent-a --wait
or curl, signing with --aws-sigv4:
  curl -s --aws-sigv4 "aws:amz:{REGION}:execute-api" \\
       --user "{stack.api_keys["aws_access_key_id"]}:{stack.api_keys["aws_secret_access_key"]}" \\
       -X POST {stack.api_url}/repositories -H 'Content-Type: application/json' \\
       -d '{{"name": "team/agent-a"}}'"""
    return f"""
agentcore-ecr local stack ready in {elapsed:.1f}s
{api}

  AWS endpoint {stack.endpoint}   (moto; any credentials, region {REGION}; each function calls it
               with its own role's credentials, checked against the role's policies)
  logs         {config.log_dir}/<Function>.log

Ctrl-C stops everything."""


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m local", description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "3000")), help="API port")
    parser.add_argument(
        "--aws-port", type=int, default=int(os.environ.get("AWS_PORT", "5000")), help="moto port"
    )
    parser.add_argument(
        "--settle-seconds",
        type=float,
        default=float(os.environ.get("SETTLE_SECONDS", "2")),
        help="how long a stack reports *_IN_PROGRESS after each change (the Wait loop runs meanwhile)",
    )
    parser.add_argument(
        "--stack-quota",
        type=int,
        default=int(os.environ.get("STACK_QUOTA", str(DEFAULT_STACK_QUOTA))),
        help="CloudFormation's stack quota for the account and region: a CreateStack past it fails with "
        "LimitExceededException, as on AWS (Service Quotas L-0485CB21; AWS's default)",
    )
    parser.add_argument(
        "--poll-seconds",
        type=int,
        default=int(os.environ.get("POLL_SECONDS", "1")),
        help="StackPollIntervalSeconds: how long a wait lasts without the stack's status event, before "
        "the workflow checks the stack itself",
    )
    parser.add_argument(
        "--integration-timeout-seconds",
        type=float,
        default=float(os.environ.get("INTEGRATION_TIMEOUT_SECONDS", INTEGRATION_TIMEOUT_SECONDS)),
        help="how long the API waits for a function before it answers 504, as API Gateway does "
        "after 29 s (the function runs on)",
    )
    parser.add_argument(
        "--concurrency-quota",
        type=int,
        default=int(os.environ.get("CONCURRENCY_QUOTA", "1000")),
        help="the account's Lambda concurrency quota (AWS's default 1000; a new account's can be 10): "
        "a reservation that leaves less than Lambda's minimum unreserved is refused",
    )
    parser.add_argument(
        "--auth",
        choices=["none", "iam"],
        default=os.environ.get("AUTH") or "none",
        help="iam: check SigV4 and execute-api:Invoke as API Gateway does (AUTH=iam)",
    )
    parser.add_argument(
        "--state-dir", type=Path, default=ROOT / ".local", help="where logs/ and aws-credentials go"
    )
    parser.add_argument("--template", type=Path, default=ROOT / "template.yaml", help="the SAM template")
    parser.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a template parameter, as `sam deploy --parameter-overrides` takes it (repeatable)",
    )
    parser.add_argument(
        "--iam-log", action="store_true", help="write every IAM decision to <state dir>/iam-decisions.jsonl"
    )
    args = parser.parse_args()
    parameters = dict(item.split("=", 1) for item in args.parameter if "=" in item)
    started = time.monotonic()
    stack = LocalStack(
        LocalConfig(
            port=args.port,
            aws_port=args.aws_port,
            settle_seconds=args.settle_seconds,
            stack_quota=args.stack_quota,
            poll_interval_seconds=args.poll_seconds,
            iam_auth=args.auth == "iam",
            integration_timeout_seconds=args.integration_timeout_seconds,
            state_dir=args.state_dir,
            template=args.template,
            parameters=parameters,
            iam_log=args.iam_log,
            concurrency_quota=args.concurrency_quota,
        )
    )
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    try:
        stack.start()
        stack.wait_until_ready()
        print(banner(stack, time.monotonic() - started), flush=True)  # noqa: T201 - the banner is the point
        stopped.wait()
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
