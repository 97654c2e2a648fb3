"""Offline build of every Lambda asset the manifest names, without Docker.

    python -m tradeplane_infra.assets build [--manifest functions/manifest.toml] [--out build/lambda]

Produces under the output directory:
  layers/<name>/python/...   one directory per manifest layer (the layer zip root, /opt)
  code/<domain>/...          one directory per domain folder, shared by its functions (/var/task)
  index.json                 what was built, sizes, and the manifest digest

Dependency layers are resolved from the locked versions (`uv export` of uv.lock used
as constraints) for the Lambda platform (the runtime's glibc, the manifest's architecture
and Python version) with wheels only, so no compiler or Docker is needed. A package
that an earlier layer already provides to every function using this layer is left
out, and so is the AWS SDK that the Lambda Python runtime ships.

.pyc files are NOT compiled: they must come from the same minor Python as the Lambda
runtime (3.12) and this machine has only 3.11. See docs/deploy.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tradeplane_tools.manifest import DEFAULT_MANIFEST, MAX_LAYERS, REPO_ROOT, Manifest, load_manifest

UNZIPPED_LIMIT = 250 * 1024 * 1024  # Lambda: function code + all layers, unzipped
INDEX_FILE = "index.json"
DEFAULT_OUT = REPO_ROOT / "build" / "lambda"
# Shipped by the Lambda Python runtime; pinning a second copy costs ~25 MB per layer.
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer"})
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "tests", ".pytest_cache", ".mypy_cache")
PLACEHOLDER_DIR = Path(__file__).resolve().parent / "placeholder_asset"
_REQ_LINE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)")


class AssetError(RuntimeError):
    """The assets cannot be built or break a Lambda limit."""


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def manifest_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


@dataclass
class AssetIndex:
    """Where each built asset is; the CDK app reads this instead of building."""

    root: Path
    manifest_sha256: str
    layers: dict[str, str] = field(default_factory=dict)  # layer -> dir relative to root
    functions: dict[str, str] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)  # "layer:x" / "function:y" -> bytes
    placeholder: bool = False

    def layer_dir(self, name: str) -> Path:
        return PLACEHOLDER_DIR if self.placeholder else self.root / self.layers[name]

    def function_dir(self, name: str) -> Path:
        return PLACEHOLDER_DIR if self.placeholder else self.root / self.functions[name]

    def save(self) -> None:
        data = {k: v for k, v in self.__dict__.items() if k not in ("root", "placeholder")}
        (self.root / INDEX_FILE).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")

    @classmethod
    def load(cls, root: Path, manifest_path: Path) -> AssetIndex:
        index_path = root / INDEX_FILE
        if not index_path.is_file():
            raise AssetError(
                f"no Lambda assets in {root}: run `make assets` "
                "(or synthesize with `-c assets=placeholder` to check the template only)"
            )
        data = json.loads(index_path.read_text())
        index = cls(root=root, **data)
        if index.manifest_sha256 != manifest_digest(manifest_path):
            raise AssetError(f"assets in {root} were built from another manifest: run `make assets` again")
        return index

    @classmethod
    def placeholders(cls, manifest: Manifest) -> AssetIndex:
        """Template-only synth (tests, reviews): every asset is one tiny directory."""
        return cls(
            root=PLACEHOLDER_DIR,
            manifest_sha256="placeholder",
            layers=dict.fromkeys(manifest.layers, "."),
            functions=dict.fromkeys(manifest.functions, "."),
            placeholder=True,
        )


def limit_problems(manifest: Manifest, sizes: dict[str, int]) -> list[str]:
    """Lambda limits per function: at most 5 layers and 250 MB unzipped with its layers."""
    problems = []
    for fn in manifest.functions.values():
        layers = manifest.layers_of(fn)
        if len(layers) > MAX_LAYERS:
            problems.append(f"{fn.name}: {len(layers)} layers, Lambda allows {MAX_LAYERS}")
        total = sizes.get(f"function:{fn.name}", 0) + sum(sizes.get(f"layer:{name}", 0) for name in layers)
        if total > UNZIPPED_LIMIT:
            problems.append(f"{fn.name}: {total / 2**20:.1f} MB unzipped with its layers, Lambda allows 250 MB")
    return problems


# --------------------------------------------------------------------------- uv


REPO_TOOLS_UV = Path(__file__).resolve().parents[3] / ".tools" / "bin" / "uv"


def find_uv() -> str:
    candidates = [
        os.environ.get("UV"),
        shutil.which("uv"),
        str(Path(sys.executable).with_name("uv")),
        str(REPO_TOOLS_UV),  # where scripts/bootstrap.sh installs the pinned uv
        str(Path.home() / ".local" / "bin" / "uv"),
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return candidate
    raise AssetError("uv not found: set UV=/path/to/uv or put uv on PATH")


def _run(cmd: Sequence[str], cwd: Path | None = None) -> str:
    proc = subprocess.run(list(cmd), cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise AssetError(f"{' '.join(cmd)} failed:\n{proc.stderr.strip()}")
    return proc.stdout


def project_dir(manifest_path: Path) -> Path:
    """The uv project (pyproject.toml + uv.lock) that locks the layer packages."""
    for parent in [*manifest_path.resolve().parents, REPO_ROOT]:
        if (parent / "uv.lock").is_file():
            return parent
    raise AssetError(f"no uv.lock above {manifest_path}")


@dataclass(frozen=True)
class Platform:
    """The Lambda target as uv's cross-platform resolver names it."""

    uv_platform: str
    python_version: str

    @classmethod
    def of(cls, manifest: Manifest) -> Platform:
        machine = "aarch64" if manifest.project.architecture == "arm64" else "x86_64"
        version = manifest.project.runtime.removeprefix("python")
        # python3.12+ runs on Amazon Linux 2023 (glibc 2.34); 3.11 on Amazon Linux 2 (glibc 2.26).
        # manylinux2014 alone is too old: psycopg-binary ships aarch64 wheels for 2_28 only.
        glibc = "2_34" if tuple(map(int, version.split("."))) >= (3, 12) else "2_26"
        return cls(f"{machine}-manylinux_{glibc}", version)

    def args(self) -> list[str]:
        return [
            "--python-platform",
            self.uv_platform,
            "--python-version",
            self.python_version,
            "--only-binary",
            ":all:",
        ]


