"""Runs under .venv-alpaca-trade-api: alpaca-trade-api's `Stream`, unchanged, listening to trade_updates.

The stream URL is what the SDK derives from APCA_API_BASE_URL (`ws://<host>/stream/`). Orders go in
through its `REST`: a market buy that fills, and a resting limit buy that is then canceled. Prints
one JSON document: every (order id, event, order status) the stream handed to the handler, in order.
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Any

from alpaca_trade_api.rest import REST
from alpaca_trade_api.stream import Stream

received: list[tuple[str, str, str]] = []


async def on_trade_update(update: Any) -> None:
    received.append((update.order["id"], update.event, update.order["status"]))


def wait_for(check: Any, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out; received {received}")
        time.sleep(0.1)


def main() -> None:
    base = os.environ["APCA_API_BASE_URL"]
    key, secret = os.environ["APCA_API_KEY_ID"], os.environ["APCA_API_SECRET_KEY"]
    stream = Stream(key, secret, base_url=base)
    stream.subscribe_trade_updates(on_trade_update)
    threading.Thread(target=stream.run, daemon=True).start()
    rest = REST(key, secret, base)
    probes = []
    while not received:  # the stream is listening once a probe order's update reaches it
        if len(probes) == 10:
            raise SystemExit("the stream never received an update")
        probes.append(rest.submit_order("AAPL", qty=1, side="buy", type="limit", time_in_force="gtc", limit_price="1"))
        deadline = time.monotonic() + 3
        while not received and time.monotonic() < deadline:
            time.sleep(0.1)
    for probe in probes:
        rest.cancel_order(probe.id)
    filled = rest.submit_order("AAPL", qty=2, side="buy", type="market", time_in_force="day")
    resting = rest.submit_order("AAPL", qty=1, side="buy", type="limit", time_in_force="gtc", limit_price="5")
    wait_for(lambda: (filled.id, "fill", "filled") in received and any(r[0] == resting.id for r in received))
    rest.cancel_order(resting.id)
    wait_for(lambda: (resting.id, "canceled", "canceled") in received)
    time.sleep(1.0)  # a duplicate would have arrived by now
    print(json.dumps({"filled": filled.id, "resting": resting.id, "received": received}), flush=True)
    os._exit(0)  # the stream's thread has no clean stop in this SDK version


if __name__ == "__main__":
    main()
