"""Where moto differs from AWS in ways the service depends on, and how the local stack mends it.

Each patch names the difference, what AWS does instead and the AWS documentation it follows.
`apply()` installs them all, once, in the process that runs moto (the local stack's server, or a
test process). The product code never knows: it talks to what looks like AWS.

1. ECR_REPOSITORY_PROPERTIES - moto's `AWS::ECR::Repository` ignores `LifecyclePolicy` and
   `EmptyOnDelete`, stores `ImageScanningConfiguration` and `EncryptionConfiguration` under
   CloudFormation's keys (`ScanOnPush`) instead of ECR's (`scanOnPush`), and on update only adds
   tags; it replaces a repository whose name changes by deleting it first. AWS applies all of them,
   removes the tags an update drops, and replaces a repository only under a new name, creating the
   new one first (CloudFormation User Guide, AWS::ECR::Repository; "Update behaviors of stack
   resources": a custom-named resource cannot be replaced under the same name). moto compares a
   create-only property with the live repository; CloudFormation compares it with the previous
   template, so declaring the AES256 a template left out is a replacement too
   (cloudformation-coverage-roadmap issue 2502).
2. FAILED_CREATE_ROLLS_BACK - a resource that fails makes moto's CreateStack raise and leaves the
   stack in CREATE_IN_PROGRESS for ever. AWS accepts the call, gives the reason in a CREATE_FAILED
   event, deletes what it had created and ends in ROLLBACK_COMPLETE, or in ROLLBACK_FAILED when a
   delete fails too (CloudFormation User Guide, "Stack status codes").
3. FAILED_UPDATE_ROLLS_BACK - the same for UpdateStack: AWS rolls the resources back to their
   previous properties, with the stack's role, and ends in UPDATE_ROLLBACK_COMPLETE with the
   previous template, parameters and tags, or in UPDATE_ROLLBACK_FAILED when the rollback fails.
4. FAILED_DELETE_KEEPS_STACK - DeleteStack of a repository with images raises in moto and yet
   removes the stack, leaving the repository behind; describing a deleted stack evaluates its
   outputs, which creates its resources again. AWS ends in DELETE_FAILED and keeps both; a stack
   being deleted is found by name (DELETE_IN_PROGRESS) until it is gone; a deleted one has no
   outputs.
5. EQUALS_COMPARES_TEXT - moto resolves Number parameters to numbers, so `!Equals [!Ref Count, "0"]`
   is false for 0. AWS compares the two values as strings.
6. NO_OP_UPDATE_BY_VALUE - moto finds "No updates are to be performed" only when the resolved
   parameters are equal as Python values (30 != "30"), and ignores tags. AWS compares the
   template, the parameter values as text and the stack's tags.
7. PARAMETER_CHANGE_UPDATES_RESOURCES - when only parameters change, moto updates the resources
   that `Ref` them but misses those that use them in `Fn::Sub` (the lifecycle policy text).
   AWS updates every resource whose properties change.
8. LAMBDA_RUNS_HANDLERS - moto runs Lambda code only in Docker; without it, invocations go to
   `options.invoke` (the local stack's function workers), and a function error is reported in
   the `X-Amz-Function-Error` header as Lambda does.
9. EVENTBRIDGE_TO_LAMBDA - moto's EventBridge delivers to SQS, logs and buses, not to Lambda
   targets. Here a Lambda target is invoked asynchronously through `options.invoke_async`, when
   the function's resource-based policy lets the rule invoke it (EventBridge User Guide, "Using
   resource-based policies"); otherwise the event goes to the target's dead-letter queue.
10. SETTLE_DELAY - moto's CloudFormation is synchronous. With `settle_seconds` > 0 a stack reports
   its *_IN_PROGRESS status for that long after each change, as AWS does while it works, so the
   workflow's Wait/check loop runs for real (`float("inf")`: a stack that never settles).
11. STACK_STATE_RULES - moto updates a stack in any status but ROLLBACK_COMPLETE, deletes one in
   the middle of an update, has no ContinueUpdateRollback, and forgets a stack's service role when
   an update does not pass one. AWS updates only CREATE_COMPLETE, UPDATE_COMPLETE,
   UPDATE_ROLLBACK_COMPLETE and IMPORT_*_COMPLETE stacks ("Stack:<id> is in <status> state and can
   not be updated."), continues a rollback only from UPDATE_ROLLBACK_FAILED, and keeps using the
   role a stack was given (CloudFormation API Reference: UpdateStack, ContinueUpdateRollback).
12. CLIENT_REQUEST_TOKEN - moto ignores ClientRequestToken. AWS gives every event of an operation
   that operation's token, and a call retried with the token of the stack's latest operation is
   the same call, not a second one (CloudFormation API Reference: CreateStack, StackEvent).
13. RESOURCE_SCHEMAS - moto applies whatever properties a template gives. AWS validates them
   against the resource type's schema first (the schemas cfn-lint ships) and fails the resource
   with "Properties validation failed for resource <id> with message: [...]" (StackEvent's
   DetailedStatus VALIDATION_FAILED).
14. HANDLER_PERMISSIONS - moto creates, updates and deletes resources with no permissions at all.
   AWS's resource handlers run with the stack's service role (or else the caller's credentials)
   and need every permission their schema lists for the operation (CloudFormation User Guide,
   "service role"; the `handlers` of the resource schema).
15. IAM_ENFORCED - moto accepts every request (its own access control checks actions, not
   resources or conditions). AWS authorizes each one against the caller's policies; here every
   request signed with the credentials of an assumed role (a function's, the state machine's) is
   authorized as local/iam.py writes out, and refused with AWS's AccessDenied otherwise. Other
   credentials stay unchecked, so people and tools can use the endpoint with any keys.
16. STATE_MACHINE_ROLE - moto's Step Functions calls its task integrations (Lambda, EventBridge)
   with fixed keys. AWS calls them as the state machine's role, which must allow them.
17. IAM_POLICY_VERSION - moto refuses a policy without `Version` (as SAM's policy templates make
   them). IAM accepts it as a 2008-10-17 policy (IAM User Guide, "IAM JSON policy elements:
   Version").
18. MISSING_RESOURCE_DELETED - moto's DeleteStack fails when a resource was already deleted
   outside CloudFormation (a repository deleted by hand). AWS's delete handler answers NotFound
   and CloudFormation counts the resource as deleted (CloudFormation CLI User Guide, "Resource
   type handler contract": a delete handler returns NotFound for a resource that does not exist).
19. EXECUTION_STATUS_EVENTS - moto's Step Functions emits no events. AWS sends a `Step Functions
   Execution Status Change` event to the account's default bus whenever a Standard execution
   starts or ends (RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED), with the execution's ARN,
   status, dates in epoch milliseconds and its input (EventBridge Events Reference, "AWS Step
   Functions events"; best-effort delivery).
20. EVENT_HAS_ACCOUNT - moto's EventBridge drops `account` from the events it delivers to queues.
   AWS delivers every event with its envelope: version, id, detail-type, source, account, time,
   region, resources, detail (EventBridge User Guide, "Amazon EventBridge events").
21. STACK_CALLS_ATOMIC - moto's CreateStack lists the stack before it has made its resources, and
   DescribeStacks resolves a stack's outputs by making the resources they name if they are not
   made yet: a DescribeStacks answered (in another thread of the server) during a CreateStack made
   the repository a second time and failed with RepositoryAlreadyExistsException, a 500. AWS
   answers DescribeStacks from the stack's recorded state and never makes a resource for it; here
   CloudFormation's API calls run one at a time, so each sees the others whole.
22. STACK_STATUS_EVENTS - moto's CloudFormation emits no events. AWS sends a `CloudFormation Stack
   Status Change` event to the account's default bus each time a stack's status changes, with
   `stack-id`, `status-details.status`, `status-details.status-reason` and the operation's
   `client-request-token` (CloudFormation User Guide, "Stack Status Change event detail"). Here
   each status is announced when the call that set it returns, and the one a stack settles in
   when it reports it (after `settle_seconds`, patch 10); best-effort delivery, as on AWS.
23. DISABLED_RULES_SILENT - moto's EventBridge delivers events to a rule's targets whatever the
   rule's state. AWS delivers nothing to a disabled rule's targets (EventBridge API Reference,
   DisableRule: "a disabled rule won't match any events").
24. STOP_ENDS_A_CALLBACK_WAIT - moto's StopExecution leaves a task that waits for its token
   (`.waitForTaskToken`) waiting until its timeout, and the timeout's error then ends the execution
   FAILED. AWS stops the execution at once, ABORTED, and its task token no longer resumes anything
   (Step Functions API Reference, StopExecution; SendTaskSuccess answers TaskTimedOut).
25. TRUST_POLICIES - moto lets a service use any role. AWS lets a service assume a role only if the
   role's trust policy allows the service's principal, with the condition keys that service sends:
   CloudFormation for a stack's service role (no key documented, so none is sent; otherwise the
   stack call fails with ValidationError "Role <arn> is invalid or cannot be assumed"), Lambda for a
   function's execution role (none documented; CreateFunction fails with
   InvalidParameterValueException), Step Functions for the state machine's role (`aws:SourceArn`,
   `aws:SourceAccount`; CreateStateMachine fails with AccessDeniedException). IAM User Guide, "IAM
   JSON policy elements: Principal" (service principals) and "Policy evaluation logic"; Step
   Functions Developer Guide, "Creating an IAM role for your state machine". With IAM enforced, the
   tags of a stack also reach IAM as `aws:ResourceTag/<key>`, and a call's tags as
   `aws:RequestTag/<key>` and `aws:TagKeys` (local/iam.py; Service Authorization Reference,
   CloudFormation).
26. UPDATE_PARAMETERS_CHECKED - moto's UpdateStack takes any parameter key: one the template
   does not declare is ignored, and UsePreviousValue for a key the stack has no value of given
   (one the previous template did not have, or one the stack took by default) fails with a
   KeyError, a 500. AWS refuses UsePreviousValue for a key the previous template did not declare
   ("Invalid input for parameter key <key>. Cannot specify usePreviousValue as true for a parameter
   key not in the previous template") and a key the template applied does not declare
   ("Parameters: [<keys>] do not exist in the template"), and gives UsePreviousValue the value the
   stack has, a default included (CloudFormation API Reference: UpdateStack, Parameter:
   "UsePreviousValue: during a stack update, use the existing parameter value that the stack is
   using for a given parameter key").
27. UNCATCHABLE_ERRORS - moto's `States.ALL` retries and catches every error. AWS's matches
   neither `States.DataLimitExceeded` (a state's input or output over the 256 KiB payload quota: a
   terminal error) nor `States.Runtime` (a path that selects nothing, and the like: never retried,
   it always fails the execution), so either ends the execution FAILED past every `Catch`
   (Step Functions Developer Guide, "Handling errors in Step Functions workflows"; "Step Functions
   service quotas"). moto already raises both; only the matching is mended.
28. PUT_EVENTS_ERRORS_ARE_TASK_FAILURES - moto reports an error EventBridge answers to an
   `events:putEvents` task (throttling, an internal error) as `States.Runtime`, which nothing may
   then retry or catch. AWS reports a service's error as the task's failure, which `Retry` and
   `Catch` take (Step Functions Developer Guide, "Handling errors in Step Functions workflows":
   `States.Runtime` is an execution's own processing error; "Call EventBridge with Step
   Functions"). Here it is `EventBridge.<error code>`, as AWS SDK integrations name a service's
   errors; the service matches it only through `States.ALL`.
29. ECR_NAME_RULE - moto's CreateRepository refuses names ECR creates (`a__b`, `my--agent`): it
   allows one `.`, `_` or `-` between runs of `[a-z0-9]`. ECR joins them by `.`, `_`, `__` or any
   number of `-` (Amazon ECR API Reference, CreateRepository: the `repositoryName` pattern of ECR's
   API model, the same as the `AWS::ECR::Repository` resource schema's); here moto checks ECR's own
   pattern, read from botocore's model.
30. DELIVERED_ENVELOPE - moto hands a Lambda target (and a dead-letter queue) its own record of an
   event: `time` a Unix timestamp, and a moto-only `ingestion-time`. EventBridge delivers the
   envelope only (`version`, `id`, `detail-type`, `source`, `account`, `time`, `region`,
   `resources`, `detail`), `time` in ISO 8601 UTC, e.g. `2026-11-27T06:46:01Z` (EventBridge User
   Guide, "Amazon EventBridge events").
31. LAMBDA_CONCURRENCY_QUOTA - moto's PutFunctionConcurrency reserves any number (its own quota
   only with MOTO_LAMBDA_CONCURRENCY_QUOTA in the environment). Lambda keeps at least 100 of the
   account's concurrent executions unreserved (Lambda API Reference, PutFunctionConcurrency; Lambda
   Developer Guide, "Configuring reserved concurrency"), all of them in an account whose quota is
   under 100, and refuses a reservation that would leave fewer with InvalidParameterValueException,
   HTTP 400, "Specified ReservedConcurrentExecutions for function decreases account's
   UnreservedConcurrentExecution below its minimum value of [100]." The quota is
   `options.lambda_concurrency_quota`, AWS's default 1,000 unless set (Lambda quotas: new accounts
   have reduced ones).
32. STACK_QUOTA - moto's CreateStack makes any number of stacks. CloudFormation refuses one past
   the account's stack quota in the Region (Service Quotas code L-0485CB21, "Stack count", 2,000 by
   default; CloudFormation User Guide, "Understand CloudFormation quotas"), counting every stack of
   the account in the Region that is not DELETE_COMPLETE, whoever made it: `LimitExceededException`,
   HTTP 400, and no stack (CloudFormation API Reference, CreateStack, Errors: LimitExceeded). The
   quota is `options.stack_quota` (the local stack's `--stack-quota`).

Not a patch: `faults` lets tests arm AWS's bad moments (throttling, server errors) for one API
operation, and see the retries the service makes; and BatchDeleteImage's answer for an image it
does not delete (`fail_image_delete`: a `failures[]` entry with a `failureCode` such as `KmsError`;
ECR API Reference, BatchDeleteImage and ImageFailure).

Patches 14 to 16 and 25 act when `options.enforce_iam` is set (the local stack sets it); tests that run
moto in their own process set it where they test IAM.
"""

