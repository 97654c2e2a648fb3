"""Handing work to another function or a state machine: a Lambda `Event` invoke, a Step Functions execution.

    invoke_async(SETTINGS.function_name_backtest_worker, {"backtest_id": ...})
    start_execution(SETTINGS.state_machine_sweep, {"sweep_id": ..., "cells": [...]}, name=sweep_id)

The same AWS SDK calls locally and in AWS: the manifest's `uses.invokes` / `uses.starts` give the
function the deployed names (TP_FUNCTION_NAME_<NAME>, TP_STATE_MACHINE_<NAME>) and, in AWS, the IAM
to call them; the local runtime points AWS_ENDPOINT_URL_LAMBDA / AWS_ENDPOINT_URL_SFN at its own
admin server, which invokes its function hosts (docs/local-runtime.md).

Only the functions that hand off import this module, and they hand off on every accepted request, so
the SDK is imported with it, at init. The client is botocore's own (`botocore.session`): boto3 would
add only its resource layer (~25 ms of import) around the same client. Each client is made on its
first call, because making one resolves the region and credentials of the invocation's environment.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import botocore.session
from botocore.config import Config

__all__ = ["invoke_async", "reset_clients", "start_execution"]

_clients: dict[str, Any] = {}
_lock = threading.Lock()


def _client(service: str) -> Any:
    with _lock:
        if service not in _clients:
            config = Config(retries={"mode": "standard", "max_attempts": 3})
            _clients[service] = botocore.session.get_session().create_client(service, config=config)
        return _clients[service]


def invoke_async(function_name: str, payload: dict[str, Any]) -> None:
    """Queue one asynchronous invocation (Lambda retries a failed one twice; the callee must be idempotent)."""
    answer = _client("lambda").invoke(
        FunctionName=function_name, InvocationType="Event", Payload=json.dumps(payload).encode()
    )
    if answer.get("StatusCode") != 202:
        raise RuntimeError(f"{function_name} did not accept the event (status {answer.get('StatusCode')})")


def start_execution(state_machine_arn: str, payload: dict[str, Any], *, name: str) -> str:
    """Start an execution named `name` (Step Functions refuses a second running execution of one name with
    the same input: a retried start is harmless). Returns the execution ARN."""
    client = _client("stepfunctions")
    try:
        answer = client.start_execution(stateMachineArn=state_machine_arn, name=name, input=json.dumps(payload))
    except client.exceptions.ExecutionAlreadyExists:
        region_arn = state_machine_arn.replace(":stateMachine:", ":execution:")
        return f"{region_arn}:{name}"
    return str(answer["executionArn"])


def reset_clients() -> None:
    """Forget the clients (tests that change endpoints)."""
    with _lock:
        _clients.clear()
