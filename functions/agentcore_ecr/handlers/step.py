"""What every workflow step's handler shares: an unexpected failure is reported as `StepCrashed`.

Step Functions matches a Lambda error by its type (the exception's class name). Contract errors
(`StackNotUpdatable`, `Throttled`...) keep theirs: the workflow retries `Throttled` and reports
the others. Anything else becomes `StepCrashed`, which the workflow retries twice before it fails
the operation as `Internal`, with the detail in the function's log and never in the answer.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from agentcore_ecr.domain.errors import ServiceError, StepCrashed
from agentcore_ecr.observability import logger

Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


def workflow_step(handler: Handler) -> Handler:
    @wraps(handler)
    def step(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        try:
            return handler(event, context)
        except ServiceError:
            raise
        except Exception as error:
            logger.exception("workflow step crashed")
            raise StepCrashed("The step failed unexpectedly; the function's log has the detail.") from error

    return step
