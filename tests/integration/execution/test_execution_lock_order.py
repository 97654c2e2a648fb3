"""One lock order for an account's book, on the harness's real PostgreSQL.

Core API cancels (HTTP handlers, one thread), the executor's batched fills (another) and the
matcher's fills (a third) work the SAME account's orders at once, for several rounds. Before every
writer took the account row first, a cancel (account -> order) and a fill (order -> the account's
key share for the ledger's foreign key) deadlocked and the cancel answered 500. Here no caller may
see a deadlock (no 5xx, no exception), and afterwards the book is right: the balances row equals the
ledger and open reservations, every order's filled quantity equals its fills, and only open orders
hold a reservation.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from support.core_api import Api, new_trader
from support.execution import at_once, list_instrument, outbox_envelopes, query, submit
from tradeplane.envelope import Envelope
from tradeplane.fill_model import FillConfig

pytestmark = pytest.mark.integration

ROUNDS = 6
RESTING = 8  # limit buys that rest, then meet a cancel and a crossing tick at once
MARKET = 4  # market buys the executor fills at once (ledger and balances writes in its run)
CONFIG = FillConfig()


def _tick(symbol: str, price: str) -> Envelope:
    at = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    data = {"symbol": symbol, "price": price, "size": "1000000", "ts": at, "source": "t"}
    return Envelope.new("market.tick", data, producer="test", id=f"tick_{uuid.uuid4().hex}")


def _check_book(dsn: str, account_id: str) -> None:
    acct = uuid.UUID(account_id)
    balance = query(dsn, "select cash, reserved from trading.balances where account_id = %s", acct)[0]
    cash = query(dsn, "select coalesce(sum(amount), 0) as v from trading.cash_ledger where account_id = %s", acct)
    open_reserved = query(
        dsn,
        "select coalesce(sum(amount), 0) as v from trading.reservations where account_id = %s and released_at is null",
        acct,
    )
    assert (balance["cash"], balance["reserved"]) == (cash[0]["v"], open_reserved[0]["v"])
    rows = query(
        dsn,
        "select o.status, o.qty, o.filled_qty, coalesce((select sum(qty) from trading.fills f where f.order_id = o.id),"
        " 0) as fill_sum, exists (select 1 from trading.reservations r where r.order_id = o.id"
        " and r.released_at is null) as reserved from trading.orders o where o.account_id = %s",
        acct,
    )
    for row in rows:
        assert row["fill_sum"] == row["filled_qty"] <= row["qty"], row
        assert (row["status"] == "filled") == (row["filled_qty"] == row["qty"]), row
        ended = row["status"] in ("filled", "canceled", "expired", "rejected", "replaced")
        assert row["reserved"] != ended, row


def test_cancels_and_fills_of_one_account_at_once_never_deadlock(
    api: Api, core_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tp_execution.executor import execute
    from tp_execution.matcher import match, price_point
    from tp_execution.paper_venue import PaperVenue
    from tradeplane import db

    dsn = core_env["dsn"]
    trader = new_trader(api, cash="10000000")
    symbol = "L" + uuid.uuid4().hex[:7].upper()
    list_instrument(dsn, symbol)
    venue = PaperVenue(CONFIG, lambda _symbol: Decimal("100"))  # the price the executor fills and rests at
    monkeypatch.setenv("TP_DB_POOL_MAX_SIZE", "4")  # three threads, a connection each
    canceller = Api(modules={})  # handler modules of its own: a resolver serves one invocation at a time
    seen = 0
    replies: list[int] = []
    for _ in range(ROUNDS):
        resting = [
            submit(trader, symbol=symbol, qty="3", type="limit", limit_price="99", time_in_force="gtc")
            for _ in range(RESTING)
        ]
        for _ in range(MARKET):
            submit(trader, symbol=symbol, qty="2")
        fresh = outbox_envelopes(dsn, trader.account_id)[seen:]
        seen += len(fresh)
        execute(fresh[:RESTING], venue)  # the limit orders rest at the venue (`new`)
        # The next market orders, ticks crossing the limits and cancels of the limits, all at once.
        point = price_point(_tick(symbol, "98"))
        assert point is not None
        db.close_pools()

        def fills(batch: list[Envelope] = fresh[RESTING:]) -> None:
            for i in range(0, len(batch), 2):
                execute(batch[i : i + 2], venue)

        def crossings(at: Any = point) -> None:
            for _ in range(3):
                match([at], CONFIG)

        def cancels(orders: list[dict[str, Any]] = resting) -> None:
            for order in orders:
                replies.append(canceller.delete(f"/v2/orders/{order['id']}", headers=trader.key).status)

        errors = at_once(fills, crossings, cancels)
        assert not errors, errors
        # Finish what the cancels asked of the executor, then check the whole book.
        cancel_intents = outbox_envelopes(dsn, trader.account_id)[seen:]
        seen += len(cancel_intents)
        execute(cancel_intents, venue)
        _check_book(dsn, trader.account_id)
    # Every cancel answered as the API documents: done (204) or refused because a fill came first (422).
    assert set(replies) <= {204, 422}, replies
    assert len(replies) == ROUNDS * RESTING
    db.close_pools()
