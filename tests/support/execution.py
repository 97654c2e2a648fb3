"""Execution tests: call execution's handlers in-process with their manifest environment, and read the book.

The Core API's fixtures set the environment its functions read for a whole module;
`as_function` swaps in another function's environment (from the manifest, as its own
container would have) for the length of one call, so Core API calls and execution
calls can alternate in one test.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from types import ModuleType
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row
from tradeplane.contracts.topics import ORDERS_SUBMITTED
from tradeplane.envelope import Envelope
from tradeplane.settings import load_settings
from tradeplane_local import events
from tradeplane_tools.manifest import Bindings

from support.core_api import Context, handler_module
from support.handlers import handler_environment


@contextmanager
def as_function(name: str, bindings: Bindings, **overrides: str) -> Iterator[ModuleType]:
    """Function `name`'s environment (plus `overrides`, e.g. TP_DB_POOL_MAX_SIZE) and handler module; the
    module's globals are put back on exit."""
    with pytest.MonkeyPatch.context() as mp:
        for key in [k for k in os.environ if k.startswith("TP_") and not k.startswith("TP_LOCAL_")]:
            mp.delenv(key)
        for key, value in {**handler_environment(name, bindings), **overrides}.items():
            mp.setenv(key, value)
        module = handler_module(name)
        module.SETTINGS = load_settings(module.Settings)
        saved = dict(vars(module))
        try:
            yield module
        finally:  # the module is cached: what a test swapped in (a venue with costs, say) must not outlive it
            vars(module).update(saved)


def call(name: str, bindings: Bindings, event: dict[str, Any], **overrides: str) -> Any:
    with as_function(name, bindings, **overrides) as module:
        return module.handler(event, Context(name))


def submit(trader: Any, **order: Any) -> dict[str, Any]:
    """POST /v2/orders with the trader's key (a market buy of 10 AAPL unless `order` says otherwise)."""
    body = {"symbol": "AAPL", "qty": "10", "side": "buy", "type": "market", "time_in_force": "day", **order}
    reply = trader.api.post("/v2/orders", body, headers=trader.key)
    assert reply.status == 200, reply.body
    return dict(reply.body)


def submit_and_execute(trader: Any, core_env: dict[str, Any], bindings: Bindings, **order: Any) -> dict[str, Any]:
    """Submit, then run the executor over that intent: the order is at the venue (resting, filled, ...)."""
    placed = submit(trader, **order)
    call("executor", bindings, msk_event(outbox_envelopes(core_env["dsn"], trader.account_id)[-1:], core_env["kafka"]))
    return placed


def query(dsn: str, sql: str, *args: Any) -> list[dict[str, Any]]:
    with psycopg.connect(dsn, row_factory=dict_row) as conn:
        return conn.execute(sql, args).fetchall()


def list_instrument(dsn: str, symbol: str) -> None:
    """Make `symbol` a tradable asset (the Core API refuses symbols market.instruments does not list)."""
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "insert into market.instruments (id, symbol, exchange) values"
            " (md5('tradeplane-asset:' || %s)::uuid, %s, 'NASDAQ') on conflict do nothing",
            (symbol, symbol),
        )


def outbox_envelopes(dsn: str, account_id: str, topic: str = ORDERS_SUBMITTED) -> list[Envelope]:
    """The events the account's writes staged on `topic`, oldest first (what was, or will be, published)."""
    rows = query(dsn, "select envelope from trading.outbox where topic = %s and key = %s order by seq",
                 topic, account_id)  # fmt: skip
    return [Envelope.model_validate(r["envelope"]) for r in rows]


def msk_event(envelopes: list[Envelope], bootstrap: str, topic: str = ORDERS_SUBMITTED) -> dict[str, Any]:
    records = [
        events.KafkaRecord(topic, 0, offset, 0, str(env.data.get("account_id", "")).encode(), env.to_json())
        for offset, env in enumerate(envelopes)
    ]
    return events.msk_event(records, bootstrap)


def trade_events(dsn: str, account_id: str) -> list[tuple[str, str, str]]:
    """(client order id, event, order status) of every trade update staged for the account, in order."""
    rows = query(
        dsn,
        "select envelope->'data' as d from trading.outbox where topic = 'orders.events' and key = %s order by seq",
        account_id,
    )
    return [(r["d"]["order"]["client_order_id"], r["d"]["event"], r["d"]["order"]["status"]) for r in rows]


def book(dsn: str, account_id: str) -> dict[str, Any]:
    """Cash, positions, fills and open reservations of one account."""
    acct = uuid.UUID(account_id)
    cash = query(dsn, "select coalesce(sum(amount), 0) as v from trading.cash_ledger where account_id = %s", acct)
    reserved = query(
        dsn,
        "select coalesce(sum(amount), 0) as v from trading.reservations where account_id = %s and released_at is null",
        acct,
    )
    positions = query(dsn, "select symbol, qty from trading.positions where account_id = %s and qty <> 0", acct)
    fills = query(dsn, "select order_id, side, qty, price, fee from trading.fills where account_id = %s", acct)
    return {
        "cash": Decimal(cash[0]["v"]),
        "reserved": Decimal(reserved[0]["v"]),
        "positions": {r["symbol"]: r["qty"] for r in positions},
        "fills": fills,
    }


def eventually(check: Any, what: str, timeout_s: float = 60) -> Any:
    """Poll `check` until it answers something truthy (returned), or fail naming `what`."""
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def at_once(*works: Callable[[], None], timeout_s: float = 120) -> list[BaseException]:
    """Run each work in its own thread, all at once; what they raised (empty when none failed)."""
    errors: list[BaseException] = []

    def guarded(work: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                work()
            except BaseException as exc:  # noqa: BLE001 - reported by the test thread
                errors.append(exc)

        return run

    threads = [threading.Thread(target=guarded(w)) for w in works]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout_s)
    return errors
