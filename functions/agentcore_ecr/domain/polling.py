"""How long the workflow waits between two checks of a stack.

Step Functions fails a Standard execution whose history reaches 25,000 events, and every poll
of the Wait/check loop adds a fixed number of them. The wait is the configured poll interval,
stretched to a fixed fraction of the time the operation has run so far: short operations are
polled at the interval, and the number of polls grows with the logarithm of the timeout rather
than with the timeout itself (tests/unit/test_polling.py works out the bound).
"""

from __future__ import annotations

import math

STRETCH = 30  # past STRETCH polls, a wait is 1/STRETCH of the time elapsed
SHORTEST = 1  # a wait is a task's timeout, and Step Functions takes none shorter than 1 s


def next_wait_seconds(interval_seconds: int, elapsed_seconds: float) -> int:
    return max(SHORTEST, interval_seconds, math.ceil(max(elapsed_seconds, 0.0) / STRETCH))
