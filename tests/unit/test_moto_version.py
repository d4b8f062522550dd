"""The patches are tied to one moto release, and their canaries say which are still needed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from local import emulator
from local.emulator import canaries

ROOT = Path(__file__).resolve().parents[2]


def test_another_moto_release_is_refused_with_what_to_do() -> None:
    with pytest.raises(emulator.MotoVersionError, match=r"written for moto 5\.2\.5, but moto 5\.3\.0"):
        emulator.check_moto_version("5.3.0")


def test_the_release_the_patches_name_is_the_one_installed_and_pinned() -> None:
    emulator.check_moto_version()
    pinned = re.search(r"^moto\[[^\]]*\]==(\S+)$", (ROOT / "requirements-dev.txt").read_text(), re.M)
    assert pinned is not None
    assert pinned.group(1) == emulator.MOTO_VERSION


def test_every_canary_names_a_patch() -> None:
    assert set(canaries.CANARIES) <= set(emulator.PATCHES)


def test_unpatched_moto_still_differs_where_each_canary_says() -> None:
    environment = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    environment["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "functions")])
    result = subprocess.run(
        [sys.executable, "-m", "local.emulator.canaries"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("still needed") == len(canaries.CANARIES)
