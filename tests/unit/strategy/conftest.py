"""tp_strategy imports as in Lambda, from its domain folder (the manifest lists it once it has a function)."""

from __future__ import annotations

import sys
from pathlib import Path

_DOMAIN = str(Path(__file__).resolve().parents[3] / "functions" / "strategy")
if _DOMAIN not in sys.path:
    sys.path.insert(0, _DOMAIN)
