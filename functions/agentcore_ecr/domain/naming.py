"""The stack-name rule (docs/api.md, "Stack names"), made collision-free by construction.

A repository's stack is `{prefix}-{body}-{environment}-ecr`:

- a *simple* name (only `[a-z0-9-]`) whose stack name fits in 128 characters is its own body, so
  the stack agentcore-cli made for it (`agentcore-{name}-{env}-ecr`) is the same stack, whatever the
  name looks like (`agent-20240101` included: agentcore-cli took any such name);
- any other name has the body `{slug}-{digest}-`: the name with every run of characters other than
  `[a-z0-9-]` turned into one `-`, shortened to fit, then `-`, the first 8 hex digits of the name's
  SHA-256, and a closing `-` (so the stack name reads `...-{digest}--{environment}-ecr`).

Why no two names share a stack (for one prefix; a deployment has one):

1. The stack name gives back its environment and its body: the environment has no `-`, so it is
   the part between the last two `-`, and the body is what lies between `{prefix}-` and
   `-{environment}-ecr`. Two names of different environments never meet; for one environment, two
   names share a stack only if they have the same body.
2. A simple name is a valid ECR name, and an ECR name ends with `[a-z0-9]`; every other body ends
   with `-`. So a simple name's body is never another name's body: no name made to look like
   `{slug}-{digest}` (`a-b-2e7336dc`, the old twin of `a.b`) can take or block another's stack.
3. Two simple names with the same body are the same name (the body is the name).
4. Two other names with the same body have the same 8-digit digest. Their names differ, so that is
   a collision of SHA-256's first 32 bits: not made by this rule, and still caught, since the
   stack's `RepositoryName` parameter names its owner and a create that finds another's name there
   answers 409 `RepositoryExists`.
"""

from __future__ import annotations

import hashlib
import re

MAX_STACK_NAME = 128
_SIMPLE = re.compile(r"[a-z0-9-]+")
_OTHER_RUNS = re.compile(r"[^a-z0-9-]+")
_HASH_DIGITS = 8


def stack_name_for(prefix: str, repository_name: str, environment: str) -> str:
    """`{prefix}-{name}-{environment}-ecr` for a simple name that fits, else
    `{prefix}-{slug}-{digest}--{environment}-ecr` (see the module's docstring for why they never meet)."""
    head = f"{prefix}-"
    tail = f"-{environment}-ecr"
    simple = head + repository_name + tail
    if _SIMPLE.fullmatch(repository_name) and len(simple) <= MAX_STACK_NAME:
        return simple
    digest = hashlib.sha256(repository_name.encode()).hexdigest()[:_HASH_DIGITS]
    hashed_tail = f"-{digest}-{tail}"  # the body ends with "-": no simple name's body does
    room = MAX_STACK_NAME - len(head) - len(hashed_tail)
    slug = _OTHER_RUNS.sub("-", repository_name)[:room].strip("-")
    return f"{head}{slug}{hashed_tail}" if slug else f"{head}{digest}-{tail}"
