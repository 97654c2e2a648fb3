"""Two paper accounts on the local platform with a priced, listed symbol, and the small clients the e2e tests
of routed accounts and trade update streams use to look at them (alpaca-py, the admin API, the database)."""

from __future__ import annotations

import json
import time
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import redis
from alpaca.trading.client import TradingClient
from psycopg.rows import dict_row
from tradeplane.contracts.market import latest_price_key
from tradeplane_local import stack
from tradeplane_local.admin import local_dsn, paper_account

from support.execution import list_instrument


def priced_paper_pair(state: Path, redis_url: str, symbol: str) -> tuple[dict[str, str], dict[str, str]]:
    """`symbol` listed and priced at 100.00 now; two funded paper accounts (their alpaca-py environment)."""
    list_instrument(local_dsn(state) or "", symbol)
    with redis.Redis.from_url(redis_url) as prices:
        prices.hset(latest_price_key(symbol), mapping={"p": "100.00", "t": str(int(time.time() * 1e6))})
    return paper_account(state, Decimal("50000")), paper_account(state, Decimal("50000"))


def trading_client(account: dict[str, str], base_url: str | None = None) -> TradingClient:
    return TradingClient(account["APCA_API_KEY_ID"], account["APCA_API_SECRET_KEY"],
                         url_override=base_url or account["APCA_API_BASE_URL"])  # fmt: skip


def invoke(state: Path, function: str, event: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run a function now through the local runtime's admin API (as its schedule would) and require success."""
    req = urllib.request.Request(  # noqa: S310 - loopback admin API
        f"{stack.admin_url(state)}/invoke/{function}",
        data=json.dumps(event or {}).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=120) as r:  # noqa: S310 - loopback admin API
        result: dict[str, Any] = json.loads(r.read())
    assert result["ok"], result
    return result


def rows(dsn: str, sql: str, *args: Any) -> list[dict[str, Any]]:
    with psycopg.connect(dsn, row_factory=dict_row) as conn:
        return conn.execute(sql, args).fetchall()
