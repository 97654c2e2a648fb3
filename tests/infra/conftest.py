"""Session fixtures: each CDK variant is synthesized once per test session (synth is slow)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "infra" / "cdk"))
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

FIXTURE_MANIFEST = REPO / "tests" / "infra" / "fixtures" / "functions" / "manifest.toml"
REAL_MANIFEST = REPO / "functions" / "manifest.toml"


@dataclass
class Synth:
    """One synthesized app: its deployment model, templates by stack role, and the nag report."""

    deployment: Any
    templates: dict[str, Any]  # "network" | "data" | "streaming" | "state" | "service" -> Template
    raw: dict[str, dict[str, Any]]
    report: dict[str, Any]
    outdir: Path  # the cloud assembly (templates + manifest.json), linted by test_cfn_lint.py

    def resources(self, stack: str, type_: str) -> dict[str, dict[str, Any]]:
        """Resources of a type in a stack and its nested stacks (e.g. "service" and "service/Api")."""
        found: dict[str, dict[str, Any]] = {}
        for name in [stack, *(n for n in self.raw if n.startswith(f"{stack}/"))] if "/" not in stack else [stack]:
            found.update({k: v for k, v in self.raw[name]["Resources"].items() if v["Type"] == type_})
        return found


def synthesize(outdir: Path, context: dict[str, str]) -> Synth:
    from aws_cdk import App, NestedStack
    from aws_cdk.assertions import Template
    from tradeplane_infra.app import build

    app = App(outdir=str(outdir), context=context)
    stacks = build(app)
    app.synth()  # raises on any unacknowledged cdk-nag finding
    templates, raw = {}, {}
    for stack in stacks.all():
        role = stack.stack_name.rsplit("-", 1)[1]
        templates[role] = Template.from_stack(stack)
        raw[role] = json.loads((outdir / f"{stack.stack_name}.template.json").read_text())
        for nested in (c for c in stack.node.children if isinstance(c, NestedStack)):
            # e.g. "service/Monitoring": the nested stack's own template, by the role of its parent
            key = f"{role}/{nested.node.id}"
            templates[key] = Template.from_stack(nested)
            raw[key] = templates[key].to_json()
    report_path = outdir / "validation-report.json"
    report = json.loads(report_path.read_text()) if report_path.is_file() else {"pluginReports": []}
    return Synth(stacks.deployment, templates, raw, report, outdir)


@pytest.fixture(scope="session")
def synth_factory(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, dict[str, str]], Synth]:
    cache: dict[str, Synth] = {}

    def make(name: str, context: dict[str, str]) -> Synth:
        if name not in cache:
            cache[name] = synthesize(tmp_path_factory.mktemp(f"cdk-{name}"), context)
        return cache[name]

    return make


@pytest.fixture(scope="session")
def fixture_assets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real assets (layers from locked wheels for arm64/cp312) for the fixture manifest: built once."""
    from tradeplane_infra.assets import build

    out = tmp_path_factory.mktemp("lambda-assets")
    build(FIXTURE_MANIFEST, out, log=False)
    return out


@pytest.fixture(scope="session")
def aws_fixture(synth_factory: Callable[..., Synth], fixture_assets: Path) -> Synth:
    return synth_factory("aws-fixture", {"manifest": str(FIXTURE_MANIFEST), "asset_dir": str(fixture_assets)})


@pytest.fixture(scope="session")
def aws_real(synth_factory: Callable[..., Synth]) -> Synth:
    return synth_factory("aws-real", {"manifest": str(REAL_MANIFEST), "assets": "placeholder"})


@pytest.fixture(scope="session")
def localstack_fixture(synth_factory: Callable[..., Synth]) -> Synth:
    return synth_factory(
        "localstack", {"manifest": str(FIXTURE_MANIFEST), "assets": "placeholder", "target": "localstack"}
    )


@pytest.fixture(scope="session")
def prod_edge(synth_factory: Callable[..., Synth]) -> Synth:
    return synth_factory(
        "prod-edge",
        {
            "manifest": str(FIXTURE_MANIFEST),
            "assets": "placeholder",
            "env": "prod",
            "tp:api.cloudfront": "true",
            "tp:api.allowlist_cidrs": "203.0.113.0/24,198.51.100.7/32",
            "tp:alarms.email": "ops@example.com",
        },
    )


@pytest.fixture(params=["aws_fixture", "aws_real", "localstack_fixture"])
def variant(request: pytest.FixtureRequest) -> Synth:
    synth: Synth = request.getfixturevalue(request.param)
    return synth
