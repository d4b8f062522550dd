"""The stack-name rule of the contract ("Stack names")."""

from __future__ import annotations

import hashlib
import re

MAX_STACK_NAME = 128
_SIMPLE = re.compile(r"[a-z0-9-]+")
_OTHER_RUNS = re.compile(r"[^a-z0-9-]+")
_HASH_DIGITS = 8


def stack_name_for(prefix: str, repository_name: str, environment: str) -> str:
    """`{prefix}-{slug}-{environment}-ecr`.

    A name made only of `[a-z0-9-]` that fits is its own slug, so a stack that
    agentcore-cli made for it is the same stack. Any other name is slugged and
    suffixed with 8 hex digits of its SHA-256, so `a.b` and `a-b` never share a stack.
    """
    head = f"{prefix}-"
    tail = f"-{environment}-ecr"
    simple = head + repository_name + tail
    if _SIMPLE.fullmatch(repository_name) and len(simple) <= MAX_STACK_NAME:
        return simple
    digest = hashlib.sha256(repository_name.encode()).hexdigest()[:_HASH_DIGITS]
    room = MAX_STACK_NAME - len(head) - len(tail) - len(digest) - 1
    slug = _OTHER_RUNS.sub("-", repository_name)[:room].strip("-")
    return f"{head}{slug}-{digest}{tail}" if slug else f"{head}{digest}{tail}"
