"""The alternative the strategy API did not take, for its init figure: every strategy route in one app.

Imports each strategy route function's handler (as its own function would at init) and serves all of
their routes from one FastAPI app in Mangum. The route functions are the manifest's functions with the
`deps-web` layer (as the bench picks them): the domain's other functions (the runner, the workers) are
not routes and need settings of their own.
"""

from __future__ import annotations

import importlib.util
import sys
import tomllib
from pathlib import Path
from typing import Any

from mangum import Mangum

FUNCTIONS = Path(__file__).resolve().parents[3] / "functions"
STRATEGY = FUNCTIONS / "strategy"
sys.path.insert(0, str(STRATEGY))
with (FUNCTIONS / "manifest.toml").open("rb") as f:
    ROUTES = sorted(
        FUNCTIONS / fn["path"]
        for fn in tomllib.load(f)["functions"].values()
        if fn.get("component") == "strategy" and "deps-web" in fn.get("layers", [])
    )

from tp_strategy.api.app import new_app  # noqa: E402 (the domain folder is on the path only now)

app = new_app()
for folder in ROUTES:
    spec = importlib.util.spec_from_file_location(f"full_{folder.name}", folder / "handler.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    app.router.routes.extend(module.app.router.routes)

handler: Any = Mangum(app, lifespan="off")
