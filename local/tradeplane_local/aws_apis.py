"""The two AWS APIs functions hand work off through, answered by the local runtime: Lambda Invoke and the
Step Functions executions of the manifest's `[state_machines.*]`.

A function calls them with the AWS SDK (`tradeplane.aws_async`, botocore); the runtime points
AWS_ENDPOINT_URL_LAMBDA and AWS_ENDPOINT_URL_SFN at its admin server, which routes here.

- Lambda `Invoke` (`POST /2015-03-31/functions/<name>/invocations`): `Event` answers 202 at once and
  runs the function on its host in the background, retrying a failed invocation twice as Lambda does
  for asynchronous invokes; `RequestResponse` answers with the result.
- Step Functions `StartExecution` / `DescribeExecution` (JSON 1.0, `X-Amz-Target`): there is no Step
  Functions engine here, so an execution runs the state machine's one shape from its manifest spec,
  the same spec the CDK app builds the Distributed Map from: each item of `items_path` becomes the
  `item_selector` event for `item_function`, at most `max_concurrency` at once (further capped by the
  function's local containers), each retried `item_retries` times; then `finish_function` gets the
  `finish_payload` with `outcome` "succeeded", or "failed" (and `error`) when more than
  `tolerated_failure_percentage` of the items failed. A start with an execution name already used
  is answered as Step Functions does: the same execution when the input matches, else an error.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from tradeplane_tools.manifest import Manifest, StateMachineSpec, local_state_machine_arn

from tradeplane_local.host import InvokeResult

__all__ = ["AwsApis", "Execution", "item_event", "json_path"]

Invoker = Callable[[str, Any], InvokeResult]
Reply = tuple[int, list[tuple[str, str]], bytes]
_INVOKE_PATH = re.compile(r"^/2015-03-31/functions/([^/]+)/invocations$")
ASYNC_RETRIES = 2  # Lambda retries a failed asynchronous invocation twice


def json_path(document: Any, path: str) -> Any:
    """The value at a `$.a.b` path (the only JSONPath form the manifest allows)."""
    for part in path.removeprefix("$.").split("."):
        document = document.get(part) if isinstance(document, Mapping) else None
    return document


def item_event(selector: Mapping[str, str], execution_input: Any, index: int, value: Any) -> dict[str, Any]:
    """One item's event, as a Distributed Map's ItemSelector builds it."""
    out: dict[str, Any] = {}
    for key, path in selector.items():
        if path == "$$.Map.Item.Value":
            out[key] = value
        elif path == "$$.Map.Item.Index":
            out[key] = index
        else:
            out[key] = json_path(execution_input, path)
    return out


@dataclass
class Execution:
    arn: str
    machine: str
    input: str
    status: str = "RUNNING"
    started: float = field(default_factory=time.time)
    stopped: float | None = None
    items: int = 0
    failed_items: int = 0
    error: str | None = None


def _json(status: int, body: Any, content_type: str = "application/x-amz-json-1.0") -> Reply:
    return status, [("Content-Type", content_type)], json.dumps(body, default=str).encode()


def _sfn_error(kind: str, message: str) -> Reply:
    return _json(400, {"__type": kind, "message": message})


class AwsApis:
    def __init__(
        self, manifest: Manifest, invoke: Invoker, containers: Callable[[str], int], log: Callable[[str], None]
    ):
        self.manifest, self.invoke, self.containers, self.log = manifest, invoke, containers, log
        self.machines = {local_state_machine_arn(name): spec for name, spec in manifest.state_machines.items()}
        self.executions: dict[str, Execution] = {}
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    # ------------------------------------------------------------------ routing

    def handles(self, method: str, path: str, headers: Mapping[str, str]) -> bool:
        return method == "POST" and (_INVOKE_PATH.match(path) is not None or "x-amz-target" in headers)

    def handle(self, path: str, headers: Mapping[str, str], body: bytes) -> Reply:
        found = _INVOKE_PATH.match(path)
        if found:
            return self._lambda_invoke(found.group(1), headers.get("x-amz-invocation-type", "RequestResponse"), body)
        target = headers.get("x-amz-target", "")
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            return _sfn_error("SerializationException", "the request is not JSON")
        if target == "AWSStepFunctions.StartExecution":
            return self._start_execution(request)
        if target == "AWSStepFunctions.DescribeExecution":
            return self._describe_execution(request)
        return _sfn_error("UnknownOperationException", f"{target} is not served locally")

    # ------------------------------------------------------------------ Lambda

    def _background(self, name: str, work: Callable[[], None]) -> None:
        thread = threading.Thread(target=work, name=name, daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def _invoke_with_retries(self, function: str, event: Any, retries: int) -> InvokeResult:
        result = self.invoke(function, event)
        for _ in range(retries):
            if result.ok:
                break
            self.log(f"{function} failed ({result.error_type}); retrying")
            result = self.invoke(function, event)
        return result

    def _lambda_invoke(self, function: str, invocation_type: str, body: bytes) -> Reply:
        name = function.rsplit(":", 1)[-1]
        if name not in self.manifest.functions:
            return _json(404, {"Type": "User", "message": f"Function not found: {function}"}, "application/json")
        try:
            event = json.loads(body or b"{}")
        except ValueError:
            return _json(400, {"Type": "User", "message": "the payload is not JSON"}, "application/json")
        if invocation_type == "Event":
            self._background(
                f"async-{name}", lambda: self._log_outcome(name, self._invoke_with_retries(name, event, ASYNC_RETRIES))
            )
            return 202, [("Content-Type", "application/json")], b""
        result = self.invoke(name, event)
        headers = [("Content-Type", "application/json"), ("X-Amz-Executed-Version", "$LATEST")]
        if not result.ok:
            headers.append(("X-Amz-Function-Error", "Unhandled"))
            return 200, headers, json.dumps(result.error or {}).encode()
        return 200, headers, json.dumps(result.result).encode()

    def _log_outcome(self, function: str, result: InvokeResult) -> None:
        if not result.ok:
            self.log(f"{function}: asynchronous invocation failed after {ASYNC_RETRIES} retries: {result.error_type}")

    # ------------------------------------------------------------------ Step Functions

    def _start_execution(self, request: Mapping[str, Any]) -> Reply:
        spec = self.machines.get(str(request.get("stateMachineArn", "")))
        if spec is None:
            return _sfn_error("StateMachineDoesNotExist", f"no state machine {request.get('stateMachineArn')}")
        name = str(request.get("name") or uuid.uuid4())
        raw_input = str(request.get("input") or "{}")
        arn = f"{local_state_machine_arn(spec.name).replace(':stateMachine:', ':execution:')}:{name}"
        with self._lock:
            earlier = self.executions.get(arn)
            if earlier is None:
                execution = self.executions[arn] = Execution(arn, spec.name, raw_input)
        if earlier is not None:
            if earlier.input != raw_input:
                return _sfn_error("ExecutionAlreadyExists", f"execution {name} already exists")
            return _json(200, {"executionArn": earlier.arn, "startDate": earlier.started})
        self._background(f"sfn-{name}", lambda: self._run(spec, execution, json.loads(raw_input)))
        return _json(200, {"executionArn": arn, "startDate": execution.started})

    def _describe_execution(self, request: Mapping[str, Any]) -> Reply:
        execution = self.executions.get(str(request.get("executionArn", "")))
        if execution is None:
            return _sfn_error("ExecutionDoesNotExist", "no such execution")
        return _json(
            200,
            {
                "executionArn": execution.arn,
                "stateMachineArn": local_state_machine_arn(execution.machine),
                "status": execution.status,
                "startDate": execution.started,
                **({"stopDate": execution.stopped} if execution.stopped else {}),
                "input": execution.input,
                **({"error": execution.error} if execution.error else {}),
            },
        )

    def _run(self, spec: StateMachineSpec, execution: Execution, document: Any) -> None:
        items = json_path(document, spec.items_path)
        items = items if isinstance(items, list) else []
        execution.items = len(items)
        width = max(1, min(spec.max_concurrency, self.containers(spec.item_function)))

        def one(pair: tuple[int, Any]) -> bool:
            index, value = pair
            event = item_event(spec.item_selector, document, index, value)
            return self._invoke_with_retries(spec.item_function, event, spec.item_retries).ok

        with ThreadPoolExecutor(max_workers=width, thread_name_prefix=f"map-{spec.name}") as pool:
            outcomes = list(pool.map(one, enumerate(items)))
        execution.failed_items = outcomes.count(False)
        tolerated = len(items) * spec.tolerated_failure_percentage / 100
        finish = {key: json_path(document, path) for key, path in spec.finish_payload.items()}
        if execution.failed_items > tolerated:
            execution.error = "States.ExceedToleratedFailureThreshold"
            finish.update(outcome="failed", error=execution.error)
        else:
            finish["outcome"] = "succeeded"
        result = self._invoke_with_retries(spec.finish_function, finish, spec.item_retries)
        execution.status = "SUCCEEDED" if result.ok and execution.error is None else "FAILED"
        execution.stopped = time.time()
        self.log(f"state machine {spec.name}: execution {execution.arn} {execution.status} ({len(items)} items)")

    def wait_idle(self, timeout_s: float = 10.0) -> None:
        """Wait for background invocations and executions (shutdown)."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
