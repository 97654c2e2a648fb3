"""The template gate: cfn-lint on a synthesized cloud assembly, warnings acknowledged with reasons.

cdk-nag checks practices; cfn-lint checks the templates against CloudFormation's own
resource schemas (properties a deploy refuses, engine versions that cannot create new
instances, ...). The gate passes when cfn-lint reports no error and every warning is
covered by an entry of `infra/cdk/cfn-lint-acknowledged.toml`. Errors cannot be
acknowledged: they are fixed in the CDK app.

    python -m tradeplane_infra.template_lint build/cdk.out     # what `make cfn-lint` runs
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

ACKNOWLEDGED = Path(__file__).resolve().parents[1] / "cfn-lint-acknowledged.toml"
# Env-agnostic stacks name no region; cfn-lint checks region-specific values against this one.
DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True)
class Finding:
    rule: str  # cfn-lint rule id: E... error, W... warning, I... informational
    template: str  # file name inside the assembly
    line: int
    path: str  # e.g. "Resources/<logical id>/Properties/StorageEncrypted"
    resource_type: str  # "" when the path is not inside a resource
    message: str

    @property
    def is_error(self) -> bool:
        return not self.rule.startswith(("W", "I"))

    def __str__(self) -> str:
        return f"{self.template}:{self.line}: {self.rule} {self.resource_type} {self.path}: {self.message}"


class Acknowledgment(BaseModel):
    """One accepted warning: which rule, where (globs; `*` also matches `/`), and why."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    rule: str = Field(pattern=r"^[WI]\d{4}$")  # warnings and informational rules only
    resource_type: str = "*"
    path: str = Field(min_length=1)
    reason: str = Field(min_length=1)

    def covers(self, finding: Finding) -> bool:
        return (
            finding.rule == self.rule
            and fnmatchcase(finding.resource_type, self.resource_type)
            and fnmatchcase(finding.path, self.path)
        )


class _AcknowledgmentFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    acknowledge: list[Acknowledgment] = Field(default_factory=list)


def load_acknowledgments(path: Path = ACKNOWLEDGED) -> list[Acknowledgment]:
    """Parse and validate the file; a missing reason or an error rule raises pydantic's ValidationError."""
    return _AcknowledgmentFile.model_validate(tomllib.loads(path.read_text())).acknowledge


def stack_templates(assembly: Path) -> dict[Path, str]:
    """Each stack template of a cloud assembly with the region it deploys to.

    Read from manifest.json rather than globbing, so templates an earlier synth left in
    the same folder (another stage, a removed stack) are not linted. A nested stack's
    template is one of its parent's file assets and deploys to the parent's region.
    """
    manifest = json.loads((assembly / "manifest.json").read_text())
    templates: dict[Path, str] = {}
    for artifact_id, artifact in manifest["artifacts"].items():
        if artifact["type"] == "aws:cloudformation:stack":
            region = artifact["environment"].rsplit("/", 1)[-1]
            region = DEFAULT_REGION if region == "unknown-region" else region
            templates[assembly / artifact["properties"]["templateFile"]] = region
            for nested in _nested_templates(assembly, artifact_id):
                templates[nested] = region
    return templates


def _nested_templates(assembly: Path, artifact_id: str) -> list[Path]:
    assets = assembly / f"{artifact_id}.assets.json"
    if not assets.is_file():
        return []
    files = json.loads(assets.read_text()).get("files", {}).values()
    return [assembly / f["source"]["path"] for f in files if f["source"]["path"].endswith(".nested.template.json")]


def lint_templates(templates: Iterable[Path], region: str) -> list[Finding]:
    """cfn-lint's default rules on the templates, in one run (its rule set loads once)."""
    # Deferred: importing cfn-lint takes seconds, and parsing acknowledgments needs none of it.
    from cfnlint.api import ManualArgs, lint_by_config

    paths = list(templates)
    matches = lint_by_config(ManualArgs(templates=[str(p) for p in paths], regions=[region]))
    resources = {str(p): json.loads(p.read_text()).get("Resources", {}) for p in paths}
    return [_finding(match, resources) for match in matches]


def _finding(match: Any, resources: Mapping[str, Mapping[str, Any]]) -> Finding:
    path = [str(part) for part in getattr(match, "path", ())]
    filename = str(match.filename or "")
    logical_id = path[1] if len(path) > 1 and path[0] == "Resources" else ""
    resource = resources.get(filename, {}).get(logical_id, {})
    return Finding(
        rule=str(match.rule.id),
        template=Path(filename).name,
        line=int(match.linenumber),
        path="/".join(path),
        resource_type=str(resource.get("Type", "")),
        message=str(match.message),
    )


def lint_assembly(assembly: Path) -> list[Finding]:
    by_region: dict[str, list[Path]] = {}
    for template, region in stack_templates(assembly).items():
        by_region.setdefault(region, []).append(template)
    return [finding for region, paths in sorted(by_region.items()) for finding in lint_templates(paths, region)]


def unacknowledged(findings: Iterable[Finding], acknowledgments: Iterable[Acknowledgment]) -> list[Finding]:
    """What fails the gate: every error, and every warning no acknowledgment covers."""
    acks = list(acknowledgments)
    return [f for f in findings if f.is_error or not any(a.covers(f) for a in acks)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assembly", type=Path, help="cloud assembly folder (CDK_OUT), with manifest.json")
    parser.add_argument("--acknowledged", type=Path, default=ACKNOWLEDGED, help="acknowledgment file (TOML)")
    args = parser.parse_args(argv)
    findings = lint_assembly(args.assembly)
    failing = unacknowledged(findings, load_acknowledgments(args.acknowledged))
    for finding in failing:
        sys.stdout.write(f"{finding}\n")
    sys.stdout.write(
        f"cfn-lint: {len(findings)} finding(s), {len(findings) - len(failing)} acknowledged, {len(failing)} failing\n"
    )
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
