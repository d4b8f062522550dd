"""`python -m local`: serve the whole application on this machine (see README, "Set up")."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time

from local.stack import LocalConfig, LocalStack


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
    args = parser.parse_args()
    started = time.monotonic()
    stack = LocalStack(
        LocalConfig(port=args.port, aws_port=args.aws_port, settle_seconds=args.settle_seconds)
    )
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    try:
        stack.start()
        stack.wait_until_ready()
        elapsed = time.monotonic() - started
        print(  # noqa: T201 - the banner is the point
            f"""
agentcore-ecr local stack ready in {elapsed:.1f}s
  API          {stack.api_url}
  AWS endpoint {stack.endpoint}   (moto; any credentials, region us-east-1)
  logs         {stack.config.log_dir}/<Function>.log

Try:
  curl -s -X POST {stack.api_url}/repositories -H 'Content-Type: application/json' \\
       -d '{{"name": "team/agent-a"}}'

Ctrl-C stops everything.""",
            flush=True,
        )
        stopped.wait()
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
