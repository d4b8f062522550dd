"""Logger and Metrics, created once for every function.

No Powertools Tracer: the functions run with Lambda's active tracing (`Tracing: Active`), which
records a segment for every invocation without the X-Ray SDK, whose import alone cost a handler
about 200 ms of its cold start (README, "Cold start and what is shipped").
"""

from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.metrics import Metrics

logger = Logger()
metrics = Metrics()