def parse_pins(text: str) -> dict[str, str]:
    pins = {}
    for line in text.splitlines():
        match = _REQ_LINE.match(line.strip())
        if match:
            pins[normalize(match.group(1))] = match.group(2)
    return pins


class DependencyResolver:
    """Resolves a layer's full closure at the locked versions for the Lambda platform."""

    def __init__(self, uv: str, project: Path, platform: Platform, workdir: Path) -> None:
        self.uv, self.project, self.platform, self.workdir = uv, project, platform, workdir
        self.constraints = workdir / "constraints.txt"
        export = _run(
            [uv, "export", "--frozen", "--no-dev", "--no-hashes", "--no-emit-project", "--format", "requirements.txt"],
            cwd=project,
        )
        self.constraints.write_text(export)
        self.locked = parse_pins(export)

    def closure(self, layer: str, packages: Iterable[str]) -> dict[str, str]:
        missing = [p for p in packages if normalize(p) not in self.locked]
        if missing:
            raise AssetError(f"layer {layer}: {', '.join(missing)} not in uv.lock: add to pyproject dependencies")
        wanted = self.workdir / f"{layer}.in"
        wanted.write_text("".join(f"{p}\n" for p in packages))
        out = _run(
            [
                self.uv,
                "pip",
                "compile",
                str(wanted),
                "-c",
                str(self.constraints),
                "--no-header",
                "--no-annotate",
                "--quiet",
                *self.platform.args(),
            ],
            cwd=self.project,
        )
        return parse_pins(out)

    def install(self, pins: dict[str, str], target: Path) -> None:
        reqs = self.workdir / f"{target.parent.name}.txt"
        reqs.write_text("".join(f"{n}=={v}\n" for n, v in sorted(pins.items())))
        _run(
            [
                self.uv,
                "pip",
                "install",
                "--target",
                str(target),
                "--no-deps",
                "--quiet",
                "--python",
                sys.executable,
                *self.platform.args(),
                "-r",
                str(reqs),
            ],
            cwd=self.project,
        )


def provided_before(manifest: Manifest, layer: str) -> list[str]:
    """Earlier layers (manifest order) that every function using `layer` also has."""
    order = list(manifest.layers)
    earlier = set(order[: order.index(layer)])
    for fn in manifest.functions.values():
        if layer in manifest.layers_of(fn):
            earlier &= set(manifest.layers_of(fn))
    used = any(layer in manifest.layers_of(fn) for fn in manifest.functions.values())
    return [name for name in order if name in earlier] if used else []


# --------------------------------------------------------------------------- build


def _copy_tree(src: Path, dst: Path) -> None:
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst, ignore=IGNORE)


def _build_source_layer(src: Path, layer_dir: Path) -> None:
    """Our own packages (every child of `src` with an __init__.py) under python/, as Lambda mounts at /opt."""
    if layer_dir.exists():
        shutil.rmtree(layer_dir)
    for child in sorted(src.iterdir()):
        if (child / "__init__.py").is_file():
            _copy_tree(child, layer_dir / "python" / child.name)


