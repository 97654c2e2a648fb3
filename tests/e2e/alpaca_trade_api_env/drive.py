"""Runs under .venv-alpaca-trade-api (alpaca-trade-api 3.2.0 and its old pins), not the project's venv.

`drive.py SCENARIO` drives `REST(...)` against APCA_API_BASE_URL with the credentials in the APCA_*
environment (a bearer token in APCA_API_OAUTH_TOKEN, or APCA_API_KEY_ID/APCA_API_SECRET_KEY), as an
existing bot would, and prints what it read as one JSON document for the test to check:

- `reference`: clock, calendar and assets;
- `book`: account, orders (submit, repeat, list, get, by client id, replace, cancel, cancel all),
  positions (list, get, close) and activities, on an account that holds AAPL and MSFT;
- `wrong-key`: what a wrong key raises.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any

from alpaca_trade_api.rest import REST, APIError


def error(exc: APIError) -> dict[str, Any]:
    return {"status": exc.status_code, "code": exc.code, "message": str(exc)}


def refused(call: Callable[[], Any]) -> dict[str, Any] | None:
    """The APIError `call` raised, as the SDK read it; None when it succeeded."""
    try:
        call()
    except APIError as exc:
        return error(exc)
    return None


def order(o: Any) -> dict[str, Any]:
    raw = o._raw
    keys = ("id", "client_order_id", "status", "qty", "limit_price", "symbol", "side", "replaces", "replaced_by")
    return {k: raw.get(k) for k in keys}


def reference() -> dict[str, Any]:
    api = REST()  # base URL and credentials from the APCA_* environment, as bots configure it
    clock = api.get_clock()
    days = api.get_calendar(start="2026-11-23", end="2026-11-28")
    assets = api.list_assets(status="active", asset_class="us_equity")
    aapl = api.get_asset("AAPL")
    by_id = api.get_asset(aapl.id)
    missing = refused(lambda: api.get_asset("ZZZZ"))
    return {
        "clock": {"is_open": clock.is_open, "next_open_after_now": bool(clock.next_open > clock.timestamp)},
        "calendar": [[str(d.date.date()), d.open.strftime("%H:%M"), d.close.strftime("%H:%M")] for d in days],
        "symbols": [a.symbol for a in assets],
        "aapl": {"id": aapl.id, "class": aapl._raw["class"], "exchange": aapl.exchange, "same": by_id.id == aapl.id},
        "missing": missing,
    }


def settled(api: REST, order_id: str, timeout: float = 10.0) -> Any:
    """The order once the executor has applied a cancel or replace: an order a venue holds is
    pending_cancel / pending_replace until then."""
    deadline = time.monotonic() + timeout
    got = api.get_order(order_id)
    while got.status in ("pending_cancel", "pending_replace") and time.monotonic() < deadline:
        time.sleep(0.05)
        got = api.get_order(order_id)
    return got


def orders(api: REST) -> dict[str, Any]:
    first = api.submit_order(
        "AAPL", qty=2, side="buy", type="limit", time_in_force="day", limit_price=100, client_order_id="ata-1"
    )
    repeat = api.submit_order(
        "AAPL", qty="2", side="buy", type="limit", time_in_force="day", limit_price="100", client_order_id="ata-1"
    )
    listed = api.list_orders(status="open", symbols=["AAPL"])
    got = api.get_order(first.id)
    by_client = api.get_order_by_client_order_id("ata-1")
    new = api.replace_order(first.id, qty="3", limit_price="99.5")
    old = settled(api, first.id)
    api.cancel_order(new.id)
    canceled = settled(api, new.id)
    cancel_again = refused(lambda: api.cancel_order(new.id))
    others = [
        api.submit_order("MSFT", qty=1, side="buy", type="limit", time_in_force="gtc", limit_price=10).id
        for _ in range(2)
    ]
    api.cancel_all_orders()
    return {
        "first": order(first),
        "repeat_id": repeat.id,
        "listed": [o.id for o in listed],
        "got": order(got),
        "by_client": by_client.id,
        "new": order(new),
        "old": order(old),
        "canceled": order(canceled),
        "cancel_again": cancel_again,
        "others": others,
        "others_after": [settled(api, i).status for i in others],
        "closed": [o.id for o in api.list_orders(status="closed", limit=50, direction="asc")],
    }


def positions(api: REST) -> dict[str, Any]:
    held = api.list_positions()
    aapl = api.get_position("AAPL")
    close = api.close_position("MSFT", qty=1)
    missing = refused(lambda: api.get_position("NVDA"))
    return {
        "held": sorted((p.symbol, p.qty, p.side, p.exchange) for p in held),
        "aapl": {k: aapl._raw[k] for k in ("asset_id", "avg_entry_price", "cost_basis", "market_value", "qty")},
        "close": order(close) | {"type": close.type},
        "missing": missing,
    }


def activities(api: REST) -> dict[str, Any]:
    every = api.get_activities()
    cash = api.get_activities(activity_types=["CSD"], direction="asc")
    page1 = api.get_activities(page_size=1)
    page2 = api.get_activities(page_size=1, page_token=page1[0].id)
    fills = api.get_activities("FILL")
    return {
        "types": [a.activity_type for a in every],
        "cash": [a._raw["net_amount"] for a in cash],
        "paged": [a.id for a in page1 + page2],
        "first_two": [a.id for a in every[:2]],
        "fill": {k: fills[0]._raw[k] for k in ("symbol", "qty", "price", "side", "type")} if fills else None,
    }


def book() -> dict[str, Any]:
    api = REST()
    account = api.get_account()
    out: dict[str, Any] = {
        "account": {"status": account.status, "cash": account.cash, "buying_power": account.buying_power},
        "account_id": account.id,
    }
    out["orders"] = orders(api)
    out["positions"] = positions(api)
    out["activities"] = activities(api)
    return out


def wrong_key() -> dict[str, Any]:
    return refused(REST().get_account) or {"status": 200}


SCENARIOS = {"reference": reference, "book": book, "wrong-key": wrong_key}


if __name__ == "__main__":
    print(json.dumps(SCENARIOS[sys.argv[1] if len(sys.argv) > 1 else "reference"]()))
