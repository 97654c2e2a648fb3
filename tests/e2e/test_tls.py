"""The gateway serves HTTPS with a generated self-signed certificate when asked."""

from __future__ import annotations

import ssl
from dataclasses import asdict
from pathlib import Path

import httpx
import pytest
from tradeplane_local import provision
from tradeplane_local.runtime import Runtime, RuntimeConfig
from tradeplane_tools.manifest import REPO_ROOT, load_manifest

pytestmark = pytest.mark.e2e

MANIFEST = REPO_ROOT / "bench" / "functions" / "manifest.toml"


def test_https_gateway(tmp_path: Path) -> None:
    manifest = load_manifest(MANIFEST)
    bindings = provision.local_bindings(manifest, db_dsn=None, redis_url=None, kafka_bootstrap=None)
    runtime = Runtime(
        RuntimeConfig(manifest=str(MANIFEST), state_dir=str(tmp_path), bindings=asdict(bindings), tls=True), manifest
    )
    runtime.start()
    try:
        assert runtime.gateway_url.startswith("https://")
        ctx = ssl.create_default_context(cafile=str(tmp_path / "tls" / "gateway-cert.pem"))
        r = httpx.get(f"{runtime.gateway_url}/v1/noop", verify=ctx, timeout=20)
        assert r.status_code == 200 and r.json() == {}
        with pytest.raises(httpx.TransportError):  # plain HTTP is not served
            httpx.get(runtime.gateway_url.replace("https://", "http://") + "/v1/noop", timeout=5)
    finally:
        runtime.stop()
