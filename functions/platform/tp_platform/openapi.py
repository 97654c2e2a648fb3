"""The committed OpenAPI document (docs/openapi.json), shipped in the platform's code asset.

`openapi.json` beside this module is a symlink to docs/openapi.json: the asset
build copies the file it points to, so the function serves exactly what is
committed (and what `make openapi` checks against the code).
"""

from __future__ import annotations

import functools
from pathlib import Path

DOCUMENT = Path(__file__).with_name("openapi.json")


@functools.cache
def openapi_document() -> str:
    """The document's text, read once per container."""
    return DOCUMENT.read_text(encoding="utf-8")
