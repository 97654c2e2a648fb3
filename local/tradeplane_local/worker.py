"""One function's container: imports the handler once, then serves invocations.

Started by the runtime as `python -m tradeplane_local.worker REQ_FD RESP_FD` with
exactly the function's environment, its folder and its layers on sys.path, and
stdout/stderr captured as the function's log stream. Like a Lambda execution
environment, module state persists between invocations and init runs once.
Only the standard library is imported here so the init time measured is the
function's own.
"""

from __future__ import annotations

import importlib
import os
import sys
import time
import traceback
from typing import Any

from tradeplane_local.wire import read_message, write_message


class LambdaContext:
    """The attributes of the Lambda context object that handlers and Powertools use."""

    def __init__(self, request_id: str, deadline_ms: int) -> None:
        name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_name = name
        self.function_version = "$LATEST"
        self.invoked_function_arn = (
            f"arn:aws:lambda:{os.environ.get('AWS_REGION', 'us-east-1')}:000000000000:function:{name}"
        )
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.aws_request_id = request_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", f"/aws/lambda/{name}")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "local")
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def _error(exc: BaseException) -> dict[str, Any]:
    return {
        "errorType": type(exc).__name__,
        "errorMessage": str(exc),
        "stackTrace": traceback.format_exception(exc)[-8:],
    }


def main() -> None:
    req_fd, resp_fd = int(sys.argv[1]), int(sys.argv[2])
    requests, responses = os.fdopen(req_fd, "rb", buffering=0), os.fdopen(resp_fd, "wb", buffering=0)
    module_name, attr = os.environ["_HANDLER"].rsplit(".", 1)
    started = time.perf_counter()
    try:
        # `folder/handler.handler` as in Lambda, whose runtime also turns `/` into `.`.
        handler = getattr(importlib.import_module(module_name.replace("/", ".")), attr)
    except BaseException as exc:  # noqa: BLE001 - an init failure is reported, like Runtime.ImportModuleError
        traceback.print_exc()
        write_message(responses, {"init_error": _error(exc)})
        return
    write_message(responses, {"ready": True, "init_ms": (time.perf_counter() - started) * 1000})
    while True:
        msg = read_message(requests)
        if msg is None:  # the runtime went away: so does the container
            return
        context = LambdaContext(msg["request_id"], msg["deadline_ms"])
        t0 = time.perf_counter()
        try:
            result = handler(msg["event"], context)
            reply: dict[str, Any] = {"ok": True, "result": result}
        except Exception as exc:  # noqa: BLE001 - a handler error is the invocation's result
            traceback.print_exc()
            reply = {"ok": False, "error": _error(exc)}
        reply["duration_ms"] = (time.perf_counter() - t0) * 1000
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            write_message(responses, reply)
        except (TypeError, ValueError) as exc:  # result not JSON-serializable, as Lambda would reject
            write_message(responses, {"ok": False, "error": _error(exc), "duration_ms": reply["duration_ms"]})


if __name__ == "__main__":
    main()
