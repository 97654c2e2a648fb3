"""`$connect` and `$disconnect` only touch Redis: their cold start must not import the database or token code."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from tradeplane_tools.manifest import REPO_ROOT

HEAVY = ("psycopg", "psycopg_pool", "jwt", "cryptography")


@pytest.mark.parametrize("function", ["ws_connect", "ws_disconnect"])
def test_connection_handlers_import_no_database_or_token_code(function: str) -> None:
    probe = (
        "import importlib, json, sys\n"
        f"importlib.import_module('{function}.handler')\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(str(REPO_ROOT / p) for p in ("layers/shared", "functions/streaming")),
        "TP_REDIS_URL": "redis://127.0.0.1:1/0",
        "AWS_LAMBDA_FUNCTION_NAME": function,
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
