"""Runs under .venv-alpaca-trade-api (alpaca-trade-api 3.2.0 and its old pins), not the project's venv.

Drives `REST(...)` against APCA_API_BASE_URL with the bearer token in APCA_API_OAUTH_TOKEN, as an existing
bot would, and prints what it read as one JSON document for the test to check.
"""

from __future__ import annotations

import json

from alpaca_trade_api.rest import REST, APIError


def main() -> None:
    api = REST()  # base URL and credentials from the APCA_* environment, as bots configure it
    clock = api.get_clock()
    days = api.get_calendar(start="2026-11-23", end="2026-11-28")
    assets = api.list_assets(status="active", asset_class="us_equity")
    aapl = api.get_asset("AAPL")
    by_id = api.get_asset(aapl.id)
    try:
        api.get_asset("ZZZZ")
        missing = None
    except APIError as exc:
        missing = {"status": exc.status_code, "code": exc.code, "message": str(exc)}
    out = {
        "clock": {"is_open": clock.is_open, "next_open_after_now": bool(clock.next_open > clock.timestamp)},
        "calendar": [[str(d.date.date()), d.open.strftime("%H:%M"), d.close.strftime("%H:%M")] for d in days],
        "symbols": [a.symbol for a in assets],
        "aapl": {"id": aapl.id, "class": aapl._raw["class"], "exchange": aapl.exchange, "same": by_id.id == aapl.id},
        "missing": missing,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
