"""Clients of the in-process moto that the unit suites share."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

REGION = "us-east-1"


@pytest.fixture
def cfn(aws: None) -> Any:
    return boto3.client("cloudformation", region_name=REGION)


@pytest.fixture
def ecr(aws: None) -> Any:
    return boto3.client("ecr", region_name=REGION)
