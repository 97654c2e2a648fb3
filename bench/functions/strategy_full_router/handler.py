"""The alternative the strategy API did not take, for its init figure: every strategy route in one app.

Imports each strategy route function's handler (as its own function would at init) and serves all of
their routes from one FastAPI app in Mangum.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

from mangum import Mangum

STRATEGY = Path(__file__).resolve().parents[3] / "functions" / "strategy"
sys.path.insert(0, str(STRATEGY))

from tp_strategy.api.app import new_app  # noqa: E402 (the domain folder is on the path only now)

app = new_app()
for folder in sorted(p.parent for p in STRATEGY.glob("*/handler.py")):
    spec = importlib.util.spec_from_file_location(f"full_{folder.name}", folder / "handler.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if hasattr(module.__dict__.get("app"), "router"):  # the FastAPI route functions
        app.router.routes.extend(module.app.router.routes)

handler: Any = Mangum(app, lifespan="off")
