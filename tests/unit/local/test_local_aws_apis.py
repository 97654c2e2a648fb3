"""The local Lambda Invoke and Step Functions path: item events, bounded fan-out, retries, the finish step."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from tradeplane_local.aws_apis import AwsApis, item_event, json_path
from tradeplane_local.host import InvokeResult
from tradeplane_tools.manifest import ManifestError, local_state_machine_arn, parse_manifest

BASE: dict[str, Any] = {
    "defaults": {"layers": ["shared"]},
    "layers": {"shared": {"kind": "source", "source": "layers/shared"}},
    "functions": {
        "starter": {"component": "demo", "path": "demo/starter", "uses": {"starts": ["fan"], "invokes": ["worker"]}},
        "worker": {"component": "demo", "path": "demo/worker"},
        "finish": {"component": "demo", "path": "demo/finish"},
    },
    "state_machines": {
        "fan": {
            "items_path": "$.items",
            "item_selector": {"job": "$.job", "value": "$$.Map.Item.Value", "index": "$$.Map.Item.Index"},
            "item_function": "worker",
            "item_retries": 1,
            "finish_function": "finish",
            "finish_payload": {"job": "$.job"},
            "max_concurrency": 3,
            "tolerated_failure_percentage": 0,
        }
    },
}


class Recorder:
    def __init__(self, fail: set[Any] = frozenset()) -> None:  # type: ignore[assignment]
        self.calls: list[tuple[str, Any]] = []
        self.fail, self.active, self.peak = set(fail), 0, 0
        self.lock = threading.Lock()

    def __call__(self, function: str, event: Any) -> InvokeResult:
        with self.lock:
            self.calls.append((function, event))
            self.active += 1
            self.peak = max(self.peak, self.active)
        time.sleep(0.02)
        with self.lock:
            self.active -= 1
        failed = function == "worker" and event["value"] in self.fail
        return InvokeResult(not failed, "r", result=None, error={"errorType": "Boom"} if failed else None)


def _apis(recorder: Recorder) -> AwsApis:
    return AwsApis(parse_manifest(BASE), recorder, lambda fn: 8, lambda line: None)


def _start(apis: AwsApis, document: dict[str, Any], name: str) -> dict[str, Any]:
    status, _, body = apis.handle(
        "/",
        {"x-amz-target": "AWSStepFunctions.StartExecution"},
        json.dumps(
            {"stateMachineArn": local_state_machine_arn("fan"), "name": name, "input": json.dumps(document)}
        ).encode(),
    )
    assert status == 200, body
    return dict(json.loads(body))


def _describe(apis: AwsApis, arn: str) -> dict[str, Any]:
    for _ in range(200):
        _status, _, body = apis.handle(
            "/", {"x-amz-target": "AWSStepFunctions.DescribeExecution"}, json.dumps({"executionArn": arn}).encode()
        )
        answer = dict(json.loads(body))
        if answer["status"] != "RUNNING":
            return answer
        time.sleep(0.02)
    raise AssertionError("execution did not finish")


def test_item_events_follow_the_selector() -> None:
    doc = {"job": "j1", "nested": {"x": 3}}
    assert json_path(doc, "$.nested.x") == 3
    assert item_event({"job": "$.job", "v": "$$.Map.Item.Value", "i": "$$.Map.Item.Index"}, doc, 4, 9) == {
        "job": "j1", "v": 9, "i": 4,
    }  # fmt: skip


def test_execution_runs_every_item_bounded_then_finishes() -> None:
    rec = Recorder()
    apis = _apis(rec)
    started = _start(apis, {"job": "j1", "items": list(range(10))}, "one")
    done = _describe(apis, started["executionArn"])
    assert done["status"] == "SUCCEEDED"
    worker = [e for f, e in rec.calls if f == "worker"]
    assert sorted(e["value"] for e in worker) == list(range(10))
    assert all(e["job"] == "j1" and e["index"] == e["value"] for e in worker)
    assert rec.peak <= 3  # the map's max_concurrency
    assert rec.calls[-1] == ("finish", {"job": "j1", "outcome": "succeeded"})
    # The same name and input is the same execution (a retried start); another input is refused.
    assert _start(apis, {"job": "j1", "items": list(range(10))}, "one")["executionArn"] == started["executionArn"]
    status, _, body = apis.handle(
        "/",
        {"x-amz-target": "AWSStepFunctions.StartExecution"},
        json.dumps({"stateMachineArn": local_state_machine_arn("fan"), "name": "one", "input": "{}"}).encode(),
    )
    assert status == 400 and json.loads(body)["__type"] == "ExecutionAlreadyExists"


def test_failed_items_are_retried_then_fail_the_execution() -> None:
    rec = Recorder(fail={2})
    apis = _apis(rec)
    done = _describe(apis, _start(apis, {"job": "j2", "items": [1, 2, 3]}, "two")["executionArn"])
    assert done["status"] == "FAILED"
    assert [e["value"] for f, e in rec.calls if f == "worker"].count(2) == 2  # first try + item_retries
    assert rec.calls[-1][1]["outcome"] == "failed"


def test_lambda_event_invoke_answers_202_and_runs_in_the_background() -> None:
    rec = Recorder()
    apis = _apis(rec)
    status, _, _ = apis.handle(
        "/2015-03-31/functions/worker/invocations", {"x-amz-invocation-type": "Event"}, b'{"value": 7}'
    )
    assert status == 202
    apis.wait_idle()
    assert rec.calls == [("worker", {"value": 7})]
    status, _, _ = apis.handle("/2015-03-31/functions/nope/invocations", {}, b"{}")
    assert status == 404


def test_manifest_refuses_unknown_targets() -> None:
    bad = json.loads(json.dumps(BASE))
    bad["functions"]["starter"]["uses"] = {"starts": ["nope"], "invokes": ["ghost"]}
    bad["state_machines"]["fan"]["item_function"] = "missing"
    with pytest.raises(ManifestError) as err:
        parse_manifest(bad)
    text = str(err.value)
    assert "unknown state machine 'nope'" in text and "unknown function 'ghost'" in text
    assert "state_machines.fan.item_function: unknown function 'missing'" in text
