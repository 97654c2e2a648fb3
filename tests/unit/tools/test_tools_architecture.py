"""The import contracts come from the manifest and catch a domain importing another."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tradeplane_tools.architecture import contracts, domain_modules
from tradeplane_tools.manifest import DEFAULT_MANIFEST, load_manifest

MANIFEST = """
[defaults]
layers = ["shared"]

[layers.shared]
kind = "source"
source = "layers/shared"

[functions.alpha_get]
component = "alpha"
path = "alpha/alpha_get"
triggers = [{ type = "http", method = "GET", path = "/v1/alpha", auth = "none" }]

[functions.beta_get]
component = "beta"
path = "beta/beta_get"
triggers = [{ type = "http", method = "GET", path = "/v1/beta", auth = "none" }]
"""


def _tree(root: Path, beta_imports: str) -> Path:
    for domain in ("alpha", "beta"):
        (root / domain / f"tp_{domain}").mkdir(parents=True)
        (root / domain / f"tp_{domain}" / "__init__.py").write_text("")
        (root / domain / f"tp_{domain}" / "logic.py").write_text("VALUE = 1\n")
        (root / domain / f"{domain}_get").mkdir()
    (root / "alpha" / "alpha_get" / "handler.py").write_text("from tp_alpha.logic import VALUE\n")
    (root / "beta" / "beta_get" / "handler.py").write_text(f"{beta_imports}\n")
    (root / "manifest.toml").write_text(MANIFEST)
    return root / "manifest.toml"


def _check(manifest: Path) -> subprocess.CompletedProcess[str]:
    # A fresh interpreter: the check puts the tree's domain folders on sys.path.
    return subprocess.run(
        [sys.executable, "-m", "tradeplane_tools.architecture", "--manifest", str(manifest)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_real_tree_keeps_its_contracts() -> None:
    result = _check(DEFAULT_MANIFEST)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_handler_importing_another_domain_is_caught(tmp_path: Path) -> None:
    clean = _check(_tree(tmp_path / "clean", "from tp_beta.logic import VALUE"))
    assert clean.returncode == 0, clean.stdout + clean.stderr
    broken = _check(_tree(tmp_path / "broken", "from tp_alpha.logic import VALUE"))
    assert broken.returncode == 1
    assert "domain beta imports no other domain BROKEN" in broken.stdout


def test_domains_come_from_the_manifest() -> None:
    manifest = load_manifest(DEFAULT_MANIFEST)
    modules = domain_modules(manifest, DEFAULT_MANIFEST.parent)
    assert set(modules) == {fn.component for fn in manifest.functions.values()}
    assert "tp_etl" in modules["etl"] and "bar_aggregator" in modules["etl"]
    names = [c["name"] for c in contracts(modules)]
    assert "domain packages are independent" in names
