"""Import contracts derived from the manifest, checked by import-linter (`make lint`).

    python -m tradeplane_tools.architecture [--manifest functions/manifest.toml]

The rules (docs/architecture.md, "Layout"):
- a domain never imports another domain: neither its package (`tp_<domain>`) nor its handlers;
- the shared layer (`tradeplane`) imports no domain and no tooling;
- nothing that ships to Lambda imports the tooling (`tradeplane_tools`, `tradeplane_local`, `tradeplane_infra`).

Domains and their handler folders come from the manifest, so a new domain is covered by
its first manifest entry; nothing here lists them.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tradeplane_tools.manifest import DEFAULT_MANIFEST, Manifest, load_manifest

LAYER = "tradeplane"
TOOLING = ("tradeplane_tools", "tradeplane_local", "tradeplane_infra")


def domain_modules(manifest: Manifest, functions_root: Path) -> dict[str, list[str]]:
    """Each domain's top-level modules: its `tp_<domain>` package (when present) and its handler folders."""
    modules: dict[str, list[str]] = {}
    for domain in manifest.domains():
        package = f"tp_{domain}"
        found = [package] if (functions_root / domain / package / "__init__.py").is_file() else []
        folders = sorted({fn.folder for fn in manifest.functions.values() if fn.component == domain})
        modules[domain] = found + folders
    return modules


def contracts(modules: dict[str, list[str]]) -> list[dict[str, Any]]:
    shipped = [m for mods in modules.values() for m in mods]
    packages = [f"tp_{d}" for d, mods in modules.items() if f"tp_{d}" in mods]
    out: list[dict[str, Any]] = [
        {
            "name": "the shared layer imports no domain and no tooling",
            "type": "forbidden",
            "source_modules": [LAYER],
            "forbidden_modules": [*shipped, *TOOLING],
        },
        {
            "name": "code that ships to Lambda never imports the tooling",
            "type": "forbidden",
            "source_modules": shipped,
            "forbidden_modules": list(TOOLING),
        },
    ]
    if len(packages) > 1:
        out.append({"name": "domain packages are independent", "type": "independence", "modules": packages})
    for domain, mods in modules.items():
        others = [m for d, ms in modules.items() if d != domain for m in ms]
        if others:
            out.append(
                {
                    "name": f"domain {domain} imports no other domain",
                    "type": "forbidden",
                    "source_modules": mods,
                    "forbidden_modules": others,
                }
            )
    return out


def config_toml(modules: dict[str, list[str]]) -> str:
    roots = [LAYER, *(m for mods in modules.values() for m in mods)]
    lines = ["[tool.importlinter]", f"root_packages = {json.dumps(roots)}", "include_external_packages = true"]
    for contract in contracts(modules):
        lines.append("\n[[tool.importlinter.contracts]]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in contract.items()]
    return "\n".join(lines) + "\n"


def check(manifest_path: Path = DEFAULT_MANIFEST) -> bool:
    from importlinter import configuration
    from importlinter.application import use_cases

    configuration.configure()  # what `lint-imports` does before reading a config

    manifest = load_manifest(manifest_path)
    modules = domain_modules(manifest, manifest_path.parent)
    # The modules import as they do in Lambda: each domain folder is a code asset root.
    sys.path[:0] = [str(manifest_path.parent / domain) for domain in modules]
    with tempfile.TemporaryDirectory(prefix="tp-imports-") as tmp:
        config = Path(tmp) / "importlinter.toml"
        config.write_text(config_toml(modules))
        return bool(use_cases.lint_imports(config_filename=str(config), no_logo=True, cache_dir=None))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, default=DEFAULT_MANIFEST)
    args = parser.parse_args(argv)
    return 0 if check(args.manifest) else 1


if __name__ == "__main__":
    sys.exit(main())
