"""Hypothesis profiles of the property suite, chosen with HYPOTHESIS_PROFILE (default `ci`).

- `ci`: 100 examples a test, the same examples on every run (derandomize, no example database), no
  deadline and no timing health check, so a slow or busy machine neither fails nor varies a run.
- `thorough`: 2000 random examples a test, remembered in .hypothesis/ when one fails:
  `HYPOTHESIS_PROFILE=thorough .venv/bin/python -m pytest -p no:randomly tests/property`.

Hypothesis settings are process-wide: a session that collects this directory runs the other suites'
`@given` tests under the same profile.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("thorough", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
