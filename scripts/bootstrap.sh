#!/usr/bin/env bash
# Install everything the project needs, from its own locked files, into .venv.
# Needs only python3 (3.11+) on PATH; uv itself is pinned and installed into .tools.
set -euo pipefail
cd "$(dirname "$0")/.."
UV_VERSION=0.13.8
if [ ! -x .tools/bin/uv ] || [ "$(.tools/bin/uv --version | cut -d' ' -f2)" != "$UV_VERSION" ]; then
  python3 -m venv .tools
  .tools/bin/python -m pip install --quiet --disable-pip-version-check "uv==${UV_VERSION}"
fi
export UV_PYTHON_DOWNLOADS=never
# Trust the platform's certificate store (corporate proxies add their CA there), not only uv's bundled roots.
export UV_SYSTEM_CERTS=1
# --frozen: install exactly uv.lock, never re-resolve.
.tools/bin/uv sync --frozen --quiet --python "$(command -v python3)"
