"""Strategy tests: tp_strategy imports as in Lambda, from its domain folder; the API tests reuse the Core API's
fixtures (users, accounts and keys are made through its handlers)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_DOMAIN = str(Path(__file__).resolve().parents[3] / "functions" / "strategy")
if _DOMAIN not in sys.path:
    sys.path.insert(0, _DOMAIN)

_spec = importlib.util.spec_from_file_location("core_conftest", Path(__file__).parents[1] / "core" / "conftest.py")
assert _spec is not None and _spec.loader is not None
_core = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_core)
core_env = _core.core_env
api = _core.api


trader = _core.trader
other = _core.other
