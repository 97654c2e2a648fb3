"""A short bot written for alpaca-py, as users already have them: it only reads the APCA_* variables.

It listens to its trade updates with alpaca-py's TradingStream (the WebSocket at `/stream` on the
REST host) and prints each fill as it happens, while it trades through TradingClient.

eval "$(tradeplane local paper-account)" && python -m tradeplane_local.demo_bot
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any


def wait_for(client: Any, order_id: Any, statuses: set[str], timeout: float = 10.0) -> Any:
    """Poll the order until the executor has moved it into one of `statuses` (or the time is up)."""
    deadline = time.monotonic() + timeout
    order = client.get_order_by_id(order_id)
    while order.status.value not in statuses and time.monotonic() < deadline:
        time.sleep(0.05)
        order = client.get_order_by_id(order_id)
    return order


def listen_for_fills() -> Any:
    """A TradingStream on its own thread, printing fills the moment they arrive; returns it (to stop it)."""
    from alpaca.trading.stream import TradingStream

    base = os.environ["APCA_API_BASE_URL"]
    url = base.replace("https://", "wss://").replace("http://", "ws://") + "/stream"
    stream = TradingStream(os.environ["APCA_API_KEY_ID"], os.environ["APCA_API_SECRET_KEY"], url_override=url)

    async def on_update(update: Any) -> None:
        order = update.order
        if update.event in ("fill", "partial_fill"):
            print(f"  [trade_updates] {update.event}: {order.side.value} {update.qty} {order.symbol} @ {update.price}, "
                  f"position {update.position_qty}")  # fmt: skip
        else:
            print(f"  [trade_updates] {update.event}: {order.symbol} {order.status.value}")

    stream.subscribe_trade_updates(on_update)
    threading.Thread(target=stream.run, daemon=True).start()
    time.sleep(1.0)  # connected, authenticated and listening before the first order
    print(f"listening to trade_updates at {url}")
    return stream


def main() -> int:
    from alpaca.trading.client import TradingClient
    from alpaca.trading.enums import OrderSide, QueryOrderStatus, TimeInForce
    from alpaca.trading.requests import GetOrdersRequest, LimitOrderRequest, MarketOrderRequest

    # alpaca-py's methods return model | raw dict; a bot with the default raw_data=False gets models.
    client: Any = TradingClient(
        os.environ["APCA_API_KEY_ID"], os.environ["APCA_API_SECRET_KEY"], url_override=os.environ["APCA_API_BASE_URL"]
    )
    stream = listen_for_fills()
    account = client.get_account()
    print(f"account {account.account_number}: cash {account.cash}, buying power {account.buying_power}")
    order = client.submit_order(
        LimitOrderRequest(symbol="AAPL", qty=5, side=OrderSide.BUY, time_in_force=TimeInForce.DAY, limit_price=185)
    )
    print(f"submitted {order.side.value} {order.qty} {order.symbol} @ {order.limit_price}: {order.status.value}")
    print(f"buying power now {client.get_account().buying_power} (the order reserves qty x limit price)")
    open_orders = client.get_orders(GetOrdersRequest(status=QueryOrderStatus.OPEN))
    print(f"open orders: {[(o.symbol, o.qty, o.status.value) for o in open_orders]}")
    client.cancel_order_by_id(order.id)
    canceled = wait_for(client, order.id, {"canceled"})
    print(f"canceled: {canceled.status.value}; buying power {client.get_account().buying_power}")

    t0 = time.perf_counter()
    market = client.submit_order(
        MarketOrderRequest(symbol="AAPL", qty=3, side=OrderSide.BUY, time_in_force=TimeInForce.DAY)
    )
    filled = wait_for(client, market.id, {"filled", "rejected"})
    took = (time.perf_counter() - t0) * 1000
    print(
        f"market buy {market.qty} {market.symbol}: {filled.status.value} {filled.filled_qty} @ "
        f"{filled.filled_avg_price} ({took:.0f} ms from submit to seeing it filled)"
    )
    position = client.get_open_position("AAPL")
    print(f"position {position.qty} {position.symbol} @ {position.avg_entry_price}; cash {client.get_account().cash}")
    time.sleep(0.5)  # the fill's trade update has been printed by now
    stream.stop()
    return 0 if filled.status.value == "filled" else 1


if __name__ == "__main__":
    raise SystemExit(main())
