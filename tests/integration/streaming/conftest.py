"""Streaming tests reuse the Core API's fixtures (accounts, keys and orders are made through its handlers) and
post to a recording management endpoint: a real HTTP server the functions' boto3 client talks to."""

from __future__ import annotations

import importlib.util
import json
import os
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from tradeplane_tools.manifest import Bindings

_path = Path(__file__).parents[1] / "execution" / "conftest.py"
_spec = importlib.util.spec_from_file_location("execution_conftest", _path)
assert _spec is not None and _spec.loader is not None
_execution = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_execution)
core_env, api, trader, set_price = _execution.core_env, _execution.api, _execution.trader, _execution.set_price


class Endpoint:
    """API Gateway's management API, as far as the functions use it: POST (record the frame), DELETE (close).

    Connection ids in `gone` answer 410 GoneException; those in `slow` hold the answer for `slow_s`."""

    def __init__(self, slow_s: float = 5.0) -> None:
        self.frames: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.deleted: list[str] = []
        self.gone: set[str] = set()
        self.slow: set[str] = set()
        self.slow_s = slow_s
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, error: str | None = None) -> None:
                self.send_response(status)
                if error:
                    self.send_header("x-amzn-ErrorType", error)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def do_POST(self) -> None:
                cid = unquote(self.path.rsplit("/", 1)[1])
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if cid in endpoint.gone:
                    return self._answer(410, "GoneException")
                if cid in endpoint.slow:
                    time.sleep(endpoint.slow_s)
                endpoint.frames[cid].append(json.loads(body))
                return self._answer(200)

            def do_DELETE(self) -> None:
                endpoint.deleted.append(unquote(self.path.rsplit("/", 1)[1]))
                self._answer(204)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def trade_updates(self, cid: str) -> list[dict[str, Any]]:
        return [f["data"] for f in self.frames[cid] if f.get("stream") == "trade_updates"]


@pytest.fixture(scope="module")
def endpoint() -> Iterator[Endpoint]:
    ep = Endpoint()
    yield ep
    ep.server.shutdown()


@pytest.fixture(scope="module")
def bindings(core_env: dict[str, Any], endpoint: Endpoint) -> Bindings:
    return Bindings(
        stage="local",
        db_dsn=core_env["dsn"],
        kafka_bootstrap=core_env["kafka"],
        redis_url=core_env["redis_url"],
        secret_ids={"jwt-signing-keys": os.environ["TP_SECRET_JWT_SIGNING_KEYS"]},
        websocket_endpoint=endpoint.url,
    )