from __future__ import annotations

from importlib import metadata

from local.emulator import (
    access,
    cloudformation,
    concurrency,
    ecr,
    ecr_names,
    faults,
    functions,
    stack_quota,
    stepfunctions,
    trust,
)
from local.emulator.options import EmulatorOptions, options

PATCHES = (
    "ECR_REPOSITORY_PROPERTIES",
    "FAILED_CREATE_ROLLS_BACK",
    "FAILED_UPDATE_ROLLS_BACK",
    "FAILED_DELETE_KEEPS_STACK",
    "EQUALS_COMPARES_TEXT",
    "NO_OP_UPDATE_BY_VALUE",
    "PARAMETER_CHANGE_UPDATES_RESOURCES",
    "LAMBDA_RUNS_HANDLERS",
    "EVENTBRIDGE_TO_LAMBDA",
    "SETTLE_DELAY",
    "STACK_STATE_RULES",
    "CLIENT_REQUEST_TOKEN",
    "RESOURCE_SCHEMAS",
    "HANDLER_PERMISSIONS",
    "IAM_ENFORCED",
    "STATE_MACHINE_ROLE",
    "IAM_POLICY_VERSION",
    "MISSING_RESOURCE_DELETED",
    "EXECUTION_STATUS_EVENTS",
    "EVENT_HAS_ACCOUNT",
    "STACK_CALLS_ATOMIC",
    "STACK_STATUS_EVENTS",
    "DISABLED_RULES_SILENT",
    "STOP_ENDS_A_CALLBACK_WAIT",
    "TRUST_POLICIES",
    "UPDATE_PARAMETERS_CHECKED",
    "UNCATCHABLE_ERRORS",
    "PUT_EVENTS_ERRORS_ARE_TASK_FAILURES",
    "ECR_NAME_RULE",
    "DELIVERED_ENVELOPE",
    "LAMBDA_CONCURRENCY_QUOTA",
    "STACK_QUOTA",
)
__all__ = ["MOTO_VERSION", "PATCHES", "EmulatorOptions", "MotoVersionError", "apply", "options"]
_applied = False

