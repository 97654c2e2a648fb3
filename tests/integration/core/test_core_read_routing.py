"""Which server each Core route reads (issue 16): read-your-writes routes are never stale, lag-tolerant
routes read the replica.

A streaming replica of the harness's PostgreSQL is started for this module and its replay is paused, so
it is as stale as a replica can get: everything written after the pause exists only on the primary.
Each function is called with the environment its manifest entry gives it (only functions that use
`postgres = "replica"` get TP_DB_READ_DSN), through the real authorizer.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import support.core_api
from support.core_api import MANIFEST, Api, Trader, new_trader
from support.reset import reset_all
from test_core_portfolio import filled  # the fill as execution writes it
from tradeplane_local import servers
from tradeplane_tools.manifest import AuthorizerTrigger, HttpTrigger

pytestmark = pytest.mark.integration

READ_YOUR_WRITES = {"authorizer", "account_get", "orders_get", "orders_list", "positions_list"}
LAG_TOLERANT = {"activities_list", "activities_by_type", "portfolio_history", "assets_list", "assets_get"}


def _replica_users() -> set[str]:
    return {fn.name for fn in MANIFEST.functions.values() if fn.uses.postgres == "replica"}


@pytest.fixture(scope="module")
def replica_dsn(core_env: dict[str, Any], postgres_server: servers.Server) -> Iterator[str]:
    # Not under pytest's tmp tree: postgres runs as another user when we are root (see tests/conftest.py).
    state = Path(tempfile.mkdtemp(prefix="tradeplane-test-read-routing-"))
    srv = servers.start_postgres_replica(state, postgres_server, durable=False)
    assert srv.url
    dsn = urlunsplit(urlsplit(srv.url)._replace(path=urlsplit(core_env["dsn"]).path))
    yield dsn
    servers.stop(srv)


@pytest.fixture
def routed(replica_dsn: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Each handler sees TP_DB_READ_DSN only when its manifest entry uses the replica, as in its container."""
    real_invoke = support.core_api.invoke
    replica_users = _replica_users()

    def invoke(name: str, event: Any, *modules: Any) -> Any:
        if name in replica_users:
            monkeypatch.setenv("TP_DB_READ_DSN", replica_dsn)
        else:
            monkeypatch.delenv("TP_DB_READ_DSN", raising=False)
        reset_all()  # settings are read once per container: forget the previous function's
        return real_invoke(name, event, *modules)

    monkeypatch.setattr(support.core_api, "invoke", invoke)
    yield replica_dsn
    monkeypatch.delenv("TP_DB_READ_DSN", raising=False)
    reset_all()


def _set_replay(dsn: str, paused: bool) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("select pg_wal_replay_pause()" if paused else "select pg_wal_replay_resume()")


@pytest.fixture
def stale_replica(routed: str) -> Iterator[str]:
    _set_replay(routed, paused=True)
    yield routed
    _set_replay(routed, paused=False)


def test_each_routes_choice_is_in_the_manifest() -> None:
    users = _replica_users()
    assert users >= LAG_TOLERANT and not READ_YOUR_WRITES & users
    for name in users:  # the replica only ever serves reads: routes that change nothing
        triggers = MANIFEST.functions[name].triggers
        assert all(isinstance(t, HttpTrigger) and t.method == "GET" for t in triggers), name
    assert any(isinstance(t, AuthorizerTrigger) for t in MANIFEST.functions["authorizer"].triggers)


def test_read_your_writes_routes_never_read_the_stale_replica(api: Api, stale_replica: str) -> None:
    trader = new_trader(api, cash="5000")  # its user, account and key exist only on the primary
    account = api.get("/v2/account", headers=trader.key)  # the authorizer found the new key
    assert account.status == 200 and account.body["cash"] == "5000.00", account.body
    body = {"symbol": "AAPL", "qty": "2", "side": "buy", "type": "limit", "time_in_force": "day", "limit_price": "100"}
    order = api.post("/v2/orders", body, headers=trader.key)
    assert order.status == 200, order.body
    got = api.get(f"/v2/orders/{order.body['id']}", headers=trader.key)
    assert got.status == 200 and got.body["status"] == order.body["status"]
    assert [o["id"] for o in api.get("/v2/orders", headers=trader.key).body] == [order.body["id"]]
    assert api.get("/v2/account", headers=trader.key).body["buying_power"] == "4800.00"  # the reservation
    assert api.get("/v2/positions", headers=trader.key).status == 200


def _fills(api: Api, trader: Trader) -> list[Any]:
    reply = api.get("/v2/account/activities/FILL", headers=trader.key)
    assert reply.status == 200, reply.body
    return list(reply.body)


def test_lag_tolerant_routes_read_the_replica(api: Api, core_env: dict[str, Any], routed: str) -> None:
    trader = new_trader(api)
    deadline = time.monotonic() + 10
    with psycopg.connect(routed, autocommit=True) as replica:  # the account has reached the replica
        while not replica.execute("select 1 from core.accounts where id = %s", (trader.account_id,)).fetchone():
            assert time.monotonic() < deadline
            time.sleep(0.05)
    _set_replay(routed, paused=True)
    try:
        filled(core_env, trader, "MSFT", "1", "400")  # on the primary only
        assert _fills(api, trader) == []  # served by the stale replica
    finally:
        _set_replay(routed, paused=False)
    deadline = time.monotonic() + 10
    while not (fills := _fills(api, trader)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [f["symbol"] for f in fills] == ["MSFT"]
