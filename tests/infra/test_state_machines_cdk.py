"""The manifest's state machines in the CDK app: the sweep's Distributed Map, its limits and its IAM.

Synthesized from the real manifest (placeholder assets), once per session with the other infra tests.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from .conftest import Synth

pytestmark = [pytest.mark.infra, pytest.mark.slow]


def _definition(machine: dict[str, Any]) -> dict[str, Any]:
    """The ASL of a synthesized machine (DefinitionString is an Fn::Join of literals and tokens)."""
    body = machine["Properties"]["DefinitionString"]
    parts = body["Fn::Join"][1] if isinstance(body, dict) else [body]
    text = "".join(p if isinstance(p, str) else '"TOKEN"' for p in parts)
    return dict(json.loads(text.replace('""TOKEN""', '"TOKEN"')))


def _machine(s: Synth, name: str) -> dict[str, Any]:
    found = [
        m
        for m in s.resources("service", "AWS::StepFunctions::StateMachine").values()
        if m["Properties"]["StateMachineName"] == s.deployment.name(name)
    ]
    assert len(found) == 1, found
    return found[0]


def _policies_of_role(s: Synth, role_ref: dict[str, Any]) -> list[dict[str, Any]]:
    role_id = role_ref["Fn::GetAtt"][0]
    return [
        st
        for p in s.resources("service", "AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
        for st in p["Properties"]["PolicyDocument"]["Statement"]
    ]


def _actions(statements: list[dict[str, Any]]) -> set[str]:
    out: set[str] = set()
    for st in statements:
        out.update([st["Action"]] if isinstance(st["Action"], str) else st["Action"])
    return out


def test_sweep_is_a_distributed_map_over_the_cell_function(aws_real: Synth) -> None:
    spec = aws_real.deployment.manifest.state_machines["sweep"]
    machine = _machine(aws_real, "sweep")
    asl = _definition(machine)
    fan_out = asl["States"][asl["StartAt"]]
    assert fan_out["Type"] == "Map"
    assert fan_out["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    assert fan_out["ItemsPath"] == spec.items_path
    assert fan_out["ItemSelector"] == {f"{k}.$": v for k, v in spec.item_selector.items()}
    assert fan_out["MaxConcurrency"] == spec.max_concurrency
    assert fan_out.get("ToleratedFailurePercentage", 0) == spec.tolerated_failure_percentage
    assert fan_out["ResultPath"] is None  # cells store their own results; nothing grows the state
    item = fan_out["ItemProcessor"]["States"][fan_out["ItemProcessor"]["StartAt"]]
    assert item["Type"] == "Task" and item["Retry"][0]["MaxAttempts"] == spec.item_retries
    finish = asl["States"][fan_out["Next"]]
    # payload_response_only: the task's Parameters are the function's event itself.
    assert finish["Parameters"] == {**{f"{k}.$": v for k, v in spec.finish_payload.items()}, "outcome": "succeeded"}
    catcher = fan_out["Catch"][0]
    assert catcher["ErrorEquals"] == ["States.ALL"]
    assert asl["States"][catcher["Next"]]["Parameters"]["outcome"] == "failed"
    assert machine["Properties"]["TracingConfiguration"] == {"Enabled": True}
    assert machine["Properties"]["LoggingConfiguration"]["Level"] == "ALL"


def test_machine_role_invokes_its_functions_and_starts_child_executions(aws_real: Synth) -> None:
    machine = _machine(aws_real, "sweep")
    statements = _policies_of_role(aws_real, machine["Properties"]["RoleArn"])
    acts = _actions(statements)
    assert "lambda:InvokeFunction" in acts
    assert "states:StartExecution" in acts  # Distributed Map runs each batch of items as a child execution
    invoked = json.dumps([st["Resource"] for st in statements if "lambda:InvokeFunction" in _actions([st])])
    functions = aws_real.resources("service", "AWS::Lambda::Function")
    names = {k: str(f["Properties"].get("FunctionName", "")) for k, f in functions.items()}
    cell = next(k for k, name in names.items() if name.endswith("-sweep-cell"))
    finish = next(k for k, name in names.items() if name.endswith("-sweep-finish"))
    assert cell in invoked and finish in invoked


def test_starters_and_invokers_get_exactly_their_targets(aws_real: Synth) -> None:
    d = aws_real.deployment
    functions = {
        f["Properties"].get("FunctionName"): f for f in aws_real.resources("service", "AWS::Lambda::Function").values()
    }
    for fn in d.manifest.functions.values():
        props = functions[d.function_name(fn)]["Properties"]
        statements = _policies_of_role(aws_real, props["Role"])
        acts = _actions(statements)
        assert ("states:StartExecution" in acts) == bool(fn.uses.starts), fn.name
        assert ("lambda:InvokeFunction" in acts) == bool(fn.uses.invokes), fn.name
        env = props.get("Environment", {}).get("Variables", {})
        for target in fn.uses.invokes:
            assert env[f"TP_FUNCTION_NAME_{target.upper()}"] == d.function_name(d.manifest.function(target))
            granted = json.dumps([st["Resource"] for st in statements if "lambda:InvokeFunction" in _actions([st])])
            assert d.function_name(d.manifest.function(target)) in granted
        for machine in fn.uses.starts:
            assert f"TP_STATE_MACHINE_{machine.upper()}" in env
            granted = json.dumps([st["Resource"] for st in statements if "states:StartExecution" in _actions([st])])
            assert f"stateMachine:{d.name(machine)}" in granted
    assert d.manifest.function("backtests_create").uses.invokes == ("backtest_worker",)
    assert d.manifest.function("sweeps_create").uses.starts == ("sweep",)


def test_service_stack_stays_under_the_resource_limit(aws_real: Synth) -> None:
    count = len(aws_real.raw["service"]["Resources"])
    # 500 is CloudFormation's limit; the margin is room for a few more functions before the next split.
    assert count <= 475, f"the service stack has {count} resources; CloudFormation allows 500"