def _build_dependency_layer(
    manifest: Manifest,
    name: str,
    resolver: DependencyResolver,
    pins_of: dict[str, dict[str, str]],
    layer_dir: Path,
) -> None:
    """Locked wheels for the layer, less what the runtime or an earlier layer of every user already provides."""
    pins = resolver.closure(name, manifest.layers[name].packages)
    pins_of[name] = pins
    skip = set(RUNTIME_PROVIDED)
    for earlier in provided_before(manifest, name):
        skip |= {n for n, v in pins_of.get(earlier, {}).items() if pins.get(n) == v}
    _install_cached(resolver, {n: v for n, v in pins.items() if n not in skip}, layer_dir)


def _build_code_assets(manifest: Manifest, functions_root: Path, out: Path, index: AssetIndex) -> None:
    """One code asset per domain folder, shared by the domain's functions (each has its own handler)."""
    for fn in manifest.functions.values():
        rel = f"code/{fn.component}"
        dst = out / rel
        if rel not in index.functions.values():
            _copy_tree(functions_root / fn.code_root, dst)
        index.functions[fn.name] = rel
        index.sizes[f"function:{fn.name}"] = dir_size(dst)


def build(
    manifest_path: Path = DEFAULT_MANIFEST,
    out: Path = DEFAULT_OUT,
    *,
    log: bool = True,
    only: Collection[str] | None = None,
) -> AssetIndex:
    """Build every asset (or, with `only`, those functions and their layers) and check the Lambda limits."""
    manifest = load_manifest(manifest_path)
    if only is not None:
        manifest = subset(manifest, only)
    # Function paths are relative to the manifest's folder, layer sources to the repository.
    functions_root, source_root = manifest_path.parent, REPO_ROOT
    out.mkdir(parents=True, exist_ok=True)
    index = AssetIndex(root=out, manifest_sha256=manifest_digest(manifest_path))
    pins_of: dict[str, dict[str, str]] = {}
    resolver: DependencyResolver | None = None

    with tempfile.TemporaryDirectory(prefix="tp-assets-") as tmp:
        for name, spec in manifest.layers.items():
            layer_dir = out / "layers" / name
            index.layers[name] = f"layers/{name}"
            if spec.kind == "source":
                _build_source_layer(source_root / str(spec.source), layer_dir)
            else:
                resolver = resolver or DependencyResolver(
                    find_uv(), project_dir(manifest_path), Platform.of(manifest), Path(tmp)
                )
                _build_dependency_layer(manifest, name, resolver, pins_of, layer_dir)
            index.sizes[f"layer:{name}"] = dir_size(layer_dir)
        _build_code_assets(manifest, functions_root, out, index)

    index.save()
    if log:
        report(manifest, index)
    problems = limit_problems(manifest, index.sizes)
    if problems:
        raise AssetError("Lambda limits exceeded:\n  " + "\n  ".join(problems))
    return index


def subset(manifest: Manifest, functions: Collection[str]) -> Manifest:
    """The manifest with only these functions and the layers they use (a build check of some functions)."""
    kept = {name: manifest.functions[name] for name in functions}
    used = {layer for fn in kept.values() for layer in manifest.layers_of(fn)}
    layers = {name: spec for name, spec in manifest.layers.items() if name in used}
    return manifest.model_copy(update={"functions": kept, "layers": layers})


def _install_cached(resolver: DependencyResolver, pins: dict[str, str], layer_dir: Path) -> None:
    """Reinstall a dependency layer only when its pinned set changed (the stamp)."""
    stamp = layer_dir.parent / f".{layer_dir.name}.pins.json"  # outside the zip root
    wanted = json.dumps(pins, sort_keys=True)
    if stamp.is_file() and stamp.read_text() == wanted:
        return
    if layer_dir.exists():
        shutil.rmtree(layer_dir)
    target = layer_dir / "python"
    target.mkdir(parents=True)
    if pins:
        resolver.install(pins, target)
        # Console scripts are useless in a layer (their shebang names this machine's Python).
        shutil.rmtree(target / "bin", ignore_errors=True)
    stamp.write_text(wanted)


def report(manifest: Manifest, index: AssetIndex) -> None:
    mb = 2**20
    lines = [f"Lambda assets in {index.root}"]
    lines += [f"  {key:<40} {size / mb:8.2f} MB" for key, size in sorted(index.sizes.items())]
    for fn in manifest.functions.values():
        layers = manifest.layers_of(fn)
        total = index.sizes[f"function:{fn.name}"] + sum(index.sizes[f"layer:{n}"] for n in layers)
        lines.append(f"  total {fn.name:<34} {total / mb:8.2f} MB of 250 MB ({len(layers)} layers)")
    sys.stdout.write("\n".join(lines) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tradeplane_infra.assets", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    cmd = sub.add_parser("build", help="build layers and function code into the output directory")
    cmd.add_argument("--manifest", type=Path, default=DEFAULT_MANIFEST)
    cmd.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    try:
        build(args.manifest.resolve(), args.out.resolve())
    except AssetError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
