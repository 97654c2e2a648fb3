"""The template gate: cfn-lint on every synthesized variant, zero errors, every warning acknowledged.

The variants are the session's synth outputs (conftest.py); each is linted once, in one
cfn-lint run per variant, and the results are shared by the tests below.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from pydantic import ValidationError
from tradeplane_infra.template_lint import (
    DEFAULT_REGION,
    Acknowledgment,
    Finding,
    lint_assembly,
    lint_templates,
    load_acknowledgments,
    stack_templates,
    unacknowledged,
)

from .conftest import Synth

pytestmark = [pytest.mark.infra, pytest.mark.slow]

VARIANTS = ("aws_fixture", "aws_real", "localstack_fixture", "prod_edge")


@pytest.fixture(scope="session")
def findings(request: pytest.FixtureRequest) -> dict[str, list[Finding]]:
    return {name: lint_assembly(request.getfixturevalue(name).outdir) for name in VARIANTS}


def listed(found: list[Finding]) -> list[str]:
    return [str(f) for f in found]


# --------------------------------------------------------------------------- the gate on every variant


@pytest.mark.parametrize("name", VARIANTS)
def test_every_stack_template_is_linted(request: pytest.FixtureRequest, name: str) -> None:
    synth: Synth = request.getfixturevalue(name)
    linted = {path.name for path in stack_templates(synth.outdir)}
    stacks = {f"{synth.deployment.name(role)}.template.json" for role in synth.raw if "/" not in role}
    nested = {name for name in linted if name.endswith(".nested.template.json")}
    assert linted - nested == stacks
    assert len(nested) == sum("/" in role for role in synth.raw) > 0  # each nested stack (the service's monitoring)


def test_no_errors_in_any_variant(findings: dict[str, list[Finding]]) -> None:
    errors = {name: listed([f for f in found if f.is_error]) for name, found in findings.items()}
    assert errors == {name: [] for name in VARIANTS}


def test_every_warning_is_acknowledged(findings: dict[str, list[Finding]]) -> None:
    acks = load_acknowledgments()
    failing = {name: listed(unacknowledged(found, acks)) for name, found in findings.items()}
    assert failing == {name: [] for name in VARIANTS}


def test_every_acknowledgment_still_matches_a_finding(findings: dict[str, list[Finding]]) -> None:
    everything = [f for found in findings.values() for f in found]
    stale = [a for a in load_acknowledgments() if not any(a.covers(f) for f in everything)]
    assert stale == []


# --------------------------------------------------------------------------- the gate catches what issue 7 found


def test_gate_fails_on_encrypted_replica_and_bare_major_version(aws_fixture: Synth, tmp_path: Path) -> None:
    """The data template as it was before the fix: both findings must fail the gate."""
    template = copy.deepcopy(aws_fixture.raw["data"])
    instances = {k: r for k, r in template["Resources"].items() if r["Type"] == "AWS::RDS::DBInstance"}
    (replica_id,) = [k for k, r in instances.items() if "SourceDBInstanceIdentifier" in r["Properties"]]
    (primary_id,) = set(instances) - {replica_id}
    instances[replica_id]["Properties"]["StorageEncrypted"] = True
    instances[primary_id]["Properties"]["EngineVersion"] = "16"
    path = tmp_path / "data.template.json"
    path.write_text(json.dumps(template, indent=1))

    failing = {(f.rule, f.path) for f in unacknowledged(lint_templates([path], DEFAULT_REGION), load_acknowledgments())}
    assert ("E3020", f"Resources/{replica_id}/Properties/StorageEncrypted") in failing
    assert ("W3691", f"Resources/{primary_id}/Properties") in failing


def test_data_template_pins_a_creatable_postgres_minor(aws_fixture: Synth) -> None:
    (primary,) = [
        r
        for r in aws_fixture.resources("data", "AWS::RDS::DBInstance").values()
        if "SourceDBInstanceIdentifier" not in r["Properties"]
    ]
    assert primary["Properties"]["EngineVersion"] == aws_fixture.deployment.config.database.engine_version
    assert primary["Properties"]["EngineVersion"].count(".") == 1


def test_postgres_version_needs_a_minor_the_cdk_knows() -> None:
    from aws_cdk import aws_rds as rds
    from tradeplane_infra.database import postgres_version

    assert postgres_version("16.13").postgres_full_version == rds.PostgresEngineVersion.VER_16_13.postgres_full_version
    for bad in ("16", "16.99", "x.y"):
        with pytest.raises(ValueError, match="engine_version"):
            postgres_version(bad)


# --------------------------------------------------------------------------- acknowledgments


def warning(rule: str, resource_type: str, path: str) -> Finding:
    return Finding(rule=rule, template="t.json", line=1, path=path, resource_type=resource_type, message="m")


def test_acknowledgment_covers_only_its_rule_type_and_path() -> None:
    ack = Acknowledgment(
        rule="W3005", resource_type="AWS::Lambda::Function", path="Resources/*/DependsOn/*", reason="r"
    )
    assert ack.covers(warning("W3005", "AWS::Lambda::Function", "Resources/Fn1/DependsOn/1"))
    assert not ack.covers(warning("W3005", "AWS::IAM::Role", "Resources/Role1/DependsOn/0"))
    assert not ack.covers(warning("W3005", "AWS::Lambda::Function", "Resources/Fn1/Properties/Role"))
    assert not ack.covers(warning("W3045", "AWS::Lambda::Function", "Resources/Fn1/DependsOn/1"))


def test_errors_always_fail_even_when_listed() -> None:
    error = warning("E3020", "AWS::RDS::DBInstance", "Resources/Replica/Properties/StorageEncrypted")
    ack = Acknowledgment.model_construct(rule="E3020", resource_type="*", path="*", reason="r")
    assert unacknowledged([error], [ack]) == [error]


@pytest.mark.parametrize(
    "entry",
    [
        'rule = "W3005"\npath = "Resources/*"\nreason = "   "',  # blank reason
        'rule = "W3005"\npath = "Resources/*"',  # no reason
        'rule = "E3020"\npath = "Resources/*"\nreason = "errors fail a deploy"',  # an error rule
        'rule = "W3005"\npath = "Resources/*"\nreason = "r"\nstack = "x"',  # unknown key
    ],
)
def test_acknowledgment_file_refuses_bad_entries(tmp_path: Path, entry: str) -> None:
    path = tmp_path / "ack.toml"
    path.write_text(f"[[acknowledge]]\n{entry}\n")
    with pytest.raises(ValidationError):
        load_acknowledgments(path)