# The moto release the patches were written against and their canaries last run on
# (requirements-dev.txt pins the same; docs/upgrading-moto.md says how to move it).
MOTO_VERSION = "5.2.5"


class MotoVersionError(RuntimeError):
    """The installed moto is not the release the patches were written for."""


def check_moto_version(installed: str | None = None) -> None:
    """Refuse to patch a moto other than MOTO_VERSION: its private attributes may have moved."""
    found = installed if installed is not None else metadata.version("moto")
    if found != MOTO_VERSION:
        raise MotoVersionError(
            f"the local stack's patches were written for moto {MOTO_VERSION}, "
            f"but moto {found} is installed. Install moto=={MOTO_VERSION} (make install), "
            "or follow docs/upgrading-moto.md to move the patches to the new release."
        )


def apply() -> None:
    """Install every patch of PATCHES (once per process)."""
    global _applied  # noqa: PLW0603 - one set of patches per process
    if _applied:
        return
    check_moto_version()
    ecr.apply()  # 1
    cloudformation.apply()  # 2-7, 10-14, 18, 21, 22 (with stack_events), 25, 26
    functions.apply()  # 8, 9, 20, 23, 30
    access.apply()  # 15, 17
    stepfunctions.apply()  # 16, 19, 24, 27, 28
    concurrency.apply()  # 31 (before trust: CreateFunction checks the role first, as Lambda does)
    trust.apply()  # 25 (CloudFormation's part in cloudformation.apply)
    ecr_names.apply()  # 29
    stack_quota.apply()  # 32 (after 2: a refused call makes no stack to roll back)
    faults.apply()
    _applied = True
