"""Strategy tests: tp_strategy imports as in Lambda, from its domain folder; the API tests reuse the Core API's
fixtures (users, accounts and keys are made through its handlers)."""

from __future__ import annotations

import sys
from pathlib import Path

from support.core_api import core_conftest

_DOMAIN = str(Path(__file__).resolve().parents[3] / "functions" / "strategy")
if _DOMAIN not in sys.path:
    sys.path.insert(0, _DOMAIN)

_core = core_conftest()
core_env = _core.core_env
api = _core.api


trader = _core.trader
other = _core.other
